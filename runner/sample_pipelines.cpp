// sample_pipelines.cpp — the named sample pipelines and the MethodBatch builder (see sample_pipelines.h).
#include "runner/sample_pipelines.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/autograd/autograd.h"
#include "engine/data/image_io.h"
#include "engine/data/transforms_pipeline.h"
#include "engine/ops/ops.h"

namespace wsdol::train {

namespace fs = std::filesystem;

const std::vector<PipelineInfo>& sample_pipelines() {
    static const std::vector<PipelineInfo> p = {
        {"timm", "timm RandomResizedCrop + flip + RandAugment + RandomErasing (DeiT/MCTformer)", false,
         {"valid_box", "view2"}},
        {"irn", "IRNet: long side U{320..640} x S/512 (bicubic), flip, random S crop padded with the mean colour", true,
         {"valid_box", "view2"}},
        {"flip", "resize to S x S (PIL bilinear), flip p 0.5", true, {"valid_box", "view2"}},
        {"none", "resize to S x S (PIL bilinear)", true, {"valid_box", "view2"}},
        {"toco", "ToCo multi-view: rescale U(0.5, 2), flip, padded S crop (img_box); main view and crop source "
                 "flipped independently; a second global view", false, {"valid_box", "global_views", "crop_source"}},
    };
    return p;
}

std::vector<std::string> sample_pipeline_names() {
    std::vector<std::string> v;
    for (const auto& p : sample_pipelines()) v.push_back(p.name);
    return v;
}

std::array<float, 3> spec_mean(const models::BatchSpec& spec) {
    return spec.clip_normalize ? data::kClipMean : data::kImageNetMean;
}
std::array<float, 3> spec_std(const models::BatchSpec& spec) {
    return spec.clip_normalize ? data::kClipStd : data::kImageNetStd;
}

namespace {

const PipelineInfo* find_pipeline(const std::string& name) {
    for (const auto& p : sample_pipelines())
        if (p.name == name) return &p;
    return nullptr;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " | ") + x;
    return s;
}

// One view of `rgb` (and of `label`, when given, with the same geometry) into out (3, S, S); returns the valid
// box [y0, y1, x0, x1).
std::array<int64_t, 4> make_view(const std::string& pipeline, const data::Image& rgb, const data::Image* label,
                                 data::SampleRng& rng, int64_t S, const std::array<float, 3>& mean,
                                 const std::array<float, 3>& stdev, float* out, float* label_out) {
    auto put_label = [&](const data::Image& l) {
        for (int64_t i = 0; i < S * S; ++i) label_out[i] = float(l.pixels[size_t(i)]);
    };
    if (pipeline == "timm") {
        data::TimmTrainOptions o;
        o.size = S;
        o.mean = mean;
        o.std = stdev;
        data::timm_train_view(rgb, rng, o, out);
        return {0, S, 0, S};
    }
    if (pipeline == "irn") {
        // IRNet (resnet50_cam) = data::irn_train_view: long side U{lo..hi} PIL bicubic, normalize, flip, random
        // S x S crop padded with 0 in normalized space. INFERRED for S != 512: the reference's 320..640 range (for
        // its 512 crop) scaled by S / 512 and rounded.
        const double scale = double(S) / 512.0;
        data::IrnTrainOptions o;
        o.crop = S;
        o.resize_long_lo = int64_t(std::lround(320 * scale));
        o.resize_long_hi = int64_t(std::lround(640 * scale));
        // TorchvisionNormalize's Python floats for ImageNet (the f32 constants widened differ in the last bits)
        if (mean != data::kImageNetMean || stdev != data::kImageNetStd)
            for (int c = 0; c < 3; ++c) o.mean[size_t(c)] = mean[size_t(c)], o.std[size_t(c)] = stdev[size_t(c)];
        return data::irn_train_view(rgb, rng, o, out, label, label_out).img_box;
    }
    // "flip": resize to S x S (PIL bilinear) and flip with p = 0.5; "none": resize only.
    data::Image img = data::resize(rgb, S, S, data::PilFilter::bilinear);
    data::Image lab;
    if (label) lab = data::resize_nearest(*label, S, S);
    if (pipeline == "flip" && rng.bernoulli(0.5)) {
        img = data::hflip(img);
        if (label) lab = data::hflip(lab);
    }
    data::normalize_into(img, mean, stdev, out);
    if (label) put_label(lab);
    return {0, S, 0, S};
}

bool wants(const models::BatchSpec& spec, const std::string& extra) {
    for (const auto& e : spec.extras)
        if (e == extra) return true;
    return false;
}

// CLIP input for methods with a frozen CLIP image tower: the batch un-normalised, re-normalised with CLIP's
// mean/std and resized (bicubic, align_corners=False) to the CLIP size.
Tensor clip_view(const Tensor& images, const models::BatchSpec& spec) {
    NoGradGuard no_grad;
    const auto mean = spec_mean(spec), stdev = spec_std(spec);
    const int64_t clip_size = spec.clip_input_size;
    Tensor x = images.contiguous().clone();
    const int64_t B = x.size(0), HW = x.size(2) * x.size(3);
    float* d = x.data<float>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < 3; ++c) {
            float* p = d + (b * 3 + c) * HW;
            for (int64_t i = 0; i < HW; ++i)
                p[i] = ((p[i] * stdev[c] + mean[c]) - data::kClipMean[c]) / data::kClipStd[c];
        }
    if (x.size(2) == clip_size && x.size(3) == clip_size) return x;
    return interpolate(x, clip_size, clip_size, InterpMode::bicubic, false);
}

