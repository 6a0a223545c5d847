// attention.h — materialized scaled-dot-product attention with its own backward.
//
// "Materialized" = the probabilities P (B, H, Tq, Tk) are formed in memory and can be returned, so localization
// methods (attention rollout, gradient-weighted attention maps) can read them AND put them in the loss: the
// gradient then flows back through P as well as through the output. Fused flash-style kernels never expose P;
// this path is the one to use when maps are needed.
#pragma once
#include <optional>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

struct AttentionOutput {
    Tensor out;    // (B, H, Tq, Dv)
    Tensor probs;  // (B, H, Tq, Tk) when asked for, else undefined
};

// S = (q * scale) @ k^T + mask; P = softmax(S, -1); out = P @ v.
// q: (B, H, Tq, D), k: (B, H, Tk, D), v: (B, H, Tk, Dv), same floating dtype and device.
// mask: additive, floating (q's dtype), broadcastable to (B, H, Tq, Tk), or undefined; -inf blocks a key.
//       A row whose keys are all blocked gives NaN probabilities, as PyTorch's math attention does.
// scale: default 1/sqrt(D) (PyTorch's scaled_dot_product_attention and timm's head_dim^-0.5). q is scaled before
//        the product, as timm's Attention and nn.MultiheadAttention do.
// Backward (its own node): with dP = dout @ v^T + dprobs,
//   dv = P^T @ dout,  dS = P * (dP - rowsum(dP * P)),  dq = scale * dS @ k,  dk = scale * dS^T @ q,
//   dmask = dS summed down to the mask's shape.
AttentionOutput attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor(),
                          std::optional<double> scale = std::nullopt, bool return_probs = false);

}  // namespace wsdol
