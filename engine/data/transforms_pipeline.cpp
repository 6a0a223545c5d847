// transforms_pipeline.cpp — composed training pipelines and timm RandomErasing (see transforms_pipeline.h).
#include "engine/data/transforms_pipeline.h"

#include <cmath>

#include "engine/core/error.h"

namespace wsdol::data {

bool random_erasing(float* chw, int64_t C, int64_t H, int64_t W, SampleRng& rng, const RandomErasingOptions& o,
                    std::array<int64_t, 4>* box) {
    if (rng.uniform() > o.probability) return false;  // timm: `if random.random() > self.probability: return`
    const double area = double(H) * double(W);
    const double log_lo = std::log(o.min_aspect), log_hi = std::log(1.0 / o.min_aspect);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target_area = rng.uniform(o.min_area, o.max_area) * area;  // / count, count = 1
        const double aspect = std::exp(rng.uniform(log_lo, log_hi));
        const int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
        const int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
        if (w < W && h < H) {
            const int64_t top = rng.below(H - h + 1), left = rng.below(W - w + 1);  // random.randint inclusive
            // timm draws the noise as one (C, h, w) normal tensor; we fill in the same (c, y, x) order.
            for (int64_t c = 0; c < C; ++c)
                for (int64_t y = top; y < top + h; ++y)
                    for (int64_t x = left; x < left + w; ++x)
                        chw[(c * H + y) * W + x] = static_cast<float>(rng.normal());
            if (box) *box = {top, left, h, w};
            return true;
        }
    }
    return false;
}

Image photometric_views(Image img, SampleRng& rng, const TocoOptions& o) {
    // torchvision RandomApply([ColorJitter], p): one uniform decides; the jitter draws its own parameters.
    if (o.jitter_p > 0 && rng.bernoulli(o.jitter_p))
        color_jitter_inplace(img, color_jitter_params(rng, o.brightness, o.contrast, o.saturation, o.hue));
    if (o.gray_p > 0 && rng.bernoulli(o.gray_p)) img = to_grayscale(img, 3);
    // DINO's GaussianBlur(p): radius U(0.1, 2.0), PIL ImageFilter.GaussianBlur.
    if (o.blur_p > 0 && rng.bernoulli(o.blur_p)) img = gaussian_blur(img, rng.uniform(0.1, 2.0));
    if (o.solarize_p > 0 && rng.bernoulli(o.solarize_p)) img = solarize(img, 128);
    return img;
}

TocoSample toco_main_view(const Image& image, SampleRng& rng, const TocoOptions& o, float* out) {
    WSDOL_CHECK(image.channels == 3, "toco_main_view: expected an RGB image, got ", image.channels, " channels");
    const double ratio = rng.uniform(o.scale_lo, o.scale_hi);
    const bool flip = rng.bernoulli(0.5);
    const auto [h, w] = rescaled_size(image.height, image.width, ratio);
    const PadCrop pc = random_pad_crop_params(h, w, o.crop, rng);
    // = pad_crop(maybe-flipped rescale(image)), resizing only what the crop keeps.
    Image img = rescale_flip_pad_crop(image, ratio, flip, pc, PilFilter::bilinear, 0);
    if (o.second_flip && rng.bernoulli(0.5)) img = hflip(img);  // img_box is not mirrored (ToCo quirk)
    img = photometric_views(std::move(img), rng, o);
    normalize_into(img, o.mean, o.std, out);
    TocoSample s;
    s.img_box = pc.img_box;
    return s;
}

void timm_train_view(const Image& image, SampleRng& rng, const TimmTrainOptions& o, float* out) {
    WSDOL_CHECK(image.channels == 3, "timm_train_view: expected an RGB image, got ", image.channels, " channels");
    const CropBox box = random_resized_crop_params(image.height, image.width, rng, o.scale);
    Image img = resized_crop(image, box, o.size, PilFilter::bicubic);
    if (rng.bernoulli(o.flip_p)) img = hflip(img);
    if (o.rand_augment) img = rand_augment(img, rng, o.rand_augment_options);
    normalize_into(img, o.mean, o.std, out);
    random_erasing(out, 3, o.size, o.size, rng, o.erasing);
}

}  // namespace wsdol::data