// The "toco" pipeline: the main view into the batch slot, the extras the spec declares (see the header).
data::ExampleFn make_toco_example_fn(const PipelineInputs& in) {
    const data::Dataset& dataset = *in.dataset;
    const int64_t S = in.size;
    data::TocoViewOptions options;
    options.main.crop = S;
    options.main.mean = spec_mean(in.spec);
    options.main.std = spec_std(in.spec);
    const bool want_box = wants(in.spec, "valid_box"), want_global = wants(in.spec, "global_views"),
               want_source = wants(in.spec, "crop_source");
    auto skip = in.skip;
    return [&dataset, S, options, want_box, want_global, want_source, skip](
               int64_t index, data::SampleRng& rng, float* out, data::Example& example) {
        const data::Sample& sample = dataset.samples[index];
        example.labels = sample.labels;
        const size_t view = size_t(3 * S * S);
        // Scratch for the views no one asked for (the draws, and so the other views, stay the same).
        std::vector<float> scratch;
        data::ExtraArray* global = nullptr;
        data::ExtraArray* source = nullptr;
        if (want_global) {
            global = &example.extras["global_views"];
            global->shape = {2, 3, S, S};
            global->values.assign(2 * view, 0.0f);
        }
        if (want_source) {
            source = &example.extras["crop_source"];
            source->shape = {3, S, S};
            source->values.assign(view, 0.0f);
        }
        if (skip && (*skip)[index]) {
            std::fill(out, out + view, 0.0f);
            if (want_box) example.extras["valid_box"] = {{4}, {0, 0, 0, 0}};
            return;
        }
        if (!want_global || !want_source) scratch.assign(2 * view, 0.0f);
        float* global_out = want_global ? global->values.data() + view : scratch.data();
        float* source_out = want_source ? source->values.data() : scratch.data() + view;
        const data::Image rgb = data::read_image(sample.image_path, data::ColorMode::rgb);
        const data::TocoViews v = data::toco_views(rgb, rng, options, out, global_out, source_out);
        if (want_global) std::memcpy(global->values.data(), out, view * sizeof(float));
        example.img_box = v.img_box;
        if (want_box)
            example.extras["valid_box"] = {
                {4}, {float(v.img_box[0]), float(v.img_box[1]), float(v.img_box[2]), float(v.img_box[3])}};
    };
}

}  // namespace

