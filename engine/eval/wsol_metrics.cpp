// wsol_metrics.cpp — MaxBoxAcc(V2), PxAP and pIoU of wsol_metrics.h.
#include "engine/eval/wsol_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace wsdol::eval {

std::vector<double> wsol_thresholds(double interval) {
    WSDOL_CHECK(interval > 0 && interval <= 1 && std::isfinite(interval),
                "score-map threshold interval must be in (0, 1], got ", interval);
    // numpy.arange(0, 1, d): length ceil((1 - 0) / d), element k = 0 + k * d.
    const auto n = static_cast<int64_t>(std::ceil(1.0 / interval));
    std::vector<double> t(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) t[k] = static_cast<double>(k) * interval;
    return t;
}

double BoxAccResult::mean() const {
    WSDOL_CHECK(!max_box_acc.empty(), "MaxBoxAcc: no IoU thresholds");
    double s = 0;
    for (double v : max_box_acc) s += v;
    return s / static_cast<double>(max_box_acc.size());
}

double BoxAccResult::at(int delta) const {
    for (size_t i = 0; i < iou_thresholds.size(); ++i)
        if (iou_thresholds[i] == delta) return max_box_acc[i];
    fail(str("MaxBoxAcc at IoU threshold ", delta, " was not evaluated"));
}

BoxAccumulator::BoxAccumulator(std::vector<double> thresholds, std::vector<int> iou_thresholds)
    : thresholds_(std::move(thresholds)), iou_thresholds_(std::move(iou_thresholds)) {
    WSDOL_CHECK(!thresholds_.empty(), "MaxBoxAcc: empty score-map threshold list");
    WSDOL_CHECK(!iou_thresholds_.empty(), "MaxBoxAcc: empty IoU threshold list");
    for (int d : iou_thresholds_) WSDOL_CHECK(d >= 0 && d <= 100, "MaxBoxAcc: IoU threshold ", d, " not in 0..100");
    correct_largest_.assign(iou_thresholds_.size(), std::vector<int64_t>(thresholds_.size(), 0));
    correct_all_ = correct_largest_;
}

void BoxAccumulator::sweep(const uint8_t* u8, int64_t height, int64_t width, const std::vector<Box>& gt,
                           std::vector<double>& best_largest, std::vector<double>& best_all) const {
    WSDOL_CHECK(!gt.empty(), "MaxBoxAcc: an image without GT boxes");
    const int64_t n = height * width;
    uint8_t mx = 0;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, u8[i]);
    best_largest.assign(thresholds_.size(), 0.0);
    best_all.assign(thresholds_.size(), 0.0);
    auto best_iou = [&](const std::vector<Box>& boxes) {
        double best = 0.0;  // IoUs are >= 0
        for (const Box& b : boxes)
            for (const Box& g : gt) best = std::max(best, iou_wsol(b, g));
        return best;
    };
    // T_k = int(tau_k * max) takes at most 256 distinct values: one contour search per distinct T. (Sequential:
    // spreading the searches of one image over threads did not pay on the shared 2-core machine; images are
    // independent if a parallel loop is wanted later.)
    std::vector<int64_t> t_of(thresholds_.size()), distinct;
    for (size_t k = 0; k < thresholds_.size(); ++k) {
        t_of[k] = heatmap_threshold(thresholds_[k], mx);
        if (distinct.empty() || distinct.back() != t_of[k]) distinct.push_back(t_of[k]);
    }
    std::vector<double> d_largest(distinct.size()), d_all(distinct.size());
    for (size_t i = 0; i < distinct.size(); ++i) {
        const auto contours = threshold_contours(u8, height, width, distinct[i]);
        d_largest[i] = best_iou(wsol_boxes(contours, height, width, false));
        d_all[i] = best_iou(wsol_boxes(contours, height, width, true));
    }
    size_t j = 0;
    for (size_t k = 0; k < thresholds_.size(); ++k) {
        if (t_of[k] != distinct[j]) ++j;
        best_largest[k] = d_largest[j];
        best_all[k] = d_all[j];
    }
}

std::vector<double> BoxAccumulator::best_ious(const uint8_t* u8, int64_t height, int64_t width,
                                              const std::vector<Box>& gt, bool all_contours) const {
    std::vector<double> largest, all;
    sweep(u8, height, width, gt, largest, all);
    return all_contours ? all : largest;
}

void BoxAccumulator::add(const uint8_t* u8, int64_t height, int64_t width, const std::vector<Box>& gt) {
    std::vector<double> largest, all;
    sweep(u8, height, width, gt, largest, all);
    for (size_t d = 0; d < iou_thresholds_.size(); ++d) {
        const double delta = static_cast<double>(iou_thresholds_[d]) / 100.0;  // Python: _THRESHOLD / 100
        for (size_t k = 0; k < thresholds_.size(); ++k) {
            correct_largest_[d][k] += largest[k] >= delta;
            correct_all_[d][k] += all[k] >= delta;
        }
    }
    ++images_;
}

