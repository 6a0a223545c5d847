// image_io.cpp — image decoding through stb_image, and wsdol's own PNG chunk reader for raw label planes.
#include "engine/data/image_io.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include <stb/stb_image.h>

#include "engine/core/error.h"
#include "engine/io/crc32.h"

namespace wsdol::data {

std::string read_file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    WSDOL_CHECK(f.good(), path, ": cannot open file");
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    WSDOL_CHECK(!f.bad(), path, ": read error");
    return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoded images (stb_image)

Image convert_color(const Image& in, ColorMode mode) {
    const int64_t c_in = in.channels;
    WSDOL_CHECK(c_in >= 1 && c_in <= 4, "convert_color: images have 1..4 channels, got ", c_in);
    int64_t c_out = c_in;
    if (mode == ColorMode::gray) c_out = 1;
    if (mode == ColorMode::rgb) c_out = 3;
    if (mode == ColorMode::rgba) c_out = 4;
    if (c_out == c_in) return in;
    Image out;
    out.height = in.height;
    out.width = in.width;
    out.channels = c_out;
    const int64_t n = in.height * in.width;
    out.pixels.resize(static_cast<size_t>(n * c_out));
    const uint8_t* s = in.pixels.data();
    uint8_t* d = out.pixels.data();
    for (int64_t i = 0; i < n; ++i, s += c_in, d += c_out) {
        // grey and alpha of the source pixel
        uint8_t g, a = 255;
        if (c_in <= 2) {
            g = s[0];
            if (c_in == 2) a = s[1];
        } else {
            // OpenCV cvtColor fixed point (imgproc/src/color_rgb: yuv_shift 14, R2Y 4899, G2Y 9617, B2Y 1868).
            g = static_cast<uint8_t>((s[0] * 4899 + s[1] * 9617 + s[2] * 1868 + (1 << 13)) >> 14);
            if (c_in == 4) a = s[3];
        }
        if (c_out == 1) {
            d[0] = g;
        } else if (c_in <= 2) {  // grey -> RGB(A): repeat the channel
            d[0] = d[1] = d[2] = g;
            if (c_out == 4) d[3] = a;
        } else {  // RGB <-> RGBA
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
            if (c_out == 4) d[3] = a;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A guard in front of stb's JPEG reader. stb_image (Debian's libstb-dev, git 2022-09-08) sums the 16 code-length
// counts of a DHT (Huffman table) segment and writes that many entries into 257-entry tables without checking
// the sum (at most 16 * 255): a hostile JPEG overflows them (found by fuzz/fuzz_image.cpp; UBSan "index 257 out
// of bounds" in stbi__build_huffman). A JPEG table holds at most 256 symbols, so every DHT table the decoder could
// see is checked here first: the walk visits every marker segment (entropy-coded data is scanned byte by byte
// for the next marker, as the decoder does) and refuses a table whose counts sum past 256.
// Returns false when `header_only` and the bytes end before the first SOF0-2 marker (the part stbi_info reads).
static bool jpeg_tables_ok(const unsigned char* p, size_t n, const std::string& name, bool header_only) {
    // stb takes a file for a JPEG when its first marker is SOI, fill bytes (0xFF) allowed before it.
    if (n < 2 || p[0] != 0xFF) return true;
    size_t at = 0;
    while (at < n && p[at] == 0xFF) ++at;
    if (at >= n || p[at] != 0xD8) return true;  // not a JPEG
    ++at;
    while (true) {
        while (at < n && p[at] != 0xFF) ++at;  // entropy-coded data or junk
        while (at < n && p[at] == 0xFF) ++at;  // fill bytes
        if (at >= n) return !header_only;
        const unsigned m = p[at++];
        if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
        if (m == 0xD9) return true;                                                      // EOI
        if (header_only && m >= 0xC0 && m <= 0xC2) return true;                          // SOF: stbi_info stops
        if (n - at < 2) return !header_only;
        const size_t len = (size_t(p[at]) << 8) | p[at + 1];
        if (m == 0xC4) {
            // Tables (class/id byte, 16 counts, the symbols) as stb reads them: while the segment's remaining
            // length is positive, even past its end when the lengths disagree (the second fuzz finding); bytes
            // past the end of the buffer read as 0.
            long remaining = long(len) - 2;
            size_t q = at + 2;
            while (remaining > 0) {
                size_t symbols = 0;
                for (size_t k = q + 1; k < q + 17 && k < n; ++k) symbols += p[k];
                WSDOL_CHECK(symbols <= 256, name, ": corrupt JPEG (a Huffman table declares ", symbols,
                            " symbols; at most 256)");
                remaining -= long(17 + symbols);
                q += 17 + symbols;
            }
            if (header_only && q > n) return false;
        }
        at += std::max<size_t>(len, 2);
    }
}

// A guard in front of stb's PNM (binary PGM "P5" / PPM "P6") header reader. stbi__pnm_getinteger (Debian's stb,
// git 2022-09-08) accumulates the decimal digits of the width, height and maximum value in an int without an
// overflow check: a header number past 2^31 - 1 is signed overflow, undefined behaviour (found by
// fuzz/fuzz_image.cpp: "P5\n557 \n7666...6"). The header is read here exactly as stb reads it (whitespace and
// '#' comments skipped, a byte past the end reads as 0 and ends a number) and such a number is refused.
static void pnm_header_ok(const unsigned char* p, size_t n, const std::string& name) {
    if (n < 2 || p[0] != 'P' || (p[1] != '5' && p[1] != '6')) return;
    size_t next = 2;                       // the byte stb's next get8 returns
    auto at_eof = [&] { return next >= n; };
    auto get8 = [&]() -> unsigned char { return next < n ? p[next++] : 0; };
    auto is_space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
    unsigned char c = get8();
    auto skip_whitespace = [&] {
        for (;;) {
            while (!at_eof() && is_space(c)) c = get8();
            if (at_eof() || c != '#') break;
            while (!at_eof() && c != '\n' && c != '\r') c = get8();
        }
    };
    const char* what[3] = {"width", "height", "maximum value"};
    for (int k = 0; k < 3; ++k) {
        skip_whitespace();
        long long value = 0;
        while (!at_eof() && c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
            WSDOL_CHECK(value <= 0x7fffffffLL, name, ": corrupt PNM header (the ", what[k],
                        " has too many digits: over 2147483647)");
            c = get8();
        }
    }
}

Image decode_image(const std::string& bytes, const std::string& name, ColorMode mode) {
    WSDOL_CHECK(bytes.size() < 0x7fffffffu, name, ": file too large to decode (", bytes.size(), " bytes)");
    (void)jpeg_tables_ok(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name, false);
    pnm_header_ok(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name);
    int w = 0, h = 0, c = 0;
    // INFERRED: at most 2^26 pixels (8192 x 8192) are decoded. A header is a few bytes and stb allocates for what it
    // claims before reading any pixel (a 100-byte GIF claiming 14087 x 14135 took 2.2 GB: found by fuzz_image);
    // the datasets of this field have images of a few megapixels.
    if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h,
                              &c) != 0)
        WSDOL_CHECK(int64_t(w) * int64_t(h) <= kMaxImagePixels, name, ": image too large to decode (", w, " x ", h,
                    " = ", int64_t(w) * int64_t(h), " pixels; the limit is ", kMaxImagePixels, ", 8192 x 8192)");
    stbi_uc* data = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                                          &w, &h, &c, 0);
    if (!data) fail(str(name, ": cannot decode image (", stbi_failure_reason(), ")"));
    std::unique_ptr<stbi_uc, void (*)(void*)> owner(data, stbi_image_free);
    Image img;
    img.height = h;
    img.width = w;
    img.channels = c;
    img.pixels.assign(data, data + static_cast<size_t>(w) * h * c);
    return convert_color(img, mode);
}

