// mmcst_method.h — MMCST and MCTformer behind the method seam (models/method.h): "mmcst" (the full method or an
// ablation row, MmcstConfig) and "mctformer" (V2 by default; V1 with MmcstConfig::mctformer_v1()).
//
// CLIP enters through MmcstClip: the frozen text embeddings of the C prompts (computed once) and a function that
// embeds a batch of CLIP-normalized images (the batch's clip_images). make_mmcst_clip builds both from a
// models::Clip and the CLIP tokenizer; tests and other CLIPs can pass their own.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/clip.h"
#include "models/method.h"
#include "models/method_registry.h"
#include "models/mmcst.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

struct MmcstClip {
    Tensor text_embeddings;  // (C, E) prompt embeddings; undefined: taken from a checkpoint's text_embed buffer
    // clip_images (B, 3, R, R) CLIP-normalized -> (B, E_img). Called under NoGradGuard; the result is a constant.
    std::function<Tensor(const Tensor& clip_images)> encode_image;
};

// The prompt of each class: `prompt_template` with "{}" replaced by the class name. INFERRED default
// "a photo of a {}." (CLIP's standard single template; the paper writes "a photo of [CLS]", spec §2.2).
std::vector<std::string> mmcst_prompts(const std::vector<std::string>& class_names,
                                       const std::string& prompt_template = "a photo of a {}.");
// Text embeddings of the prompts: clip.encode_text of the tokenized prompts (context = the CLIP's), each row
// L2-normalized (INFERRED: the embeddings as CLIP compares them; the scale is learned by text_proj anyway).
// -> (C, E), no gradient.
Tensor clip_prompt_embeddings(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_names,
                              const std::string& prompt_template = "a photo of a {}.");
// Both pieces from one CLIP (kept by reference: it must outlive the method). Image embeddings are clip.encode_image
// (the methods compare them by cosine, so no normalization is needed).
MmcstClip make_mmcst_clip(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_names,
                          const std::string& prompt_template = "a photo of a {}.");

class MmcstMethod : public Method {
public:
    // name: "mmcst" or "mctformer" (the name reported; the network is what cfg says). clip: needed for training
    // MMCST with text tokens / the contrastive loss; inference with a loaded checkpoint needs none.
    MmcstMethod(std::string name, const MmcstConfig& cfg, MmcstClip clip = {}, Generator* gen = nullptr);

    std::string name() const override { return name_; }
    nn::Module& network() override { return *net_; }
    MmcstNet& net() { return *net_; }
    // timm create_optimizer (spec §1.5): "decay" (weight_decay_scale 1) and "no_decay" (0) for parameters with
    // ndim <= 1 (biases, norms, λ, logit_scale) and pos_embed / cls_token. (timm 0.4.12 tests len(shape) == 1, so
    // it would decay a 0-dim logit_scale; INFERRED: not decayed, as CLIP trains it.)
    std::vector<ParamGroupSpec> param_groups() override;
    // mmcst: PAPER "Adam" lr 5e-4, batch 32, 60 epochs; CODE base: AdamW wd 0.05, cosine, 5 warm-up epochs from
    // 1e-6, min lr 1e-5, DeiT linear scaling lr * batch / 512 (INFERRED kept, spec §2.2) -> lr 3.125e-5.
    // mctformer: the same at batch 64 -> lr 6.25e-5 (CODE). extra: unscaled_lr (5e-4) and linear_scaling_batch
    // (512) to rescale for another batch size, drop_path_rate, gwrp_decay, temperature.
    Recipe recipe() const override;
    // Training forward (the caller puts network() in train mode) and the terms of mmcst_loss_terms.
    BatchSpec batch_spec() const override;
    // Full-resolution test images (MCTformer datasets.py: ToTensor + Normalize only; the positional embedding is
    // resized per image, §0.1).
    InferSpec infer_spec() const override {
        InferSpec s;
        s.resize_to_input = false;
        return s;
    }
    LossTerms losses(const MethodBatch& batch, const StepContext& step) override;
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override;
    // MCTformer's map generation (attention_maps.h) with `test_time` (default: scale 1.0 + flip, as the CODE run).
    // (C, H, W) maps in [0, 1] of the image (3, H, W) for the given classes (predict() returns them as maps).
    Tensor localize(const Tensor& image, const std::vector<int>& labels);
    TestTimeOptions test_time;
    // MCTformer's --attention-type and --patch-attn-refine (CODE defaults: fused, refined; V1: attention). Options
    // "map_type" (fused | attention | cam) and "patch_refine" (true | false); set at inference with
    // `wsdol infer --set` without retraining.
    AttentionMapType map_type = AttentionMapType::fused;  // the constructor sets attention for V1
    bool patch_refine = true;

    // The CLIP (and tokenizer) when the method loaded them itself (make_method path); MmcstClip refers to it.
    std::shared_ptr<Clip> owned_clip;
    std::shared_ptr<tok::ClipTokenizer> owned_tokenizer;
    int64_t clip_input_size = 0;  // > 0: recipe() asks the trainer for batch.clip_images of this size

private:
    std::string name_;
    std::shared_ptr<MmcstNet> net_;
    MmcstClip clip_;
};

// The registry's entry point (models/method_registry.h; registered as "mmcst" and "mctformer"):
//   class_names -> num_classes; options: every set_mmcst_option key (defaults: the method's preset; for mmcst
//   text_dim / image_embed_dim default to the CLIP's embedding width), "prompt" (template with {}, default
//   "a photo of a {}."), for mctformer "v1" (false: V2), and the map options "map_type" / "patch_refine" (above);
//   backbone_weights: a timm ViT/DeiT file loaded with load_vit_backbone (skipped when weights_from_checkpoint);
//   clip_checkpoint + clip_vocab: an OpenAI-named CLIP and its BPE vocab (required to train mmcst: prompt
//   embeddings and the contrastive target; with weights_from_checkpoint the text embeddings come from the
//   checkpoint's text_embed buffer and no CLIP is needed).
std::unique_ptr<Method> make_mmcst_method(const std::string& method, const MethodConfig& config);

// "mmcst" -> MmcstConfig::mmcst(); "mctformer" -> mctformer_v2(); "mctformer_v1" -> mctformer_v1(). Throws naming
// the method otherwise.
MmcstConfig mmcst_preset(const std::string& method);
// Sets one config field from text, for CLI/config files: keys are the field names (image_size, embed_dim, depth,
// num_heads, num_classes, text_dim, image_embed_dim, drop_path_rate, text_tokens, patch_branch
// (none|conv_cam|correlation), pooling (gap|gwrp), gwrp_decay, fusion (global|local|global_local), contrast
// (none|clip_image), temperature, learnable_temperature, patch_size, mlp_ratio). Throws naming the key and value.
void set_mmcst_option(MmcstConfig& cfg, const std::string& key, const std::string& value);
std::string mmcst_config_str(const MmcstConfig& cfg);  // one line, every field

}  // namespace wsdol::models
