// par.cpp — PAR (see par.h): neighbour tables, the two affinities, the propagation loop.
#include "models/par.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

Tensor Par::operator()(const Tensor& images, const Tensor& masks) const {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && masks.defined() && masks.dim() == 4 &&
                    images.size(0) == masks.size(0),
                "PAR: expected images (B, C, h, w) and masks (B, K, h', w') with the same B, got ",
                images.defined() ? shape_str(images.shape()) : "undefined", " and ",
                masks.defined() ? shape_str(masks.shape()) : "undefined");
    WSDOL_CHECK(!options_.dilations.empty(), "PAR: no dilations");
    NoGradGuard no_grad;
    const int64_t B = images.size(0), C = images.size(1), h = images.size(2), w = images.size(3);
    const int64_t K = masks.size(1), HW = h * w;
    Tensor m0 = interpolate(masks.to(DType::f32).contiguous(), h, w, InterpMode::bilinear, true).contiguous();
    const Tensor img = images.to(DType::f32).contiguous();

    // Neighbour offsets in ToCo's order: per dilation the 8 taps of get_kernel (row-major, centre skipped).
    struct Tap { int64_t dy, dx; double rho; };
    std::vector<Tap> taps;
    for (int64_t d : options_.dilations) {
        WSDOL_CHECK(d >= 1, "PAR: dilations must be >= 1, got ", d);
        for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
                if (i == 1 && j == 1) continue;
                const bool diag = i != 1 && j != 1;
                taps.push_back({(i - 1) * d, (j - 1) * d, diag ? static_cast<double>(d) * std::sqrt(2.0) : double(d)});
            }
    }
    const int64_t J = static_cast<int64_t>(taps.size());
    const double w1 = options_.w1, w2 = options_.w2;
    // Position affinity: the same for every pixel. ToCo's ker*d is a float32 tensor (sqrt(2) rounded to float).
    std::vector<double> pos_soft(J);
    {
        std::vector<double> rho(J);
        double mean = 0;
        for (int64_t j = 0; j < J; ++j) mean += (rho[j] = static_cast<double>(static_cast<float>(taps[j].rho)));
        mean /= double(J);
        double var = 0;
        for (double r : rho) var += (r - mean) * (r - mean);
        const double sd = std::sqrt(var / double(J - 1));
        double mx = -INFINITY, z = 0;
        for (int64_t j = 0; j < J; ++j) {
            const double t = rho[j] / (sd + 1e-8) / w1;
            pos_soft[j] = -t * t;
            mx = std::max(mx, pos_soft[j]);
        }
        for (auto& v : pos_soft) z += (v = std::exp(v - mx));
        for (auto& v : pos_soft) v /= z;
    }
    // Per pixel: neighbour index table and the affinity A (B, HW, J).
    std::vector<int64_t> nb(static_cast<size_t>(HW * J));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t j = 0; j < J; ++j) {
                const int64_t yy = std::clamp<int64_t>(y + taps[j].dy, 0, h - 1);
                const int64_t xx = std::clamp<int64_t>(x + taps[j].dx, 0, w - 1);
                nb[static_cast<size_t>((y * w + x) * J + j)] = yy * w + xx;
            }
    std::vector<double> aff(static_cast<size_t>(B * HW * J));
    const float* ip = img.data<float>();
    std::vector<double> kap(J), vals(J);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t p = 0; p < HW; ++p) {
            std::fill(kap.begin(), kap.end(), 0.0);
            for (int64_t c = 0; c < C; ++c) {
                const float* ch = ip + (b * C + c) * HW;
                double mean = 0;
                for (int64_t j = 0; j < J; ++j) mean += (vals[j] = ch[nb[p * J + j]]);
                mean /= double(J);
                double var = 0;
                for (double v : vals) var += (v - mean) * (v - mean);
                const double sd = std::sqrt(var / double(J - 1));
                for (int64_t j = 0; j < J; ++j) {
                    const double t = std::abs(vals[j] - double(ch[p])) / (sd + 1e-8) / w1;
                    kap[j] += -t * t;
                }
            }
            double mx = -INFINITY, z = 0;
            for (auto& v : kap) mx = std::max(mx, v /= double(C));
            for (auto& v : kap) z += (v = std::exp(v - mx));
            double* a = aff.data() + (b * HW + p) * J;
            for (int64_t j = 0; j < J; ++j) a[j] = kap[j] / z + w2 * pos_soft[j];
        }
    // Propagation.
    std::vector<double> cur(static_cast<size_t>(B * K * HW)), nxt(cur.size());
    {
        const float* mp = m0.data<float>();
        for (size_t i = 0; i < cur.size(); ++i) cur[i] = mp[i];
    }
    for (int it = 0; it < options_.num_iter; ++it) {
        for (int64_t b = 0; b < B; ++b)
            for (int64_t k = 0; k < K; ++k) {
                const double* src = cur.data() + (b * K + k) * HW;
                double* dst = nxt.data() + (b * K + k) * HW;
                for (int64_t p = 0; p < HW; ++p) {
                    const double* a = aff.data() + (b * HW + p) * J;
                    const int64_t* n = nb.data() + p * J;
                    double s = 0;
                    for (int64_t j = 0; j < J; ++j) s += a[j] * src[n[j]];
                    dst[p] = s;
                }
            }
        cur.swap(nxt);
    }
    Tensor out = Tensor::empty({B, K, h, w});
    float* op = out.data<float>();
    for (size_t i = 0; i < cur.size(); ++i) op[i] = static_cast<float>(cur[i]);
    return out;
}

}  // namespace wsdol::models