Image read_image(const std::string& path, ColorMode mode) { return decode_image(read_file_bytes(path), path, mode); }

void image_size_from_bytes(const std::string& bytes, const std::string& name, int64_t* width, int64_t* height) {
    WSDOL_CHECK(bytes.size() < 0x7fffffffu, name, ": file too large (", bytes.size(), " bytes)");
    (void)jpeg_tables_ok(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name, false);
    pnm_header_ok(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name);
    int w = 0, h = 0, channels = 0;
    WSDOL_CHECK(stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &w, &h,
                                      &channels) != 0,
                name, ": cannot read the image header (",
                stbi_failure_reason() ? stbi_failure_reason() : "unknown reason", ")");
    *width = w, *height = h;
}

void image_size(const std::string& path, int64_t* width, int64_t* height) {
    // The header only: the first 64 KiB, or the whole file when its JPEG header segments run past them.
    std::ifstream f(path, std::ios::binary);
    WSDOL_CHECK(f.good(), path, ": cannot open file");
    std::string bytes(65536, '\0');
    f.read(bytes.data(), std::streamsize(bytes.size()));
    bytes.resize(size_t(f.gcount()));
    WSDOL_CHECK(!f.bad(), path, ": read error");
    if (bytes.size() == 65536 &&
        !jpeg_tables_ok(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), path, true))
        bytes = read_file_bytes(path);
    image_size_from_bytes(bytes, path, width, height);
}

