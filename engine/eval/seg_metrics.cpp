// seg_metrics.cpp — confusion matrix, mIoU rules, CAM thresholding and the threshold sweep of seg_metrics.h.
#include "engine/eval/seg_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace wsdol::eval {

const char* miou_rule_name(MiouRule r) { return r == MiouRule::toco ? "toco" : "mctformer"; }

MiouRule miou_rule_from_name(const std::string& name) {
    if (name == "toco") return MiouRule::toco;
    if (name == "mctformer") return MiouRule::mctformer;
    fail(str("unknown mIoU rule '", name, "' (toco | mctformer)"));
}

ConfusionMatrix::ConfusionMatrix(int num_classes) : c_(num_classes) {
    WSDOL_CHECK(num_classes >= 1 && num_classes <= 255, "confusion matrix: number of classes must be in 1..255, got ",
                num_classes);
    m_.assign(static_cast<size_t>(c_) * c_, 0);
}

void ConfusionMatrix::add(const uint8_t* gt, const uint8_t* pred, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (gt[i] >= c_) continue;  // 255 = void (and anything else outside [0, C), as ToCo's _fast_hist)
        WSDOL_CHECK(pred[i] < c_, "prediction value ", int(pred[i]), " outside [0, ", c_, ") at pixel ", i);
        ++m_[static_cast<size_t>(gt[i]) * c_ + pred[i]];
    }
}

void ConfusionMatrix::add_counts(const ConfusionMatrix& other) {
    WSDOL_CHECK(other.c_ == c_, "confusion matrix: adding ", other.c_, " classes to ", c_);
    for (size_t i = 0; i < m_.size(); ++i) m_[i] += other.m_[i];
}

SegScores ConfusionMatrix::scores(MiouRule rule) const {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    SegScores s;
    s.iou.assign(c_, nan);
    s.has_gt.assign(c_, false);
    int64_t total = 0, trace = 0;
    double acc_sum = 0, miou_sum = 0;
    int acc_n = 0, miou_n = 0;
    for (int c = 0; c < c_; ++c) {
        int64_t row = 0, col = 0;
        for (int j = 0; j < c_; ++j) {
            row += at(c, j);
            col += at(j, c);
        }
        const int64_t tp = at(c, c);
        total += row;
        trace += tp;
        s.has_gt[c] = row > 0;
        const int64_t denom = row + col - tp;
        if (denom > 0) s.iou[c] = 100.0 * static_cast<double>(tp) / static_cast<double>(denom);
        if (row > 0) {
            acc_sum += static_cast<double>(tp) / static_cast<double>(row);
            ++acc_n;
        }
        if (rule == MiouRule::toco) {
            if (row > 0) {  // classes with GT pixels (their IoU is always defined)
                miou_sum += s.iou[c];
                ++miou_n;
            }
        } else {
            // MCTformer: TP / (T + P - TP + 1e-10) for every class, absent classes count 0.
            miou_sum += 100.0 * static_cast<double>(tp) / (static_cast<double>(denom) + 1e-10);
            ++miou_n;
        }
    }
    s.pixels = total;
    s.pixel_accuracy = total > 0 ? 100.0 * static_cast<double>(trace) / static_cast<double>(total) : nan;
    s.mean_accuracy = acc_n > 0 ? 100.0 * acc_sum / acc_n : nan;
    s.miou = miou_n > 0 ? miou_sum / miou_n : nan;
    return s;
}

// ---------------------------------------------------------------------------------------------------------------

namespace {

void check_classes(int64_t k, const std::vector<int>& classes) {
    for (int c : classes)
        WSDOL_CHECK(c >= 1 && c <= k, "CAM labels: class ", c, " outside 1..", k, " (", k, " foreground CAMs)");
}

// Highest CAM among the classes at pixel i and its class (lowest class on ties); no classes -> (-inf, 0).
template <typename T>
inline void best_class(const T* cams, int64_t hw, int64_t i, const std::vector<int>& classes, T& value, int& cls) {
    value = -std::numeric_limits<T>::infinity();
    cls = 0;
    for (int c : classes) {
        const T v = cams[(c - 1) * hw + i];
        if (v > value || (v == value && c < cls)) {
            value = v;
            cls = c;
        }
    }
}

template <typename T>
void cams_to_labels_impl(const T* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                         double threshold, uint8_t* out) {
    check_classes(k, classes);
    const T t = static_cast<T>(threshold);  // compared in the CAMs' precision
    const int64_t hw = h * w;
    for (int64_t i = 0; i < hw; ++i) {
        T v;
        int cls;
        best_class(cams, hw, i, classes, v, cls);
        out[i] = (cls == 0 || v <= t) ? 0 : static_cast<uint8_t>(cls);
    }
}

}  // namespace

