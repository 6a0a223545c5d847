// cases_conv_pool.cpp — op cases for conv2d (conv.cpp) and the pools (pool.cpp).
//
// References are direct loops over output positions written from PyTorch's documented formulas (conv as a
// windowed dot product, pooling windows and divisors as in the torch.nn.MaxPool2d / AvgPool2d docs and
// ATen's pooling_output_shape / start_index / end_index), never through im2col or the op under test.
#include <cmath>
#include <limits>

#include "engine/ops/conv_pool.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// ---- conv2d ----
struct ConvArgs {
    Int2 stride{1, 1}, padding{0, 0}, dilation{1, 1};
    int64_t groups = 1;
};

// out[n, co, oh, ow] = b[co] + sum over ci in co's group, ki, kj of x[n, ci, oh s - p + ki d, ow s - p + kj d] w[co, ci', ki, kj]
// (terms reading outside x are zero padding). x: (N, C, H, W), w: (Co, C / groups, kH, kW), b: (Co) or undefined.
Tensor conv_ref(const Tensor& x, const Tensor& w, const Tensor& b, const ConvArgs& a) {
    Host hx(x), hw(w);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t Co = w.size(0), Cg = w.size(1), kH = w.size(2), kW = w.size(3);
    const int64_t OH = (H + 2 * a.padding[0] - a.dilation[0] * (kH - 1) - 1) / a.stride[0] + 1;
    const int64_t OW = (W + 2 * a.padding[1] - a.dilation[1] * (kW - 1) - 1) / a.stride[1] + 1;
    (void)C;
    const int64_t out_per_group = Co / a.groups;
    Host out({N, Co, OH, OW});
    const std::vector<double> bias = b.defined() ? b.to_vector() : std::vector<double>(Co, 0.0);
    for_each_index(out.shape, [&](const std::vector<int64_t>& o) {
        const int64_t n = o[0], co = o[1], group = co / out_per_group;
        double acc = bias[co];
        for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t ki = 0; ki < kH; ++ki)
                for (int64_t kj = 0; kj < kW; ++kj) {
                    const int64_t ih = o[2] * a.stride[0] - a.padding[0] + ki * a.dilation[0];
                    const int64_t iw = o[3] * a.stride[1] - a.padding[1] + kj * a.dilation[1];
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    acc += hx.at({n, group * Cg + ci, ih, iw}) * hw.at({co, ci, ki, kj});
                }
        out.at(o) = acc;
    });
    return out.tensor();
}

OpCase conv_case(const std::string& label, const Shape& xs, const Shape& ws, bool with_bias, ConvArgs a, uint64_t seed) {
    TensorList in{rand_input(xs, seed), rand_input(ws, seed + 1)};
    if (with_bias) in.push_back(rand_input({ws[0]}, seed + 2));
    return make_case(
        "conv2d", label, in,
        [a](const TensorList& t) -> TensorList {
            return {conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), a.stride, a.padding, a.dilation, a.groups)};
        },
        [a](const TensorList& t) -> TensorList {
            const Tensor b = t.size() > 2 ? t[2] : Tensor();
            if (t[0].dim() == 3) return {conv_ref(t[0].unsqueeze(0), t[1], b, a).squeeze(0)};
            return {conv_ref(t[0], t[1], b, a)};
        });
}

// ---- pools ----
// ATen's pooling_output_shape, written out: ceil or floor of the window count; with ceil_mode the last window
// must start inside the input or the left padding.
int64_t pool_out(int64_t in, int64_t k, int64_t p, int64_t s, int64_t d, bool ceil_mode) {
    const double windows = static_cast<double>(in + 2 * p - d * (k - 1) - 1) / s;
    int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(windows) : std::floor(windows)) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) --out;
    return out;
}

struct PoolArgs {
    Int2 kernel{2, 2}, stride{0, 0}, padding{0, 0}, dilation{1, 1};
    bool ceil_mode = false;
    bool count_include_pad = true;
};

Int2 effective_stride(const PoolArgs& a) { return a.stride[0] == 0 && a.stride[1] == 0 ? a.kernel : a.stride; }

