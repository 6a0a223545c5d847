// mmcst.h — the MMCST network (Xu et al., CVPR 2023, multi-modal class-specific tokens) and its base MCTformer
// (V1 and V2, Xu et al., CVPR 2022) as one configurable ViT (../shared/docs/methods.md §2.1, §2.2).
//
// Token layout, in this order: [C class tokens | C text tokens (MMCST only) | h*w patch tokens], T = C (+ C) + h w.
// Parameter names follow timm (patch_embed.proj, cls_token (1, C, D), pos_embed (1, T, D), blocks.i.*) so a timm
// ViT/DeiT checkpoint maps onto the backbone (load_vit_backbone); the new parts are:
//   text_embed      (C, E)  buffer: the frozen CLIP text embeddings of the C prompts (MMCST)
//   text_proj       Linear(E -> D): maps them into the token space (MMCST; INFERRED, spec §2.2)
//   patch_proj      Linear(D -> D): "linearly projected" patch tokens F (MMCST correlation branch)
//   lambda_txt, lambda_cls (1): the global-local fusion weights λ1, λ2 (init 1.0, INFERRED)
//   contrast_proj   Linear(D -> E_img): projects the mean output text token for the contrastive loss (INFERRED)
//   logit_scale     ()  log(1 / τ), only when the temperature is learnable (INFERRED, as CLIP)
//   head            Conv2d(D -> C, 3x3, pad 1): MCTformer-V2's patch CAM branch
// There is no final LayerNorm: MCTformer (V1 and V2) reads the last block's output directly (CODE models.py), and
// MMCST follows it (spec §2.2 step 1); the module therefore has no `norm` parameters (INFERRED: a timm checkpoint's
// norm.* / head.* are left out when loading).
//
// Ablations (config fields) reproducing the paper's tables (MMCST paper Tables 5 and 6, VOC train seed mIoU):
//   row                                               text_tokens patch_branch  pooling fusion        contrast
//   T5 "Multi-class token attention"       57.5       false       none          -       -             none
//   T5 "+ class-to-patch cor." GAP         62.1       false       correlation   gap     global (*)    none
//   T5 "+ C2P cor." GWRP                   62.7       false       correlation   gwrp    global (*)    none
//   T5 "+ multi-modal cor. (global)"       64.1       true        correlation   gwrp    global        none
//   T5 "+ multi-modal cor. (local)"        63.3       true        correlation   gwrp    local         clip_image (*)
//   T5 "+ multi-modal cor. (global+local)" 66.3       true        correlation   gwrp    global_local  clip_image
//   T6 no visual context                   64.1       = T5 "global" row
//   T6 + visual context                    64.8       true        correlation   gwrp    global_local  none
//   T6 + CLIP caption embed. L1 / batch CE 63.7/65.1  not reproducible here: needs ClipCap captions per image
//   T6 + CLIP image embed. batch CE        66.3       = the full method (defaults below)
//   MCTformer-V2 (base, spec §2.1)                    false       conv_cam      gap     -             none
// (*) INFERRED: the paper does not say which tokens rows 2-3 correlate (we take the input tokens, "global", as
// row 4 names its own) nor whether row 5 keeps the contrastive loss (we keep it: only the fusion changes between
// rows 4-6, and row 6 is the full method with it).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "models/attention_maps.h"
#include "models/vit.h"

