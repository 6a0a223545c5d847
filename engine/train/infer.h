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
#include <string>
#include <vector>

#include "engine/train/trainer.h"

namespace wsdol::train {

struct InferOptions {
    std::string checkpoint;
    std::string data;
    std::string split = "train";
    std::string out;
    std::string clip;          // CLIP file for methods that build a frozen CLIP ("" : the method's default)
    double threshold = 0.5;    // background threshold of the PNG seeds
    int64_t max_images = -1;   // -1: all
    bool write_png = true;
    bool evaluate = true;      // accumulate the threshold sweep against the masks (when the split has them)
};

struct InferResult {
    int64_t images = 0;
    double seconds = 0;
    std::string method;
    bool evaluated = false;
    double best_threshold = 0, best_miou = 0;            // MCTformer sweep, ToCo mIoU rule (percent)
    std::vector<std::pair<double, double>> curve;         // (threshold, mIoU)
};

InferResult run_inference(const InferOptions& options,
                          const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace wsdol::train
