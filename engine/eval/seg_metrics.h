// seg_metrics.h — WSSS evaluation: the confusion matrix and mIoU of CAM pseudo labels / segmentations, and the
// label map made from class activation maps with a background threshold (fixed, or MCTformer's sweep).
// Reference: ../shared/docs/data-eval.md §2 (ToCo utils/evaluate.py, MCTformer evaluation.py, IRN/chainercv).
//
// Decisions (README decisions table):
//  - Confusion counts are accumulated over the whole image set, M[gt][pred]; GT pixels outside [0, C) (255 =
//    void) are skipped; a prediction outside [0, C) is an error (the VOC devkit forbids such values).
//  - mIoU rule "toco" (the engine's default): mean IoU over the classes that have at least one GT pixel in the
//    set (ToCo's `valid = hist.sum(axis=1) > 0` + nanmean; equals chainercv's nanmean whenever every class with
//    predictions also has GT). Rule "mctformer": TP / (T + P - TP + 1e-10) for all C classes, plain mean (absent
//    classes count 0). On full VOC/COCO splits every class occurs and the two agree.
//  - CAM -> label: background where the highest CAM among the image's GT classes is <= t (background wins
//    ties), otherwise 1 + the GT class with the highest CAM (the lowest class wins ties between classes, as
//    numpy.argmax). The comparison is done in the CAMs' precision: float32 CAMs against float(t), as MCTformer
//    (a float32 threshold plane) and ToCo (a float32 tensor against a Python scalar) do.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wsdol::eval {

enum class MiouRule { toco, mctformer };
const char* miou_rule_name(MiouRule r);
MiouRule miou_rule_from_name(const std::string& name);  // "toco" | "mctformer"

struct SegScores {
    double miou = 0;                 // percent
    std::vector<double> iou;         // per class, percent; NaN where the class has no GT and no prediction
    std::vector<bool> has_gt;        // per class: at least one GT pixel
    double pixel_accuracy = 0;       // percent: trace / total
    double mean_accuracy = 0;        // percent: NaN-mean of per-class recall
    int64_t pixels = 0;              // counted (non-void) pixels
};

class ConfusionMatrix {
public:
    explicit ConfusionMatrix(int num_classes);
    int num_classes() const { return c_; }
    // gt, pred: n labels. gt >= C (255) is skipped; pred >= C throws (naming the value).
    void add(const uint8_t* gt, const uint8_t* pred, int64_t n);
    void add_counts(const ConfusionMatrix& other);
    int64_t at(int gt, int pred) const { return m_[static_cast<size_t>(gt) * c_ + pred]; }
    int64_t& at(int gt, int pred) { return m_[static_cast<size_t>(gt) * c_ + pred]; }
    SegScores scores(MiouRule rule = MiouRule::toco) const;

private:
    int c_;
    std::vector<int64_t> m_;
};

// cams: (K, H, W) scores of the K = C-1 foreground classes (channel k = class k+1); classes: the image's
// foreground classes (1..C-1) taken into account. Writes (H, W) labels to out.
void cams_to_labels(const float* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                    double threshold, uint8_t* out);
void cams_to_labels(const double* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                    double threshold, uint8_t* out);

// Confusion matrices for a list of background thresholds from one pass over the CAMs: per pixel only the max GT
// CAM, its class and the GT label matter, so pixels are binned by the first threshold at which they turn
// background. confusion(j) equals accumulating cams_to_labels(..., thresholds[j]) over the same images.
class ThresholdSweep {
public:
    ThresholdSweep(int num_classes, std::vector<double> thresholds);
    // gt: (H, W) labels; cams and classes as cams_to_labels.
    void add(const uint8_t* gt, const float* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes);
    void add(const uint8_t* gt, const double* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes);
    ConfusionMatrix confusion(size_t j) const;
    const std::vector<double>& thresholds() const { return thresholds_; }

private:
    template <typename T>
    void add_impl(const uint8_t* gt, const T* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes);
    int c_;
    std::vector<double> thresholds_;
    // counts_[(g * C + a) * (J + 1) + b]: GT g, arg class a, first background threshold index b (J = never).
    std::vector<int64_t> counts_;
};

// MCTformer `evaluation.py --curve`: t = i / 100 for i = start .. end-1 (default 0 .. 59); stop at the first t whose
// mIoU is not higher than the best so far. The best starts at (mIoU 0, t 0.0), so a first mIoU of 0 stops at once
// and reports t = 0.0, as MCTformer does. MCTformer averages with its own rule (MiouRule::mctformer).
struct SweepResult {
    double best_threshold = 0;
    double best_miou = 0;
    std::vector<std::pair<double, double>> curve;  // (t, mIoU) of every evaluated threshold
};
std::vector<double> mctformer_thresholds(int start = 0, int end = 60);
SweepResult mctformer_sweep(const ThresholdSweep& sweep, MiouRule rule = MiouRule::mctformer);

}  // namespace wsdol::eval
