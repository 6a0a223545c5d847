// infer.cpp — predictions over a dataset split and their metrics (see infer.h).
#include "runner/infer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "engine/autograd/autograd.h"
#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/png_write.h"
#include "engine/data/transforms.h"
#include "engine/eval/boxes.h"
#include "engine/eval/loc_metrics.h"
#include "engine/eval/seg_metrics.h"
#include "engine/eval/wsol_metrics.h"
#include "engine/io/output_dir.h"
#include "engine/ops/ops.h"
#include "runner/sample_pipelines.h"

namespace wsdol::train {

namespace fs = std::filesystem;

namespace {

// (K, h, w) -> (K, H, W), bilinear, align_corners=False (no-op at equal size).
Tensor to_image_size(const Tensor& t, int64_t H, int64_t W) {
    Tensor x = t;
    if (x.size(1) != H || x.size(2) != W) x = interpolate(x.unsqueeze(0), H, W, InterpMode::bilinear, false).squeeze(0);
    return x.to(DType::f32).contiguous();
}

void check_spatial(const Tensor& t, int64_t channels, const std::string& method, const char* what) {
    WSDOL_CHECK(t.dim() == 3 && t.size(0) == channels, method, ": predict returned ", what, " of shape ",
                shape_str(t.shape()), ", expected (", channels, ", H, W)");
}

}  // namespace

InferResult run_inference(const InferOptions& o, const std::function<void(int64_t, int64_t)>& progress) {
    WSDOL_CHECK(!o.checkpoint.empty() || !o.weights.empty(), "infer: --checkpoint FILE is required (or --weights FILE "
                "--method NAME for a released checkpoint of the method's reference code)");
    WSDOL_CHECK(o.checkpoint.empty() || o.weights.empty(), "infer: give --checkpoint or --weights, not both");
    WSDOL_CHECK(o.weights.empty() || !o.method.empty(), "infer: --weights needs --method NAME");
    WSDOL_CHECK(!o.data.empty(), "infer: --data DIR is required");
    WSDOL_CHECK(!o.out.empty(), "infer: --out DIR is required");
    WSDOL_CHECK(fs::is_directory(o.data), o.data, ": --data folder not found");
    data::DatasetOptions dopt;
    dopt.check_files = true;
    const data::Dataset ds = data::open_dataset(o.data, o.split, dopt, o.dataset_kind);
    LoadedMethod lm = o.weights.empty() ? load_trained_method(o.checkpoint, data::foreground_class_names(ds), o.clip,
                                                              o.clip_vocab, o.method_options)
                                        : load_released_method(o.method, o.weights, data::foreground_class_names(ds),
                                                               o.method_options);
    models::Method& method = *lm.method;
    const std::string& name = lm.config.method;
    const models::InferSpec ispec = method.infer_spec();
    const models::BatchSpec bspec = method.batch_spec();
    const int64_t S = lm.config.recipe.input_size;
    const auto mean = spec_mean(bspec), stdev = spec_std(bspec);
    const int64_t C = int64_t(lm.class_names.size());
    const int num_classes = int(C) + 1;  // with background, as the masks count
    // Its own folder (rewriting its own earlier outputs), never inside the dataset or onto the checkpoint.
    io::OutputDir out_dir(o.out, "infer", io::Reuse::resume, {o.data, o.checkpoint, o.weights, o.clip, o.clip_vocab});

    const int64_t n = o.max_images >= 0 ? std::min<int64_t>(o.max_images, ds.samples.size()) : ds.samples.size();
    eval::ThresholdSweep sweep(num_classes, eval::mctformer_thresholds(0, 100));
    eval::ConfusionMatrix seg_confusion(num_classes);
    eval::LocAccumulator loc(eval::LocProtocol::cdtr);
    eval::BoxAccumulator box_acc(eval::wsol_thresholds(0.01));
    bool maps_vs_masks = o.evaluate, seg_vs_masks = o.evaluate, boxes_vs_gt = o.evaluate, maps_vs_boxes = o.evaluate;
    int64_t cls_n = 0, top1 = 0, top5 = 0;
    InferResult result;
    result.method = name;
    result.class_names = lm.class_names;
    double object_sum = 0, background_sum = 0;
    int64_t pairs = 0;
    bool any_maps = false, any_seg = false, any_boxes = false;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
        const data::Sample& sample = ds.samples[i];
        const data::Image rgb = data::read_image(sample.image_path, data::ColorMode::rgb);
        const int64_t H = rgb.height, W = rgb.width;
        const Tensor x = ispec.resize_to_input
                             ? data::normalize(data::resize(rgb, S, S, data::PilFilter::bilinear), mean, stdev)
                             : data::normalize(rgb, mean, stdev);  // (3, h, w)
        std::vector<int> labels;       // 0-based foreground classes
        std::vector<int> classes;      // 1-based, as the masks count
        for (int l : sample.labels) {
            labels.push_back(data::foreground_label(ds, l));
            classes.push_back(labels.back() + 1);
        }
        models::Prediction pred;
        {
            NoGradGuard no_grad;
            pred = method.predict(x, ispec.gt_labels ? labels : std::vector<int>{});
            if (pred.maps.defined()) {
                check_spatial(pred.maps, C, name, "maps");
                pred.maps = to_image_size(pred.maps, H, W);
            }
            if (pred.segmentation.defined()) {
                check_spatial(pred.segmentation, C + 1, name, "segmentation");
                pred.segmentation = to_image_size(pred.segmentation, H, W);
            }
        }
        any_maps = any_maps || pred.maps.defined();
        any_seg = any_seg || pred.segmentation.defined();
        any_boxes = any_boxes || !pred.boxes.empty();
        // Output stem: the sample id without an image extension (CUB/wsolevaluation ids are relative file paths).
        const std::string stem = fs::path(sample.id).replace_extension("").string();
        const std::string png = out_dir.path(stem + ".png");
        data::Image label_map;
        label_map.height = H, label_map.width = W, label_map.channels = 1;
        if (pred.maps.defined()) {
            data::write_npy(out_dir.path(stem + ".npy"), pred.maps);
            if (o.write_png && !pred.segmentation.defined()) {
                label_map.pixels.resize(size_t(H * W));
                eval::cams_to_labels(pred.maps.data<float>(), C, H, W, classes, o.threshold, label_map.pixels.data());
                data::write_palette_png(png, label_map);
            }
        }
        if (pred.segmentation.defined()) {  // argmax over background + classes (first maximum on ties)
            label_map.pixels.resize(size_t(H * W));
            const float* p = pred.segmentation.data<float>();
            for (int64_t q = 0; q < H * W; ++q) {
                int best = 0;
                for (int k = 1; k <= C; ++k)
                    if (p[k * H * W + q] > p[best * H * W + q]) best = k;
                label_map.pixels[size_t(q)] = uint8_t(best);
            }
            if (o.write_png) data::write_palette_png(png, label_map);
        }
        // ---- metrics of what the prediction holds, against what the sample has
        const bool has_mask = !sample.mask_path.empty();
        data::Image gt;
        if (has_mask && ((pred.maps.defined() && maps_vs_masks) || (pred.segmentation.defined() && seg_vs_masks))) {
            gt = data::read_label_png(sample.mask_path);
            WSDOL_CHECK(gt.height == H && gt.width == W, sample.mask_path, ": mask size differs from its image");
        }
        if (pred.maps.defined() && maps_vs_masks) {
            if (!has_mask) {
                maps_vs_masks = false;
            } else {
                sweep.add(gt.pixels.data(), pred.maps.data<float>(), C, H, W, classes);
                for (int c : classes) {
                    const float* m = pred.maps.data<float>() + (c - 1) * H * W;
                    double on = 0, off = 0;
                    int64_t n_on = 0, n_off = 0;
                    for (int64_t q = 0; q < H * W; ++q) {
                        if (gt.pixels[q] == c) on += m[q], ++n_on;
                        else if (gt.pixels[q] == 0) off += m[q], ++n_off;
                    }
                    if (n_on > 0 && n_off > 0) {
                        object_sum += on / n_on;
                        background_sum += off / n_off;
                        ++pairs;
                    }
                }
            }
        }
        if (pred.segmentation.defined() && seg_vs_masks) {
            if (!has_mask) seg_vs_masks = false;
            else seg_confusion.add(gt.pixels.data(), label_map.pixels.data(), H * W);
        }
        std::vector<int64_t> topk;
        if (pred.scores.defined() && !labels.empty()) {
            const std::vector<double> sc = pred.scores.to_vector();
            WSDOL_CHECK(int64_t(sc.size()) == C, name, ": predict returned ", sc.size(), " class scores for ", C,
                        " classes");
            std::vector<int64_t> order(sc.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sc[a] > sc[b]; });
            topk.assign(order.begin(), order.begin() + std::min<size_t>(5, order.size()));
            const auto present = [&](int64_t k) { return std::find(labels.begin(), labels.end(), int(k)) != labels.end(); };
            ++cls_n;
            if (present(topk[0])) ++top1;
            if (std::any_of(topk.begin(), topk.end(), present)) ++top5;
        }
        if (!sample.boxes.empty() && !labels.empty()) {
            std::vector<eval::Box> gt_boxes;
            for (const auto& b : sample.boxes)
                gt_boxes.push_back({int64_t(std::floor(b.x0)), int64_t(std::floor(b.y0)), int64_t(std::floor(b.x1)),
                                    int64_t(std::floor(b.y1))});
            // A method that makes maps but no boxes (CAM) is boxed by CAM's rule (Zhou et al. 2016, §3): the
            // largest connected region of the ground-truth class's map above map_box_threshold x its maximum
            // (INFERRED: the largest contour at the threshold, as TS-CAM's and CDTR's get_bboxes; README).
            std::vector<models::PredictedBox> boxes = pred.boxes;
            if (boxes.empty() && pred.maps.defined() && o.map_box_threshold > 0) {
                const std::vector<uint8_t> u8 =
                    eval::heatmap_u8(pred.maps.data<float>() + int64_t(labels[0]) * H * W, H * W);
                const eval::Box b = eval::largest_contour_box(u8.data(), H, W, o.map_box_threshold);
                boxes.push_back({labels[0], double(b.x0), double(b.y0), double(b.x1 - 1), double(b.y1 - 1), 0.0});
                any_boxes = true;
            }
            if (!boxes.empty() && boxes_vs_gt) {
                // The box of the ground-truth class when the method gives one per class, else its first box.
                const models::PredictedBox* box = &boxes[0];
                for (const auto& b : boxes)
                    if (b.class_id == labels[0]) box = &b;
                double iou = 0;
                for (const auto& g : sample.boxes)
                    iou = std::max(iou, eval::iou_cdtr({box->x0, box->y0, box->x1, box->y1}, g));
                loc.add(labels[0], topk, iou);
            }
            if (pred.maps.defined() && maps_vs_boxes) {
                const std::vector<uint8_t> u8 =
                    eval::heatmap_u8(pred.maps.data<float>() + int64_t(labels[0]) * H * W, H * W);
                box_acc.add(u8.data(), H, W, gt_boxes);
            }
        } else {
            boxes_vs_gt = maps_vs_boxes = false;
        }
        if (progress) progress(i + 1, n);
    }
    result.images = n;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (n == 0) return result;
    if (any_maps && maps_vs_masks) {
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
    if (any_seg && seg_vs_masks) {
        const eval::SegScores s = seg_confusion.scores(eval::MiouRule::toco);
        result.segmentation_evaluated = true;
        result.segmentation_miou = s.miou;
        result.segmentation_iou = s.iou;
    }
    if (cls_n > 0) {
        result.classification_evaluated = true;
        result.top1_cls = 100.0 * double(top1) / double(cls_n);
        result.top5_cls = 100.0 * double(top5) / double(cls_n);
    }
    if (any_boxes && boxes_vs_gt) {
        const eval::LocResult r = loc.compute();
        result.boxes_evaluated = true;
        result.gt_known_loc = r.gt_known_loc, result.top1_loc = r.top1_loc, result.top5_loc = r.top5_loc;
    }
    if (any_maps && maps_vs_boxes && box_acc.images() > 0) {
        result.max_box_acc_evaluated = true;
        result.max_box_acc_v2 = box_acc.compute(true).mean();
    }
    return result;
}

}  // namespace wsdol::train
