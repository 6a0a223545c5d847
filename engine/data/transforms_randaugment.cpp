// transforms_randaugment.cpp — timm RandAugment (see transforms_randaugment.h).
#include "engine/data/transforms_randaugment.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/data/transforms_color.h"

namespace wsdol::data {

const char* rand_augment_op_name(RandAugmentOp op) {
    static const char* names[kRandAugmentOps] = {
        "AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing", "SolarizeAdd",
        "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing", "ShearX", "ShearY",
        "TranslateXRel", "TranslateYRel"};
    return names[static_cast<int>(op)];
}

// timm's level functions; Python evaluates (level / 10.) * k, in that order, and int() truncates.
double rand_augment_op_arg(RandAugmentOp op, double m, bool negate, const RandAugmentOptions& o) {
    const double sign = negate ? -1.0 : 1.0;
    switch (op) {
        case RandAugmentOp::rotate: return sign * ((m / 10.0) * 30.0);
        case RandAugmentOp::posterize_increasing: return 4 - static_cast<int>((m / 10.0) * 4);
        case RandAugmentOp::solarize_increasing:
            return 256 - std::min(256, static_cast<int>((m / 10.0) * 256));
        case RandAugmentOp::solarize_add: return std::min(128, static_cast<int>((m / 10.0) * 110));
        case RandAugmentOp::color_increasing:
        case RandAugmentOp::contrast_increasing:
        case RandAugmentOp::brightness_increasing:
        case RandAugmentOp::sharpness_increasing: return std::max(0.1, 1.0 + sign * ((m / 10.0) * .9));
        case RandAugmentOp::shear_x:
        case RandAugmentOp::shear_y: return sign * ((m / 10.0) * 0.3);
        case RandAugmentOp::translate_x_rel:
        case RandAugmentOp::translate_y_rel: return sign * ((m / 10.0) * o.translate_pct);
        default: return 0.0;
    }
}

Image apply_rand_augment_op(const Image& image, RandAugmentOp op, double m, bool negate, AffineFilter filter,
                            const RandAugmentOptions& o) {
    const double arg = rand_augment_op_arg(op, m, negate, o);
    const double W = double(image.width), H = double(image.height);
    switch (op) {
        case RandAugmentOp::auto_contrast: return autocontrast(image);
        case RandAugmentOp::equalize: return equalize(image);
        case RandAugmentOp::invert: return invert(image);
        case RandAugmentOp::rotate: return rotate(image, arg, filter, o.fill);
        case RandAugmentOp::posterize_increasing:
            return arg >= 8 ? image : posterize(image, static_cast<int>(arg));  // timm: bits >= 8 is a no-op
        case RandAugmentOp::solarize_increasing: return solarize(image, static_cast<int>(arg));
        case RandAugmentOp::solarize_add: {
            // timm solarize_add: lut[i] = min(255, i + add) below the threshold 128, i above.
            Image out = image;
            const int add = static_cast<int>(arg);
            for (auto& v : out.pixels) v = v < 128 ? static_cast<uint8_t>(std::min(255, v + add)) : v;
            return out;
        }
        case RandAugmentOp::color_increasing: return adjust_saturation(image, arg);
        case RandAugmentOp::contrast_increasing: return adjust_contrast(image, arg);
        case RandAugmentOp::brightness_increasing: return adjust_brightness(image, arg);
        case RandAugmentOp::sharpness_increasing: return adjust_sharpness(image, arg);
        case RandAugmentOp::shear_x: return affine_transform(image, {1, arg, 0, 0, 1, 0}, filter, o.fill);
        case RandAugmentOp::shear_y: return affine_transform(image, {1, 0, 0, arg, 1, 0}, filter, o.fill);
        case RandAugmentOp::translate_x_rel: return affine_transform(image, {1, 0, arg * W, 0, 1, 0}, filter, o.fill);
        case RandAugmentOp::translate_y_rel: return affine_transform(image, {1, 0, 0, 0, 1, arg * H}, filter, o.fill);
    }
    fail("rand_augment: unknown op");
}

namespace {
bool is_signed(RandAugmentOp op) {
    switch (op) {
        case RandAugmentOp::rotate:
        case RandAugmentOp::color_increasing:
        case RandAugmentOp::contrast_increasing:
        case RandAugmentOp::brightness_increasing:
        case RandAugmentOp::sharpness_increasing:
        case RandAugmentOp::shear_x:
        case RandAugmentOp::shear_y:
        case RandAugmentOp::translate_x_rel:
        case RandAugmentOp::translate_y_rel: return true;
        default: return false;
    }
}
bool is_affine(RandAugmentOp op) {
    return op == RandAugmentOp::rotate || op == RandAugmentOp::shear_x || op == RandAugmentOp::shear_y ||
           op == RandAugmentOp::translate_x_rel || op == RandAugmentOp::translate_y_rel;
}
}  // namespace

Image rand_augment(const Image& image, SampleRng& rng, const RandAugmentOptions& o) {
    WSDOL_CHECK(image.channels == 3, "rand_augment: expected an RGB image, got ", image.channels, " channels");
    std::vector<RandAugmentOp> ops(o.num_layers);
    for (auto& op : ops) op = static_cast<RandAugmentOp>(rng.below(kRandAugmentOps));
    Image img = image;
    for (const RandAugmentOp op : ops) {
        if (o.prob < 1.0 && rng.uniform() > o.prob) continue;  // timm: random.random() > prob skips
        double m = o.magnitude;
        if (o.magnitude_std > 0) m = std::isinf(o.magnitude_std) ? rng.uniform(0, m) : m + o.magnitude_std * rng.normal();
        m = std::max(0.0, std::min(m, o.magnitude_max));
        const bool negate = is_signed(op) && rng.uniform() > 0.5;  // timm _randomly_negate
        AffineFilter filter = AffineFilter::bicubic;
        if (is_affine(op)) {
            if (o.interpolation == RandAugmentInterpolation::random)
                filter = rng.below(2) == 0 ? AffineFilter::bilinear : AffineFilter::bicubic;
            else
                filter = o.interpolation == RandAugmentInterpolation::bilinear ? AffineFilter::bilinear
                                                                                : AffineFilter::bicubic;
        }
        img = apply_rand_augment_op(img, op, m, negate, filter, o);
    }
    return img;
}

}  // namespace wsdol::data
