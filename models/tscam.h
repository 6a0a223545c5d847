// tscam.h — TS-CAM (Gao et al., ICCV 2021; vasgaowei/TS-CAM @ 25aece44 lib/models/deit.py TSCAM,
// lib/cams_deit.py; ../shared/docs/methods.md §5.7, §0.1): a DeiT whose final patch tokens go through a 3x3 conv
// head (D -> C, pad 1, bias, PyTorch default init) and GAP to the logits (trained with plain softmax CE); the
// semantic-aware map is the sum over blocks of the head-AVERAGED class-token -> patch attention times the head's
// (detached) class maps. Parameter names follow the official state_dict (patch_embed.*, blocks.*, norm.*, head.*).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/eval/boxes.h"
#include "engine/nn/conv.h"
#include "models/vit.h"

namespace wsdol::models {

struct TscamOutput {
    Tensor logits;             // (B, C)
    Tensor x_out;              // (B, C, g, g) the conv head's class maps
    std::vector<Tensor> attn;  // per block (B, heads, T, T)
};

class Tscam : public VisionTransformer {
public:
    // vit.num_classes is the class count C (the token head is replaced by the conv head).
    explicit Tscam(const ViTConfig& cfg, Generator* gen = nullptr);
    static ViTConfig deit_small(int64_t num_classes);  // D 384, 12 blocks, 6 heads, drop-path 0.1
    // images: (B, 3, H, W) with H = W = image_size.
    TscamOutput forward_tscam(const Tensor& images);
    Tensor forward(const Tensor& images) override { return forward_tscam(images).logits; }
    // The semantic-aware maps: (sum over blocks of mean over heads of attn[:, :, 0, 1:]) (B, 1, g, g) times
    // x_out.detach() -> (B, C, g, g).
    static Tensor cams(const TscamOutput& out);
    // The training loss: cross_entropy(logits, labels), labels (B) i64.
    static Tensor loss(const TscamOutput& out, const Tensor& labels);

    int64_t num_classes = 0;
    std::shared_ptr<nn::Conv2d> conv_head;  // "head"
};

// One image's WSOL prediction as the references evaluate it (eval mode, no gradients).
struct WsolPrediction {
    Tensor scores;        // (C) logits
    Tensor maps;          // (C, g, g) the raw class maps (TS-CAM's cams / CDTR's fused maps)
    int box_class = 0;    // the class whose map gave the box
    eval::Box box;        // get_bboxes: the largest contour's [x, y, x + w, y + h] on the size x size heat map
};

// TS-CAM evaluate_cls_loc for one image (3, S, S): cams of `class_id` (the GT class; -1: the top-1 class) ->
// resize to S (OpenCV linear) -> min-max -> uint8 -> box at `threshold` (0.1 CUB).
WsolPrediction tscam_predict(Tscam& net, const Tensor& image, int class_id = -1, double threshold = 0.1);

// The configuration of a TS-CAM state_dict with the official names (a released checkpoint, or ours): C from
// head.weight (C, D, 3, 3), D and the patch from patch_embed.proj.weight, the image size from pos_embed, depth from
// the blocks, heads = D / head_width (64 in every DeiT). Throws naming `who` and the missing tensor.
ViTConfig tscam_config_from_state_dict(const NamedTensors& state, const std::string& who = "tscam",
                                       int64_t head_width = 64);

}  // namespace wsdol::models
