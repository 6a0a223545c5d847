// cases_loss.cpp — op cases for the losses and similarities (loss.cpp), each against a plain-loop double reference
// written from PyTorch's definitions.
#include <cmath>
#include <limits>

#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

Tensor i64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::i64); }
Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }
Tensor scalar_out(double v) { return Tensor::scalar(v, DType::f64); }

Tensor reduce_ref(const Host& per_element, Reduction r) {
    if (r == Reduction::none) return per_element.tensor();
    double s = 0;
    for (double x : per_element.v) s += x;
    if (r == Reduction::sum) return scalar_out(s);
    return scalar_out(s / static_cast<double>(per_element.v.size()));
}

// ---- cross entropy: logits (N, C, d...) and class indices (N, d...) or probabilities (N, C, d...).
struct CeArgs {
    bool weighted = false;
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::mean;
    double smoothing = 0.0;
};

Tensor cross_entropy_ref(const Tensor& logits, const Tensor& target, const Tensor& weight, const CeArgs& a) {
    Host x(logits), t(target);
    const bool probs = is_floating(target.dtype());
    const int64_t N = logits.size(0), C = logits.size(1);
    const int64_t S = logits.numel() / std::max<int64_t>(N * C, 1);  // spatial positions per sample
    std::vector<double> w(C, 1.0);
    if (a.weighted) w = weight.to_vector();
    Shape per_shape = logits.shape();
    per_shape.erase(per_shape.begin() + 1);
    Host nll(per_shape), smooth(per_shape);
    double weight_sum = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
            auto at = [&](int64_t c) { return x.v[(n * C + c) * S + s]; };
            double m = -std::numeric_limits<double>::infinity();
            for (int64_t c = 0; c < C; ++c) m = std::max(m, at(c));
            double z = 0;
            for (int64_t c = 0; c < C; ++c) z += std::exp(at(c) - m);
            auto logp = [&](int64_t c) { return at(c) - m - std::log(z); };
            const int64_t i = n * S + s;
            if (probs) {
                double l = 0;
                for (int64_t c = 0; c < C; ++c) {
                    const double tc = t.v[(n * C + c) * S + s] * (1 - a.smoothing) + a.smoothing / C;
                    l -= w[c] * tc * logp(c);
                }
                nll.v[i] = l;
                continue;
            }
            const int64_t cls = static_cast<int64_t>(t.v[i]);
            if (cls == a.ignore_index) continue;  // contributes nothing, not even to the weight sum
            nll.v[i] = -w[cls] * logp(cls);
            weight_sum += w[cls];
            double sm = 0;
            for (int64_t c = 0; c < C; ++c) sm -= w[c] * logp(c);
            smooth.v[i] = sm;
        }
    if (probs) {
        if (a.reduction == Reduction::mean) {
            double s = 0;
            for (double v : nll.v) s += v;
            return scalar_out(s / static_cast<double>(N * S));
        }
        return reduce_ref(nll, a.reduction);
    }
    const double e = a.smoothing;
    if (a.reduction == Reduction::none) {
        Host out(per_shape);
        for (size_t i = 0; i < out.v.size(); ++i) out.v[i] = (1 - e) * nll.v[i] + e / C * smooth.v[i];
        return out.tensor();
    }
    double sn = 0, ss = 0;
    for (size_t i = 0; i < nll.v.size(); ++i) {
        sn += nll.v[i];
        ss += smooth.v[i];
    }
    if (a.reduction == Reduction::mean) {
        sn /= weight_sum;
        ss /= weight_sum;
    }
    return scalar_out((1 - e) * sn + e / C * ss);
}

