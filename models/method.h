// method.h — the seam every WSOL/WSSS method sits behind (../shared/docs/architecture.md, "The method seam").
//
// The trainer, the inference runner and the evaluator (apps/cmd_train, cmd_infer, cmd_eval, cmd_demo) are written
// once against this interface; a method (MMCST, MCTformer, CAM, ...) is one class implementing it, a baseline or a
// paper's ablation row is a configuration of one. All of a method's losses live in one file next to it.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace wsdol::models {

// One training batch as the method receives it.
struct MethodBatch {
    Tensor images;       // (B, 3, H, W) f32, augmented and normalized as the method's recipe says
    Tensor labels;       // (B, C) f32 multi-hot over the C foreground classes (no background)
    Tensor clip_images;  // (B, 3, 224, 224) f32 CLIP-normalized, for methods with a frozen CLIP image tower; else
                         // undefined
};

// The named loss terms of one step (names as in the paper, e.g. "mlsm_cls", "contrast"), and their weighted sum.
struct LossTerms {
    std::vector<std::pair<std::string, Tensor>> terms;  // each a 0-dim tensor
    Tensor total;                                       // 0-dim, what backward() is called on
};

// A parameter group for the optimizer: parameter names (as network().named_parameters() lists them) and the
// multipliers the recipe applies to the base lr and weight decay (e.g. no decay on norms/biases/tokens, 10x lr on
// new heads).
struct ParamGroupSpec {
    std::string name;
    std::vector<std::string> params;
    double lr_scale = 1.0;
    double weight_decay_scale = 1.0;
};

// timm's create_optimizer weight-decay rule as two groups, "decay" and "no_decay" (weight_decay_scale 0): no decay
// for parameters with fewer than 2 dims (biases, norms, scalars) and for those whose last name component is in
// `no_decay_names` (timm's no_weight_decay(): pos_embed, cls_token). Frozen parameters (requires_grad false) are
// left out. Order: network().named_parameters() order.
inline std::vector<ParamGroupSpec> timm_decay_groups(const nn::Module& network,
                                                      const std::vector<std::string>& no_decay_names = {"pos_embed",
                                                                                                        "cls_token"}) {
    ParamGroupSpec decay{"decay", {}, 1.0, 1.0}, no_decay{"no_decay", {}, 1.0, 0.0};
    for (const auto& [name, p] : network.named_parameters()) {
        if (!p.requires_grad()) continue;
        const std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
        bool skip = p.dim() <= 1;
        for (const std::string& n : no_decay_names) skip = skip || last == n;
        (skip ? no_decay : decay).params.push_back(name);
    }
    return {decay, no_decay};
}

// A method's default training recipe, as data (printed by `wsdol train --dry-run`, overridable by flags/config).
struct Recipe {
    std::string optimizer = "adamw";  // "adamw" | "sgd"
    double lr = 5e-4;
    double weight_decay = 0.05;
    double momentum = 0.9;            // sgd only
    int64_t epochs = 60;
    int64_t warmup_epochs = 5;
    double warmup_lr = 1e-6;
    double min_lr = 1e-5;
    std::string schedule = "cosine";  // "cosine" | "poly" | "constant"
    int64_t batch_size = 64;
    int64_t input_size = 224;
    std::string augmentation = "timm";  // the pipeline name the trainer builds (engine/data/transforms_pipeline.h)
    std::map<std::string, double> extra;  // method-specific numbers, printed with the rest
};

class Method {
public:
    virtual ~Method() = default;
    virtual std::string name() const = 0;
    // Everything a checkpoint holds (trainable and frozen parts; frozen parts are simply not in param_groups()).
    virtual nn::Module& network() = 0;
    virtual std::vector<ParamGroupSpec> param_groups() = 0;
    virtual Recipe recipe() const = 0;
    // Training-mode forward of one batch and all loss terms (the caller runs backward and the optimizer step).
    virtual LossTerms losses(const MethodBatch& batch) = 0;
    // Inference recipe of the method (multi-scale, flip, refinement included), no gradients:
    // image (3, H, W) f32 normalized as for training, labels = the classes present (0-based over the C foreground
    // classes) -> (C, H, W) f32 score maps in [0, 1], zero for classes not in `labels`.
    virtual Tensor localize(const Tensor& image, const std::vector<int>& labels) = 0;
};

}  // namespace wsdol::models