void check_batch_spec(const std::string& method, const std::string& pipeline, const models::BatchSpec& spec) {
    const PipelineInfo* p = find_pipeline(pipeline);
    WSDOL_CHECK(p, method, ": sample pipeline '", pipeline, "' is not known (", joined(sample_pipeline_names()), ")");
    for (const auto& e : spec.extras) {
        bool made = false;
        for (const auto& m : p->extras) made = made || m == e;
        WSDOL_CHECK(made, method, ": declares the batch extra '", e, "', which sample pipeline '", pipeline,
                    "' does not make (it makes: ", joined(p->extras), ")");
    }
    WSDOL_CHECK(spec.labels != models::LabelKind::pixel_labels || p->pixel_labels, method,
                ": needs pixel labels, which sample pipeline '", pipeline, "' cannot carry (use one of: irn, flip, none)");
    WSDOL_CHECK(spec.clip_input_size >= 0, method, ": clip_input_size must be >= 0");
    WSDOL_CHECK(spec.min_image_side >= 0, method, ": min_image_side must be >= 0");
}

void check_image_sizes(const std::string& method, const data::Dataset& dataset, const models::BatchSpec& spec) {
    if (spec.min_image_side <= 0) return;
    const data::Sample* first = nullptr;
    int64_t count = 0;
    for (const auto& s : dataset.samples) {
        if (s.width <= 0 || s.height <= 0) continue;  // sizes not read (the dataset's files were not checked)
        if (std::min(s.width, s.height) >= spec.min_image_side) continue;
        if (!first) first = &s;
        ++count;
    }
    WSDOL_CHECK(!first, method, ": ", count, " image(s) of ", dataset.root, " split '", dataset.split,
                "' are smaller than the ", spec.min_image_side, "-pixel side it needs (",
                spec.min_image_side_reason.empty() ? "the method's crop" : spec.min_image_side_reason, "), e.g. ",
                first ? first->image_path : "", " is ", first ? first->width : 0, "x", first ? first->height : 0,
                " (W x H)");
}

data::ExampleFn make_example_fn(const PipelineInputs& in) {
    const data::Dataset& dataset = *in.dataset;
    const int64_t S = in.size;
    const std::string pipeline = in.pipeline;
    const models::BatchSpec spec = in.spec;
    const auto mean = spec_mean(spec), stdev = spec_std(spec);
    if (pipeline == "toco") return make_toco_example_fn(in);
    const bool want_box = wants(spec, "valid_box"), want_view2 = wants(spec, "view2");
    const bool want_pixels = spec.labels == models::LabelKind::pixel_labels;
    const std::string label_dir = in.pixel_label_dir;
    auto skip = in.skip;
    return [&dataset, S, pipeline, mean, stdev, want_box, want_view2, want_pixels, label_dir, skip](
               int64_t index, data::SampleRng& rng, float* out, data::Example& example) {
        const data::Sample& sample = dataset.samples[index];
        example.labels = sample.labels;
        data::ExtraArray* pixels = nullptr;
        if (want_pixels) {
            pixels = &example.extras["pixel_labels"];
            pixels->shape = {S, S};
            pixels->values.assign(size_t(S * S), 255.0f);
        }
        data::ExtraArray* view2 = nullptr;
        if (want_view2) {
            view2 = &example.extras["view2"];
            view2->shape = {3, S, S};
            view2->values.assign(size_t(3 * S * S), 0.0f);
        }
        if (skip && (*skip)[index]) {
            std::fill(out, out + 3 * S * S, 0.0f);
            if (want_box) example.extras["valid_box"] = {{4}, {0, 0, 0, 0}};
            return;
        }
        const data::Image rgb = data::read_image(sample.image_path, data::ColorMode::rgb);
        data::Image label;
        if (want_pixels) {
            const std::string path =
                label_dir.empty() ? sample.mask_path : (fs::path(label_dir) / (sample.id + ".png")).string();
            WSDOL_CHECK(!path.empty(), sample.image_path, ": the method needs pixel labels and the dataset has no mask "
                        "for it (give an earlier stage's labels)");
            label = data::read_label_png(path);
            WSDOL_CHECK(label.height == rgb.height && label.width == rgb.width, path, ": label map ", label.height, "x",
                        label.width, " differs from its image ", rgb.height, "x", rgb.width);
        }
        const auto box = make_view(pipeline, rgb, want_pixels ? &label : nullptr, rng, S, mean, stdev, out,
                                   want_pixels ? pixels->values.data() : nullptr);
        example.img_box = box;
        if (want_box)
            example.extras["valid_box"] = {{4}, {float(box[0]), float(box[1]), float(box[2]), float(box[3])}};
        if (want_view2) {
            // Its own stream, derived from the sample's: the main view's draws are unchanged.
            const uint64_t key = (uint64_t(rng.next_u32()) << 32) | rng.next_u32();
            data::SampleRng second(key, 2, uint64_t(index));
            make_view(pipeline, rgb, nullptr, second, S, mean, stdev, view2->values.data(), nullptr);
        }
    };
}