BoxAccResult BoxAccumulator::compute(bool all_contours) const {
    WSDOL_CHECK(images_ > 0, "MaxBoxAcc: no images were evaluated");
    const auto& correct = all_contours ? correct_all_ : correct_largest_;
    BoxAccResult r;
    r.iou_thresholds = iou_thresholds_;
    r.images = images_;
    for (size_t d = 0; d < iou_thresholds_.size(); ++d) {
        std::vector<double> acc(thresholds_.size());
        int best = 0;
        for (size_t k = 0; k < thresholds_.size(); ++k) {
            acc[k] = static_cast<double>(correct[d][k]) * 100.0 / static_cast<double>(images_);
            if (acc[k] > acc[best]) best = static_cast<int>(k);
        }
        r.max_box_acc.push_back(acc[best]);
        r.best_threshold_index.push_back(best);
        r.box_acc.push_back(std::move(acc));
    }
    return r;
}

// ---------------------------------------------------------------------------------------------------------------

PxapAccumulator::PxapAccumulator(std::vector<double> thresholds) : edges_(std::move(thresholds)) {
    WSDOL_CHECK(!edges_.empty(), "PxAP: empty score-map threshold list");
    for (size_t i = 1; i < edges_.size(); ++i)
        WSDOL_CHECK(edges_[i] > edges_[i - 1], "PxAP: thresholds must increase");
    WSDOL_CHECK(edges_.back() < 1.0, "PxAP: thresholds must be below 1");
    // Bins [tau_0, tau_1), ..., [tau_{n-1}, 1), [1, 2), [2, 3] (numpy.histogram: last bin closed).
    edges_.push_back(1.0);
    edges_.push_back(2.0);
    edges_.push_back(3.0);
    hist_pos_.assign(edges_.size() - 1, 0);
    hist_neg_.assign(edges_.size() - 1, 0);
}

template <typename T>
void PxapAccumulator::add_impl(const T* scores, const uint8_t* gt, int64_t n) {
    check_scoremap(scores, n, "PxAP");
    const int64_t bins = static_cast<int64_t>(hist_pos_.size());
    for (int64_t i = 0; i < n; ++i) {
        if (gt[i] != 0 && gt[i] != 1) {
            ++ignored_;
            continue;
        }
        const double s = static_cast<double>(scores[i]);
        // Bin of s: the last edge <= s (s = tau_k lands in bin k; s = 1.0 in [1, 2)).
        int64_t b = static_cast<int64_t>(std::upper_bound(edges_.begin(), edges_.end(), s) - edges_.begin()) - 1;
        b = std::min(std::max<int64_t>(b, 0), bins - 1);
        (gt[i] == 1 ? hist_pos_ : hist_neg_)[b] += 1;
    }
}

void PxapAccumulator::add(const double* scores, const uint8_t* gt, int64_t n) { add_impl(scores, gt, n); }
void PxapAccumulator::add(const float* scores, const uint8_t* gt, int64_t n) { add_impl(scores, gt, n); }

PxapResult PxapAccumulator::compute() const {
    const size_t nb = hist_pos_.size();
    // Reverse cumulative sums: index j counts scores in the top j+1 bins (j = 0: [2, 3] only).
    std::vector<double> tp(nb), fp(nb);
    double run_p = 0, run_n = 0;
    for (size_t j = 0; j < nb; ++j) {
        run_p += static_cast<double>(hist_pos_[nb - 1 - j]);
        run_n += static_cast<double>(hist_neg_[nb - 1 - j]);
        tp[j] = run_p;
        fp[j] = run_n;
    }
    const double positives = run_p;
    WSDOL_CHECK(positives > 0, "PxAP: no positive ground truth in the evaluated set");
    bool any_prediction = false;
    for (size_t j = 0; j < nb; ++j) any_prediction |= tp[j] + fp[j] > 0;
    WSDOL_CHECK(any_prediction, "PxAP: no positive prediction in the evaluated set");
    PxapResult r;
    r.positives = static_cast<int64_t>(positives);
    r.negatives = static_cast<int64_t>(run_n);
    r.precision.resize(nb);
    r.recall.resize(nb);
    r.iou.resize(nb);
    for (size_t j = 0; j < nb; ++j) {
        r.precision[j] = tp[j] + fp[j] > 0 ? tp[j] / (tp[j] + fp[j]) : std::numeric_limits<double>::quiet_NaN();
        r.recall[j] = tp[j] / positives;
        const double fn = positives - tp[j];
        r.iou[j] = 100.0 * tp[j] / (tp[j] + fp[j] + fn);
    }
    // AP without interpolation: sum of precision * recall increments where precision is defined.
    double auc = 0;
    for (size_t j = 1; j < nb; ++j)
        if (tp[j] + fp[j] != 0) auc += r.precision[j] * (r.recall[j] - r.recall[j - 1]);
    r.pxap = 100.0 * auc;
    size_t best = 0;
    for (size_t j = 1; j < nb; ++j)
        if (r.iou[j] > r.iou[best]) best = j;
    r.piou = r.iou[best];
    r.piou_threshold = edges_[nb - 1 - best];
    return r;
}

}  // namespace wsdol::eval
