// cmd_infer.cpp — `wsdol infer`: localization maps of a trained checkpoint over a dataset split
// (runner/infer.h): OUT/<id>.npy score maps and OUT/<id>.png seeds, then the mIoU of the threshold sweep.
#include <cstdio>
#include <memory>

#include "apps/cli.h"
#include "apps/progress.h"
#include "runner/infer.h"
#include "kernels/cpu/parallel.h"

namespace {

using namespace wsdol;

int run_infer(const std::vector<std::string>& args) {
    cli::Args a("infer", args, {"checkpoint", "data", "out", "split", "clip", "clip-vocab", "threshold", "max-images", "threads",
                                  "set", "dataset-kind", "weights", "method"},
                {"no-png", "quiet"});
    WSDOL_CHECK(a.positional().empty(), "infer: unexpected argument '", a.positional().empty() ? "" : a.positional()[0],
                "'");
    train::InferOptions o;
    o.checkpoint = a.get_or("checkpoint", "");
    o.weights = a.get_or("weights", "");
    o.method = a.get_or("method", "");
    o.data = a.get_or("data", "");
    o.out = a.get_or("out", "");
    o.split = a.get_or("split", "train");
    o.dataset_kind = a.get_or("dataset-kind", "auto");
    o.clip = a.get_or("clip", "");
    o.clip_vocab = a.get_or("clip-vocab", "");
    o.threshold = a.get_double("threshold", 0.5);
    o.max_images = a.get_int("max-images", -1);
    o.write_png = !a.flag("no-png");
    for (const auto& [key, value] : a.key_values("set")) o.method_options[key] = value;
    WSDOL_CHECK(o.threshold >= 0 && o.threshold <= 1, "infer: --threshold must be in [0, 1], got ", o.threshold);
    if (a.get("threads")) cpu::set_num_threads(int(a.get_int("threads", 0)));
    std::unique_ptr<cli::Progress> bar;
    auto progress = [&](int64_t done, int64_t total) {
        if (a.flag("quiet")) return;
        if (!bar) bar = std::make_unique<cli::Progress>("infer", total, "img");
        bar->update(done);
    };
    const train::InferResult r = train::run_inference(o, progress);
    std::printf("%s: %lld images in %.1f s, maps in %s\n", r.method.c_str(), (long long)r.images, r.seconds,
                o.out.c_str());
    if (r.evaluated) {
        std::printf("seed mIoU %.2f at background threshold %.2f (MCTformer's published protocol: t = 0.00 .. 0.59, "
                    "stopping at the first t that does not improve; `wsdol eval --task seg --sweep`)\n",
                    r.mctformer_miou, r.mctformer_threshold);
        std::printf("  diagnostic: best mIoU over t = 0.00 .. 0.99: %.2f at %.2f\n", r.best_miou, r.best_threshold);
        std::printf("mean score of an image class's map on its objects %.3f, on the background %.3f\n",
                    r.mean_object_score, r.mean_background_score);
    }
    if (r.segmentation_evaluated) {
        std::printf("segmentation mIoU %.2f (argmax of the segmentation output); per class:", r.segmentation_miou);
        for (size_t k = 0; k < r.segmentation_iou.size(); ++k)
            std::printf(" %s %.1f", k == 0 ? "background" : r.class_names[k - 1].c_str(), r.segmentation_iou[k]);
        std::printf("\n");
    }
    if (r.classification_evaluated) std::printf("classification Top-1 %.2f, Top-5 %.2f\n", r.top1_cls, r.top5_cls);
    if (r.boxes_evaluated)
        std::printf("localization GT-known %.2f, Top-1 %.2f, Top-5 %.2f (IoU >= 0.5)\n", r.gt_known_loc, r.top1_loc,
                    r.top5_loc);
    if (r.max_box_acc_evaluated) std::printf("MaxBoxAccV2 %.2f (maps of the ground-truth class)\n", r.max_box_acc_v2);
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "infer", "localization maps (.npy) and seeds (.png) of a trained checkpoint over a dataset split",
    "usage: wsdol infer (--checkpoint FILE | --weights FILE --method NAME) --data DIR --out DIR [--split NAME]\n"
    "                   [--threshold T] [--clip FILE --clip-vocab FILE] [--max-images N] [--no-png]\n"
    "                   [--set key=value ...] [--dataset-kind auto|voc|coco|cub|openimages|ilsvrc] [--threads T]\n"
    "                   [--quiet]\n\n"
    "Runs the method stored in FILE (a `wsdol train` checkpoint) over split --split (default train, as eval and\n"
    "report) of the VOC-layout dataset DIR with each image's labels (the WSSS protocol). Writes OUT/<id>.npy,\n"
    "(C, H, W) float32 score maps in [0, 1] at the image's size (channel k = class k+1), and OUT/<id>.png, a\n"
    "palette seed: the best image class where its score > T (default 0.5), else background. When the split has\n"
    "masks, prints the best mIoU over the background thresholds 0.00 .. 0.99 and MCTformer's early-stopping sweep\n"
    "(what `wsdol eval --sweep` prints for OUT over the same split: see the examples). The dataset's classes must\n"
    "equal the checkpoint's (else an error naming both lists). The CLIP is not needed: the checkpoint holds what\n"
    "inference uses. OUT is new, empty or an earlier infer output (rewritten); never inside DIR or an input.\n"
    "--weights FILE --method NAME reads a released checkpoint of the method's reference code instead (e.g.\n"
    "MCTformer-V2's deit_small_MCTformerV2_patch16_224 .pth, {\"model\": state_dict}); the network's size comes from\n"
    "the tensor shapes and the classes from the dataset.\n"
    "--set key=value replaces a stored method option for this run, e.g. mctformer/mmcst map_type=attention|fused|cam\n"
    "and patch_refine=true|false (MCTformer's --attention-type and --patch-attn-refine).\n"
    "\n"
    "examples (after wsdol train --help's):\n"
    "  wsdol infer --checkpoint runs/tinycam/checkpoint.safetensors --data data --out maps/tinycam\n"
    "  wsdol eval --task seg --data data --pred maps/tinycam --sweep\n"
    "  wsdol infer --checkpoint runs/mctformer/checkpoint.safetensors --data data --out maps/mctformer-val --split val --set map_type=attention\n"
    "  wsdol infer --weights deit_small_MCTformerV2_patch16_224.pth --method mctformer --data VOC2012 --out maps/released",
    run_infer});
