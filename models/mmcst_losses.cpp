// mmcst_losses.cpp — MLSM, GAP/GWRP pooling, the batch contrastive loss and the per-variant loss terms of
// MMCST / MCTformer (see mmcst_losses.h).
#include "models/mmcst_losses.h"

#include <cmath>
#include <vector>

#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {
// (B, C, h, w) or (B, C, N) -> (B, C, N)
Tensor flat_positions(const Tensor& maps, const char* what) {
    WSDOL_CHECK(maps.defined() && (maps.dim() == 3 || maps.dim() == 4), what,
                ": expected maps (B, C, h, w) or (B, C, N), got ",
                maps.defined() ? shape_str(maps.shape()) : std::string("undefined"));
    return maps.dim() == 4 ? maps.flatten(2) : maps;
}
}  // namespace

Tensor mlsm_loss(const Tensor& logits, const Tensor& labels) {
    WSDOL_CHECK(logits.defined() && labels.defined() && logits.dim() == 2 && logits.shape() == labels.shape(),
                "mlsm_loss: expected logits and labels (B, C) of one shape, got ",
                logits.defined() ? shape_str(logits.shape()) : std::string("undefined"), " and ",
                labels.defined() ? shape_str(labels.shape()) : std::string("undefined"));
    return multilabel_soft_margin_loss(logits, labels);
}

Tensor gap_pool(const Tensor& maps) { return mean(flat_positions(maps, "gap_pool"), {2}); }

Tensor gwrp_pool(const Tensor& maps, double decay) {
    const Tensor x = flat_positions(maps, "gwrp_pool");
    WSDOL_CHECK(decay > 0.0 && decay <= 1.0, "gwrp_pool: decay must be in (0, 1], got ", decay);
    const int64_t N = x.size(2);
    WSDOL_CHECK(N > 0, "gwrp_pool: no positions to pool (maps ", shape_str(maps.shape()), ")");
    // w_j = d^j / Z, Z = sum_j d^j, in double (d^195 = 0.4576 at N = 196: well inside f32's range).
    std::vector<double> w(static_cast<size_t>(N));
    double z = 0.0;
    for (int64_t j = 0; j < N; ++j) z += (w[static_cast<size_t>(j)] = std::pow(decay, static_cast<double>(j)));
    for (double& v : w) v /= z;
    const Tensor weights = Tensor::from_vector(w, {N}, x.dtype(), x.device());
    const Tensor ranked = sort(x, 2, /*descending=*/true);  // (B, C, N), x_(0) >= x_(1) >= ...
    return sum(mul(ranked, weights), {2});
}

Tensor batch_contrastive_loss(const Tensor& text, const Tensor& image, const Tensor& scale) {
    WSDOL_CHECK(text.defined() && image.defined() && text.dim() == 2 && text.shape() == image.shape(),
                "batch_contrastive_loss: expected text and image embeddings (B, E) of one shape, got ",
                text.defined() ? shape_str(text.shape()) : std::string("undefined"), " and ",
                image.defined() ? shape_str(image.shape()) : std::string("undefined"));
    const int64_t B = text.size(0);
    WSDOL_CHECK(B >= 1, "batch_contrastive_loss: empty batch");
    // S_ij = (1 / τ) cos(t_i, v_j); positives on the diagonal (MMCST eq. 2, "CrossEntropy(S, I)").
    const Tensor sim = mul(matmul(normalize(text, 2.0, 1), normalize(image.detach(), 2.0, 1).t()), scale);
    const Tensor targets = Tensor::arange(B, DType::i64, text.device());
    return cross_entropy(sim, targets);
}

LossTerms mmcst_loss_terms(const MmcstNet& net, const MmcstOutput& out, const Tensor& labels,
                           const Tensor& clip_image_embeddings) {
    const MmcstConfig& cfg = net.cfg;
    LossTerms terms;
    auto add_term = [&](const std::string& name, const Tensor& value) {
        terms.terms.emplace_back(name, value);
        terms.total = terms.total.defined() ? add(terms.total, value) : value;
    };
    // Order of MMCST eq. 8: L_cls + L_contrast + L_text-patch + L_class-patch (all weights 1).
    add_term("mlsm_cls", mlsm_loss(out.cls_logits, labels));
    if (cfg.contrast == ContrastTarget::clip_image) {
        WSDOL_CHECK(clip_image_embeddings.defined(),
                    "mmcst_loss_terms: the contrastive loss needs the CLIP image embeddings of the batch");
        WSDOL_CHECK(clip_image_embeddings.shape() == out.text_embedding.shape(),
                    "mmcst_loss_terms: CLIP image embeddings are ", shape_str(clip_image_embeddings.shape()),
                    ", the projected text tokens ", shape_str(out.text_embedding.shape()));
        add_term("contrast", batch_contrastive_loss(out.text_embedding, clip_image_embeddings, net.contrast_scale()));
    }
    if (cfg.patch_branch == PatchBranch::correlation) {
        if (out.t2p_logits.defined()) add_term("mlsm_t2p", mlsm_loss(out.t2p_logits, labels));
        add_term("mlsm_c2p", mlsm_loss(out.c2p_logits, labels));
    } else if (cfg.patch_branch == PatchBranch::conv_cam) {
        add_term("mlsm_patch", mlsm_loss(out.patch_logits, labels));
    }
    return terms;
}

}  // namespace wsdol::models
