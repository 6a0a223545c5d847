// image_io.h — reading 8-bit images (JPEG, PNG, BMP) and the raw label plane of segmentation-mask PNGs.
//
// Two readers, because datasets need both:
//  - read_image(): decoded pixels, as a viewer shows them (stb_image). Palette PNGs come back as colours, grey
//    JPEGs as one channel unless a colour mode asks for three (CUB and COCO contain grey JPEGs; every reference
//    loader converts them to RGB by repeating the channel). 16-bit PNGs are reduced to 8 bits by stb (v >> 8).
//    Low-bit-depth grey PNGs are scaled to 0..255 (a 1-bit mask reads as 0/255, as OpenCV's imread gives).
//  - read_label_png(): the stored sample values of a single-channel PNG, never a palette lookup. For colour type
//    3 (palette) these are the palette indices, which is what VOC's SegmentationClass(Aug) masks mean (0..20,
//    255 = void); for colour type 0 (grey) the grey values (unscaled for 1/2/4-bit files). stb_image cannot do
//    this (it always expands palettes), so this path parses the PNG chunks itself (png_decode in image_io.cpp),
//    inflates IDAT with stb's zlib decoder and undoes the scanline filters (incl. Adam7 interlacing).
//
// Colour conversion to grey follows OpenCV's cvtColor(BGR2GRAY) fixed-point rule
// gray = (R*4899 + G*9617 + B*1868 + 8192) >> 14 (weights 0.299/0.587/0.114 scaled by 2^14), the rule named in
// ../shared/docs/data-eval.md §1.3. (cv2.imread(..., IMREAD_GRAYSCALE) on a colour PNG goes through libpng's own
// rgb_to_gray and may differ by one level; the masks this is used for are pure 0/255, where both agree.)
// Alpha is dropped when converting to grey or RGB (every reference loader does the same for opaque masks).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::data {

// The most pixels decode_image decodes (width x height); larger images are refused naming the file and the size.
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

// 8-bit pixels in row-major (H, W, C) order, C = 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA).
struct Image {
    int64_t height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;  // height * width * channels
    uint8_t at(int64_t y, int64_t x, int64_t c = 0) const { return pixels[(y * width + x) * channels + c]; }
    uint8_t& at(int64_t y, int64_t x, int64_t c = 0) { return pixels[(y * width + x) * channels + c]; }
    int64_t numel() const { return height * width * channels; }
};

enum class ColorMode {
    as_stored,  // the file's own channel count (palette PNGs: 3 or 4, expanded)
    gray,       // 1 channel (colour converted with the OpenCV rule above, alpha dropped)
    rgb,        // 3 channels (grey repeated, alpha dropped)
    rgba,       // 4 channels (alpha 255 when the file has none)
};

// Decodes a JPEG/PNG/BMP/TGA/GIF(first frame)/PNM file. Errors name the file and stb's reason.
Image read_image(const std::string& path, ColorMode mode = ColorMode::as_stored);
Image decode_image(const std::string& bytes, const std::string& name_for_errors, ColorMode mode = ColorMode::as_stored);
Image convert_color(const Image& image, ColorMode mode);

// Width and height from an image's header (JPEG/PNG/BMP/...; stbi_info), without decoding the pixels. The file
// form reads only the header part of the file. Errors name the file.
void image_size(const std::string& path, int64_t* width, int64_t* height);
void image_size_from_bytes(const std::string& bytes, const std::string& name, int64_t* width, int64_t* height);

// What a PNG header says (IHDR), plus whether a palette is present.
struct PngInfo {
    int64_t width = 0, height = 0;
    int bit_depth = 0;   // 1, 2, 4, 8 or 16
    int color_type = 0;  // 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
    bool interlaced = false;
    int palette_entries = 0;  // PLTE entries (0 when absent)
};
PngInfo read_png_info(const std::string& path);

// The raw (H, W, 1) sample plane of a palette (colour type 3) or grey (colour type 0) PNG of bit depth <= 8.
// Any other PNG kind is an error naming the file and its colour type; so is a palette index outside the palette.
Image read_label_png(const std::string& path);
Image decode_label_png(const std::string& bytes, const std::string& name_for_errors);

// (H, W, C) u8 tensor <-> Image.
Tensor image_to_tensor(const Image& image);
Image image_from_tensor(const Tensor& t);  // t: (H, W) or (H, W, C) u8

// The whole file as bytes (errors name the file).
std::string read_file_bytes(const std::string& path);

}  // namespace wsdol::data
