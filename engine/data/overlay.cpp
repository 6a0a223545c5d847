// overlay.cpp — colour map, heat-map normalisation, blending, boxes and thumbnails (rules in overlay.h).
#include "engine/data/overlay.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/data/pil_resize.h"

namespace wsdol::data {

namespace {

uint8_t round_u8(double v) {  // clamp to 0..255, round half up
    return static_cast<uint8_t>(std::floor(std::clamp(v, 0.0, 255.0) + 0.5));
}

uint8_t blend(uint8_t under, uint8_t over, double alpha) { return round_u8((1.0 - alpha) * under + alpha * over); }

template <typename T>
std::vector<uint8_t> normalize_impl(const T* scores, int64_t n, const std::string& what) {
    std::vector<uint8_t> out(static_cast<size_t>(n));
    if (n == 0) return out;
    double lo = scores[0], hi = scores[0];
    for (int64_t i = 0; i < n; ++i) {
        const double v = scores[i];
        WSDOL_CHECK(!std::isnan(v), what, ": score map contains NaN (at flat index ", i, ")");
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (!(hi > lo)) {  // constant map: show its value clamped to [0, 1] (rule in overlay.h)
        std::fill(out.begin(), out.end(), round_u8(std::clamp(lo, 0.0, 1.0) * 255.0));
        return out;
    }
    const double scale = 255.0 / (hi - lo);
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = round_u8((double(scores[i]) - lo) * scale);
    return out;
}

}  // namespace

Rgb jet_color(uint8_t v) {
    const double t = v / 255.0;
    auto ramp = [&](double centre) { return round_u8(std::clamp(1.5 - std::fabs(4.0 * t - centre), 0.0, 1.0) * 255.0); };
    return {ramp(3.0), ramp(2.0), ramp(1.0)};
}

std::vector<uint8_t> normalize_map(const float* scores, int64_t n, const std::string& what) {
    return normalize_impl(scores, n, what);
}
std::vector<uint8_t> normalize_map(const double* scores, int64_t n, const std::string& what) {
    return normalize_impl(scores, n, what);
}

Image heat_overlay(const Image& image, const std::vector<uint8_t>& heat, double alpha) {
    WSDOL_CHECK(int64_t(heat.size()) == image.height * image.width, "heat_overlay: heat map has ", heat.size(),
                " values, image is ", image.height, "x", image.width, " (HxW)");
    WSDOL_CHECK(alpha >= 0 && alpha <= 1, "heat_overlay: alpha must be in [0, 1], got ", alpha);
    Image out = convert_color(image, ColorMode::rgb);
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        const Rgb c = jet_color(heat[size_t(i)]);
        for (int k = 0; k < 3; ++k) out.pixels[size_t(i * 3 + k)] = blend(out.pixels[size_t(i * 3 + k)], c[k], alpha);
    }
    return out;
}

Image label_overlay(const Image& image, const Image& labels, double alpha, const Palette& palette) {
    WSDOL_CHECK(labels.channels == 1, "label_overlay: label map must have 1 channel, got ", labels.channels);
    WSDOL_CHECK(labels.height == image.height && labels.width == image.width, "label_overlay: label map is ",
                labels.height, "x", labels.width, " (HxW), image is ", image.height, "x", image.width);
    WSDOL_CHECK(alpha >= 0 && alpha <= 1, "label_overlay: alpha must be in [0, 1], got ", alpha);
    Image out = convert_color(image, ColorMode::rgb);
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        const uint8_t l = labels.pixels[size_t(i)];
        if (l == 0) continue;
        for (int k = 0; k < 3; ++k)
            out.pixels[size_t(i * 3 + k)] = blend(out.pixels[size_t(i * 3 + k)], palette[size_t(l) * 3 + k], alpha);
    }
    return out;
}

void draw_box(Image& image, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb colour, int thickness) {
    WSDOL_CHECK(image.channels == 3, "draw_box: expected an RGB image, got ", image.channels, " channels");
    if (image.width == 0 || image.height == 0) return;
    x0 = std::clamp<int64_t>(x0, 0, image.width - 1);
    x1 = std::clamp<int64_t>(x1, 0, image.width - 1);
    y0 = std::clamp<int64_t>(y0, 0, image.height - 1);
    y1 = std::clamp<int64_t>(y1, 0, image.height - 1);
    if (x1 < x0 || y1 < y0) return;
    for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) {
            const bool edge = x - x0 < thickness || x1 - x < thickness || y - y0 < thickness || y1 - y < thickness;
            if (!edge) continue;
            for (int k = 0; k < 3; ++k) image.at(y, x, k) = colour[k];
        }
}

Image thumbnail(const Image& image, int64_t size) {
    WSDOL_CHECK(size > 0, "thumbnail: size must be positive, got ", size);
    WSDOL_CHECK(image.height > 0 && image.width > 0, "thumbnail: empty image");
    const int64_t longer = std::max(image.height, image.width);
    // Shorter side rounded, at least 1 pixel.
    const int64_t h = std::max<int64_t>(1, (image.height * size + longer / 2) / longer);
    const int64_t w = std::max<int64_t>(1, (image.width * size + longer / 2) / longer);
    Image out;
    out.height = h;
    out.width = w;
    out.channels = image.channels;
    if (h == image.height && w == image.width) return image;
    out.pixels = pil_resize(image.pixels.data(), image.height, image.width, image.channels, h, w, PilFilter::bilinear);
    return out;
}

Image resize_labels_nearest(const Image& labels, int64_t out_h, int64_t out_w) {
    WSDOL_CHECK(labels.channels == 1, "resize_labels_nearest: label map must have 1 channel, got ", labels.channels);
    WSDOL_CHECK(out_h > 0 && out_w > 0, "resize_labels_nearest: bad size ", out_h, "x", out_w);
    Image out;
    out.height = out_h;
    out.width = out_w;
    out.channels = 1;
    out.pixels.resize(size_t(out_h * out_w));
    for (int64_t y = 0; y < out_h; ++y) {
        const int64_t sy = std::min(labels.height - 1, int64_t((y + 0.5) * labels.height / out_h));
        for (int64_t x = 0; x < out_w; ++x) {
            const int64_t sx = std::min(labels.width - 1, int64_t((x + 0.5) * labels.width / out_w));
            out.pixels[size_t(y * out_w + x)] = labels.pixels[size_t(sy * labels.width + sx)];
        }
    }
    return out;
}

}  // namespace wsdol::data
