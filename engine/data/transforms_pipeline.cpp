// transforms_pipeline.cpp — composed training pipelines and timm RandomErasing (see transforms_pipeline.h).
#include "engine/data/transforms_pipeline.h"

#include <algorithm>
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

TocoViews toco_views(const Image& image, SampleRng& rng, const TocoViewOptions& o, float* main_out,
                     float* global_out, float* local_out) {
    WSDOL_CHECK(image.channels == 3, "toco_views: expected an RGB image, got ", image.channels, " channels");
    const TocoOptions& m = o.main;
    WSDOL_CHECK(m.crop > 0 && m.scale_lo > 0 && m.scale_hi >= m.scale_lo, "toco_views: bad options crop ", m.crop,
                ", rescale ", m.scale_lo, "..", m.scale_hi);
    TocoViews v;
    // 1. The shared crop (random_scaling, random_fliplr, random_crop with mean_rgb 0).
    const double ratio = rng.uniform(m.scale_lo, m.scale_hi);
    v.crop_flipped = rng.bernoulli(0.5);
    const auto [h, w] = rescaled_size(image.height, image.width, ratio);
    WSDOL_CHECK(h > 0 && w > 0, "toco_views: the ", image.height, "x", image.width, " image rescaled by ", ratio,
                " is empty");
    const PadCrop pc = random_pad_crop_params(h, w, m.crop, rng);
    v.img_box = pc.img_box;
    const Image cropped = rescale_flip_pad_crop(image, ratio, v.crop_flipped, pc, PilFilter::bilinear, 0);
    // 2. crops[2] (local_view: flip_and_color_jitter, GaussianBlur(0.5), normalize).
    {
        TocoOptions lo = m;
        lo.blur_p = o.local_blur_p;
        lo.solarize_p = 0.0;
        v.local_flipped = rng.bernoulli(0.5);
        Image img = v.local_flipped ? hflip(cropped) : cropped;
        img = photometric_views(std::move(img), rng, lo);
        normalize_into(img, m.mean, m.std, local_out);
    }
    // 3. crops[0] (global_view1: flip_and_color_jitter, GaussianBlur(1.0); then normalize).
    {
        TocoOptions mo = m;
        mo.solarize_p = 0.0;
        v.main_flipped = rng.bernoulli(0.5);
        Image img = v.main_flipped ? hflip(cropped) : cropped;
        img = photometric_views(std::move(img), rng, mo);
        normalize_into(img, m.mean, m.std, main_out);
    }
    // 4. crops[1] (global_view2 of the original image).
    {
        TocoOptions go = m;
        go.blur_p = o.global_blur_p;
        go.solarize_p = o.global_solarize_p;
        v.global_box = random_resized_crop_params(image.height, image.width, rng, o.global_scale);
        Image img = resized_crop(image, v.global_box, m.crop, PilFilter::bicubic);
        v.global_flipped = rng.bernoulli(0.5);
        if (v.global_flipped) img = hflip(img);
        img = photometric_views(std::move(img), rng, go);
        normalize_into(img, m.mean, m.std, global_out);
    }
    return v;
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

IrnSample irn_train_view(const Image& image, SampleRng& rng, const IrnTrainOptions& o, float* out,
                         const Image* label, float* label_out) {
    WSDOL_CHECK(image.channels == 3 && image.height > 0 && image.width > 0,
                "irn_train_view: expected an RGB image, got ", image.height, "x", image.width, "x", image.channels);
    WSDOL_CHECK(!label || (label_out && label->channels == 1 && label->height == image.height &&
                           label->width == image.width),
                "irn_train_view: the label map (", label ? label->height : 0, "x", label ? label->width : 0, "x",
                label ? label->channels : 0, ") must be one channel of the image's size ", image.height, "x",
                image.width, ", with an output");
    WSDOL_CHECK(o.crop > 0 && o.resize_long_lo > 0 && o.resize_long_hi >= o.resize_long_lo,
                "irn_train_view: bad options crop ", o.crop, ", resize_long ", o.resize_long_lo, "..",
                o.resize_long_hi);
    IrnSample s;
    // imutils.random_resize_long
    s.long_side = o.resize_long_lo + rng.below(o.resize_long_hi - o.resize_long_lo + 1);
    const double scale = image.width < image.height ? double(s.long_side) / double(image.height)
                                                    : double(s.long_side) / double(image.width);
    const int64_t h = static_cast<int64_t>(std::nearbyint(image.height * scale));  // np.round: half to even
    const int64_t w = static_cast<int64_t>(std::nearbyint(image.width * scale));
    WSDOL_CHECK(h > 0 && w > 0, "irn_train_view: long side ", s.long_side, " makes the ", image.height, "x",
                image.width, " image empty");
    const bool same = h == image.height && w == image.width;
    Image img = same ? image : resize(image, h, w, PilFilter::bicubic);
    Image lab;
    if (label) lab = same ? *label : resize_nearest(*label, h, w);  // pil_rescale order 0
    // normalize happens before the flip in the reference; both are per-pixel, so flipping the u8 image is the same
    s.flipped = o.flip && rng.bernoulli(0.5);
    if (s.flipped) {
        img = hflip(img);
        if (label) lab = hflip(lab);
    }
    // imutils.get_random_crop_box: columns first
    const int64_t C = o.crop, ch = std::min(C, h), cw = std::min(C, w);
    int64_t cont_left = 0, img_left = 0, cont_top = 0, img_top = 0;
    if (w - C > 0) img_left = rng.below(w - C + 1);
    else cont_left = rng.below(C - w + 1);
    if (h - C > 0) img_top = rng.below(h - C + 1);
    else cont_top = rng.below(C - h + 1);
    s.img_box = {cont_top, cont_top + ch, cont_left, cont_left + cw};
    std::fill(out, out + 3 * C * C, 0.0f);
    for (int64_t c = 0; c < 3; ++c) {
        float* plane = out + c * C * C;
        for (int64_t y = 0; y < ch; ++y)
            for (int64_t x = 0; x < cw; ++x) {
                const double v = img.at(img_top + y, img_left + x, c);
                plane[(cont_top + y) * C + cont_left + x] = static_cast<float>((v / 255. - o.mean[c]) / o.std[c]);
            }
    }
    if (label) {
        std::fill(label_out, label_out + C * C, 255.0f);
        for (int64_t y = 0; y < ch; ++y)
            for (int64_t x = 0; x < cw; ++x)
                label_out[(cont_top + y) * C + cont_left + x] = float(lab.at(img_top + y, img_left + x, 0));
    }
    return s;
}

}  // namespace wsdol::data
