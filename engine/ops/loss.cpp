// loss.cpp — losses and similarities with PyTorch's semantics (formulas, eps values, reductions).
//
// Most are composites of other ops (their gradients come from those ops). The two sigmoid/probability BCEs
// record one node for the elementwise loss with an analytic backward: the composite forms have wrong
// subgradients at x = 0 (relu/abs kinks inside the stable softplus), where a zero-initialized classifier starts.
#include "engine/ops/loss.h"

#include <cmath>
#include <limits>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(cross_entropy, "loss", true);
WSDOL_OP(multilabel_soft_margin_loss, "loss", true);
WSDOL_OP(binary_cross_entropy, "loss", true);
WSDOL_OP(binary_cross_entropy_with_logits, "loss", true);
WSDOL_OP(mse_loss, "loss", true);
WSDOL_OP(l1_loss, "loss", true);
WSDOL_OP(cosine_similarity, "loss", true);
WSDOL_OP(normalize, "loss", true);

namespace {

// PyTorch's apply_loss_reduction: mean over all elements (NaN for none), sum, or the elementwise tensor.
Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
    switch (reduction) {
        case Reduction::none: return loss;
        case Reduction::sum: return sum(loss);
        case Reduction::mean: return div(sum(loss), static_cast<double>(loss.numel()));
    }
    return loss;
}

void check_floating(const char* op, const char* arg, const Tensor& t) {
    WSDOL_CHECK(t.defined(), op, ": ", arg, " is undefined");
    WSDOL_CHECK(is_floating(t.dtype()), op, ": ", arg, " must be floating, got ", dtype_name(t.dtype()), " ",
                shape_str(t.shape()));
}

void check_same_shape(const char* op, const Tensor& x, const Tensor& target) {
    WSDOL_CHECK(target.shape() == x.shape(), op, ": target size ", shape_str(target.shape()),
                " must be the same as input size ", shape_str(x.shape()));
    WSDOL_CHECK(target.dtype() == x.dtype(), op, ": target dtype ", dtype_name(target.dtype()),
                " must equal the input's ", dtype_name(x.dtype()));
}

// An optional weight that must broadcast to `shape` (PyTorch broadcasts loss weights).
void check_broadcast_weight(const char* op, const char* arg, const Tensor& w, const Tensor& x) {
    if (!w.defined()) return;
    check_floating(op, arg, w);
    WSDOL_CHECK(w.dtype() == x.dtype(), op, ": ", arg, " dtype ", dtype_name(w.dtype()), " must equal the input's ",
                dtype_name(x.dtype()));
    bool ok = w.dim() <= x.dim();
    for (int i = 1; ok && i <= w.dim(); ++i) {
        const int64_t ws = w.shape()[w.dim() - i], xs = x.shape()[x.dim() - i];
        ok = ws == xs || ws == 1;
    }
    WSDOL_CHECK(ok, op, ": ", arg, " ", shape_str(w.shape()), " does not broadcast to the input ",
                shape_str(x.shape()));
}

// softplus(-x) = log(1 + exp(-x)), stably: max(-x, 0) + log(1 + exp(-|x|)). (PyTorch uses log1p; the
// difference is below 1e-16 absolute, since the log term only matters when exp(-|x|) is not tiny.)
Tensor softplus_neg(const Tensor& x) { return add(relu(neg(x)), log(add(exp(neg(abs(x))), 1.0))); }

}  // namespace