// ---------------------------------------------------------------------------------------------------------------
// PNG chunks (for raw sample values)

namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint32_t get_u32_be(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

struct PngParts {
    PngInfo info;
    std::string palette;  // PLTE bytes
    std::string idat;     // concatenated IDAT data
};

// Walks the chunk list: checks the signature, every CRC, IHDR first and valid, IEND present; collects PLTE and IDAT.
PngParts parse_png_chunks(const std::string& bytes, const std::string& name, bool need_data) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    WSDOL_CHECK(n >= 8 && std::memcmp(p, kPngSignature, 8) == 0, name, ": not a PNG file (bad signature)");
    PngParts parts;
    size_t at = 8;
    bool seen_ihdr = false, seen_iend = false;
    while (at < n) {
        WSDOL_CHECK(n - at >= 12, name, ": truncated PNG chunk at byte ", at);
        const uint32_t len = get_u32_be(p + at);
        WSDOL_CHECK(len <= 0x7fffffffu && len <= n - at - 12, name, ": PNG chunk at byte ", at, " has length ", len,
                    " past the end of the file");
        const std::string type(reinterpret_cast<const char*>(p + at + 4), 4);
        const unsigned char* data = p + at + 8;
        const uint32_t crc = get_u32_be(data + len);
        WSDOL_CHECK(io::crc32(p + at + 4, 4 + size_t(len)) == crc, name, ": CRC mismatch in PNG chunk ", type);
        if (!seen_ihdr) {
            WSDOL_CHECK(type == "IHDR" && len == 13, name, ": PNG does not start with a 13-byte IHDR chunk");
            seen_ihdr = true;
            PngInfo& h = parts.info;
            h.width = get_u32_be(data);
            h.height = get_u32_be(data + 4);
            h.bit_depth = data[8];
            h.color_type = data[9];
            const int compression = data[10], filter = data[11], interlace = data[12];
            WSDOL_CHECK(h.width > 0 && h.height > 0 && h.width <= 0x7fffffff && h.height <= 0x7fffffff, name,
                        ": bad PNG size ", h.width, "x", h.height);
            const int bd = h.bit_depth;
            bool ok = false;
            switch (h.color_type) {
                case 0: ok = bd == 1 || bd == 2 || bd == 4 || bd == 8 || bd == 16; break;
                case 3: ok = bd == 1 || bd == 2 || bd == 4 || bd == 8; break;
                case 2: case 4: case 6: ok = bd == 8 || bd == 16; break;
                default: ok = false;
            }
            WSDOL_CHECK(ok, name, ": invalid PNG colour type ", h.color_type, " with bit depth ", bd);
            WSDOL_CHECK(compression == 0 && filter == 0 && (interlace == 0 || interlace == 1), name,
                        ": unsupported PNG compression/filter/interlace method ", compression, "/", filter, "/",
                        interlace);
            h.interlaced = interlace == 1;
        } else if (type == "PLTE") {
            WSDOL_CHECK(len % 3 == 0 && len >= 3 && len <= 768, name, ": bad PLTE chunk length ", len);
            parts.palette.assign(reinterpret_cast<const char*>(data), len);
            parts.info.palette_entries = static_cast<int>(len / 3);
        } else if (type == "IDAT") {
            if (need_data) parts.idat.append(reinterpret_cast<const char*>(data), len);
        } else if (type == "IEND") {
            seen_iend = true;
            break;
        } else {
            // Unknown critical chunks (upper-case first letter) must not be ignored (PNG spec 5.4).
            WSDOL_CHECK((type[0] & 0x20) != 0, name, ": unknown critical PNG chunk ", type);
        }
        at += 12 + size_t(len);
    }
    WSDOL_CHECK(seen_ihdr, name, ": PNG has no IHDR chunk");
    WSDOL_CHECK(seen_iend, name, ": truncated PNG (no IEND chunk)");
    return parts;
}

