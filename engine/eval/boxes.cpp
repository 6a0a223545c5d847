// boxes.cpp — IoU conventions, GT box scaling and heat-map box extraction of boxes.h.
#include "engine/eval/boxes.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace wsdol::eval {

std::ostream& operator<<(std::ostream& os, const Box& b) {
    return os << "[" << b.x0 << ", " << b.y0 << ", " << b.x1 << ", " << b.y1 << "]";
}

double iou_wsol(const Box& a, const Box& b) {
    const int64_t iw = std::max<int64_t>(0, std::min(a.x1, b.x1) - std::max(a.x0, b.x0) + 1);
    const int64_t ih = std::max<int64_t>(0, std::min(a.y1, b.y1) - std::max(a.y0, b.y0) + 1);
    const int64_t inter = iw * ih;
    const int64_t area_a = (a.x1 - a.x0 + 1) * (a.y1 - a.y0 + 1);
    const int64_t area_b = (b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1);
    const int64_t denom = area_a + area_b - inter;
    if (denom <= 0) return 0.0;
    return static_cast<double>(inter) / static_cast<double>(denom);
}

double iou_tscam(const BoxF& a, const BoxF& b) {
    const double iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0) + 1;
    const double ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0) + 1;
    const double inter = std::max(iw, 0.0) * std::max(ih, 0.0);
    const double area_a = (a.x1 - a.x0 + 1) * (a.y1 - a.y0 + 1);
    const double area_b = (b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1);
    return inter / (area_a + area_b - inter);
}

double iou_cdtr(const BoxF& a, const BoxF& b) {
    const double iw = std::max(0.0, std::min(a.x1, b.x1) - std::max(a.x0, b.x0));
    const double ih = std::max(0.0, std::min(a.y1, b.y1) - std::max(a.y0, b.y0));
    const double inter = iw * ih;
    const double area_a = std::max(0.0, a.x1 - a.x0) * std::max(0.0, a.y1 - a.y0);
    const double area_b = std::max(0.0, b.x1 - b.x0) * std::max(0.0, b.y1 - b.y0);
    const double denom = area_a + area_b - inter;
    return denom > 0 ? inter / denom : 0.0;  // CDTR divides unguarded; two empty boxes would be 0/0
}

Box wsol_resize_box(const Box& box, int64_t image_w, int64_t image_h, int64_t new_w, int64_t new_h) {
    WSDOL_CHECK(box.x0 >= 0 && box.y0 >= 0 && box.x1 >= box.x0 && box.y1 >= box.y0, "box (", box.x0, ", ", box.y0,
                ", ", box.x1, ", ", box.y1, ") does not follow the x0y0x1y1 convention (non-negative, x0 <= x1, y0 <= y1)");
    WSDOL_CHECK(image_w > 0 && image_h > 0, "box resize: bad image size ", image_w, "x", image_h);
    const double sw = static_cast<double>(new_w), sh = static_cast<double>(new_h);
    const double w = static_cast<double>(image_w), h = static_cast<double>(image_h);
    // Python: float(c) * new / old, evaluated left to right, then int() (truncation toward zero).
    return Box{static_cast<int64_t>(static_cast<double>(box.x0) * sw / w),
               static_cast<int64_t>(static_cast<double>(box.y0) * sh / h),
               static_cast<int64_t>(static_cast<double>(box.x1) * sw / w),
               static_cast<int64_t>(static_cast<double>(box.y1) * sh / h)};
}

Box tscam_resize_box(double x, double y, double w, double h, int64_t image_w, int64_t image_h, int64_t size) {
    WSDOL_CHECK(image_w > 0 && image_h > 0, "box resize: bad image size ", image_w, "x", image_h);
    const double xi = std::trunc(x), yi = std::trunc(y), wi = std::trunc(w), hi = std::trunc(h);
    const double s = static_cast<double>(size), W = static_cast<double>(image_w), H = static_cast<double>(image_h);
    // x / W * size in Python order (int / int is a float division).
    return Box{static_cast<int64_t>(std::max(xi / W * s, 0.0)), static_cast<int64_t>(std::max(yi / H * s, 0.0)),
               static_cast<int64_t>(std::min((xi + wi) / W * s, s - 1)),
               static_cast<int64_t>(std::min((yi + hi) / H * s, s - 1))};
}

