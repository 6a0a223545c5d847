// preprocess.cpp — the evaluation preprocessing presets of preprocess.h: RGB, shorter-side resize (Pillow-exact),
// centre crop, f32 normalisation.
#include "engine/data/preprocess.h"

#include <cmath>
#include <cstdio>

#include "engine/core/error.h"
#include "engine/data/transforms.h"

namespace wsdol::data {

namespace {

constexpr std::array<float, 3> kHalf = {0.5f, 0.5f, 0.5f};

// floor(S / crop_pct) in double, as timm's math.floor(img_size / crop_pct) and DeiT's int(input_size / ratio)
// (both Python floats, i.e. doubles; the sizes are positive so int() and floor() agree).
int64_t resize_for(int64_t image_size, double crop_pct) {
    return static_cast<int64_t>(std::floor(static_cast<double>(image_size) / crop_pct));
}

// One row per preset: the shorter side as a function of the crop size, the resampling filter, the normalization.
struct Preset {
    const char* name;
    int64_t (*resize)(int64_t crop);
    PilFilter filter;
    std::array<float, 3> mean, std;
};
const std::vector<Preset>& presets() {
    static const std::vector<Preset> table = {
        {"clip", [](int64_t S) { return S; }, PilFilter::bicubic, kClipMean, kClipStd},
        {"resnet", [](int64_t S) { return resize_for(S, 0.875); }, PilFilter::bilinear, kImageNetMean,  // 224 -> 256
         kImageNetStd},
        {"resnet-v2", [](int64_t S) { return S * 232 / 224; }, PilFilter::bilinear, kImageNetMean,  // 224 -> 232
         kImageNetStd},
        {"deit", [](int64_t S) { return resize_for(S, 0.875); }, PilFilter::bicubic, kImageNetMean,  // 224 -> 256
         kImageNetStd},
        {"timm-deit", [](int64_t S) { return resize_for(S, 0.9); }, PilFilter::bicubic, kImageNetMean,  // 224 -> 248
         kImageNetStd},
        {"vit", [](int64_t S) { return resize_for(S, 0.9); }, PilFilter::bicubic, kHalf, kHalf},  // 224 -> 248
    };
    return table;
}

}  // namespace

const std::vector<std::string>& preprocess_presets() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const Preset& p : presets()) v.emplace_back(p.name);
        return v;
    }();
    return names;
}

PreprocessSpec preprocess_spec(const std::string& name, int64_t image_size) {
    WSDOL_CHECK(image_size >= 1 && image_size <= 16384, "preprocess: image size must be in 1..16384, got ",
                image_size);
    for (const Preset& p : presets()) {
        if (name != p.name) continue;
        PreprocessSpec s;
        s.name = name;
        s.crop = image_size;
        s.resize = p.resize(image_size);
        s.filter = p.filter;
        s.mean = p.mean;
        s.std = p.std;
        return s;
    }
    std::string known;
    for (const std::string& n : preprocess_presets()) known += (known.empty() ? "" : ", ") + n;
    fail(str("preprocess: unknown preset '", name, "' (known: ", known, ")"));
}

std::string PreprocessSpec::str() const {
    char buf[256];
    std::snprintf(buf, sizeof buf, "resize %lld (%s), center crop %lld, mean (%.6g, %.6g, %.6g), std (%.6g, %.6g, %.6g)",
                  static_cast<long long>(resize), filter == PilFilter::bicubic ? "bicubic" : "bilinear",
                  static_cast<long long>(crop), mean[0], mean[1], mean[2], std[0], std[1], std[2]);
    return name + ": " + buf;
}

Tensor preprocess_image(const Image& image, const PreprocessSpec& spec) {
    WSDOL_CHECK(image.height > 0 && image.width > 0, "preprocess: empty image ", image.height, "x", image.width);
    const Image rgb = image.channels == 3 ? image : convert_color(image, ColorMode::rgb);
    const Image cropped = center_crop(resize_shorter(rgb, spec.resize, spec.filter), spec.crop, spec.crop);
    return normalize(cropped, spec.mean, spec.std);
}

Tensor preprocess_file(const std::string& path, const PreprocessSpec& spec) {
    return preprocess_image(read_image(path, ColorMode::rgb), spec);
}

Tensor preprocess_files(const std::vector<std::string>& paths, const PreprocessSpec& spec) {
    const int64_t N = static_cast<int64_t>(paths.size()), S = spec.crop;
    Tensor batch = Tensor::empty({N, 3, S, S}, DType::f32);
    float* out = batch.data<float>();
    for (int64_t i = 0; i < N; ++i) {
        const Image rgb = read_image(paths[i], ColorMode::rgb);
        WSDOL_CHECK(rgb.height > 0 && rgb.width > 0, "preprocess: ", paths[i], " is empty");
        const Image cropped = center_crop(resize_shorter(rgb, spec.resize, spec.filter), S, S);
        normalize_into(cropped, spec.mean, spec.std, out + i * 3 * S * S);
    }
    return batch;
}

}  // namespace wsdol::data