// Max over the window positions inside x (padding is -inf, never chosen); first maximum wins ties.
TensorList max_pool_ref(const Tensor& x, const PoolArgs& a) {
    Host hx(x);
    const Int2 s = effective_stride(a);
    const int64_t H = x.size(2), W = x.size(3);
    const int64_t OH = pool_out(H, a.kernel[0], a.padding[0], s[0], a.dilation[0], a.ceil_mode);
    const int64_t OW = pool_out(W, a.kernel[1], a.padding[1], s[1], a.dilation[1], a.ceil_mode);
    Host out({x.size(0), x.size(1), OH, OW}), idx({x.size(0), x.size(1), OH, OW});
    for_each_index(out.shape, [&](const std::vector<int64_t>& o) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_i = -1;
        for (int64_t ki = 0; ki < a.kernel[0]; ++ki)
            for (int64_t kj = 0; kj < a.kernel[1]; ++kj) {
                const int64_t ih = o[2] * s[0] - a.padding[0] + ki * a.dilation[0];
                const int64_t iw = o[3] * s[1] - a.padding[1] + kj * a.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const double v = hx.at({o[0], o[1], ih, iw});
                if (best_i < 0 || v > best) {
                    best = v;
                    best_i = ih * W + iw;
                }
            }
        out.at(o) = best;
        idx.at(o) = static_cast<double>(best_i);
    });
    return {out.tensor(), idx.tensor(DType::i64)};
}

// Mean over the window clipped to the input; divisor: the window clipped to the padded input
// [-p, In + p) (count_include_pad) or to the input [0, In) (not count_include_pad), per the AvgPool2d docs/ATen.
Tensor avg_pool_ref(const Tensor& x, const PoolArgs& a) {
    Host hx(x);
    const Int2 s = effective_stride(a);
    const int64_t H = x.size(2), W = x.size(3);
    const int64_t OH = pool_out(H, a.kernel[0], a.padding[0], s[0], 1, a.ceil_mode);
    const int64_t OW = pool_out(W, a.kernel[1], a.padding[1], s[1], 1, a.ceil_mode);
    Host out({x.size(0), x.size(1), OH, OW});
    for_each_index(out.shape, [&](const std::vector<int64_t>& o) {
        const int64_t h_start = o[2] * s[0] - a.padding[0], w_start = o[3] * s[1] - a.padding[1];
        double total = 0;
        int64_t inside = 0, in_padded = 0;
        for (int64_t ih = h_start; ih < h_start + a.kernel[0]; ++ih)
            for (int64_t iw = w_start; iw < w_start + a.kernel[1]; ++iw) {
                if (ih < H + a.padding[0] && iw < W + a.padding[1]) ++in_padded;  // starts are >= -padding
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                total += hx.at({o[0], o[1], ih, iw});
                ++inside;
            }
        out.at(o) = inside == 0 ? 0.0 : total / static_cast<double>(a.count_include_pad ? in_padded : inside);
    });
    return out.tensor();
}

OpCase max_pool_case(const std::string& label, Tensor x, PoolArgs a) {
    return make_case(
        "max_pool2d", label, {x},
        [a](const TensorList& t) -> TensorList {
            Tensor idx;
            Tensor y = max_pool2d(t[0], a.kernel, a.stride, a.padding, a.dilation, a.ceil_mode, &idx);
            return {y, idx};
        },
        [a](const TensorList& t) -> TensorList {
            if (t[0].dim() == 3) {
                TensorList r = max_pool_ref(t[0].unsqueeze(0), a);
                return {r[0].squeeze(0), r[1].squeeze(0)};
            }
            return max_pool_ref(t[0], a);
        });
}

OpCase avg_pool_case(const std::string& label, Tensor x, PoolArgs a) {
    return make_case(
        "avg_pool2d", label, {x},
        [a](const TensorList& t) -> TensorList {
            return {avg_pool2d(t[0], a.kernel, a.stride, a.padding, a.ceil_mode, a.count_include_pad)};
        },
        [a](const TensorList& t) -> TensorList {
            if (t[0].dim() == 3) return {avg_pool_ref(t[0].unsqueeze(0), a).squeeze(0)};
            return {avg_pool_ref(t[0], a)};
        });
}

