// infer.cpp — localization maps over a dataset split (see infer.h).
#include "engine/train/infer.h"

#include <chrono>
#include <filesystem>

#include "engine/autograd/autograd.h"
#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/png_write.h"
#include "engine/data/transforms.h"
#include "engine/eval/seg_metrics.h"
#include "engine/ops/ops.h"

namespace wsdol::train {

namespace fs = std::filesystem;

InferResult run_inference(const InferOptions& o, const std::function<void(int64_t, int64_t)>& progress) {
    WSDOL_CHECK(!o.checkpoint.empty(), "infer: --checkpoint FILE is required");
    WSDOL_CHECK(!o.data.empty(), "infer: --data DIR is required");
    WSDOL_CHECK(!o.out.empty(), "infer: --out DIR is required");
    WSDOL_CHECK(fs::is_directory(o.data), o.data, ": --data folder not found");
    data::DatasetOptions dopt;
    dopt.check_files = true;
    const data::Dataset ds = data::open_voc(o.data, o.split, dopt);
    LoadedMethod lm = load_trained_method(o.checkpoint, foreground_classes(ds), o.clip, o.clip_vocab, o.method_options);
    const int64_t S = lm.config.recipe.input_size;
    const auto mean = recipe_mean(lm.config.recipe), stdev = recipe_std(lm.config.recipe);
    const int num_classes = int(lm.class_names.size()) + 1;
    std::error_code ec;
    fs::create_directories(o.out, ec);
    WSDOL_CHECK(!ec, o.out, ": cannot create the output folder: ", ec.message());

    const int64_t n = o.max_images >= 0 ? std::min<int64_t>(o.max_images, ds.samples.size()) : ds.samples.size();
    eval::ThresholdSweep sweep(num_classes, eval::mctformer_thresholds(0, 100));
    bool all_masks = o.evaluate;
    InferResult result;
    result.method = lm.config.method;
    double object_sum = 0, background_sum = 0;
    int64_t pairs = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
        const data::Sample& sample = ds.samples[i];
        const data::Image rgb = data::read_image(sample.image_path, data::ColorMode::rgb);
        const int64_t H = rgb.height, W = rgb.width;
        Tensor x = data::normalize(data::resize(rgb, S, S, data::PilFilter::bilinear), mean, stdev);  // (3, S, S)
        std::vector<int> labels;
        for (int l : sample.labels) labels.push_back(l - 1);
        Tensor maps;
        {
            NoGradGuard no_grad;
            maps = lm.method->localize(x, labels);  // (C, h, w)
            WSDOL_CHECK(maps.dim() == 3 && maps.size(0) == num_classes - 1, lm.config.method,
                        ": localize returned shape ", shape_str(maps.shape()), ", expected (", num_classes - 1,
                        ", H, W)");
            if (maps.size(1) != H || maps.size(2) != W)
                maps = interpolate(maps.unsqueeze(0), H, W, InterpMode::bilinear, false).squeeze(0);
            maps = maps.to(DType::f32).contiguous();
        }
        data::write_npy((fs::path(o.out) / (sample.id + ".npy")).string(), maps);
        std::vector<int> classes(sample.labels.begin(), sample.labels.end());
        if (o.write_png) {
            data::Image seed;
            seed.height = H;
            seed.width = W;
            seed.channels = 1;
            seed.pixels.resize(size_t(H * W));
            eval::cams_to_labels(maps.data<float>(), num_classes - 1, H, W, classes, o.threshold, seed.pixels.data());
            data::write_palette_png((fs::path(o.out) / (sample.id + ".png")).string(), seed);
        }
        if (all_masks && !sample.mask_path.empty()) {
            const data::Image gt = data::read_label_png(sample.mask_path);
            WSDOL_CHECK(gt.height == H && gt.width == W, sample.mask_path, ": mask size differs from its image");
            sweep.add(gt.pixels.data(), maps.data<float>(), num_classes - 1, H, W, classes);
            for (int c : classes) {
                const float* m = maps.data<float>() + (c - 1) * H * W;
                double on = 0, off = 0;
                int64_t n_on = 0, n_off = 0;
                for (int64_t p = 0; p < H * W; ++p) {
                    if (gt.pixels[p] == c) on += m[p], ++n_on;
                    else if (gt.pixels[p] == 0) off += m[p], ++n_off;
                }
                if (n_on > 0 && n_off > 0) {
                    object_sum += on / n_on;
                    background_sum += off / n_off;
                    ++pairs;
                }
            }
        } else {
            all_masks = false;
        }
        if (progress) progress(i + 1, n);
    }
    result.images = n;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (all_masks && n > 0) {
        result.evaluated = true;
        result.best_miou = -1;
        for (size_t j = 0; j < sweep.thresholds().size(); ++j) {
            const double miou = sweep.confusion(j).scores(eval::MiouRule::toco).miou;
            result.curve.emplace_back(sweep.thresholds()[j], miou);
            if (miou > result.best_miou) result.best_miou = miou, result.best_threshold = sweep.thresholds()[j];
        }
        // MCTformer's rule: from t = 0 upwards, stop at the first t that does not improve (t < 0.60).
        double best = 0, best_t = 0;
        for (const auto& [t, miou] : result.curve) {
            if (t >= 0.595 || !(miou > best)) break;
            best = miou, best_t = t;
        }
        result.mctformer_threshold = best_t;
        result.mctformer_miou = best;
        if (pairs > 0) {
            result.mean_object_score = object_sum / double(pairs);
            result.mean_background_score = background_sum / double(pairs);
        }
    }
    return result;
}

}  // namespace wsdol::train
