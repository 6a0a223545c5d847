// cam_boxes.cpp — OpenCV-style linear resize and the TS-CAM / CDTR heat maps (see cam_boxes.h).
#include "engine/eval/cam_boxes.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace wsdol::eval {
namespace {

struct Taps {
    std::vector<int64_t> index;  // first source tap
    std::vector<float> frac;     // weight of the second tap
};

Taps linear_taps(int64_t src, int64_t dst) {
    Taps t;
    const double scale = 1.0 / (double(dst) / double(src));  // OpenCV: 1 / inv_scale
    for (int64_t x = 0; x < dst; ++x) {
        float f = static_cast<float>((double(x) + 0.5) * scale - 0.5);
        int64_t s = static_cast<int64_t>(std::floor(f));
        f -= static_cast<float>(s);
        if (s < 0) f = 0.0f, s = 0;
        if (s >= src - 1) f = 0.0f, s = src - 1;
        t.index.push_back(s);
        t.frac.push_back(f);
    }
    return t;
}

void min_max_in_place(std::vector<float>& v, const char* who) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const float mn = *lo, mx = *hi;
    WSDOL_CHECK(std::isfinite(mn) && std::isfinite(mx) && mx > mn, who,
                ": the class map is constant or not finite (min ", mn, ", max ", mx, "): min-max normalization is undefined");
    const float range = mx - mn;
    for (float& x : v) x = (x - mn) / range;
}

std::vector<uint8_t> to_u8(const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<uint8_t>(static_cast<int>(v[i] * 255.0f));
    return out;
}

}  // namespace

std::vector<float> cv_resize_linear(const float* src, int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w) {
    WSDOL_CHECK(src_h >= 1 && src_w >= 1 && dst_h >= 1 && dst_w >= 1, "cv_resize_linear: sizes must be positive, got ",
                src_h, "x", src_w, " -> ", dst_h, "x", dst_w);
    const Taps tx = linear_taps(src_w, dst_w), ty = linear_taps(src_h, dst_h);
    std::vector<float> rows(size_t(src_h * dst_w));
    for (int64_t y = 0; y < src_h; ++y)
        for (int64_t x = 0; x < dst_w; ++x) {
            const float* s = src + y * src_w;
            const int64_t i = tx.index[size_t(x)];
            const float a1 = tx.frac[size_t(x)], a0 = 1.0f - a1;
            rows[size_t(y * dst_w + x)] = i >= src_w - 1 ? s[i] : s[i] * a0 + s[i + 1] * a1;
        }
    std::vector<float> out(size_t(dst_h * dst_w));
    for (int64_t y = 0; y < dst_h; ++y) {
        const int64_t i = ty.index[size_t(y)], j = std::min(i + 1, src_h - 1);
        const float b1 = ty.frac[size_t(y)], b0 = 1.0f - b1;
        for (int64_t x = 0; x < dst_w; ++x)
            out[size_t(y * dst_w + x)] = rows[size_t(i * dst_w + x)] * b0 + rows[size_t(j * dst_w + x)] * b1;
    }
    return out;
}

std::vector<uint8_t> cdtr_heatmap(const float* map, int64_t h, int64_t w, int64_t size) {
    std::vector<float> m(map, map + h * w);
    min_max_in_place(m, "cdtr_heatmap");
    return to_u8(cv_resize_linear(m.data(), h, w, size, size));
}

std::vector<uint8_t> tscam_heatmap(const float* map, int64_t h, int64_t w, int64_t size) {
    std::vector<float> m = cv_resize_linear(map, h, w, size, size);
    min_max_in_place(m, "tscam_heatmap");
    return to_u8(m);
}

}  // namespace wsdol::eval
