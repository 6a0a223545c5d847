// infer.h — localization maps of a trained method over a dataset split (`wsdol infer`, `wsdol demo`), and their
// mIoU with MCTformer's background-threshold sweep when the split has masks.
//
// Per image: the RGB image resized to the method's input size (PIL bilinear), normalised as in training, passed
// to Method::localize with the image's labels (the WSSS protocol: CAMs of the train split with its image-level
// labels); the (C, S, S) maps are resized back to the image size (bilinear, align_corners=False) and written as
//   OUT/<id>.npy  (C, H, W) f32 scores in [0, 1] (channel k = foreground class k+1, as `wsdol eval` reads them)
//   OUT/<id>.png  palette PNG seed: 1 + the argmax over the image's classes where its score > threshold, else 0
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/train/trainer.h"

namespace wsdol::train {

struct InferOptions {
    std::string checkpoint;
    std::string data;
    std::string split = "train";
    std::string out;
    std::string clip;          // CLIP file + vocab for methods that build a frozen CLIP ("" : not needed, the
    std::string clip_vocab;    // checkpoint holds what inference uses)
    double threshold = 0.5;    // background threshold of the PNG seeds
    int64_t max_images = -1;   // -1: all
    bool write_png = true;
    bool evaluate = true;      // accumulate the threshold sweep against the masks (when the split has them)
    // Method options that replace the checkpoint's (inference settings such as MCTformer's map_type /
    // patch_refine; an option that changes the network's shape fails at loading, naming the tensor).
    std::map<std::string, std::string> method_options;
};

struct InferResult {
    int64_t images = 0;
    double seconds = 0;
    std::string method;
    bool evaluated = false;
    // The background threshold t = 0.00, 0.01, ..., 0.99 with the highest mIoU (ToCo rule: mean over the classes
    // with ground truth, percent), and the whole curve. (MCTformer's own sweep stops at the first t that does not
    // improve, which can stop at t = 0 on a curve that dips before it rises; `wsdol eval --sweep` reports that
    // one, as mctformer_* below.)
    double best_threshold = 0, best_miou = 0;
    std::vector<std::pair<double, double>> curve;         // (threshold, mIoU) for every t
    double mctformer_threshold = 0, mctformer_miou = 0;   // MCTformer's early-stopping sweep over t < 0.60
    // Where the maps put their mass (a diagnosis of background shortcuts): the mean score of each image class's map
    // on that class's GT pixels and on GT background pixels, averaged over (image, class) pairs.
    double mean_object_score = 0, mean_background_score = 0;
};

InferResult run_inference(const InferOptions& options,
                          const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace wsdol::train
