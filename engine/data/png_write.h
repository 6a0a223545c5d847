// png_write.h — writing 8-bit PNG files: grey, grey+alpha, RGB, RGBA, and palette PNGs (label maps with the VOC
// colour map, the format of VOC's SegmentationClass masks and of every WSSS repo's saved pseudo labels).
//
// stb_image_write cannot write palette PNGs, so wsdol writes the chunks itself (PNG spec, ISO/IEC 15948):
// signature, IHDR, PLTE (palette images), one IDAT (the zlib stream of the filtered scanlines, compressed with
// stb_image_write's stbi_zlib_compress), IEND; every chunk ends with its CRC-32 (engine/io/crc32.h). Every scanline
// uses filter type 0 (None): valid for any decoder, compact enough for label maps, and byte-stable.
// Files are written atomically (engine/io/atomic_file.h).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/data/image_io.h"

namespace wsdol::data {

using Palette = std::array<uint8_t, 256 * 3>;  // r, g, b of entries 0..255

// The PASCAL VOC colour map (bit-interleaving rule of the VOC devkit's labelcolormap / ../shared/docs/data-eval.md
// §1.1): entry i gets bit j of i's bits (0, 1, 2) placed at bit 7-j of (r, g, b), for each triple of i's bits.
// 0 -> (0,0,0), 1 -> (128,0,0), 15 -> (192,128,128), 255 -> (224,224,192).
const Palette& voc_palette();

// image.channels 1, 2, 3 or 4 -> colour type 0, 4, 2 or 6, bit depth 8.
std::string encode_png(const Image& image);
void write_png(const std::string& path, const Image& image);

// A (H, W, 1) label map as an 8-bit palette PNG (colour type 3) with a 256-entry palette (VOC colour map by
// default): the stored indices are the labels, exactly what read_label_png() returns.
std::string encode_palette_png(const Image& labels, const Palette& palette = voc_palette());
void write_palette_png(const std::string& path, const Image& labels, const Palette& palette = voc_palette());

}  // namespace wsdol::data
