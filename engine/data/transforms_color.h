// transforms_color.h — photometric transforms with Pillow's 8-bit arithmetic (what torchvision's functional
// ops and timm's auto-augment ops call on PIL images), so that augmented pixels match the reference pipelines.
//
// Images are data::Image (H, W, C) u8 with C = 3 (RGB) unless a function says otherwise (grey, 1 channel, is
// accepted where Pillow accepts mode "L"). Each function names the Pillow/torchvision routine it reproduces;
// transforms_color.cpp documents the arithmetic (float vs double, rounding, clipping) at each place.
#pragma once
#include <array>
#include <cstdint>

#include "engine/data/image_io.h"
#include "engine/data/transforms.h"

namespace wsdol::data {

// PIL convert("L"): L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 (ITU-R 601-2 luma in 16-bit fixed point).
// out_channels 1 gives an "L" image, 3 repeats it (torchvision Grayscale(num_output_channels=3)).
Image to_grayscale(const Image& image, int out_channels);

// Image.blend(a, b, alpha): a + alpha * (b - a) in float, truncated; clipped to 0..255 only outside [0, 1].
Image blend(const Image& a, const Image& b, float alpha);

// ImageEnhance.{Brightness, Contrast, Color, Sharpness}(image).enhance(factor), as torchvision's
// adjust_brightness / adjust_contrast / adjust_saturation / adjust_sharpness call them on PIL images.
Image adjust_brightness(const Image& image, double factor);
Image adjust_contrast(const Image& image, double factor);
Image adjust_saturation(const Image& image, double factor);
Image adjust_sharpness(const Image& image, double factor);
// torchvision F_pil.adjust_hue: PIL HSV conversion, H += uint8(hue_factor * 255) (wrapping), back to RGB.
Image adjust_hue(const Image& image, double hue_factor);

// Self-check used by the tests: the table-driven RGB -> HSV and HSV -> RGB conversions equal Pillow's formulas
// on all 2^24 inputs.
bool hsv_tables_match_direct_conversion();

// ImageOps (timm's auto-augment ops call these).
Image solarize(const Image& image, int threshold = 128);  // v < threshold ? v : 255 - v
Image posterize(const Image& image, int bits);            // v & ~(2^(8-bits) - 1)
Image invert(const Image& image);                         // 255 - v
Image equalize(const Image& image);                       // ImageOps.equalize (per-band histogram LUT)
Image autocontrast(const Image& image);                   // ImageOps.autocontrast(cutoff=0)

// ImageFilter.GaussianBlur(radius): Pillow's extended box blur, 3 passes per axis (exact port of its integer
// arithmetic). radius 0 returns a copy.
Image gaussian_blur(const Image& image, double radius);

// torchvision ColorJitter. The order is a permutation of {0 brightness, 1 contrast, 2 saturation, 3 hue}; a
// component whose strength is 0 is skipped (torchvision sets it to None). Factors: U(max(0, 1 - s), 1 + s) for
// brightness/contrast/saturation, U(-h, h) for hue.
struct ColorJitterParams {
    std::array<int, 4> order{0, 1, 2, 3};
    std::array<bool, 4> enabled{false, false, false, false};
    double brightness = 1, contrast = 1, saturation = 1, hue = 0;
};
ColorJitterParams color_jitter_params(SampleRng& rng, double brightness, double contrast, double saturation,
                                      double hue);
Image color_jitter(const Image& image, const ColorJitterParams& p);
void color_jitter_inplace(Image& image, const ColorJitterParams& p);  // the same, overwriting `image`

}  // namespace wsdol::data
