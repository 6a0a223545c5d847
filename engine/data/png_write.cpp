// png_write.cpp — the PNG writer of png_write.h: chunk framing (CRC-32 from engine/io/crc32.h), the VOC palette;
// zlib via stb.
#include "engine/data/png_write.h"

#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/crc32.h"
#include "engine/io/atomic_file.h"

// Defined by stb_image_write (compiled in stb_impl.cpp) but not declared in its public header section.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

namespace wsdol::data {

namespace {

void put_u32_be(std::string& out, uint32_t v) {
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

// Appends one chunk: length, type, data, CRC over type + data.
void put_chunk(std::string& out, const char type[4], const std::string& data) {
    put_u32_be(out, static_cast<uint32_t>(data.size()));
    const size_t type_at = out.size();
    out.append(type, 4);
    out += data;
    const uint32_t crc = io::crc32(out.data() + type_at, 4 + data.size());
    put_u32_be(out, crc);
}

// Filter byte 0 (None) before each row, then zlib (stb, quality 8 = its default for PNGs).
std::string zlib_scanlines(const Image& image, const char* what) {
    const size_t row = static_cast<size_t>(image.width * image.channels);
    std::string raw;
    raw.reserve((row + 1) * static_cast<size_t>(image.height));
    for (int64_t y = 0; y < image.height; ++y) {
        raw.push_back('\0');
        raw.append(reinterpret_cast<const char*>(image.pixels.data()) + y * row, row);
    }
    WSDOL_CHECK(raw.size() < 0x7fffffffu, what, ": image too large to compress (", raw.size(), " bytes)");
    int out_len = 0;
    unsigned char* z = stbi_zlib_compress(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()),
                                          &out_len, 8);
    WSDOL_CHECK(z != nullptr, what, ": zlib compression failed");
    std::string out(reinterpret_cast<const char*>(z), static_cast<size_t>(out_len));
    std::free(z);
    return out;
}

std::string encode(const Image& image, int color_type, const Palette* palette, const char* what) {
    WSDOL_CHECK(image.width > 0 && image.height > 0 && image.width <= 0x7fffffff && image.height <= 0x7fffffff, what,
                ": bad image size ", image.height, "x", image.width);
    WSDOL_CHECK(static_cast<int64_t>(image.pixels.size()) == image.numel(), what, ": pixel buffer holds ",
                image.pixels.size(), " bytes, expected ", image.numel(), " for ", image.height, "x", image.width, "x",
                image.channels);
    std::string out("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put_u32_be(ihdr, static_cast<uint32_t>(image.width));
    put_u32_be(ihdr, static_cast<uint32_t>(image.height));
    ihdr.push_back(8);                               // bit depth
    ihdr.push_back(static_cast<char>(color_type));   // colour type
    ihdr.push_back(0);                               // compression: deflate
    ihdr.push_back(0);                               // filter method 0
    ihdr.push_back(0);                               // no interlace
    put_chunk(out, "IHDR", ihdr);
    if (palette) put_chunk(out, "PLTE", std::string(reinterpret_cast<const char*>(palette->data()), palette->size()));
    put_chunk(out, "IDAT", zlib_scanlines(image, what));
    put_chunk(out, "IEND", std::string());
    return out;
}

}  // namespace

const Palette& voc_palette() {
    static const Palette palette = [] {
        Palette p{};
        for (int i = 0; i < 256; ++i) {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; ++j) {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            p[3 * i + 0] = static_cast<uint8_t>(r);
            p[3 * i + 1] = static_cast<uint8_t>(g);
            p[3 * i + 2] = static_cast<uint8_t>(b);
        }
        return p;
    }();
    return palette;
}

std::string encode_png(const Image& image) {
    static const int kColorType[5] = {-1, 0, 4, 2, 6};
    WSDOL_CHECK(image.channels >= 1 && image.channels <= 4, "encode_png: images have 1..4 channels, got ",
                image.channels);
    return encode(image, kColorType[image.channels], nullptr, "encode_png");
}

void write_png(const std::string& path, const Image& image) {
    std::string bytes;
    try {
        bytes = encode_png(image);
    } catch (const Error& e) {
        fail(str(path, ": ", e.what()));
    }
    io::write_file_atomic(path, bytes);
}

std::string encode_palette_png(const Image& labels, const Palette& palette) {
    WSDOL_CHECK(labels.channels == 1, "encode_palette_png: label maps have 1 channel, got ", labels.channels);
    return encode(labels, 3, &palette, "encode_palette_png");
}

void write_palette_png(const std::string& path, const Image& labels, const Palette& palette) {
    std::string bytes;
    try {
        bytes = encode_palette_png(labels, palette);
    } catch (const Error& e) {
        fail(str(path, ": ", e.what()));
    }
    io::write_file_atomic(path, bytes);
}

}  // namespace wsdol::data
