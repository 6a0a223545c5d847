// pil_resize.h — image resizing that reproduces Pillow's Image.resize for 8-bit images, bit for bit.
//
// The reference pipelines (torchvision transforms on PIL images, CLIP's preprocessing, timm's eval transform)
// resize with Pillow, so the numbers a model sees depend on Pillow's exact arithmetic:
//   - a separable convolution, horizontal pass first into an 8-bit intermediate image, then the vertical pass;
//   - on downscale the filter is stretched by the scale factor (this is Pillow's antialiasing);
//   - filter weights are normalised in double, then turned into 22-bit fixed point (PRECISION_BITS = 32-8-2),
//     rounded half away from zero; sums start at 1 << 21 (round half up) and are clipped to 0..255;
//   - a pass is skipped when its size does not change (no box).
// Filters: bilinear (triangle, support 1) and bicubic (Keys cubic with a = -0.5, support 2 — Pillow's a,
// unlike PyTorch's interpolate, which uses a = -0.75).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::data {

enum class PilFilter { bilinear, bicubic };

// src: (H, W, C) u8, row-major and packed -> returns (out_h, out_w, C) u8.
std::vector<uint8_t> pil_resize(const uint8_t* src, int64_t H, int64_t W, int64_t C, int64_t out_h, int64_t out_w,
                                PilFilter filter);

// Rows [top, top + height) and columns [left, left + width) of pil_resize(src, ..., out_h, out_w, filter), bit
// for bit, computing only what that window needs (a random crop of an upscaled image costs the crop, not the
// whole image). Returns (height, width, C).
std::vector<uint8_t> pil_resize_window(const uint8_t* src, int64_t H, int64_t W, int64_t C, int64_t out_h,
                                       int64_t out_w, PilFilter filter, int64_t top, int64_t left, int64_t height,
                                       int64_t width);

// image: (H, W, C) u8 tensor (any strides) -> (out_h, out_w, C) u8 tensor.
Tensor pil_resize(const Tensor& image, int64_t out_h, int64_t out_w, PilFilter filter);

}  // namespace wsdol::data
