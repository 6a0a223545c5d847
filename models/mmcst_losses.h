// mmcst_losses.h — every loss term and score pooling of MMCST and MCTformer (../shared/docs/methods.md §1.4,
// §2.1 step 7, §2.2 steps 6-8), in one place.
//
//   MLSM (multilabel soft margin, PyTorch's F.multilabel_soft_margin_loss: mean over classes, then over the batch)
//   GAP / GWRP (global weighted rank pooling, Kolesnikov & Lampert 2016) of per-class maps into scores
//   batch contrastive loss: cross-entropy of the B x B cosine-similarity matrix against its diagonal
//   the total of each variant, as named terms (models/method.h LossTerms)
#pragma once
#include "models/method.h"
#include "models/mmcst.h"

namespace wsdol::models {

// F.multilabel_soft_margin_loss(logits, labels): logits, labels (B, C) -> 0-dim.
Tensor mlsm_loss(const Tensor& logits, const Tensor& labels);

// Global average pooling of maps over their positions: maps (B, C, h, w) or (B, C, N) -> (B, C).
Tensor gap_pool(const Tensor& maps);

// GWRP (spec §1.1, MMCST eq. 3): per (b, c) the N scores sorted descending x_(0) >= x_(1) >= ...,
// out = sum_j d^j x_(j) / sum_j d^j. maps (B, C, h, w) or (B, C, N) -> (B, C). d in (0, 1]; d = 1 is GAP.
// The weights d^j / Z are computed in double and rounded once to the maps' dtype. Gradient: w_j / Z goes back to
// the position ranked j (through the sort permutation; ties keep their original order, torch.sort(stable=True)).
Tensor gwrp_pool(const Tensor& maps, double decay);

// Batch contrastive loss (MMCST eq. 2): text (B, E), image (B, E) ->
// CE( scale * normalize(text) @ normalize(image)^T, [0, 1, ..., B-1] ) averaged over rows (F.cross_entropy).
// normalize = F.normalize (eps 1e-12, CLIP's use); scale: 0-dim (1 / τ). image is treated as a constant
// (the frozen CLIP's output; pass it detached).
Tensor batch_contrastive_loss(const Tensor& text, const Tensor& image, const Tensor& scale);

// The named terms of one step and their sum (all weights 1, MMCST eq. 8 / MCTformer CODE):
//   "mlsm_cls"  MLSM(y_cls)                            always
//   "mlsm_patch" MLSM(GAP(patch CAM))                  conv_cam (MCTformer-V2)
//   "mlsm_c2p"  MLSM(y_c2p), "mlsm_t2p" MLSM(y_t2p)    correlation (t2p with text tokens)
//   "contrast"  batch_contrastive_loss                 contrast = clip_image; needs clip_image_embeddings (B, E_img)
// labels: (B, C) multi-hot f32.
LossTerms mmcst_loss_terms(const MmcstNet& net, const MmcstOutput& out, const Tensor& labels,
                           const Tensor& clip_image_embeddings = Tensor());

}  // namespace wsdol::models
