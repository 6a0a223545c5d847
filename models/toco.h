// toco.h — the ToCo network (rulixiang/ToCo e13514d9 model/model_seg_neg.py `network`, model/backbone/vit.py,
// model/decoder/conv_head.py LargeFOV; ../shared/docs/methods.md §3.1) and DIAL's projections to the CLIP joint
// space (§3.8, PAPER; INFERRED layers), with ToCo's parameter names so its released `model_seg_neg` state_dict loads:
//   encoder.*            timm ViT (patch_embed.proj, cls_token, pos_embed (frozen), blocks.i.*, norm); no head
//                        (a checkpoint's encoder.head.* keys are unused)
//   proj_head.*          CTC head (student): mlp.0 Linear(D, hidden) GELU mlp.2 Linear(hidden, hidden) GELU
//                        mlp.4 Linear(hidden, bottleneck) (trunc-normal .02, zero bias) -> L2-normalize ->
//                        last_layer = weight_norm(Linear(bottleneck, out, no bias)): weight_g (out, 1) fixed at 1
//                        (not trained), weight_v (out, bottleneck); W = g * v / |v_row|
//   proj_head_t.*        the EMA teacher copy (no gradient)
//   decoder.conv6/7/8    LargeFOV: 3x3 dil 5 (D -> 512) ReLU 3x3 dil 5 (512 -> 512) ReLU 1x1 (512 -> K), no bias,
//                        PyTorch's default init (the module's own init is never called)
//   classifier, aux_classifier   Conv1x1(D -> K - 1, no bias), used after global max pooling and as CAM weights
//   proj_visual, proj_text       DIAL only (INFERRED): Linear(D -> joint), Linear(text_dim -> joint)
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/sequential.h"
#include "models/vit.h"

namespace wsdol::models {

struct TocoConfig {
    ViTConfig vit;                 // image_size / patch_size / embed_dim / depth / num_heads (num_classes ignored)
    int64_t num_classes = 21;      // ToCo's num_classes: background included (the classifiers have K - 1 outputs)
    int64_t aux_layer = -3;        // python index into the per-block outputs (-3: block depth - 3)
    int64_t decoder_dim = 512;     // LargeFOV embed_dim
    int64_t decoder_dilation = 5;
    int64_t ctc_hidden = 2048, ctc_bottleneck = 256, ctc_out = 1024;
    double ema_momentum = 0.9;     // --momentum
    bool dial = false;             // adds proj_visual / proj_text
    int64_t text_dim = 512, joint_dim = 512;  // DIAL, INFERRED: the CLIP text width and the joint space
};

// ToCo's ViT-B/16 (timm vit_base_patch16_224 shapes) with the given class count.
TocoConfig toco_vit_b16(int64_t num_classes = 21);

// DINO/ToCo CTCHead.
class CtcHead : public nn::Module {
public:
    CtcHead(int64_t in_dim, int64_t hidden, int64_t bottleneck, int64_t out_dim, Generator* gen);
    Tensor forward(const Tensor& x) override;  // x: (N, in_dim) -> (N, out_dim)
    std::shared_ptr<nn::Sequential> mlp;
    Tensor weight_g, weight_v;  // last_layer.{weight_g (out, 1), weight_v (out, bottleneck)}
};

struct TocoOutput {
    Tensor cls_token;          // (B, D) after the final norm
    Tensor x4;                 // (B, D, h, w) final patch tokens (after the norm)
    Tensor x_aux;              // (B, D, h, w) patch tokens of block aux_layer (no norm unless it is the last)
    Tensor seg;                // (B, K, h, w) LargeFOV logits
    Tensor cls_logits;         // (B, K - 1) classifier on GMP(x4)
    Tensor aux_logits;         // (B, K - 1) aux_classifier on GMP(x_aux)
};

class TocoNet : public nn::Module {
public:
    explicit TocoNet(const TocoConfig& cfg, Generator* gen = nullptr);
    // images (B, 3, H, W) -> class token, final and aux patch maps (grid floor(H / p) x floor(W / p)).
    void features(const Tensor& images, Tensor* cls_token, Tensor* x4, Tensor* x_aux);
    TocoOutput forward_all(const Tensor& images);
    // cam_only: {cam_aux, cam} = 1x1 convolutions with the classifier weights, detached. (B, K - 1, h, w) each.
    std::pair<Tensor, Tensor> cams(const Tensor& images);
    // forward_proj: EMA-update the teacher head first, then teacher = proj_head_t(class tokens of the global
    // views, detached), student = proj_head(class tokens of the global views, then of the local views).
    // crops: the 2 global views then the local ones, each (B, 3, h_i, w_i). -> {teacher (2B, out), student
    // (ncrops * B, out)}.
    std::pair<Tensor, Tensor> forward_proj(const std::vector<Tensor>& crops);
    void ema_update();
    // ToCo's get_param_groups: 0 backbone (names without "norm"), 1 backbone norms, 2 classifiers + CTC head
    // (student), 3 decoder; DIAL's projections join group 2 (INFERRED: the 10x lr group). Frozen tensors
    // (pos_embed, weight_g) are left out (AdamW skips them: they never get a gradient).
    std::vector<std::vector<Tensor>> param_groups() const;

    TocoConfig cfg;
    std::shared_ptr<VisionTransformer> encoder;
    std::shared_ptr<CtcHead> proj_head, proj_head_t;
    std::shared_ptr<nn::Module> decoder;
    std::shared_ptr<nn::Conv2d> conv6, conv7, conv8;  // decoder children
    std::shared_ptr<nn::Conv2d> classifier, aux_classifier;
    std::shared_ptr<nn::Linear> proj_visual, proj_text;  // DIAL only
};

}  // namespace wsdol::models