namespace wsdol::models {

// How the patch tokens produce per-class maps and scores.
enum class PatchBranch {
    none,         // MCTformer-V1: class tokens only
    conv_cam,     // MCTformer-V2: Conv3x3(D -> C) on the patch grid -> patch CAM -> GAP
    correlation,  // MMCST: Linear(D -> D) patches F, maps F T^T against class (and text) tokens -> pooled
};
enum class CorrPooling { gap, gwrp };
// Which class/text tokens the correlation maps use: the input tokens (before positional embedding), the output
// tokens, or T^in + λ T^out (spec §2.2 step 4).
enum class TokenFusion { global, local, global_local };
// Target of the batch-contrastive regulariser of the output text tokens.
enum class ContrastTarget { none, clip_image };

struct MmcstConfig {
    // ---- backbone (timm ViT; ViT-B/16 for MMCST, DeiT-S/16 for MCTformer)
    int64_t image_size = 224;  // training size: sets the pos_embed grid (other sizes are resized at run time)
    int64_t patch_size = 16;
    int64_t in_chans = 3;
    int64_t embed_dim = 768;
    int64_t depth = 12;
    int64_t num_heads = 12;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;
    double drop_path_rate = 0.1;  // MCTformer CODE / spec §2.2
    double norm_eps = 1e-6;
    // ---- classes and CLIP
    int64_t num_classes = 20;     // C (foreground classes)
    int64_t text_dim = 512;       // E: CLIP text embedding width (text_embed is (C, E))
    int64_t image_embed_dim = 512;  // E_img: CLIP image embedding width (contrastive target)
    // ---- method variant and ablations (table in the header comment)
    bool text_tokens = true;
    PatchBranch patch_branch = PatchBranch::correlation;
    CorrPooling pooling = CorrPooling::gwrp;
    double gwrp_decay = 0.996;    // INFERRED (MCTformer+ GWRP and SEC use 0.996; the paper gives no value)
    TokenFusion fusion = TokenFusion::global_local;
    ContrastTarget contrast = ContrastTarget::clip_image;
    double temperature = 0.07;    // τ, INFERRED = CLIP's initial value
    bool learnable_temperature = false;

    // Presets.
    static MmcstConfig mmcst();          // the full method (ViT-B/16 widths)
    static MmcstConfig mctformer_v2();   // DeiT-S/16 widths, class tokens + conv patch CAM
    static MmcstConfig mctformer_v1();   // DeiT-S/16 widths, class tokens only
    int64_t text_token_count() const { return text_tokens ? num_classes : 0; }
    void validate() const;  // throws naming the field
};

// Where each token group sits in the sequence of T tokens.
struct MmcstLayout {
    int64_t num_classes = 0;  // C class tokens at [0, C)
    int64_t num_text = 0;     // C text tokens at [C, 2C) (0 without text tokens)
    int64_t grid_h = 0, grid_w = 0;  // patch tokens at [C + num_text, T), row-major over the h x w grid
    int64_t class_begin() const { return 0; }
    int64_t text_begin() const { return num_classes; }
    int64_t patch_begin() const { return num_classes + num_text; }
    int64_t num_patches() const { return grid_h * grid_w; }
    int64_t total() const { return patch_begin() + num_patches(); }
    // The layout models/attention_maps.h reads (class and patch ranges; text tokens are skipped there).
    AttentionTokenLayout attention_layout() const { return AttentionTokenLayout{class_begin(), num_classes, patch_begin(), grid_h, grid_w}; }
};

// Everything one forward pass gives. Undefined fields do not apply to the configured variant.
struct MmcstOutput {
    MmcstLayout layout;
    Tensor attn_mask;                // (T, T) additive mask used in every block (-inf class <-> text), or undefined
    std::vector<Tensor> attn_probs;  // per block (B, H, T, T) post-softmax, when asked (return_attention)
    Tensor cls_out;                  // (B, C, D) output class tokens T_cls^out
    Tensor text_out;                 // (B, C, D) output text tokens T_txt^out (MMCST)
    Tensor patch_out;                // (B, h w, D) output patch tokens
    Tensor cls_logits;               // (B, C) y_cls = mean over D of the output class tokens
    // MCTformer-V2 (conv_cam): the patch CAM and its GAP.
    Tensor patch_cam;                // (B, C, h, w) Conv3x3 output (before ReLU)
    Tensor patch_logits;             // (B, C)
    // MMCST (correlation): C_c2p = F T_cls^T and C_t2p = F T_txt^T as maps, and their pooled scores.
    Tensor c2p;                      // (B, C, h, w)
    Tensor t2p;                      // (B, C, h, w) (text tokens only)
    Tensor c2p_logits, t2p_logits;   // (B, C) GWRP (or GAP) over the h w positions
    Tensor text_embedding;           // (B, E_img) contrast_proj(mean over C of T_txt^out) (contrast on)
    // The map inference fuses with the class-to-patch attention (spec §2.1 step 4, §2.2 inference step 1), before
    // any ReLU: conv_cam -> patch_cam; correlation -> C_c2p + C_t2p (C_mm; C_c2p alone without text tokens);
    // none -> undefined (attention only).
    Tensor localization_map() const;
};

class MmcstNet : public nn::Module {
public:
    // Init as timm/MCTformer: trunc_normal(.02) for cls_token, pos_embed and every Linear weight (zero biases;
    // INFERRED for the new Linear layers, consistent with the backbone), LayerNorm ones/zeros, Conv2d (patch
    // embedding, V2 head) PyTorch defaults (MCTformer's init hook only touches Linear/LayerNorm), λ = 1.
    // text_embed starts at zero: set it with set_text_embeddings (MMCST).
    explicit MmcstNet(const MmcstConfig& cfg, Generator* gen = nullptr);