// ---------------------------------------------------------------- cross entropy

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target_in, const Tensor& weight_in, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
    check_floating("cross_entropy", "input", logits_in);
    WSDOL_CHECK(target_in.defined(), "cross_entropy: target is undefined");
    WSDOL_CHECK(logits_in.dim() >= 1, "cross_entropy: input must have a class dim, got ", shape_str(logits_in.shape()));
    WSDOL_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
                "cross_entropy: label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
    // Unbatched input (C) with a 0-dim target (or (C) probabilities): as a batch of one (PyTorch).
    const bool prob_target = is_floating(target_in.dtype());
    if (logits_in.dim() == 1) {
        WSDOL_CHECK(prob_target ? target_in.dim() == 1 : target_in.dim() == 0, "cross_entropy: unbatched input ",
                    shape_str(logits_in.shape()), " needs a 0-dim class index or (C) probabilities as target, got ",
                    shape_str(target_in.shape()));
        Tensor l = cross_entropy(logits_in.unsqueeze(0), target_in.unsqueeze(0), weight_in, ignore_index, reduction,
                                 label_smoothing);
        return reduction == Reduction::none ? l.squeeze(0) : l;
    }
    const Tensor& logits = logits_in;
    const int64_t C = logits.size(1);
    Tensor weight;  // PyTorch gives no gradient to the class weights
    if (weight_in.defined()) {
        check_floating("cross_entropy", "weight", weight_in);
        WSDOL_CHECK(weight_in.dim() == 1 && weight_in.size(0) == C && weight_in.dtype() == logits.dtype(),
                    "cross_entropy: weight must be (C) = (", C, ") of dtype ", dtype_name(logits.dtype()), ", got ",
                    dtype_name(weight_in.dtype()), " ", shape_str(weight_in.shape()));
        weight = weight_in.detach();
    }
    // weight viewed as (1, C, 1, ...) to broadcast against (N, C, d1, ...)
    auto class_view = [&](const Tensor& w) {
        Shape s(logits.dim(), 1);
        s[1] = C;
        return w.view(s);
    };
    Tensor logp = log_softmax(logits, 1);  // (N, C, d1, ...)

    if (prob_target) {
        // Class probabilities (PyTorch's cross_entropy_loss_prob_target): target smoothed as
        // t (1 - eps) + eps / C; loss_n = -sum_c w_c t_c logp_c; mean divides by the number of samples N * d1...
        check_same_shape("cross_entropy", logits, target_in);
        Tensor target = target_in;
        if (label_smoothing > 0) target = add(mul(target, 1.0 - label_smoothing), label_smoothing / C);
        Tensor terms = mul(logp, target);
        if (weight.defined()) terms = mul(terms, class_view(weight));
        Tensor per_sample = neg(sum(terms, {1}));  // (N, d1, ...)
        const double samples = static_cast<double>(logits.numel() / std::max<int64_t>(C, 1));  // N * d1 * ...
        if (reduction == Reduction::mean) return div(sum(per_sample), samples);
        return reduce_loss(per_sample, reduction);
    }

    // Class indices.
    WSDOL_CHECK(target_in.dtype() == DType::i64, "cross_entropy: class-index target must be int64, got ",
                dtype_name(target_in.dtype()));
    Shape expect = logits.shape();
    expect.erase(expect.begin() + 1);
    WSDOL_CHECK(target_in.shape() == expect, "cross_entropy: input ", shape_str(logits.shape()), " needs target ",
                shape_str(expect), " (N, d1, ...), got ", shape_str(target_in.shape()));
    if (target_in.device().is_cpu()) {
        // PyTorch: "Target t is out of bounds." Checked on the host for CPU targets (a device target would need a
        // synchronizing copy for every step; there the gather kernel's bound check reports it).
        for (double t : target_in.to_vector())
            WSDOL_CHECK(static_cast<int64_t>(t) == ignore_index || (t >= 0 && t < C), "cross_entropy: target ",
                        static_cast<int64_t>(t), " is out of bounds for ", C, " classes (ignore_index ", ignore_index,
                        ")");
    }
    const Tensor valid = logical_not(eq(target_in, static_cast<double>(ignore_index)));  // (N, d1, ...) bool
    const Tensor safe_target = mul(target_in, valid.to(DType::i64));  // ignored entries read class 0, then drop
    Tensor picked = gather(logp, 1, safe_target.unsqueeze(1)).squeeze(1);  // logp at the target class
    Tensor target_weight = valid.to(logits.dtype());                           // w[t] for valid entries, else 0
    if (weight.defined())
        target_weight = mul(target_weight, index_select(weight, 0, safe_target.flatten()).view(safe_target.shape()));
    Tensor nll = neg(mul(picked, target_weight));  // (N, d1, ...)
    // PyTorch nll_loss mean: sum of losses over the sum of the target weights of non-ignored entries
    // (NaN when every target is ignored).
    auto reduce_by_weight = [&](const Tensor& per_sample) {
        if (reduction == Reduction::mean) return div(sum(per_sample), sum(target_weight));
        return reduce_loss(per_sample, reduction);
    };
    Tensor loss = reduce_by_weight(nll);
    if (label_smoothing == 0.0) return loss;
    // PyTorch's cross_entropy_loss_label_smoothing: smooth_n = -sum_c w_c logp_c (zero where ignored), reduced like
    // nll (mean over the same weight sum), and loss = (1 - eps) nll + (eps / C) smooth.
    Tensor smooth = weight.defined() ? sum(mul(logp, class_view(weight)), {1}) : sum(logp, {1});
    smooth = neg(mul(smooth, valid.to(logits.dtype())));
    return add(mul(loss, 1.0 - label_smoothing), mul(reduce_by_weight(smooth), label_smoothing / C));
}

