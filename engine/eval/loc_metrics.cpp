// loc_metrics.cpp — Top-1/Top-5/GT-known Loc counting of loc_metrics.h.
#include "engine/eval/loc_metrics.h"

#include <algorithm>

#include "engine/core/error.h"

namespace wsdol::eval {

const char* loc_protocol_name(LocProtocol p) { return p == LocProtocol::tscam ? "tscam" : "cdtr"; }

void LocAccumulator::add(int64_t gt_class, const std::vector<int64_t>& topk, double iou) {
    const bool top1 = !topk.empty() && topk[0] == gt_class;
    const size_t k5 = std::min<size_t>(5, topk.size());
    const bool top5 = std::find(topk.begin(), topk.begin() + static_cast<std::ptrdiff_t>(k5), gt_class) !=
                      topk.begin() + static_cast<std::ptrdiff_t>(k5);
    // TS-CAM uses > 0.5 for Top-k and >= 0.5 for GT-known; CDTR >= 0.5 everywhere.
    const bool loc_topk = protocol_ == LocProtocol::tscam ? iou > 0.5 : iou >= 0.5;
    const bool loc_known = iou >= 0.5;
    ++n_;
    top1_cls_ += top1;
    top5_cls_ += top5;
    top1_loc_ += top1 && loc_topk;
    top5_loc_ += top5 && loc_topk;
    gt_known_ += loc_known;
}

LocResult LocAccumulator::compute() const {
    WSDOL_CHECK(n_ > 0, "localization accuracy: no images were evaluated");
    auto pct = [&](int64_t k) { return 100.0 * static_cast<double>(k) / static_cast<double>(n_); };
    LocResult r;
    r.images = n_;
    r.top1_loc = pct(top1_loc_);
    r.top5_loc = pct(top5_loc_);
    r.gt_known_loc = pct(gt_known_);
    r.top1_cls = pct(top1_cls_);
    r.top5_cls = pct(top5_cls_);
    return r;
}

}  // namespace wsdol::eval