OpCase ce_case(const std::string& label, const Tensor& logits, const Tensor& target, const Tensor& weight, CeArgs a) {
    OpCase c;
    c.op = "cross_entropy";
    c.label = label;
    c.inputs = {logits, target,
                weight.defined()
                    ? weight
                    : Tensor::ones({logits.dim() ? logits.size(logits.dim() == 1 ? 0 : 1) : 1}, DType::f64)};
    a.weighted = weight.defined();
    c.run = [a](const TensorList& in) -> TensorList {
        return {cross_entropy(in[0], in[1], a.weighted ? in[2] : Tensor(), a.ignore_index, a.reduction, a.smoothing)};
    };
    c.reference = [a](const TensorList& in) -> TensorList {
        if (in[0].dim() == 1) {  // unbatched: the same as a batch of one
            Tensor r = cross_entropy_ref(in[0].unsqueeze(0), in[1].unsqueeze(0), in[2], a);
            return {a.reduction == Reduction::none ? r.squeeze(0) : r};
        }
        return {cross_entropy_ref(in[0], in[1], in[2], a)};
    };
    c.no_grad_inputs = {2};  // class weights get no gradient (PyTorch)
    return c;
}

// ---- sigmoid / probability losses
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

// Elementwise BCE-with-logits with optional broadcast weight and pos_weight (PyTorch formula written out).
Host bce_logits_ref(const Tensor& x, const Tensor& y, const Tensor& w, const Tensor& pw) {
    Host hx(x), hy(y), out(x.shape());
    Host hw = w.defined() ? Host(w) : Host(Shape{1}, 1.0), hp = pw.defined() ? Host(pw) : Host(Shape{1}, 1.0);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        const double xi = hx.at(i), yi = hy.at(i), p = broadcast_at(hp, i);
        // -[p y log sigmoid(x) + (1 - y) log sigmoid(-x)] * w
        out.at(i) = -(p * yi * log_sigmoid(xi) + (1 - yi) * log_sigmoid(-xi)) * broadcast_at(hw, i);
    });
    return out;
}

Host bce_ref(const Tensor& x, const Tensor& y, const Tensor& w) {
    Host hx(x), hy(y), out(x.shape());
    Host hw = w.defined() ? Host(w) : Host(Shape{1}, 1.0);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        const double p = hx.at(i), t = hy.at(i);
        const double lp = std::max(std::log(p), -100.0), l1p = std::max(std::log(1 - p), -100.0);
        out.at(i) = -(t * lp + (1 - t) * l1p) * broadcast_at(hw, i);
    });
    return out;
}

}  // namespace

