// inflate.h — raw deflate (RFC 1951) decompression for the containers wsdol reads: zip records (PyTorch
// checkpoints) and gzip members (the CLIP vocab). The decoder is stb_image's (compiled once, in
// engine/data/stb_image_impl.cpp); this is the one place that calls it on raw streams, because stb 2.27 needs a
// workaround: its decoder looks up to 16 bits past the last code, and a stream that ends exactly at the end of
// its buffer has its final symbols misdecoded ("bad huffman code"). The input is therefore copied with zero
// padding; bytes after the final block are never used, and callers check the size and CRC of what comes out.
// (PNG's zlib streams end with an Adler-32 trailer that stb reads past safely; image_io.cpp calls stb directly.)
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace wsdol::io {

// Inflates `size` bytes of raw deflate data. With `max_size` (zip records know their size), an output longer than
// that is a failure. Returns std::nullopt when the data is malformed (or too long).
std::optional<std::string> inflate_raw(const void* data, size_t size, std::optional<size_t> max_size = std::nullopt);

}  // namespace wsdol::io