BoxF cdtr_resize_box(double x, double y, double w, double h, int64_t image_w, int64_t image_h, double resize_min,
                     int64_t crop) {
    WSDOL_CHECK(image_w > 0 && image_h > 0, "box resize: bad image size ", image_w, "x", image_h);
    const double W = static_cast<double>(image_w), H = static_cast<double>(image_h);
    double nw, nh;
    if (image_w > image_h) {
        nw = W * resize_min / H;
        nh = resize_min;
    } else {
        nw = resize_min;
        nh = H * resize_min / W;
    }
    double b0 = x / W * nw, b1 = y / H * nh, b2 = w / W * nw, b3 = h / H * nh;
    // int(round(v)) with Python 3 rounding: half to even (std::nearbyint in the default rounding mode).
    const double c = static_cast<double>(crop);
    const double cx = std::nearbyint((nw - c + 1) / 2.0), cy = std::nearbyint((nh - c + 1) / 2.0);
    b0 -= cx;
    b1 -= cy;
    b2 += b0;
    b3 += b1;
    auto clip = [&](double v) { return std::min(std::max(v, 0.0), c); };
    return BoxF{clip(b0), clip(b1), clip(b2), clip(b3)};
}

namespace {
template <typename T>
void check_scores(const T* s, int64_t n, const std::string& what) {
    for (int64_t i = 0; i < n; ++i) {
        WSDOL_CHECK(!std::isnan(s[i]), what, ": score map contains NaN (element ", i, ")");
        WSDOL_CHECK(s[i] >= 0 && s[i] <= 1, what, ": score map must be in [0, 1], element ", i, " is ", s[i]);
    }
}
}  // namespace

void check_scoremap(const double* scores, int64_t n, const std::string& what) { check_scores(scores, n, what); }
void check_scoremap(const float* scores, int64_t n, const std::string& what) { check_scores(scores, n, what); }

std::vector<uint8_t> heatmap_u8(const double* scores, int64_t n) {
    check_scores(scores, n, "heatmap_u8");
    std::vector<uint8_t> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(scores[i] * 255.0);
    return out;
}

std::vector<uint8_t> heatmap_u8(const float* scores, int64_t n) {
    check_scores(scores, n, "heatmap_u8");
    std::vector<uint8_t> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(scores[i] * 255.0f);  // float32 product
    return out;
}

int64_t heatmap_threshold(double tau, uint8_t max_value) {
    return static_cast<int64_t>(tau * static_cast<double>(max_value));
}

std::vector<Contour> threshold_contours(const uint8_t* u8, int64_t height, int64_t width, int64_t threshold) {
    std::vector<uint8_t> mask(static_cast<size_t>(height * width));
    for (int64_t i = 0; i < height * width; ++i) mask[i] = u8[i] > threshold;
    return find_contours(mask.data(), height, width, ContourRetrieval::tree);
}

std::vector<Box> wsol_boxes(const std::vector<Contour>& contours, int64_t height, int64_t width, bool all_contours) {
    if (contours.empty()) return {Box{0, 0, 0, 0}};
    auto box_of = [&](const Contour& c) {
        const Rect r = bounding_rect(c.points);
        return Box{r.x, r.y, std::min<int64_t>(r.x + r.width, width - 1), std::min<int64_t>(r.y + r.height, height - 1)};
    };
    std::vector<Box> out;
    if (all_contours) {
        for (const Contour& c : contours) out.push_back(box_of(c));
    } else {
        out.push_back(box_of(contours[largest_contour(contours)]));
    }
    return out;
}

Box largest_contour_box(const uint8_t* u8, int64_t height, int64_t width, double theta) {
    uint8_t mx = 0;
    for (int64_t i = 0; i < height * width; ++i) mx = std::max(mx, u8[i]);
    const auto contours = threshold_contours(u8, height, width, heatmap_threshold(theta, mx));
    if (contours.empty()) return Box{0, 0, 1, 1};
    const Rect r = bounding_rect(contours[largest_contour(contours)].points);
    return Box{r.x, r.y, r.x + r.width, r.y + r.height};
}

}  // namespace wsdol::eval
