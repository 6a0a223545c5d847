// wsol_metrics.h — the threshold-sweep metrics of the WSOL benchmark (clovaai/wsolevaluation, Choe et al. 2020):
// MaxBoxAcc / MaxBoxAccV2 (BoxEvaluator) and PxAP (MaskEvaluator), plus pIoU (DA-WSOL's peak IoU on the same
// histograms). Exact conventions: ../shared/docs/data-eval.md §3.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/eval/boxes.h"

namespace wsdol::eval {

// Score-map thresholds tau_k = k * interval for k = 0 .. n-1 with n = len(numpy.arange(0, 1, interval))
// = ceil(1 / interval), each computed as k * interval in double (what numpy.arange yields).
// interval 0.01 -> 100 thresholds (the CLI default), 0.001 -> 1000 (training default), 0.2 -> 5 (unit tests).
std::vector<double> wsol_thresholds(double interval);

// ---- MaxBoxAcc (BoxEvaluator) ----
struct BoxAccResult {
    std::vector<int> iou_thresholds;               // delta in percent, e.g. 30 50 70
    std::vector<double> max_box_acc;               // per delta: max over tau of BoxAcc (percent)
    std::vector<int> best_threshold_index;         // per delta: the first tau index reaching the max
    std::vector<std::vector<double>> box_acc;      // per delta, per tau (percent)
    int64_t images = 0;
    double mean() const;                           // mean of max_box_acc (MaxBoxAccV2 when deltas are 30/50/70)
    double at(int delta) const;                    // max_box_acc for one delta (throws if not evaluated)
};

class BoxAccumulator {
public:
    // Counts, for every tau and delta, the images whose best box IoU reaches delta, both for the largest
    // contour's box only (the original MaxBoxAcc) and for every contour's box (multi_contour_eval; MaxBoxAccV2):
    // one contour search per distinct integer threshold serves both.
    BoxAccumulator(std::vector<double> thresholds, std::vector<int> iou_thresholds = {30, 50, 70});
    // u8: (H, W) heat map (heatmap_u8 of a [0,1] score map at the resolution the GT boxes were scaled to).
    // gt: the image's GT boxes at that resolution (at least one).
    void add(const uint8_t* u8, int64_t height, int64_t width, const std::vector<Box>& gt);
    // Per tau, the best IoU of the image's predicted boxes against its GT boxes (what add() counts).
    std::vector<double> best_ious(const uint8_t* u8, int64_t height, int64_t width, const std::vector<Box>& gt,
                                  bool all_contours) const;
    // all_contours false: MaxBoxAcc (largest contour); true: the multi-contour variant. Throws when empty.
    BoxAccResult compute(bool all_contours) const;
    int64_t images() const { return images_; }

private:
    // Best IoU per tau for the largest-contour box (first) and for all contour boxes (second).
    void sweep(const uint8_t* u8, int64_t height, int64_t width, const std::vector<Box>& gt,
               std::vector<double>& best_largest, std::vector<double>& best_all) const;
    std::vector<double> thresholds_;
    std::vector<int> iou_thresholds_;
    std::vector<std::vector<int64_t>> correct_largest_, correct_all_;  // [delta][tau]
    int64_t images_ = 0;
};

// ---- PxAP and pIoU (MaskEvaluator) ----
struct PxapResult {
    double pxap = 0;                 // 100 * sum_j precision_j * (recall_j - recall_{j-1}), over TP_j + FP_j > 0
    double piou = 0;                 // 100 * max_j TP_j / (TP_j + FP_j + FN_j)
    double piou_threshold = 0;       // the bin edge of the pIoU maximum (pixels with score >= it are positive)
    int64_t positives = 0, negatives = 0;
    std::vector<double> precision, recall, iou;  // index j = 0 .. n+1 (j = 0: score >= 2, nothing)
};

class PxapAccumulator {
public:
    explicit PxapAccumulator(std::vector<double> thresholds);
    // scores: (N) in [0, 1]; gt: (N) with 1 = foreground, 0 = background, anything else (255) ignored.
    void add(const double* scores, const uint8_t* gt, int64_t n);
    void add(const float* scores, const uint8_t* gt, int64_t n);
    // Throws "no positive ground truth" / "no positive prediction" as wsolevaluation does.
    PxapResult compute() const;
    const std::vector<int64_t>& positive_histogram() const { return hist_pos_; }
    const std::vector<int64_t>& negative_histogram() const { return hist_neg_; }

private:
    template <typename T> void add_impl(const T* scores, const uint8_t* gt, int64_t n);
    std::vector<double> edges_;  // tau_0 .. tau_{n-1}, 1, 2, 3
    std::vector<int64_t> hist_pos_, hist_neg_;
    int64_t ignored_ = 0;
};

}  // namespace wsdol::eval
