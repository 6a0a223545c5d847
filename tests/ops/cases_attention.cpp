// cases_attention.cpp — op cases for the materialized attention op (attention.cpp): plain-loop softmax(q k^T s + m) v
// references, with the probabilities as a second output so gradients also flow through them.
#include <cmath>
#include <limits>

#include "engine/ops/attention.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// q (B, H, Tq, D), k (B, H, Tk, D), v (B, H, Tk, Dv), mask broadcastable to (B, H, Tq, Tk) or undefined.
// Returns {out (B, H, Tq, Dv), probs (B, H, Tq, Tk)}, in double.
TensorList attention_ref(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale) {
    Host hq(q), hk(k), hv(v);
    const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), D = q.size(3), Tk = k.size(2), Dv = v.size(3);
    Host out({B, H, Tq, Dv}), probs({B, H, Tq, Tk});
    Host hm = mask.defined() ? Host(mask) : Host(Shape{1}, 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < Tq; ++i) {
                std::vector<double> s(Tk);
                double m = -std::numeric_limits<double>::infinity();
                for (int64_t j = 0; j < Tk; ++j) {
                    double dot = 0;
                    for (int64_t d = 0; d < D; ++d) dot += hq.at({b, h, i, d}) * hk.at({b, h, j, d});
                    s[j] = scale * dot + (mask.defined() ? broadcast_at(hm, {b, h, i, j}) : 0.0);
                    m = std::max(m, s[j]);
                }
                double total = 0;
                for (int64_t j = 0; j < Tk; ++j) total += std::exp(s[j] - m);
                for (int64_t j = 0; j < Tk; ++j) probs.at({b, h, i, j}) = std::exp(s[j] - m) / total;
                for (int64_t e = 0; e < Dv; ++e) {
                    double acc = 0;
                    for (int64_t j = 0; j < Tk; ++j) acc += probs.at({b, h, i, j}) * hv.at({b, h, j, e});
                    out.at({b, h, i, e}) = acc;
                }
            }
    return {out.tensor(), probs.tensor()};
}

double default_scale(const Tensor& q) { return 1.0 / std::sqrt(static_cast<double>(q.size(3))); }

// Causal additive mask (Tq, Tk): 0 on and below the diagonal, -inf above (CLIP's text mask).
Tensor causal_mask(int64_t T) {
    std::vector<double> m(T * T);
    for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j) m[i * T + j] = j > i ? -std::numeric_limits<double>::infinity() : 0.0;
    return Tensor::from_vector(m, {T, T}, DType::f64);
}

}  // namespace

WSDOL_OP_CASES(attention) {
    std::vector<OpCase> cases;
    // run/ref for inputs {q, k, v} or {q, k, v, mask}; `probs` adds the probabilities as a second output.
    auto make = [](bool with_mask, bool probs, std::optional<double> scale) {
        auto run = [=](const TensorList& in) -> TensorList {
            AttentionOutput r = attention(in[0], in[1], in[2], with_mask ? in[3] : Tensor(), scale, probs);
            if (probs) return {r.out, r.probs};
            return {r.out};
        };
        auto ref = [=](const TensorList& in) -> TensorList {
            TensorList r =
                attention_ref(in[0], in[1], in[2], with_mask ? in[3] : Tensor(), scale ? *scale : default_scale(in[0]));
            if (!probs) r.pop_back();
            return r;
        };
        return std::make_pair(run, ref);
    };
    {
        auto [run, ref] = make(false, false, std::nullopt);
        cases.push_back(make_case(
            "attention", "self [2,3,4,5], out only",
            {rand_input({2, 3, 4, 5}, 900), rand_input({2, 3, 4, 5}, 901), rand_input({2, 3, 4, 5}, 902)}, run, ref));
    }
    {
        auto [run, ref] = make(false, true, std::nullopt);
        cases.push_back(make_case(
            "attention", "cross Tq=3 Tk=5 D=4 Dv=6, probs as 2nd output",
            {rand_input({1, 2, 3, 4}, 903), rand_input({1, 2, 5, 4}, 904), rand_input({1, 2, 5, 6}, 905)}, run, ref));
    }
    {
        auto [run, ref] = make(true, true, std::nullopt);
        cases.push_back(make_case("attention", "finite additive mask [4,4] broadcast, probs (mask grad checked)",
                                  {rand_input({2, 2, 4, 3}, 906), rand_input({2, 2, 4, 3}, 907),
                                   rand_input({2, 2, 4, 3}, 908), rand_input({4, 4}, 909, -2.0, 2.0)},
                                  run, ref));
    }
    {
        auto [run, ref] = make(true, true, std::nullopt);
        cases.push_back(make_case("attention", "causal -inf mask [5,5], probs",
                                  {rand_input({1, 2, 5, 4}, 910), rand_input({1, 2, 5, 4}, 911),
                                   rand_input({1, 2, 5, 3}, 912), causal_mask(5)},
                                  run, ref));
    }
    {
        auto [run, ref] = make(true, false, std::nullopt);
        cases.push_back(make_case("attention", "per-sample mask [2,1,1,4] (key padding)",
                                  {rand_input({2, 2, 3, 4}, 913), rand_input({2, 2, 4, 4}, 914),
                                   rand_input({2, 2, 4, 2}, 915), rand_input({2, 1, 1, 4}, 916, -3.0, 0.0)},
                                  run, ref));
    }
    {
        auto [run, ref] = make(false, true, 0.7);
        cases.push_back(make_case(
            "attention", "explicit scale 0.7, size-1 dims [1,1,1,3] x [1,1,2,3]",
            {rand_input({1, 1, 1, 3}, 917), rand_input({1, 1, 2, 3}, 918), rand_input({1, 1, 2, 3}, 919)}, run, ref));
    }
    {
        auto [run, ref] = make(false, true, std::nullopt);
        cases.push_back(make_case(
            "attention", "empty batch B=0",
            {rand_input({0, 2, 3, 4}, 920), rand_input({0, 2, 3, 4}, 921), rand_input({0, 2, 3, 4}, 922)}, run, ref));
    }
    {
        // Large logits: the softmax must subtract the row max (exp(60 * 3) overflows f32 otherwise).
        auto [run, ref] = make(false, true, 60.0);
        cases.push_back(make_case(
            "attention", "large scores (scale 60): max-subtracted softmax",
            {rand_input({1, 2, 3, 3}, 923), rand_input({1, 2, 4, 3}, 924), rand_input({1, 2, 4, 2}, 925)}, run, ref));
    }
    return cases;
}

}  // namespace wsdol::test