WSDOL_OP_CASES(loss) {
    std::vector<OpCase> cases;
    const Tensor none;

    // ---------------- cross_entropy
    cases.push_back(ce_case("[4,5] mean", rand_input({4, 5}, 1100, -2, 2), i64({0, 4, 2, 2}, {4}), none, {}));
    cases.push_back(ce_case("[4,5] sum", rand_input({4, 5}, 1101, -2, 2), i64({1, 3, 0, 4}, {4}), none,
                            {false, -100, Reduction::sum}));
    cases.push_back(ce_case("[3,4] none, ignore -100", rand_input({3, 4}, 1102, -2, 2), i64({1, -100, 3}, {3}), none,
                            {false, -100, Reduction::none}));
    cases.push_back(ce_case("[5,3] class weights, ignore -100: mean over target weights",
                            rand_input({5, 3}, 1103, -2, 2), i64({0, 2, -100, 1, 2}, {5}),
                            positive_input({3}, 1104, 0.2, 3.0), {}));
    cases.push_back(ce_case("spatial [2,3,2,2] ignore 255, weights", rand_input({2, 3, 2, 2}, 1105, -2, 2),
                            i64({0, 2, 255, 1, 1, 255, 0, 2}, {2, 2, 2}), positive_input({3}, 1106, 0.2, 3.0),
                            {false, 255}));
    cases.push_back(ce_case("ignore_index inside the class range (0)", rand_input({4, 3}, 1107, -2, 2),
                            i64({0, 1, 2, 0}, {4}), none, {false, 0}));
    cases.push_back(ce_case("label smoothing 0.1", rand_input({4, 5}, 1108, -2, 2), i64({0, 4, 2, 1}, {4}), none,
                            {false, -100, Reduction::mean, 0.1}));
    cases.push_back(ce_case("label smoothing 0.2 + weights + ignore, mean", rand_input({5, 4}, 1109, -2, 2),
                            i64({0, 3, -100, 1, 2}, {5}), positive_input({4}, 1110, 0.2, 3.0),
                            {false, -100, Reduction::mean, 0.2}));
    cases.push_back(ce_case("label smoothing 0.3 spatial, none", rand_input({2, 3, 3}, 1111, -2, 2),
                            i64({0, 2, -100, 1, 1, 0}, {2, 3}), positive_input({3}, 1112, 0.2, 3.0),
                            {false, -100, Reduction::none, 0.3}));
    cases.push_back(ce_case("label smoothing sum", rand_input({3, 4}, 1113, -2, 2), i64({3, -100, 0}, {3}), none,
                            {false, -100, Reduction::sum, 0.15}));
    {
        // Soft targets: rows of a probability simplex.
        Tensor raw = positive_input({3, 4}, 1114, 0.1, 1.0);
        std::vector<double> v = raw.to_vector();
        for (int n = 0; n < 3; ++n) {
            double s = 0;
            for (int c = 0; c < 4; ++c) s += v[n * 4 + c];
            for (int c = 0; c < 4; ++c) v[n * 4 + c] /= s;
        }
        OpCase c = ce_case("probability targets, weights, smoothing 0.1", rand_input({3, 4}, 1115, -2, 2),
                           f64(v, {3, 4}), positive_input({4}, 1116, 0.2, 3.0), {false, -100, Reduction::mean, 0.1});
        c.no_grad_inputs = {2};
        cases.push_back(c);
        OpCase d = ce_case("probability targets, none", rand_input({3, 4}, 1117, -2, 2), f64(v, {3, 4}), none,
                           {false, -100, Reduction::none});
        d.no_grad_inputs = {2};
        cases.push_back(d);
    }
    cases.push_back(ce_case("unbatched (C) with a 0-dim target", rand_input({5}, 1118, -2, 2), i64({3}, {}), none, {}));
    {
        OpCase c = ce_case("all targets ignored: mean is NaN (0/0, PyTorch)", rand_input({2, 3}, 1119, -2, 2),
                           i64({-100, -100}, {2}), none, {});
        c.check_grad = false;
        cases.push_back(c);
    }
    cases.push_back(
        ce_case("empty batch [0,3] sum", rand_input({0, 3}, 1120), i64({}, {0}), none, {false, -100, Reduction::sum}));

    // ---------------- multilabel_soft_margin_loss
    {
        auto run_for = [](Reduction r, bool weighted) {
            return [=](const TensorList& in) -> TensorList {
                return {multilabel_soft_margin_loss(in[0], in[1], weighted ? in[2] : Tensor(), r)};
            };
        };
        auto ref_for = [](Reduction r, bool weighted) {
            return [=](const TensorList& in) -> TensorList {
                Host per_class = bce_logits_ref(in[0], in[1], weighted ? in[2] : Tensor(), Tensor());
                const int64_t N = in[0].size(0), C = in[0].size(1);
                Host per_sample(Shape{N});
                for (int64_t n = 0; n < N; ++n) {
                    for (int64_t c = 0; c < C; ++c) per_sample.v[n] += per_class.v[n * C + c];
                    per_sample.v[n] /= static_cast<double>(C);
                }
                return {reduce_ref(per_sample, r)};
            };
        };
        Tensor y = index_input({4, 6}, 2, 1121).to(DType::f64);
        cases.push_back(make_case("multilabel_soft_margin_loss", "[4,6] mean",
                                  {rand_input({4, 6}, 1122, -3, 3), y, Tensor::ones({6}, DType::f64)},
                                  run_for(Reduction::mean, false), ref_for(Reduction::mean, false)));
        cases.back().no_grad_inputs = {2};  // unused weight slot
        cases.push_back(make_case("multilabel_soft_margin_loss", "[4,6] class weights, none",
                                  {rand_input({4, 6}, 1123, -3, 3), y, positive_input({6}, 1124)},
                                  run_for(Reduction::none, true), ref_for(Reduction::none, true)));
        // Logits exactly 0 (a zero-initialized classifier): the gradient there is sigmoid(0) - y = 0.5 - y, which
        // a relu/abs composite of softplus would get wrong.
        cases.push_back(make_case("multilabel_soft_margin_loss", "zero logits, sum",
                                  {Tensor::zeros({3, 4}, DType::f64), index_input({3, 4}, 2, 1125).to(DType::f64),
                                   Tensor::ones({4}, DType::f64)},
                                  run_for(Reduction::sum, false), ref_for(Reduction::sum, false)));
        cases.back().no_grad_inputs = {2};
    }

    // ---------------- binary_cross_entropy_with_logits
    {
        auto run_for = [](Reduction r, bool weighted, bool pos) {
            return [=](const TensorList& in) -> TensorList {
                return {binary_cross_entropy_with_logits(in[0], in[1], weighted ? in[2] : Tensor(),
                                                         pos ? in[3] : Tensor(), r)};
            };
        };
        auto ref_for = [](Reduction r, bool weighted, bool pos) {
            return [=](const TensorList& in) -> TensorList {
                return {
                    reduce_ref(bce_logits_ref(in[0], in[1], weighted ? in[2] : Tensor(), pos ? in[3] : Tensor()), r)};
            };
        };
        Tensor soft = rand_input({3, 4}, 1126, 0.0, 1.0);
        cases.push_back(make_case(
            "binary_cross_entropy_with_logits", "[3,4] soft targets, mean",
            {rand_input({3, 4}, 1127, -3, 3), soft, Tensor::ones({1}, DType::f64), Tensor::ones({1}, DType::f64)},
            run_for(Reduction::mean, false, false), ref_for(Reduction::mean, false, false)));
        cases.back().no_grad_inputs = {2, 3};  // unused weight slots
        cases.push_back(
            make_case("binary_cross_entropy_with_logits", "weight [3,1] + pos_weight [4] broadcast, none",
                      {rand_input({3, 4}, 1128, -3, 3), soft, positive_input({3, 1}, 1129), positive_input({4}, 1130)},
                      run_for(Reduction::none, true, true), ref_for(Reduction::none, true, true)));
        cases.push_back(make_case("binary_cross_entropy_with_logits", "pos_weight, zero logits, sum",
                                  {Tensor::zeros({2, 3}, DType::f64), rand_input({2, 3}, 1131, 0, 1),
                                   Tensor::ones({1}, DType::f64), positive_input({3}, 1132)},
                                  run_for(Reduction::sum, false, true), ref_for(Reduction::sum, false, true)));
        cases.back().no_grad_inputs = {2};
        cases.push_back(make_case("binary_cross_entropy_with_logits", "large |logits| (+-40) stay finite",
                                  {f64({40, -40, 35, -38, 0.5, -0.5}, {2, 3}), f64({0, 1, 1, 0, 1, 0}, {2, 3}),
                                   Tensor::ones({1}, DType::f64), Tensor::ones({1}, DType::f64)},
                                  run_for(Reduction::none, false, false), ref_for(Reduction::none, false, false)));
        cases.back().no_grad_inputs = {2, 3};
        cases.push_back(make_case("binary_cross_entropy_with_logits", "empty [0,3] mean -> NaN",
                                  {rand_input({0, 3}, 1133), rand_input({0, 3}, 1134), Tensor::ones({1}, DType::f64),
                                   Tensor::ones({1}, DType::f64)},
                                  run_for(Reduction::mean, false, false), ref_for(Reduction::mean, false, false),
                                  false));
    }

    // ---------------- binary_cross_entropy
    {
        auto run_for = [](Reduction r, bool weighted) {
            return [=](const TensorList& in) -> TensorList {
                return {binary_cross_entropy(in[0], in[1], weighted ? in[2] : Tensor(), r)};
            };
        };
        auto ref_for = [](Reduction r, bool weighted) {
            return [=](const TensorList& in) -> TensorList {
                return {reduce_ref(bce_ref(in[0], in[1], weighted ? in[2] : Tensor()), r)};
            };
        };
        cases.push_back(make_case(
            "binary_cross_entropy", "[3,4] mean",
            {rand_input({3, 4}, 1135, 0.05, 0.95), rand_input({3, 4}, 1136, 0, 1), Tensor::ones({1}, DType::f64)},
            run_for(Reduction::mean, false), ref_for(Reduction::mean, false)));
        cases.back().no_grad_inputs = {2};
        cases.push_back(
            make_case("binary_cross_entropy", "weight [4] broadcast, none",
                      {rand_input({2, 4}, 1137, 0.05, 0.95), rand_input({2, 4}, 1138, 0, 1), positive_input({4}, 1139)},
                      run_for(Reduction::none, true), ref_for(Reduction::none, true)));
        // x = 0 or 1: log clamped at -100, so the loss is finite (100 per saturated wrong element).
        cases.push_back(
            make_case("binary_cross_entropy", "saturated probabilities: log clamped at -100",
                      {f64({0, 1, 0, 1, 0.5}, {5}), f64({1, 0, 0, 1, 1}, {5}), Tensor::ones({1}, DType::f64)},
                      run_for(Reduction::none, false), ref_for(Reduction::none, false), false));
    }

    // ---------------- mse_loss, l1_loss
    {
        auto diff_ref = [](bool square, Reduction r) {
            return [=](const TensorList& in) -> TensorList {
                const Shape s = broadcast_shapes("ref", in[0].shape(), in[1].shape());
                Host a(in[0]), b(in[1]), out(s);
                for_each_index(s, [&](const std::vector<int64_t>& i) {
                    const double d = broadcast_at(a, i) - broadcast_at(b, i);
                    out.at(i) = square ? d * d : std::fabs(d);
                });
                return {reduce_ref(out, r)};
            };
        };
        cases.push_back(make_case(
            "mse_loss", "[3,4] mean", {rand_input({3, 4}, 1140), rand_input({3, 4}, 1141)},
            [](const TensorList& in) -> TensorList { return {mse_loss(in[0], in[1])}; },
            diff_ref(true, Reduction::mean)));
        cases.push_back(make_case(
            "mse_loss", "broadcast target [4] over [2,3,4], sum", {rand_input({2, 3, 4}, 1142), rand_input({4}, 1143)},
            [](const TensorList& in) -> TensorList { return {mse_loss(in[0], in[1], Reduction::sum)}; },
            diff_ref(true, Reduction::sum)));
        cases.push_back(make_case(
            "mse_loss", "none", {rand_input({5}, 1144), rand_input({5}, 1145)},
            [](const TensorList& in) -> TensorList { return {mse_loss(in[0], in[1], Reduction::none)}; },
            diff_ref(true, Reduction::none)));
        // Keep |x - target| away from the kink at 0: x = target + offset, |offset| >= 0.05.
        Tensor target = rand_input({3, 4}, 1146);
        Tensor x = f64(
            [&] {
                std::vector<double> t = target.to_vector(),
                                    o = rand_away_from({3, 4}, 1147, {0.0}, 0.05, -1, 1).to_vector();
                for (size_t i = 0; i < t.size(); ++i) t[i] += o[i];
                return t;
            }(),
            {3, 4});
        cases.push_back(make_case(
            "l1_loss", "[3,4] mean", {x, target},
            [](const TensorList& in) -> TensorList { return {l1_loss(in[0], in[1])}; },
            diff_ref(false, Reduction::mean)));
        cases.push_back(make_case(
            "l1_loss", "none", {x, target},
            [](const TensorList& in) -> TensorList { return {l1_loss(in[0], in[1], Reduction::none)}; },
            diff_ref(false, Reduction::none)));
    }

    // ---------------- cosine_similarity
    {
        auto ref_for = [](int dim, double eps) {
            return [=](const TensorList& in) -> TensorList {
                const Shape s = broadcast_shapes("ref", in[0].shape(), in[1].shape());
                const int d = dim < 0 ? dim + static_cast<int>(s.size()) : dim;
                Shape out_shape = s;
                out_shape.erase(out_shape.begin() + d);
                Host a(in[0]), b(in[1]), out(out_shape);
                for_each_index(out_shape, [&](const std::vector<int64_t>& o) {
                    double w12 = 0, w1 = 0, w2 = 0;
                    for (int64_t k = 0; k < s[d]; ++k) {
                        std::vector<int64_t> i = o;
                        i.insert(i.begin() + d, k);
                        const double x = broadcast_at(a, i), y = broadcast_at(b, i);
                        w12 += x * y;
                        w1 += x * x;
                        w2 += y * y;
                    }
                    out.at(o) = w12 / std::sqrt(std::max(w1 * w2, eps * eps));
                });
                return {out.tensor()};
            };
        };
        cases.push_back(make_case(
            "cosine_similarity", "[4,5] dim 1", {rand_input({4, 5}, 1148), rand_input({4, 5}, 1149)},
            [](const TensorList& in) -> TensorList { return {cosine_similarity(in[0], in[1])}; }, ref_for(1, 1e-8)));
        cases.push_back(make_case(
            "cosine_similarity", "broadcast [3,1,4] vs [5,4], dim -1",
            {rand_input({3, 1, 4}, 1150), rand_input({5, 4}, 1151)},
            [](const TensorList& in) -> TensorList { return {cosine_similarity(in[0], in[1], -1)}; },
            ref_for(-1, 1e-8)));
        // A zero vector: the clamp keeps the result 0 instead of 0/0 (a finite-difference step leaves the clamped
        // regime, so no gradient check here).
        cases.push_back(make_case(
            "cosine_similarity", "zero vector -> 0 (eps clamp)",
            {f64({0, 0, 0, 1, 2, 3}, {2, 3}), rand_input({2, 3}, 1152)},
            [](const TensorList& in) -> TensorList { return {cosine_similarity(in[0], in[1])}; }, ref_for(1, 1e-8),
            false));
    }

    // ---------------- normalize
    {
        auto ref_for = [](double p, int dim, double eps) {
            return [=](const TensorList& in) -> TensorList {
                Host x(in[0]), out(in[0].shape());
                const int d = dim < 0 ? dim + in[0].dim() : dim;
                for_each_index(in[0].shape(), [&](const std::vector<int64_t>& i) {
                    double n = 0;
                    for (int64_t k = 0; k < in[0].size(d); ++k) {
                        std::vector<int64_t> j = i;
                        j[d] = k;
                        n += std::pow(std::fabs(x.at(j)), p);
                    }
                    out.at(i) = x.at(i) / std::max(std::pow(n, 1.0 / p), eps);
                });
                return {out.tensor()};
            };
        };
        cases.push_back(make_case(
            "normalize", "p=2 dim 1 [3,4]", {rand_input({3, 4}, 1153)},
            [](const TensorList& in) -> TensorList { return {normalize(in[0])}; }, ref_for(2, 1, 1e-12)));
        cases.push_back(make_case(
            "normalize", "p=2 dim -1 [2,3,5]", {rand_input({2, 3, 5}, 1154)},
            [](const TensorList& in) -> TensorList { return {normalize(in[0], 2.0, -1)}; }, ref_for(2, -1, 1e-12)));
        cases.push_back(make_case(
            "normalize", "p=1 dim 0, away from 0", {rand_away_from({4, 3}, 1155, {0.0}, 0.05, -1, 1)},
            [](const TensorList& in) -> TensorList { return {normalize(in[0], 1.0, 0)}; }, ref_for(1, 0, 1e-12)));
        cases.push_back(make_case(
            "normalize", "zero row stays 0 (eps clamp)", {f64({0, 0, 0, 3, 4, 0}, {2, 3})},
            [](const TensorList& in) -> TensorList { return {normalize(in[0])}; }, ref_for(2, 1, 1e-12), false));
    }
    return cases;
}

}  // namespace wsdol::test