void cams_to_labels(const float* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                    double threshold, uint8_t* out) {
    cams_to_labels_impl(cams, k, h, w, classes, threshold, out);
}
void cams_to_labels(const double* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                    double threshold, uint8_t* out) {
    cams_to_labels_impl(cams, k, h, w, classes, threshold, out);
}

ThresholdSweep::ThresholdSweep(int num_classes, std::vector<double> thresholds)
    : c_(num_classes), thresholds_(std::move(thresholds)) {
    WSDOL_CHECK(num_classes >= 2 && num_classes <= 255, "threshold sweep: number of classes must be in 2..255");
    WSDOL_CHECK(!thresholds_.empty(), "threshold sweep: no thresholds");
    for (size_t j = 1; j < thresholds_.size(); ++j)
        WSDOL_CHECK(thresholds_[j] > thresholds_[j - 1], "threshold sweep: thresholds must increase");
    counts_.assign(static_cast<size_t>(c_) * c_ * (thresholds_.size() + 1), 0);
}

template <typename T>
void ThresholdSweep::add_impl(const uint8_t* gt, const T* cams, int64_t k, int64_t h, int64_t w,
                              const std::vector<int>& classes) {
    WSDOL_CHECK(k == c_ - 1, "threshold sweep: ", k, " CAM channels for ", c_, " classes (expected ", c_ - 1, ")");
    check_classes(k, classes);
    std::vector<T> thr(thresholds_.size());
    for (size_t j = 0; j < thr.size(); ++j) thr[j] = static_cast<T>(thresholds_[j]);
    const size_t nb = thresholds_.size() + 1;
    const int64_t hw = h * w;
    for (int64_t i = 0; i < hw; ++i) {
        if (gt[i] >= c_) continue;
        T v;
        int cls;
        best_class(cams, hw, i, classes, v, cls);
        // First threshold index j with v <= t_j (background from there on); J when v is above every threshold.
        size_t b = cls == 0 ? 0 : static_cast<size_t>(std::lower_bound(thr.begin(), thr.end(), v) - thr.begin());
        ++counts_[(static_cast<size_t>(gt[i]) * c_ + cls) * nb + b];
    }
}

void ThresholdSweep::add(const uint8_t* gt, const float* cams, int64_t k, int64_t h, int64_t w,
                         const std::vector<int>& classes) {
    add_impl(gt, cams, k, h, w, classes);
}
void ThresholdSweep::add(const uint8_t* gt, const double* cams, int64_t k, int64_t h, int64_t w,
                         const std::vector<int>& classes) {
    add_impl(gt, cams, k, h, w, classes);
}

ConfusionMatrix ThresholdSweep::confusion(size_t j) const {
    WSDOL_CHECK(j < thresholds_.size(), "threshold sweep: index ", j, " out of range");
    ConfusionMatrix m(c_);
    const size_t nb = thresholds_.size() + 1;
    for (int g = 0; g < c_; ++g)
        for (int a = 0; a < c_; ++a)
            for (size_t b = 0; b < nb; ++b) {
                const int64_t n = counts_[(static_cast<size_t>(g) * c_ + a) * nb + b];
                if (n) m.at(g, b <= j ? 0 : a) += n;
            }
    return m;
}

std::vector<double> mctformer_thresholds(int start, int end) {
    WSDOL_CHECK(start >= 0 && end > start, "MCTformer sweep: bad range ", start, "..", end);
    std::vector<double> t;
    for (int i = start; i < end; ++i) t.push_back(i / 100.0);
    return t;
}

SweepResult mctformer_sweep(const ThresholdSweep& sweep, MiouRule rule) {
    SweepResult r;
    double best = 0.0, best_t = 0.0;
    for (size_t j = 0; j < sweep.thresholds().size(); ++j) {
        const double t = sweep.thresholds()[j];
        const double miou = sweep.confusion(j).scores(rule).miou;
        r.curve.emplace_back(t, miou);
        if (miou > best) {
            best = miou;
            best_t = t;
        } else {
            break;
        }
    }
    r.best_threshold = best_t;
    r.best_miou = best;
    return r;
}

}  // namespace wsdol::eval