// ---------------------------------------------------------------- BCE family

namespace {

// The elementwise BCE-with-logits loss (before reduction), one node:
//   l = w [ (1 - y) x + lw softplus(-x) ],  lw = 1 + (pos_weight - 1) y   (PyTorch's formula)
// x, y: same shape; w, pos_weight: undefined or broadcastable to x (pos_weight usually (C)).
Tensor bce_logits_elementwise(const Tensor& x, const Tensor& y, const Tensor& w, const Tensor& pos_weight,
                              const char* op) {
    Tensor loss, sp;
    {
        NoGradGuard no_grad;
        sp = softplus_neg(x);
        Tensor lw_sp = pos_weight.defined() ? mul(add(mul(sub(pos_weight, 1.0), y), 1.0), sp) : sp;
        loss = add(mul(rsub(1.0, y), x), lw_sp);
        if (w.defined()) loss = mul(loss, w);
    }
    record(op, {x, y, w, pos_weight}, {loss},
           [sx = saved(x), sy = saved(y), sw = saved(w), spw = saved(pos_weight), ssp = saved(sp)](
               const TensorList& g) -> TensorList {
               Tensor gw = sw.defined() ? mul(g[0], sw) : g[0];  // dL/dl times w
               // dl/dx = (1 - y) - lw sigmoid(-x); dl/dy = -x + (pos_weight - 1) softplus(-x)
               Tensor lw = spw.defined() ? add(mul(sub(spw, 1.0), sy), 1.0) : Tensor();
               Tensor sig_neg = sigmoid(neg(sx));
               Tensor dx = sub(rsub(1.0, sy), lw.defined() ? mul(lw, sig_neg) : sig_neg);
               Tensor dy = spw.defined() ? add(neg(sx), mul(sub(spw, 1.0), ssp)) : neg(sx);
               Tensor gx = mul(gw, dx), gy = mul(gw, dy);
               Tensor gweight, gpos;
               if (sw.defined()) {
                   Tensor unweighted = add(mul(rsub(1.0, sy), sx), lw.defined() ? mul(lw, ssp) : ssp);
                   gweight = sum_to(mul(g[0], unweighted), sw.shape());
               }
               if (spw.defined()) gpos = sum_to(mul(gw, mul(sy, ssp)), spw.shape());
               return {gx, gy, gweight, gpos};
           });
    return loss;
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
    const char* op = "binary_cross_entropy_with_logits";
    check_floating(op, "input", logits);
    check_floating(op, "target", target);
    check_same_shape(op, logits, target);
    check_broadcast_weight(op, "weight", weight, logits);
    check_broadcast_weight(op, "pos_weight", pos_weight, logits);
    return reduce_loss(bce_logits_elementwise(logits, target, weight, pos_weight, op), reduction);
}

Tensor multilabel_soft_margin_loss(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                   Reduction reduction) {
    const char* op = "multilabel_soft_margin_loss";
    check_floating(op, "input", logits);
    check_floating(op, "target", target);
    WSDOL_CHECK(logits.dim() == 2 || logits.dim() == 1, op, ": input must be (N, C) or (C), got ",
                shape_str(logits.shape()));
    check_same_shape(op, logits, target);
    check_broadcast_weight(op, "weight", weight, logits);
    // PyTorch: l = -(y logsigmoid(x) + (1 - y) logsigmoid(-x)) [* weight], summed over classes and divided by C,
    // then reduced over the batch. The elementwise term equals BCE-with-logits (softplus(x) - y x).
    Tensor per_class = bce_logits_elementwise(logits, target, weight, Tensor(), "multilabel_soft_margin_loss");
    const int64_t C = logits.size(-1);
    Tensor per_sample = div(sum(per_class, {-1}), static_cast<double>(C));  // (N)
    return reduce_loss(per_sample, reduction);
}

Tensor binary_cross_entropy(const Tensor& prob, const Tensor& target, const Tensor& weight, Reduction reduction) {
    const char* op = "binary_cross_entropy";
    check_floating(op, "input", prob);
    check_floating(op, "target", target);
    check_same_shape(op, prob, target);
    check_broadcast_weight(op, "weight", weight, prob);
    if (prob.device().is_cpu()) {
        // PyTorch: "all elements of input should be between 0 and 1".
        for (double p : prob.to_vector())
            WSDOL_CHECK(p >= 0.0 && p <= 1.0, op, ": all elements of input should be between 0 and 1, got ", p);
    }
    // l = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100)): the logs are clamped at -100 so x = 0 or 1
    // gives a finite loss (PyTorch).
    Tensor loss;
    {
        NoGradGuard no_grad;
        const double inf = std::numeric_limits<double>::infinity();
        Tensor log_p = clamp(log(prob), -100.0, inf), log_1mp = clamp(log(rsub(1.0, prob)), -100.0, inf);
        loss = neg(add(mul(target, log_p), mul(rsub(1.0, target), log_1mp)));
        if (weight.defined()) loss = mul(loss, weight);
    }
    record(op, {prob, target, weight}, {loss},
           [sx = saved(prob), sy = saved(target), sw = saved(weight)](const TensorList& g) -> TensorList {
               const double inf = std::numeric_limits<double>::infinity();
               Tensor gw = sw.defined() ? mul(g[0], sw) : g[0];
               // PyTorch's binary_cross_entropy_backward: (x - y) / max((1 - x) x, 1e-12); the target's gradient
               // is log(1 - x) - log(x) (unclamped, as PyTorch's -logit(x)).
               Tensor gx = mul(gw, div(sub(sx, sy), clamp(mul(rsub(1.0, sx), sx), 1e-12, inf)));
               Tensor gy = mul(gw, sub(log(rsub(1.0, sx)), log(sx)));
               Tensor gweight;
               if (sw.defined()) {
                   Tensor log_p = clamp(log(sx), -100.0, inf), log_1mp = clamp(log(rsub(1.0, sx)), -100.0, inf);
                   Tensor unweighted = neg(add(mul(sy, log_p), mul(rsub(1.0, sy), log_1mp)));
                   gweight = sum_to(mul(g[0], unweighted), sw.shape());
               }
               return {gx, gy, gweight};
           });
    return reduce_loss(loss, reduction);
}

// ---------------------------------------------------------------- regression losses

Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction reduction) {
    check_floating("mse_loss", "input", x);
    check_floating("mse_loss", "target", target);
    // PyTorch broadcasts input and target (with a warning when the shapes differ).
    broadcast_shapes("mse_loss", x.shape(), target.shape());  // an error here names the loss
    Tensor d = sub(x, target);
    return reduce_loss(mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction reduction) {
    check_floating("l1_loss", "input", x);
    check_floating("l1_loss", "target", target);
    broadcast_shapes("l1_loss", x.shape(), target.shape());
    return reduce_loss(abs(sub(x, target)), reduction);  // subgradient 0 at x == target (sign(0), PyTorch)
}

// ---------------------------------------------------------------- similarities

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int dim, double eps) {
    check_floating("cosine_similarity", "x1", x1);
    check_floating("cosine_similarity", "x2", x2);
    const Shape shape = broadcast_shapes("cosine_similarity", x1.shape(), x2.shape());
    WSDOL_CHECK(!shape.empty(), "cosine_similarity: inputs must have at least 1 dim");
    const int d = dim < 0 ? dim + static_cast<int>(shape.size()) : dim;
    WSDOL_CHECK(d >= 0 && d < static_cast<int>(shape.size()), "cosine_similarity: dim ", dim,
                " out of range for the broadcast shape ", shape_str(shape));
    const Tensor a = x1.expand(shape), b = x2.expand(shape);
    // PyTorch (ATen, the scipy-style form): w12 / sqrt(clamp_min(w1 * w2, eps^2)), so the result stays finite
    // for zero vectors; x / sqrt(x * x) rather than x / (sqrt(x) sqrt(x)) for precision.
    Tensor w12 = sum(mul(a, b), {d});
    Tensor w1 = sum(mul(a, a), {d}), w2 = sum(mul(b, b), {d});
    Tensor n12 = clamp(mul(w1, w2), eps * eps, std::numeric_limits<double>::infinity());
    return div(w12, sqrt(n12));
}

Tensor normalize(const Tensor& x, double p, int dim, double eps) {
    check_floating("normalize", "input", x);
    WSDOL_CHECK(x.dim() >= 1, "normalize: input must have at least 1 dim, got ", shape_str(x.shape()));
    const int d = x.normalize_dim(dim);
    // F.normalize: x / clamp_min(||x||_p over dim (keepdim), eps), eps = 1e-12.
    Tensor denom = clamp(norm(x, p, {d}, true), eps, std::numeric_limits<double>::infinity());
    return div(x, denom);
}

}  // namespace wsdol
