// attention.cpp — the materialized attention op: shape rule, forward over matmul/softmax (no recording inside),
// and one node with its own backward, which also takes a gradient for the returned probabilities.
#include "engine/ops/attention.h"

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(attention, "attention", true);

namespace {

void check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
    WSDOL_CHECK(q.defined() && k.defined() && v.defined(), "attention: q, k and v must be defined");
    WSDOL_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: q, k, v must be (B, H, T, D), got q ",
                shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
    WSDOL_CHECK(is_floating(q.dtype()), "attention: needs floating q, k, v, got ", dtype_name(q.dtype()));
    WSDOL_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), "attention: dtype mismatch (q ",
                dtype_name(q.dtype()), ", k ", dtype_name(k.dtype()), ", v ", dtype_name(v.dtype()), ")");
    WSDOL_CHECK(k.device() == q.device() && v.device() == q.device(), "attention: q, k, v on different devices");
    const bool batch_heads_match = k.size(0) == q.size(0) && v.size(0) == q.size(0) && k.size(1) == q.size(1) &&
                                   v.size(1) == q.size(1);
    WSDOL_CHECK(batch_heads_match && k.size(3) == q.size(3) && v.size(2) == k.size(2),
                "attention: expected q (B, H, Tq, D), k (B, H, Tk, D), v (B, H, Tk, Dv), got q ", shape_str(q.shape()),
                ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
    if (!mask.defined()) return;
    WSDOL_CHECK(mask.dtype() == q.dtype(), "attention: mask must be additive with q's dtype ", dtype_name(q.dtype()),
                ", got ", dtype_name(mask.dtype()), " (turn a bool mask into 0 / -inf first)");
    WSDOL_CHECK(mask.device() == q.device(), "attention: mask on a different device than q");
    const Shape scores = {q.size(0), q.size(1), q.size(2), k.size(2)};
    bool broadcastable = mask.dim() <= 4;
    for (int i = 0; broadcastable && i < mask.dim(); ++i) {
        const int64_t m = mask.shape()[mask.dim() - 1 - i], s = scores[3 - i];
        broadcastable = m == s || m == 1;
    }
    WSDOL_CHECK(broadcastable, "attention: mask ", shape_str(mask.shape()), " does not broadcast to the scores ",
                shape_str(scores), " (B, H, Tq, Tk)");
}

}  // namespace

AttentionOutput attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                          std::optional<double> scale_opt, bool return_probs) {
    check_attention_args(q, k, v, mask);
    // PyTorch: scale = 1 / sqrt(E) with E the query's last dim (inf for E = 0, on an empty product).
    const double scale = scale_opt ? *scale_opt : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
    Tensor q_scaled, probs, out;
    {
        NoGradGuard no_grad;  // one node below stands for the whole computation
        q_scaled = mul(q, scale);
        Tensor scores = matmul(q_scaled, k.transpose(-1, -2));  // (B, H, Tq, Tk)
        if (mask.defined()) scores = add(scores, mask);
        probs = softmax(scores, -1);
        out = matmul(probs, v);  // (B, H, Tq, Dv)
    }
    // Which inputs need gradients, decided now (the backward skips the others' work).
    const bool need_q = any_requires_grad({q}), need_k = any_requires_grad({k}), need_v = any_requires_grad({v});
    const bool need_mask = mask.defined() && any_requires_grad({mask});
    TensorList outputs = {out};
    if (return_probs) outputs.push_back(probs);
    record("attention", {q, k, v, mask}, outputs,
           [sq = saved(q_scaled), sk = saved(k), sv = saved(v), sp = saved(probs),
            mask_shape = mask.defined() ? mask.shape() : Shape{}, scale, need_q, need_k, need_v,
            need_mask](const TensorList& g) -> TensorList {
               const Tensor& g_out = g[0];  // (B, H, Tq, Dv)
               Tensor dq, dk, dv, dmask;
               if (need_v) dv = matmul(sp.transpose(-1, -2), g_out);  // (B, H, Tk, Dv)
               if (need_q || need_k || need_mask) {
                   Tensor dp = matmul(g_out, sv.transpose(-1, -2));  // (B, H, Tq, Tk)
                   if (g.size() > 1) dp = add(dp, g[1]);              // the probabilities were used directly
                   // softmax backward: dS = P * (dP - sum_j dP_j P_j)
                   Tensor ds = mul(sp, sub(dp, sum(mul(dp, sp), {-1}, true)));
                   if (need_q) dq = mul(matmul(ds, sk), scale);                  // (B, H, Tq, D)
                   if (need_k) dk = matmul(ds.transpose(-1, -2), sq);            // (B, H, Tk, D); sq holds scale
                   if (need_mask) dmask = sum_to(ds, mask_shape);
               }
               return {dq, dk, dv, dmask};
           });
    AttentionOutput result;
    result.out = out;
    if (return_probs) result.probs = probs;
    return result;
}

}  // namespace wsdol
