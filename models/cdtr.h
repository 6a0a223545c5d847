// cdtr.h — CDTR's network (Chen et al., TPAMI 2025; zhiweichen0012/CDTR @ 86ff62ff models.py CDTR_cub/CDTR_imnet,
// att_CNN.py, sba_util.py; ../shared/docs/methods.md §5.1): a DeiT whose patch tokens feed a 3x3 conv head
// (TS-CAM's), plus CSM (a one-level U-Net over all blocks' x heads' class-token attention), OCM (the object-
// awakening branch over the first K = depth - 3 blocks) and SKI (offsets from a zero-initialized conv, a deformable
// conv on the CSM maps). Parameter names follow the official state_dict (patch_embed.*, blocks.*, norm.*, head.*,
// att_layer.*, att_cls.*, dnc_att_layer.*, block<k>.*, block_catconv.*, block_catbn.*, AutomaticWeightedLoss.params),
// so a released checkpoint loads 1:1. The losses are in models/cdtr_losses.h.
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/conv.h"
#include "engine/nn/norm.h"
#include "engine/nn/sequential.h"
#include "models/cdtr_losses.h"
#include "models/tscam.h"
#include "models/vit.h"

namespace wsdol::models {

struct CdtrConfig {
    ViTConfig vit;                 // the DeiT (num_classes is ignored: CDTR has no token head); DeiT-S by default
    int64_t num_classes = 200;     // C
    int64_t csm_base = 8;          // att_CNN c_base: CSM's hidden width is 2 c_base (8 CUB, 256 ILSVRC)
    int64_t ocm_blocks = -1;       // K: OCM uses blocks 0..K-1; -1 = depth - 3 (the code's 9 of 12)
    double csm_bn_momentum = 0.01; // att_CNN BN_MOMEMTUM (OCM's BNs keep PyTorch's 0.1)
    bool ski = true;               // build SKI (the ablation rows without it: false)
    bool imagenet_fusion = false;  // the fused test map divides (X_out + X_csm) by 2 (CDTR_imnet)
    static CdtrConfig deit_small(int64_t num_classes);
};

struct CdtrOutput {
    Tensor logits;       // (B, C) GAP of x_out (the classification branch)
    Tensor csm_logits;   // (B, C) GAP of x_csm
    Tensor ski_logits;   // (B, C) GAP of the deformable conv output; undefined without SKI
    Tensor x_out;        // (B, C, g, g) the conv head on the final patch tokens
    Tensor x_csm;        // (B, C, g, g) att_cls(CSM(X_A))
    Tensor m_ca;         // (B, g, g) category-aware map: mean over blocks of the head-SUMMED class-token attention
    Tensor m_ocm;        // (B, 1, g, g) OCM's sigmoid map
    std::vector<Tensor> attn;  // per block (B, heads, T, T)
};

// CSM: att_CNN.cnn(c_in, C, c_base): down_1 = [MaxPool 2x2, NEWConv(c_in, 2 c_base)], up_1 = bilinear x2
// (align_corners false), concat [input, up], NEWConv(c_in + 2 c_base, C). NEWConv = [Conv3x3 (no bias), BN,
// LeakyReLU(0.01)] x 2, registered as UConv.{0,1,3,4}. The grid must be even (14 -> 7 -> 14).
class CdtrCsm : public nn::Module {
public:
    CdtrCsm(int64_t c_in, int64_t num_classes, int64_t c_base, double bn_momentum, Generator* gen);
    Tensor forward(const Tensor& x) override;  // x: (B, c_in, g, g) -> (B, C, g, g)
    std::shared_ptr<nn::Sequential> down_conv, up_conv;  // the two UConv sequentials
};

class Cdtr : public VisionTransformer {
public:
    explicit Cdtr(const CdtrConfig& cfg, Generator* gen = nullptr);
    // images: (B, 3, H, W), H = W = vit.image_size (fixed input, pos_embed as is).
    CdtrOutput forward_cdtr(const Tensor& images);
    Tensor forward(const Tensor& images) override { return forward_cdtr(images).logits; }
    // The training object map for SBA (forward with return_train_cam): m_ca * (x_out.detach() + x_csm.detach())
    // at each image's label -> (B, 1, g, g); labels (B) i64. Gradient reaches the backbone only through m_ca.
    static Tensor object_map(const CdtrOutput& out, const Tensor& labels);
    // The test map (evaluate_our): m_ca * (x_out + x_csm) (/ 2 with imagenet_fusion) -> (B, C, g, g), detached.
    Tensor fused_map(const CdtrOutput& out) const;
    int64_t ocm_blocks() const { return ocm_k_; }

    CdtrConfig cdtr_cfg;
    std::shared_ptr<nn::Conv2d> conv_head;       // "head": Conv3x3(D -> C, pad 1, bias), PyTorch default init
    std::shared_ptr<CdtrCsm> att_layer;
    std::shared_ptr<nn::Conv2d> att_cls;         // Conv1x1(C -> C, no bias)
    std::shared_ptr<nn::Conv2d> conv_offset;     // dnc_att_layer.conv_offset: Conv3x3(C -> 18, pad 1), weight 0
    Tensor deform_weight;                        // dnc_att_layer.deform_conv.weight (C, C, 3, 3), no bias
    std::shared_ptr<AutomaticWeightedLoss> awl;  // "AutomaticWeightedLoss" (5 weights)
    std::vector<std::shared_ptr<nn::Sequential>> ocm_block;  // block<k>: [Conv1x1(heads -> 1, no bias), BN(1)]
    std::shared_ptr<nn::Conv2d> block_catconv;   // Conv3x3(K -> 1, pad 1, no bias)
    std::shared_ptr<nn::BatchNorm2d> block_catbn;

private:
    int64_t ocm_k_ = 0;
};

// CDTR evaluate_our for one image (3, S, S): the fused map of the TOP-1 predicted class (also for GT-known) ->
// min-max -> resize to S (OpenCV linear) -> uint8 -> box at `threshold` (0.2 CUB, 0.19 ILSVRC).
WsolPrediction cdtr_predict(Cdtr& net, const Tensor& image, double threshold = 0.2);

// The configuration of a CDTR state_dict with the official names (a released checkpoint, or ours), from its shapes:
// C from head.weight (C, D, 3, 3), D, patch and image size from patch_embed.proj.weight and pos_embed, depth from
// the blocks, heads = D / head_width (64 in every DeiT; not visible in shapes), csm_base from
// att_layer.down_1.1.UConv.0.weight (2 c_base, ...), K from the block<k> modules, SKI from dnc_att_layer.*.
// Throws naming `who` and the missing or inconsistent tensor.
CdtrConfig cdtr_config_from_state_dict(const NamedTensors& state, const std::string& who = "cdtr",
                                      int64_t head_width = 64);

// The class-token -> patch attention of one block, (B, heads, T, T) -> (B, heads, g, g) (prefix token 0).
Tensor cls_patch_attention(const Tensor& attn, int64_t grid);

}  // namespace wsdol::models
