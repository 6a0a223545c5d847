// transforms_affine.h — Pillow's Image.transform(size, AFFINE, ...) and Image.rotate for 8-bit images, with
// bilinear or bicubic sampling and a fill colour: the geometric ops of timm's RandAugment (Rotate, ShearX/Y,
// TranslateX/YRel).
//
// Pillow semantics reproduced (libImaging/Geometry.c, ImagingGenericTransform with affine_transform):
//   - output pixel (x, y) samples the input at (a0*(x+0.5) + a1*(y+0.5) + a2, a3*(x+0.5) + a4*(y+0.5) + a5);
//   - a sample point outside [0, W) x [0, H) leaves the output pixel at the fill colour (transform() creates the
//     output filled with `fillcolor` and passes fill = 0);
//   - bilinear: point - 0.5, floor, neighbours clamped to the image (a missing row below repeats the row above),
//     v = a + (b - a) * d in double, truncated to 8 bits;
//   - bicubic: 4 x 4 neighbours clamped the same way, the cubic p1 + d*(p2 + d*(p3 + d*p4)) with
//     p2 = v3 - v1, p3 = 2(v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4 (a = -1 convolution), clipped to 0..255,
//     truncated.
//   - rotate(angle) (expand=False, centre (W/2, H/2)): angle % 360 (Python modulo), 0 returns a copy; the inverse
//     matrix [cos, sin, 0, -sin, cos, 0] of -radians(angle), each entry round(., 15) as Python rounds, with the
//     translation making the centre fixed.
#pragma once
#include <array>

#include "engine/data/image_io.h"

namespace wsdol::data {

enum class AffineFilter { bilinear, bicubic };

// image: (H, W, C) u8 -> (H, W, C): Image.transform(image.size, AFFINE, matrix, resample, fillcolor=fill).
Image affine_transform(const Image& image, const std::array<double, 6>& matrix, AffineFilter filter,
                       const std::array<uint8_t, 3>& fill);
// Image.rotate(degrees, resample, fillcolor=fill) (expand=False).
Image rotate(const Image& image, double degrees, AffineFilter filter, const std::array<uint8_t, 3>& fill);
// The affine matrix Image.rotate uses for a W x H image (exposed for tests).
std::array<double, 6> rotate_matrix(double degrees, int64_t W, int64_t H);

}  // namespace wsdol::data