uint8_t paeth(int a, int b, int c) {
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
    if (pb <= pc) return static_cast<uint8_t>(b);
    return static_cast<uint8_t>(c);
}

// Undoes the filters of one (sub)image: `raw` holds `rows` scanlines of 1 filter byte + `row_bytes` bytes;
// the unfiltered rows go to `out` (rows * row_bytes). bpp = bytes per complete pixel (at least 1).
void unfilter(const uint8_t* raw, int64_t rows, int64_t row_bytes, int bpp, uint8_t* out, const std::string& name) {
    for (int64_t y = 0; y < rows; ++y) {
        const uint8_t filter = raw[y * (row_bytes + 1)];
        const uint8_t* src = raw + y * (row_bytes + 1) + 1;
        uint8_t* cur = out + y * row_bytes;
        const uint8_t* prev = y > 0 ? out + (y - 1) * row_bytes : nullptr;
        for (int64_t i = 0; i < row_bytes; ++i) {
            const int a = i >= bpp ? cur[i - bpp] : 0;
            const int b = prev ? prev[i] : 0;
            const int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
            int v;
            switch (filter) {
                case 0: v = src[i]; break;
                case 1: v = src[i] + a; break;
                case 2: v = src[i] + b; break;
                case 3: v = src[i] + ((a + b) >> 1); break;
                case 4: v = src[i] + paeth(a, b, c); break;
                default: fail(str(name, ": bad PNG filter type ", int(filter), " in scanline ", y));
            }
            cur[i] = static_cast<uint8_t>(v);
        }
    }
}

// Sample k of an unfiltered row at bit depth bd (<= 8; samples packed from the most significant bit).
inline uint8_t sample_at(const uint8_t* row, int64_t k, int bd) {
    if (bd == 8) return row[k];
    const int64_t bit = k * bd;
    const int shift = 8 - bd - static_cast<int>(bit & 7);
    return static_cast<uint8_t>((row[bit >> 3] >> shift) & ((1 << bd) - 1));
}

}  // namespace

PngInfo read_png_info(const std::string& path) {
    return parse_png_chunks(read_file_bytes(path), path, /*need_data=*/false).info;
}