    // images: (B, in_chans, H, W), H and W multiples of patch_size (the grid is H/p x W/p; MCTformer's patch conv
    // simply drops a remainder, so crop to a multiple first). Other grids than the training one resize the patch
    // part of pos_embed bicubically with MCTformer's scale_factor (g + 0.1) / g0 rule (spec §2.1 step 2).
    MmcstOutput forward_all(const Tensor& images, bool return_attention = false);
    Tensor forward(const Tensor& images) override { return forward_all(images).cls_logits; }

    // The frozen CLIP prompt embeddings, (C, E) f32 (copied into the text_embed buffer).
    void set_text_embeddings(const Tensor& embeddings);
    // The (T, T) additive attention mask for a grid of `num_patches` tokens (undefined without text tokens).
    Tensor attention_mask(int64_t num_patches) const;
    // pos_embed for an h x w grid: (1, T, D).
    Tensor pos_embed_for(int64_t grid_h, int64_t grid_w) const;
    // The multiplier 1/τ of the contrastive logits: exp(logit_scale) clamped to 100 as CLIP (learnable), or the
    // constant 1/τ. 0-dim.
    Tensor contrast_scale() const;

    MmcstConfig cfg;
    std::shared_ptr<nn::Conv2d> patch_embed_proj;  // registered as patch_embed.proj
    Tensor cls_token;   // (1, C, D)
    Tensor pos_embed;   // (1, C + C_text + g0*g0, D), g0 = image_size / patch_size
    std::shared_ptr<nn::Dropout> pos_drop;
    std::shared_ptr<nn::ModuleList> blocks;  // models::Block
    Tensor text_embed;  // (C, E) buffer (MMCST)
    std::shared_ptr<nn::Linear> text_proj;      // MMCST
    std::shared_ptr<nn::Linear> patch_proj;     // correlation branch
    Tensor lambda_txt, lambda_cls;              // (1) each, global_local fusion
    std::shared_ptr<nn::Linear> contrast_proj;  // contrast on
    Tensor logit_scale;                         // () learnable temperature only
    std::shared_ptr<nn::Conv2d> head;           // conv_cam branch
};

// Loads a timm ViT/DeiT state_dict (patch_embed.*, cls_token (1, 1, D), pos_embed (1, 1 + g*g, D), blocks.*)
// into the backbone as MCTformer/MMCST do (spec §2.1 steps 2-3, §2.2): the class token is repeated C times, the
// class-token position vector C times for the class tokens and (INFERRED) again C times for the text tokens, and
// the patch grid is bicubic-resized to the model grid when it differs. norm.*, head.*, dist_token and anything
// else not in the backbone are ignored. Throws naming the key when a backbone tensor is missing or mis-shaped.
void load_vit_backbone(MmcstNet& net, const NamedTensors& timm_state);

}  // namespace wsdol::models
