// fuzz_image.cpp — libFuzzer harness for the image readers (engine/data/image_io.h): the stb_image decoders behind
// decode_image (JPEG, PNG, BMP, TGA, GIF, PNM; every colour mode), the header reader image_size_from_bytes /
// image_size (stbi_info), and wsdol's own PNG chunk reader / inflate / unfiltering behind decode_label_png and
// read_png_info. Each input is tried as given and once more with every PNG chunk CRC recomputed, so that the
// fuzzer reaches past the CRC check into IHDR/PLTE/IDAT handling.
//
// Build and run: see fuzz/README.md (seeds: fuzz/corpus/image/).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/data/image_io.h"
#include "engine/io/crc32.h"
#include "fuzz/fuzz_util.h"

namespace {

uint32_t be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The same bytes with every complete chunk's CRC made right (no-op for non-PNG input).
std::string with_fixed_crcs(std::string bytes) {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) != 0) return bytes;
    auto* p = reinterpret_cast<unsigned char*>(bytes.data());
    size_t at = 8;
    while (bytes.size() - at >= 12) {
        const uint32_t len = be32(p + at);
        if (len > bytes.size() - at - 12) break;
        const uint32_t crc = wsdol::io::crc32(p + at + 4, 4 + size_t(len));
        for (int k = 0; k < 4; ++k) p[at + 8 + len + k] = uint8_t(crc >> (24 - 8 * k));
        at += 12 + size_t(len);
    }
    return bytes;
}

void try_all(const std::string& bytes) {
    using namespace wsdol::data;
    for (ColorMode mode : {ColorMode::as_stored, ColorMode::gray, ColorMode::rgb, ColorMode::rgba}) {
        try {
            const Image im = decode_image(bytes, "fuzz.img", mode);
            if (im.pixels.size() != size_t(im.numel())) std::abort();
            touch_bytes(image_to_tensor(im));
        } catch (const wsdol::Error&) {
        }
        if (mode == ColorMode::as_stored) {
            int64_t w = 0, h = 0;
            try {
                image_size_from_bytes(bytes, "fuzz.img", &w, &h);
            } catch (const wsdol::Error&) {
            }
        }
    }
    try {
        const Image im = decode_label_png(bytes, "fuzz.png");
        if (im.channels != 1 || im.pixels.size() != size_t(im.numel())) std::abort();
        touch_bytes(image_to_tensor(im));
    } catch (const wsdol::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try_all(bytes);
    const std::string fixed = with_fixed_crcs(bytes);
    if (fixed != bytes) try_all(fixed);
    // read_png_info and image_size through a file (the header-only paths datasets use to compare sizes).
    const std::string path = fuzz_scratch_dir() + "/info.png";
    fuzz_write_file(path, fixed);
    try {
        (void)wsdol::data::read_png_info(path);
    } catch (const wsdol::Error&) {
    }
    try {
        int64_t w = 0, h = 0;
        wsdol::data::image_size(path, &w, &h);
    } catch (const wsdol::Error&) {
    }
    return 0;
}