models::MethodBatch make_method_batch(const data::Batch& batch, const PipelineInputs& in, int64_t num_classes) {
    models::MethodBatch mb;
    mb.images = batch.images;
    const int64_t B = int64_t(batch.examples.size());
    const data::Dataset& ds = *in.dataset;
    mb.labels = Tensor::zeros({B, num_classes});
    float* d = mb.labels.data<float>();
    const bool single = in.spec.labels == models::LabelKind::single_label;
    if (single) mb.class_ids = Tensor::zeros({B}, DType::i64);
    for (int64_t b = 0; b < B; ++b) {
        const data::Example& ex = batch.examples[size_t(b)];
        const data::Sample& sample = ds.samples[size_t(ex.index)];
        mb.ids.push_back(sample.id);
        if (single)
            WSDOL_CHECK(ex.labels.size() == 1, sample.image_path, ": the method needs one label per image, the dataset "
                        "gives ", ex.labels.size());
        for (int label : ex.labels) {
            const int k = data::foreground_label(ds, label);
            WSDOL_CHECK(k >= 0 && k < num_classes, sample.image_path, ": label ", label, " out of range for ",
                        num_classes, " classes");
            d[b * num_classes + k] = 1.0f;
            if (single) mb.class_ids.data<int64_t>()[b] = k;
        }
    }
    // Extras: every sample of a batch carries the same names and shapes.
    if (B > 0)
        for (const auto& [name, first] : batch.examples[0].extras) {
            Shape shape = {B};
            for (int64_t s : first.shape) shape.push_back(s);
            const size_t n = first.values.size();
            const bool integer = name == "pixel_labels";
            Tensor t = Tensor::zeros(shape, integer ? DType::i64 : DType::f32);
            for (int64_t b = 0; b < B; ++b) {
                const auto it = batch.examples[size_t(b)].extras.find(name);
                WSDOL_CHECK(it != batch.examples[size_t(b)].extras.end() && it->second.values.size() == n,
                            "batch extra '", name, "': sample ", b, " lacks it or has another shape");
                const float* src = it->second.values.data();
                if (integer) {
                    int64_t* dst = t.data<int64_t>() + b * int64_t(n);
                    for (size_t i = 0; i < n; ++i) dst[i] = int64_t(src[i]);
                } else {
                    std::memcpy(t.data<float>() + b * int64_t(n), src, n * sizeof(float));
                }
            }
            if (integer) mb.pixel_labels = t;
            else mb.extras[name] = t;
        }
    if (in.spec.clip_input_size > 0) mb.clip_images = clip_view(batch.images, in.spec);
    return mb;
}

}  // namespace wsdol::train
