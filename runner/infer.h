// infer.h — a trained method's predictions over a dataset split (`wsdol infer`, `wsdol demo`, pipelines), and the
// metrics of whatever the predictions hold, against whatever the split has (masks, boxes, labels).
//
// Per image: the RGB image, resized to the method's input size (PIL bilinear) or kept at full resolution as the
// method's InferSpec says, normalised as in training, passed to Method::predict with the image's labels (the WSSS
// protocol: maps of the train split with its image-level labels). Spatial outputs are resized back to the image
// (bilinear, align_corners=False) and written as
//   OUT/<id>.npy  maps: (C, H, W) f32 scores in [0, 1] (channel k = foreground class k), as `wsdol eval` reads them
//   OUT/<id>.png  palette PNG: the segmentation's argmax when the method makes one, else the maps' seed
//                 (1 + the argmax over the image's classes where its score > threshold, else 0)
// and evaluated:
//   maps + masks          -> mIoU over background thresholds: MCTformer's early-stopping sweep (t = 0.00..0.59,
//                            the published seed protocol, the headline) and the best t over 0.00..0.99 (diagnostic)
//   segmentation + masks  -> mIoU of the argmax (per class)
//   scores + labels       -> Top-1 / Top-5 classification
//   boxes + GT boxes      -> GT-known / Top-1 / Top-5 Loc (IoU >= 0.5, no "+1": CDTR's convention); a method
//                            with maps and no boxes (CAM) is boxed by CAM's rule: the largest region of the GT
//                            class's map above map_box_threshold (0.2) x its maximum
//   maps + GT boxes       -> MaxBoxAccV2 over the GT class's map (wsolevaluation, thresholds 0.00..0.99)
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runner/trainer.h"

namespace wsdol::train {

struct InferOptions {
    std::string checkpoint;   // a `wsdol train` checkpoint, or
    std::string weights;      // a released checkpoint of `method`'s reference repository (sizes from the shapes)
    std::string method;
    std::string data;
    std::string dataset_kind = "auto";
    std::string split = "train";
    std::string out;
    std::string clip;          // CLIP file + vocab for methods that build a frozen CLIP ("" : not needed, the
    std::string clip_vocab;    // checkpoint holds what inference uses)
    double threshold = 0.5;    // background threshold of the PNG seeds
    // Maps without boxes on a split with GT boxes: the box of the GT class's map at this fraction of its maximum
    // (CAM's 20%; TS-CAM/CDTR make their own boxes). 0: no boxes from maps.
    double map_box_threshold = 0.2;
    int64_t max_images = -1;   // -1: all
    bool write_png = true;
    bool evaluate = true;      // accumulate the metrics (when the split has the ground truth)
    // Method options that replace the checkpoint's (inference settings such as MCTformer's map_type /
    // patch_refine; an option that changes the network's shape fails at loading, naming the tensor).
    std::map<std::string, std::string> method_options;
};

struct InferResult {
    int64_t images = 0;
    double seconds = 0;
    std::string method;
    bool evaluated = false;  // maps evaluated against masks (the sweep below)
    // MCTformer's early-stopping sweep over t < 0.60 (evaluation.py: stop at the first t that does not improve;
    // the published seed protocol, headline) and the best t over 0.00..0.99 (a labelled diagnostic: the sweep can
    // stop at t = 0 on a curve that dips before it rises). mIoU: mean over the classes with ground truth, percent.
    double mctformer_threshold = 0, mctformer_miou = 0;
    double best_threshold = 0, best_miou = 0;
    std::vector<std::pair<double, double>> curve;  // (threshold, mIoU) for every t
    // Where the maps put their mass (a diagnosis of background shortcuts): the mean score of each image class's map
    // on that class's GT pixels and on GT background pixels, averaged over (image, class) pairs.
    double mean_object_score = 0, mean_background_score = 0;
    // Segmentation output against masks.
    bool segmentation_evaluated = false;
    double segmentation_miou = 0;
    std::vector<double> segmentation_iou;  // per class incl. background (NaN: no GT and no prediction)
    // Class scores against the labels (single-label datasets: the label; multi-label: any present class).
    bool classification_evaluated = false;
    double top1_cls = 0, top5_cls = 0;
    // Boxes.
    bool boxes_evaluated = false;
    double gt_known_loc = 0, top1_loc = 0, top5_loc = 0;
    bool max_box_acc_evaluated = false;
    double max_box_acc_v2 = 0;
    std::vector<std::string> class_names;  // foreground classes of the run
};

InferResult run_inference(const InferOptions& options,
                          const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace wsdol::train
