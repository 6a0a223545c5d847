// gzip.h — reading gzip files (RFC 1952) such as the CLIP vocab bpe_simple_vocab_16e6.txt.gz: the header and
// trailer are parsed here, the deflate stream is inflated by engine/io/inflate.h (stb_image's decoder), and the
// CRC-32 and size of the trailer are checked. Single-member files only (what gzip(1) and Python's gzip module write).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace wsdol::tok {

// Decompresses a gzip stream; `what` names the source in error messages. Throws wsdol::Error.
std::string gunzip(std::string_view compressed, const std::string& what);

// Reads a whole file; gunzips it when it starts with the gzip magic bytes 1F 8B.
std::string read_maybe_gzip_file(const std::string& path);

// Writes bytes as a gzip file with a stored (uncompressed) deflate stream: valid gzip that any reader accepts,
// no compressor needed. Used by the BPE trainer for ".gz" outputs.
std::string gzip_stored(std::string_view bytes);

}  // namespace wsdol::tok
