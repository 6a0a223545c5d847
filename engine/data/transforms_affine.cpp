// transforms_affine.cpp — Pillow's affine transform with bilinear/bicubic sampling (see transforms_affine.h).
#include "engine/data/transforms_affine.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/core/error.h"

namespace wsdol::data {
namespace {

inline int64_t clampi(int64_t v, int64_t n) { return v < 0 ? 0 : v < n ? v : n - 1; }

// Python's round(x, 15): the decimal rounding of the exact binary value, as glibc's printf does.
double round15(double x) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.15f", x);
    return std::strtod(buf, nullptr);
}

// Python's float modulo (the result has the sign of the divisor).
double py_mod(double x, double m) {
    double r = std::fmod(x, m);
    if (r != 0) {
        if ((m < 0) != (r < 0)) r += m;
    } else {
        r = std::copysign(0.0, m);
    }
    return r;
}

inline double cubic(double v1, double v2, double v3, double v4, double d) {
    const double p1 = v2;
    const double p2 = -v1 + v3;
    const double p3 = 2 * (v1 - v2) + v3 - v4;
    const double p4 = -v1 + v2 - v3 + v4;
    return p1 + d * (p2 + d * (p3 + d * p4));
}

}  // namespace

Image affine_transform(const Image& image, const std::array<double, 6>& a, AffineFilter filter,
                       const std::array<uint8_t, 3>& fill) {
    WSDOL_CHECK(image.channels == 3 || image.channels == 1, "affine_transform: expected an RGB or grey image, got ",
                image.channels, " channels");
    const int64_t H = image.height, W = image.width, C = image.channels;
    Image out = image;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            uint8_t* o = &out.pixels[(y * W + x) * C];
            const double xin0 = x + 0.5, yin0 = y + 0.5;
            double xin = a[0] * xin0 + a[1] * yin0 + a[2];
            double yin = a[3] * xin0 + a[4] * yin0 + a[5];
            if (xin < 0.0 || xin >= double(W) || yin < 0.0 || yin >= double(H)) {
                for (int64_t c = 0; c < C; ++c) o[c] = fill[c];
                continue;
            }
            xin -= 0.5;
            yin -= 0.5;
            const int64_t xi = static_cast<int64_t>(std::floor(xin)), yi = static_cast<int64_t>(std::floor(yin));
            const double dx = xin - double(xi), dy = yin - double(yi);
            auto px = [&](int64_t row, int64_t col, int64_t c) -> double {
                return image.pixels[(row * W + col) * C + c];
            };
            if (filter == AffineFilter::bilinear) {
                const int64_t x0 = clampi(xi, W), x1 = clampi(xi + 1, W);
                const int64_t r0 = clampi(yi, H);
                const bool has_r1 = yi + 1 >= 0 && yi + 1 < H;
                for (int64_t c = 0; c < C; ++c) {
                    const double a0 = px(r0, x0, c), b0 = px(r0, x1, c);
                    double v1 = a0 + (b0 - a0) * dx;
                    double v2 = v1;
                    if (has_r1) {
                        const double a1 = px(yi + 1, x0, c), b1 = px(yi + 1, x1, c);
                        v2 = a1 + (b1 - a1) * dx;
                    }
                    v1 = v1 + (v2 - v1) * dy;
                    o[c] = static_cast<uint8_t>(v1);
                }
            } else {
                const int64_t xb = xi - 1, yb = yi - 1;
                const int64_t xs[4] = {clampi(xb, W), clampi(xb + 1, W), clampi(xb + 2, W), clampi(xb + 3, W)};
                for (int64_t c = 0; c < C; ++c) {
                    auto row = [&](int64_t r) {
                        return cubic(px(r, xs[0], c), px(r, xs[1], c), px(r, xs[2], c), px(r, xs[3], c), dx);
                    };
                    // Row yb is clamped; rows yb+1.. that fall outside repeat the previous row's value.
                    const double v1 = row(clampi(yb, H));
                    const double v2 = (yb + 1 >= 0 && yb + 1 < H) ? row(yb + 1) : v1;
                    const double v3 = (yb + 2 >= 0 && yb + 2 < H) ? row(yb + 2) : v2;
                    const double v4 = (yb + 3 >= 0 && yb + 3 < H) ? row(yb + 3) : v3;
                    const double v = cubic(v1, v2, v3, v4, dy);
                    o[c] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : static_cast<uint8_t>(v);
                }
            }
        }
    return out;
}

std::array<double, 6> rotate_matrix(double degrees, int64_t W, int64_t H) {
    constexpr double kDegToRad = M_PI / 180.0;  // CPython's math.radians
    const double angle = -(py_mod(degrees, 360.0) * kDegToRad);
    std::array<double, 6> m = {round15(std::cos(angle)), round15(std::sin(angle)), 0.0,
                               round15(-std::sin(angle)), round15(std::cos(angle)), 0.0};
    const double cx = double(W) / 2, cy = double(H) / 2;
    const double tx = m[0] * (-cx) + m[1] * (-cy) + m[2];
    const double ty = m[3] * (-cx) + m[4] * (-cy) + m[5];
    m[2] = tx + cx;
    m[5] = ty + cy;
    return m;
}

Image rotate(const Image& image, double degrees, AffineFilter filter, const std::array<uint8_t, 3>& fill) {
    if (py_mod(degrees, 360.0) == 0.0) return image;  // Pillow's fast path: a copy
    // (180 and, for square images, 90/270 are exact transposes in Pillow; RandAugment's angles never reach them.)
    WSDOL_CHECK(py_mod(degrees, 360.0) != 180.0 && !(image.width == image.height && (py_mod(degrees, 360.0) == 90.0 ||
                                                                                   py_mod(degrees, 360.0) == 270.0)),
                "rotate: the transpose fast paths (", degrees, " degrees) are not implemented");
    return affine_transform(image, rotate_matrix(degrees, image.width, image.height), filter, fill);
}

}  // namespace wsdol::data
