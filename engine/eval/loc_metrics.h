// loc_metrics.h — fixed-threshold localisation accuracy in the conventions of TS-CAM (evaluate_cls_loc) and CDTR
// (engine.evaluate_our): Top-1 Loc, Top-5 Loc, GT-known Loc, Cls@1, Cls@5. ../shared/docs/data-eval.md §5.
//
// Per image the caller supplies the GT class, the predicted classes in descending score order (at least 5 for
// Top-5), and the IoU of the ONE box each protocol looks at against the GT:
//  - TS-CAM: the box from the GT class's CAM, best IoU over the GT boxes with iou_tscam ("+1"), box from
//    largest_contour_box (unclipped [x, y, x+w, y+h]) at theta (0.1 CUB, 0.12 ILSVRC in the configs).
//    GT-known: IoU >= 0.5. Top-1: top-1 class = GT and IoU > 0.5 (strict). Top-5: GT among the top 5 and IoU > 0.5.
//    (Top-k boxes come from each class's own CAM, but only the GT class's box can count, so the GT-class IoU is
//    all that matters.)
//  - CDTR: the box ALWAYS from the top-1 predicted class's CAM, IoU with iou_cdtr (no "+1") against the single
//    float GT box; theta 0.2 CUB / 0.19 ILSVRC. GT-known: IoU >= 0.5; Top-1: top-1 = GT and IoU >= 0.5;
//    Top-5: GT among the top 5 and IoU >= 0.5.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wsdol::eval {

enum class LocProtocol { tscam, cdtr };
const char* loc_protocol_name(LocProtocol p);

struct LocResult {
    int64_t images = 0;
    double top1_loc = 0, top5_loc = 0, gt_known_loc = 0;  // percent
    double top1_cls = 0, top5_cls = 0;                    // percent
};

class LocAccumulator {
public:
    explicit LocAccumulator(LocProtocol protocol) : protocol_(protocol) {}
    // topk: predicted classes, best first (may be empty when only GT-known Loc is wanted: then Top-k numbers
    // count the image as wrong). iou: the protocol's IoU (see above).
    void add(int64_t gt_class, const std::vector<int64_t>& topk, double iou);
    LocResult compute() const;  // throws when empty

private:
    LocProtocol protocol_;
    int64_t n_ = 0, top1_loc_ = 0, top5_loc_ = 0, gt_known_ = 0, top1_cls_ = 0, top5_cls_ = 0;
};

}  // namespace wsdol::eval