// Adaptive windows: [floor(i In / Out), ceil((i + 1) In / Out)) per dim; mean, or max with its flat index.
TensorList adaptive_ref(const Tensor& x, Int2 out_size, bool is_max) {
    Host hx(x);
    const int64_t H = x.size(2), W = x.size(3);
    Host out({x.size(0), x.size(1), out_size[0], out_size[1]}), idx(out.shape);
    auto start = [](int64_t i, int64_t in, int64_t o) { return static_cast<int64_t>(std::floor(double(i) * in / o)); };
    auto stop = [](int64_t i, int64_t in, int64_t o) { return static_cast<int64_t>(std::ceil(double(i + 1) * in / o)); };
    for_each_index(out.shape, [&](const std::vector<int64_t>& o) {
        double total = 0, best = -std::numeric_limits<double>::infinity();
        int64_t count = 0, best_i = -1;
        for (int64_t ih = start(o[2], H, out_size[0]); ih < stop(o[2], H, out_size[0]); ++ih)
            for (int64_t iw = start(o[3], W, out_size[1]); iw < stop(o[3], W, out_size[1]); ++iw) {
                const double v = hx.at({o[0], o[1], ih, iw});
                total += v;
                ++count;
                if (best_i < 0 || v > best) {
                    best = v;
                    best_i = ih * W + iw;
                }
            }
        out.at(o) = is_max ? best : total / static_cast<double>(count);
        idx.at(o) = static_cast<double>(best_i);
    });
    if (is_max) return {out.tensor(), idx.tensor(DType::i64)};
    return {out.tensor()};
}

OpCase adaptive_case(bool is_max, const std::string& label, Tensor x, Int2 out_size) {
    return make_case(
        is_max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d", label, {x},
        [is_max, out_size](const TensorList& t) -> TensorList {
            if (!is_max) return {adaptive_avg_pool2d(t[0], out_size)};
            Tensor idx;
            Tensor y = adaptive_max_pool2d(t[0], out_size, &idx);
            return {y, idx};
        },
        [is_max, out_size](const TensorList& t) -> TensorList {
            if (t[0].dim() == 3) {
                TensorList r = adaptive_ref(t[0].unsqueeze(0), out_size, is_max);
                for (Tensor& v : r) v = v.squeeze(0);
                return r;
            }
            return adaptive_ref(t[0], out_size, is_max);
        });
}

// Sets the conv2d column budget for one call, restoring it after (exercises the chunked path on small inputs).
struct ColumnBudget {
    int64_t previous;
    explicit ColumnBudget(int64_t elements) : previous(conv2d_column_budget()) { set_conv2d_column_budget(elements); }
    ~ColumnBudget() { set_conv2d_column_budget(previous); }
};

}  // namespace