Image decode_label_png(const std::string& bytes, const std::string& name) {
    const PngParts parts = parse_png_chunks(bytes, name, /*need_data=*/true);
    const PngInfo& h = parts.info;
    WSDOL_CHECK(h.color_type == 0 || h.color_type == 3, name, ": a label PNG must be single-channel palette or grey, got ",
                h.color_type == 2 ? "RGB" : h.color_type == 4 ? "grey+alpha" : "RGBA", " (colour type ", h.color_type,
                ")");
    WSDOL_CHECK(h.bit_depth <= 8, name, ": 16-bit label PNGs are not supported");
    WSDOL_CHECK(h.color_type != 3 || h.palette_entries > 0, name, ": palette PNG without a PLTE chunk");
    WSDOL_CHECK(h.width * h.height <= (int64_t(1) << 31), name, ": PNG too large (", h.width, "x", h.height, ")");
    const int bd = h.bit_depth;
    const int bpp = 1;  // bytes per complete pixel, rounded up to one (single channel, <= 8 bits)

    // Adam7 passes: (x0, y0, dx, dy); a non-interlaced image is one pass (0, 0, 1, 1).
    static const int kAdam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                     {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    static const int kPlain[1][4] = {{0, 0, 1, 1}};
    const int passes = h.interlaced ? 7 : 1;
    const int (*pass_table)[4] = h.interlaced ? kAdam7 : kPlain;
    size_t expected = 0;
    for (int p = 0; p < passes; ++p) {
        const int64_t pw = (h.width - pass_table[p][0] + pass_table[p][2] - 1) / pass_table[p][2];
        const int64_t ph = (h.height - pass_table[p][1] + pass_table[p][3] - 1) / pass_table[p][3];
        if (pw > 0 && ph > 0) expected += static_cast<size_t>(ph * ((pw * bd + 7) / 8 + 1));
    }
    WSDOL_CHECK(!parts.idat.empty(), name, ": PNG has no IDAT data");
    WSDOL_CHECK(parts.idat.size() < 0x7fffffffu && expected < 0x7fffffffu, name, ": PNG data too large");
    int out_len = 0;
    char* inflated = stbi_zlib_decode_malloc_guesssize(parts.idat.data(), static_cast<int>(parts.idat.size()),
                                                       static_cast<int>(expected), &out_len);
    if (!inflated) fail(str(name, ": corrupt PNG image data (zlib: ", stbi_failure_reason(), ")"));
    std::unique_ptr<char, void (*)(void*)> owner(inflated, std::free);
    WSDOL_CHECK(static_cast<size_t>(out_len) >= expected, name, ": truncated PNG image data (", out_len,
                " bytes after inflating, expected ", expected, ")");

    Image img;
    img.height = h.height;
    img.width = h.width;
    img.channels = 1;
    img.pixels.assign(static_cast<size_t>(h.width * h.height), 0);
    const auto* raw = reinterpret_cast<const uint8_t*>(inflated);
    std::vector<uint8_t> rows;
    for (int p = 0; p < passes; ++p) {
        const int x0 = pass_table[p][0], y0 = pass_table[p][1], dx = pass_table[p][2], dy = pass_table[p][3];
        const int64_t pw = (h.width - x0 + dx - 1) / dx, ph = (h.height - y0 + dy - 1) / dy;
        if (pw <= 0 || ph <= 0) continue;
        const int64_t row_bytes = (pw * bd + 7) / 8;
        rows.assign(static_cast<size_t>(ph * row_bytes), 0);
        unfilter(raw, ph, row_bytes, bpp, rows.data(), name);
        raw += ph * (row_bytes + 1);
        for (int64_t y = 0; y < ph; ++y)
            for (int64_t x = 0; x < pw; ++x)
                img.pixels[static_cast<size_t>((y0 + y * dy) * h.width + x0 + x * dx)] =
                    sample_at(rows.data() + y * row_bytes, x, bd);
    }
    if (h.color_type == 3 && h.palette_entries < 256) {
        for (uint8_t v : img.pixels)
            WSDOL_CHECK(v < h.palette_entries, name, ": palette index ", int(v), " outside the ", h.palette_entries,
                        "-entry palette");
    }
    return img;
}

Image read_label_png(const std::string& path) { return decode_label_png(read_file_bytes(path), path); }

// ---------------------------------------------------------------------------------------------------------------

Tensor image_to_tensor(const Image& image) {
    WSDOL_CHECK(static_cast<int64_t>(image.pixels.size()) == image.numel(), "image_to_tensor: pixel buffer holds ",
                image.pixels.size(), " bytes, expected ", image.numel());
    return Tensor::from_blob(image.pixels.data(), {image.height, image.width, image.channels}, DType::u8);
}

Image image_from_tensor(const Tensor& t) {
    WSDOL_CHECK(t.dtype() == DType::u8, "image_from_tensor: expected a uint8 tensor, got ", dtype_name(t.dtype()));
    WSDOL_CHECK(t.dim() == 2 || t.dim() == 3, "image_from_tensor: expected (H, W) or (H, W, C), got ",
                shape_str(t.shape()));
    const Tensor c = t.cpu().contiguous();
    Image img;
    img.height = c.size(0);
    img.width = c.size(1);
    img.channels = c.dim() == 3 ? c.size(2) : 1;
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    img.pixels.assign(p, p + c.numel());
    return img;
}

}  // namespace wsdol::data
