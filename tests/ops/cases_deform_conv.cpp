// cases_deform_conv.cpp — op cases for deform_conv2d (engine/ops/deform_conv.cpp).
//
// The reference is a direct loop over output positions written from torchvision's documented definition: each
// output is bias + sum over the group's input channels and taps of weight * mask * x(p), with x(p) the bilinear
// value at p = (oh s - pad + ki d + dy, ow s - pad + kj d + dx) written as a sum over the integer neighbours
// q with |p - q| < 1 of (1 - |p_y - q_y|)(1 - |p_x - q_x|) x[q] (neighbours outside the image are 0), and 0 when
// p is outside (-1, H) x (-1, W). No im2col, no use of the op under test.
//
// Finite differences need a differentiable point: generic cases keep every sample point at least 0.02 from an
// integer coordinate. The border and integer-offset cases check the forward and the x/weight/mask/bias gradients
// by finite differences and leave the offset out of the central-difference check (the function has a kink
// there); tests/test_deform_conv.cpp checks the one-sided offset gradient at those points.
#include <cmath>

#include "engine/ops/deform_conv.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

struct DeformArgs {
    Int2 stride{1, 1}, padding{0, 0}, dilation{1, 1};
    bool bias = false, mask = false;
};

double bilinear_ref(const Host& x, int64_t n, int64_t c, double py, double px) {
    const int64_t H = x.shape[2], W = x.shape[3];
    if (py <= -1 || py >= H || px <= -1 || px >= W) return 0.0;
    double v = 0.0;
    for (int64_t qy = static_cast<int64_t>(std::floor(py)) - 1; qy <= static_cast<int64_t>(std::floor(py)) + 2; ++qy)
        for (int64_t qx = static_cast<int64_t>(std::floor(px)) - 1; qx <= static_cast<int64_t>(std::floor(px)) + 2; ++qx) {
            if (qy < 0 || qy >= H || qx < 0 || qx >= W) continue;
            const double ay = std::abs(py - static_cast<double>(qy)), ax = std::abs(px - static_cast<double>(qx));
            if (ay >= 1 || ax >= 1) continue;
            v += (1 - ay) * (1 - ax) * x.at({n, c, qy, qx});
        }
    return v;
}

// t = {x, offset, weight, [bias], [mask]} as DeformArgs says.
Tensor deform_ref(const TensorList& t, const DeformArgs& a) {
    Host x(t[0]), off(t[1]), w(t[2]);
    size_t next = 3;
    const std::vector<double> bias = a.bias ? t[next++].to_vector() : std::vector<double>(t[2].size(0), 0.0);
    const Host mask = a.mask ? Host(t[next]) : Host(Shape{0});
    const int64_t N = x.shape[0], C = x.shape[1], Co = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3];
    const int64_t OH = off.shape[2], OW = off.shape[3];
    const int64_t G = off.shape[1] / (2 * kH * kW), groups = C / Cg, per_out_group = Co / groups;
    Host out({N, Co, OH, OW});
    for_each_index(out.shape, [&](const std::vector<int64_t>& o) {
        const int64_t n = o[0], co = o[1], oh = o[2], ow = o[3], wg = co / per_out_group;
        double acc = bias[co];
        for (int64_t ci = 0; ci < Cg; ++ci) {
            const int64_t c = wg * Cg + ci, g = c / (C / G);
            for (int64_t ki = 0; ki < kH; ++ki)
                for (int64_t kj = 0; kj < kW; ++kj) {
                    const int64_t k = ki * kW + kj;
                    const double dy = off.at({n, g * 2 * kH * kW + 2 * k, oh, ow});
                    const double dx = off.at({n, g * 2 * kH * kW + 2 * k + 1, oh, ow});
                    const double py = static_cast<double>(oh * a.stride[0] - a.padding[0] + ki * a.dilation[0]) + dy;
                    const double px = static_cast<double>(ow * a.stride[1] - a.padding[1] + kj * a.dilation[1]) + dx;
                    const double m = a.mask ? mask.at({n, g * kH * kW + k, oh, ow}) : 1.0;
                    acc += w.at({co, ci, ki, kj}) * m * bilinear_ref(x, n, c, py, px);
                }
        }
        out.at(o) = acc;
    });
    return out.tensor();
}

TensorList with_optionals(TensorList in, const DeformArgs& a, int64_t Co, const Shape& mask_shape, uint64_t seed) {
    if (a.bias) in.push_back(rand_input({Co}, seed + 3));
    if (a.mask) in.push_back(rand_input(mask_shape, seed + 4, 0.2, 1.2));
    return in;
}

