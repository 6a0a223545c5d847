// transforms_randaugment.h — timm's RandAugment "rand-m9-mstd0.5-inc1" (timm/data/auto_augment.py) on 8-bit
// RGB images, with Pillow-exact ops (transforms_color.h, transforms_affine.h).
//
// timm semantics reproduced:
//   - the op list _RAND_INCREASING_TRANSFORMS: AutoContrast, Equalize, Invert, Rotate, PosterizeIncreasing,
//     SolarizeIncreasing, SolarizeAdd, ColorIncreasing, ContrastIncreasing, BrightnessIncreasing,
//     SharpnessIncreasing, ShearX, ShearY, TranslateXRel, TranslateYRel;
//   - RandAugment: num_layers = 2 ops drawn uniformly WITH replacement (np.random.choice, no weights);
//   - AugmentOp: applied with prob 0.5; magnitude ~ N(9, 0.5) (random.gauss), clipped to [0, 10];
//   - level -> argument (level = magnitude / 10): Rotate 30*level degrees, Shear 0.3*level, TranslateRel
//     0.45*level of the size (each negated with prob 0.5); *Increasing enhance factors max(0.1, 1 +- 0.9*level);
//     PosterizeIncreasing bits 4 - int(4*level); SolarizeIncreasing threshold 256 - min(256, int(256*level));
//     SolarizeAdd add min(128, int(110*level)) below 128;
//   - affine ops use fillcolor = hparams img_mean and resample = hparams interpolation, or a random choice of
//     bilinear/bicubic when none is given (timm's _RANDOM_INTERPOLATION).
// The random numbers come from the sample's own stream (draw order: op index, op index, then per op: apply?,
// magnitude, sign, interpolation), not Python's.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "engine/data/transforms.h"
#include "engine/data/transforms_affine.h"

namespace wsdol::data {

enum class RandAugmentOp {
    auto_contrast, equalize, invert, rotate, posterize_increasing, solarize_increasing, solarize_add,
    color_increasing, contrast_increasing, brightness_increasing, sharpness_increasing, shear_x, shear_y,
    translate_x_rel, translate_y_rel
};
constexpr int kRandAugmentOps = 15;
const char* rand_augment_op_name(RandAugmentOp op);

enum class RandAugmentInterpolation { random, bilinear, bicubic };

struct RandAugmentOptions {
    int num_layers = 2;
    double magnitude = 9, magnitude_std = 0.5, magnitude_max = 10, prob = 0.5;
    double translate_pct = 0.45;
    // timm create_transform passes img_mean = round(255 * ImageNet mean) = (124, 116, 104) as the fill; timm's
    // bare default (no hparams) is (128, 128, 128).
    std::array<uint8_t, 3> fill = {124, 116, 104};
    RandAugmentInterpolation interpolation = RandAugmentInterpolation::random;
};

// Applies one op at `magnitude` (already clipped); `negate` and `filter` are the op's sign and resample draws.
Image apply_rand_augment_op(const Image& image, RandAugmentOp op, double magnitude, bool negate, AffineFilter filter,
                            const RandAugmentOptions& options);
// The op's argument for a magnitude (as timm's LEVEL_TO_ARG; negate applies to the signed ones).
double rand_augment_op_arg(RandAugmentOp op, double magnitude, bool negate, const RandAugmentOptions& options);

// The whole RandAugment (draws ops, probabilities, magnitudes, signs and interpolations from rng).
Image rand_augment(const Image& image, SampleRng& rng, const RandAugmentOptions& options = {});

}  // namespace wsdol::data