WSDOL_OP_CASES(conv_pool) {
    std::vector<OpCase> cases;
    // ---- conv2d ----
    cases.push_back(conv_case("3x3 + bias [2,3,7,6]", {2, 3, 7, 6}, {4, 3, 3, 3}, true, {}, 100));
    cases.push_back(conv_case("kernel 3x2 stride (2,1) pad (1,2) dilation (1,2)", {2, 3, 7, 8}, {2, 3, 3, 2}, true,
                              {{2, 1}, {1, 2}, {1, 2}, 1}, 110));
    cases.push_back(conv_case("groups=2 pad 1", {2, 4, 6, 5}, {6, 2, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 2}, 120));
    cases.push_back(conv_case("depthwise groups=3 stride 2 pad 1, no bias", {1, 3, 7, 7}, {3, 1, 3, 3}, false,
                              {{2, 2}, {1, 1}, {1, 1}, 3}, 130));
    cases.push_back(conv_case("1x1 pointwise + bias", {2, 5, 4, 3}, {3, 5, 1, 1}, true, {}, 140));
    cases.push_back(conv_case("1x1 pointwise groups=2", {2, 4, 3, 3}, {6, 2, 1, 1}, false, {{1, 1}, {0, 0}, {1, 1}, 2}, 150));
    cases.push_back(conv_case("1x1 stride 2 (im2col path)", {2, 3, 5, 5}, {2, 3, 1, 1}, true, {{2, 2}, {0, 0}, {1, 1}, 1}, 160));
    cases.push_back(conv_case("patch embedding kernel=stride=4", {2, 3, 8, 12}, {5, 3, 4, 4}, true, {{4, 4}, {0, 0}, {1, 1}, 1}, 170));
    cases.push_back(conv_case("padding 3 > kernel 2: windows wholly in padding", {1, 2, 3, 3}, {2, 2, 2, 2}, true,
                              {{1, 1}, {3, 3}, {1, 1}, 1}, 180));
    cases.push_back(conv_case("unbatched (C, H, W)", {3, 5, 5}, {2, 3, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}, 190));
    cases.push_back(conv_case("empty batch N=0", {0, 3, 5, 5}, {2, 3, 3, 3}, true, {}, 200));
    {
        // Budget of 2 images' columns (2 * 2*3*3 * 25): chunks of 2 + 1 images; weight grads accumulate over chunks.
        OpCase c = conv_case("chunked columns (2+1 images)", {3, 2, 5, 5}, {3, 2, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}, 210);
        CaseFn inner = c.run;
        c.run = [inner](const TensorList& t) -> TensorList {
            ColumnBudget budget(2 * 2 * 9 * 25);
            return inner(t);
        };
        cases.push_back(c);
    }

    // ---- max_pool2d ----
    cases.push_back(max_pool_case("2x2 stride 2", rand_input({2, 3, 6, 6}, 300), {{2, 2}, {2, 2}}));
    cases.push_back(max_pool_case("3x3 stride 2 pad 1, negative input (-inf padding)", rand_input({1, 2, 7, 7}, 301, -2.0, -1.0),
                                  {{3, 3}, {2, 2}, {1, 1}}));
    cases.push_back(max_pool_case("kernel 3x2 stride (1,2) dilation 2", rand_input({1, 2, 8, 9}, 302), {{3, 2}, {1, 2}, {0, 0}, {2, 2}}));
    cases.push_back(max_pool_case("ceil_mode partial last window", rand_input({1, 2, 6, 7}, 303), {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true}));
    cases.push_back(max_pool_case("ceil_mode drops a window starting in right padding", rand_input({1, 1, 5, 5}, 304, -2.0, -1.0),
                                  {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true}));
    cases.push_back(max_pool_case("default stride = kernel 3x2", rand_input({2, 2, 7, 6}, 305), {{3, 2}}));
    cases.push_back(max_pool_case("unbatched (C, H, W)", rand_input({2, 5, 5}, 306), {{3, 3}, {1, 1}, {1, 1}}));
    cases.push_back(max_pool_case("empty batch", rand_input({0, 2, 4, 4}, 307), {{2, 2}}));

    // ---- avg_pool2d ----
    cases.push_back(avg_pool_case("3x3 s2 p1 count_include_pad", rand_input({2, 2, 7, 6}, 320), {{3, 3}, {2, 2}, {1, 1}}));
    cases.push_back(avg_pool_case("3x3 s2 p1 exclude pad", rand_input({2, 2, 7, 6}, 321), {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false}));
    cases.push_back(avg_pool_case("ceil_mode include pad (divisor clipped to padded input)", rand_input({1, 2, 6, 7}, 322),
                                  {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true}));
    cases.push_back(avg_pool_case("ceil_mode exclude pad", rand_input({1, 2, 6, 7}, 323), {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}));
    cases.push_back(avg_pool_case("ceil_mode no padding, window past the edge", rand_input({1, 2, 5, 8}, 324), {{2, 3}, {2, 3}, {0, 0}, {1, 1}, true}));
    cases.push_back(avg_pool_case("default stride 2x2", rand_input({2, 3, 4, 6}, 325), {{2, 2}}));
    cases.push_back(avg_pool_case("unbatched (C, H, W)", rand_input({2, 5, 4}, 326), {{2, 2}, {1, 1}, {1, 1}, {1, 1}, false, false}));

    // ---- adaptive pools ----
    cases.push_back(adaptive_case(false, "7x5 -> 3x2 (uneven windows)", rand_input({2, 3, 7, 5}, 340), {3, 2}));
    cases.push_back(adaptive_case(false, "3x4 -> 5x6 (overlapping windows)", rand_input({1, 2, 3, 4}, 341), {5, 6}));
    cases.push_back(adaptive_case(false, "global 1x1", rand_input({2, 3, 4, 5}, 342), {1, 1}));
    cases.push_back(adaptive_case(false, "unbatched", rand_input({2, 6, 6}, 343), {4, 3}));
    cases.push_back(adaptive_case(true, "7x5 -> 3x2 (uneven windows)", rand_input({2, 3, 7, 5}, 344), {3, 2}));
    cases.push_back(adaptive_case(true, "3x4 -> 5x6 (overlapping windows)", rand_input({1, 2, 3, 4}, 345), {5, 6}));
    cases.push_back(adaptive_case(true, "global 1x1", rand_input({2, 3, 4, 5}, 346), {1, 1}));
    cases.push_back(adaptive_case(true, "unbatched", rand_input({2, 6, 6}, 347), {4, 3}));
    return cases;
}

}  // namespace wsdol::test