OpCase deform_case(const std::string& label, TensorList in, DeformArgs a) {
    return make_case(
        "deform_conv2d", label, std::move(in),
        [a](const TensorList& t) -> TensorList {
            size_t next = 3;
            const Tensor b = a.bias ? t[next++] : Tensor();
            const Tensor m = a.mask ? t[next] : Tensor();
            return {deform_conv2d(t[0], t[1], t[2], b, a.stride, a.padding, a.dilation, m)};
        },
        [a](const TensorList& t) -> TensorList { return {deform_ref(t, a)}; });
}

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// Random fractional offsets: every sample point stays >= 0.02 from an integer coordinate (the base positions are
// integers, so the offsets' distance to integers is the points' distance).
OpCase generic_case(const std::string& label, const Shape& xs, const Shape& ws, int64_t G, DeformArgs a, uint64_t seed,
                    double reach = 2.5) {
    const int64_t OH = out_size(xs[2], ws[2], a.stride[0], a.padding[0], a.dilation[0]);
    const int64_t OW = out_size(xs[3], ws[3], a.stride[1], a.padding[1], a.dilation[1]);
    const int64_t taps = ws[2] * ws[3];
    std::vector<double> kinks;
    for (int v = -5; v <= 5; ++v) kinks.push_back(v);
    TensorList in{rand_input(xs, seed), rand_away_from({xs[0], 2 * G * taps, OH, OW}, seed + 1, kinks, 2e-2, -reach, reach),
                  rand_input(ws, seed + 2)};
    return deform_case(label, with_optionals(std::move(in), a, ws[0], {xs[0], G * taps, OH, OW}, seed), a);
}

// Offsets drawn from a list of values (cycled): integers and points exactly on / just outside the border. The
// offset is left out of the central-difference check.
OpCase listed_case(const std::string& label, const Shape& xs, const Shape& ws, DeformArgs a, uint64_t seed,
                   const std::vector<double>& values) {
    const int64_t OH = out_size(xs[2], ws[2], a.stride[0], a.padding[0], a.dilation[0]);
    const int64_t OW = out_size(xs[3], ws[3], a.stride[1], a.padding[1], a.dilation[1]);
    const Shape os{xs[0], 2 * ws[2] * ws[3], OH, OW};
    std::vector<double> ov(shape_numel(os));
    for (size_t i = 0; i < ov.size(); ++i) ov[i] = values[(i * 7 + i / 5) % values.size()];
    TensorList in{rand_input(xs, seed), Tensor::from_vector(ov, os, DType::f64), rand_input(ws, seed + 2)};
    OpCase c = deform_case(label, with_optionals(std::move(in), a, ws[0], {xs[0], ws[2] * ws[3], OH, OW}, seed), a);
    c.no_grad_inputs = {1};
    return c;
}

}  // namespace

WSDOL_OP_CASES(deform_conv) {
    std::vector<OpCase> cases;
    DeformArgs pad1;
    pad1.padding = {1, 1};
    cases.push_back(generic_case("3x3 pad 1 (CDTR's SKI shape), no bias", {2, 3, 5, 4}, {4, 3, 3, 3}, 1, pad1, 500));
    DeformArgs full = pad1;
    full.bias = true;
    full.mask = true;
    cases.push_back(generic_case("3x3 pad 1 + bias + mask", {2, 2, 4, 5}, {3, 2, 3, 3}, 1, full, 510));
    DeformArgs strided;
    strided.stride = {2, 1};
    strided.padding = {1, 2};
    strided.dilation = {2, 1};
    strided.bias = true;
    cases.push_back(generic_case("kernel 3x2 stride (2,1) pad (1,2) dilation (2,1)", {1, 2, 7, 6}, {3, 2, 3, 2}, 1,
                                 strided, 520));
    DeformArgs groups = pad1;
    groups.mask = true;
    cases.push_back(generic_case("2 offset groups + mask", {2, 4, 4, 4}, {3, 4, 3, 3}, 2, groups, 530));
    cases.push_back(generic_case("2 weight groups, 4 offset groups, bias", {1, 4, 5, 5}, {4, 2, 2, 2}, 4,
                                 DeformArgs{{1, 1}, {0, 0}, {1, 1}, true, false}, 540));
    cases.push_back(generic_case("large offsets: many samples beyond the image", {1, 2, 4, 4}, {2, 2, 3, 3}, 1, full,
                                 550, 5.5));
    // On the border: a tap at base position 0 with offset -1 samples p = -1 exactly (0), with -1.001 just outside;
    // base H-1 = 3 with +1 samples p = H exactly (0), +0.999 inside. Integer offsets sample grid points.
    const std::vector<double> border{-1.0, 1.0, -1.001, 1.001, 0.0, 2.0, -2.0, 0.999, -0.999, 3.0, -3.0, 4.0};
    cases.push_back(listed_case("samples exactly on and just outside the border", {1, 2, 4, 4}, {2, 2, 3, 3}, pad1, 560,
                                border));
    cases.push_back(listed_case("integer offsets + bias + mask", {2, 2, 4, 3}, {2, 2, 3, 3}, full, 570,
                                {0.0, 1.0, -1.0, 2.0, -2.0}));
    cases.push_back(generic_case("empty batch", {0, 2, 4, 4}, {2, 2, 3, 3}, 1, pad1, 580));
    return cases;
}

}  // namespace wsdol::test
