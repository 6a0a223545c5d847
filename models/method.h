// method.h — the seam every WSOL/WSSS method sits behind (../shared/docs/architecture.md, "The method seam").
//
// The runner (runner/trainer, runner/infer, runner/pipeline) and the apps (train, infer, eval, demo) are written
// once against this interface and never name a method. A method (MMCST, MCTformer, CAM, ToCo, CLIMS, CDTR, ...)
// is one file set implementing it; a baseline or a paper's ablation row is a configuration of one. All of a
// method's losses live in one file next to it.
//
// A method DECLARES (data, read by the runner):
//   recipe()      optimizer, schedule, input size, sample pipeline — what `wsdol train --dry-run` prints;
//   batch_spec()  the sample pipeline by name, the label kind and the per-sample extras it needs;
//   needs()       the files it must be given (backbone, CLIP, outputs of an earlier stage);
//   infer_spec()  how the runner hands it a test image (full resolution or resized to the input size).
// It ACTS:
//   losses(batch, step)    training-mode forward of one batch -> named loss terms (the runner runs backward);
//   predict(image, labels) inference -> a Prediction holding whatever the method makes (class scores, per-class
//                          maps, segmentation probabilities with background, boxes); infer and eval act on what
//                          is present.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace wsdol::models {

// ---- the batch ----

// How a sample's labels reach the method.
enum class LabelKind {
    multi_label,   // batch.labels (B, C) multi-hot over the C foreground classes (VOC/COCO/synth image labels)
    single_label,  // batch.labels (B, C) one-hot and batch.class_ids (B) i64 (CUB, ILSVRC, the WSOL synth task)
    pixel_labels,  // batch.labels as multi_label, plus batch.pixel_labels (B, H, W) i64 from palette PNGs of an
                   // earlier stage (class ids 0..C with 0 = background, 255 = ignore), cropped with the image
};
const char* label_kind_name(LabelKind kind);

// What a method needs in its batches. The runner builds the named sample pipeline and refuses, before training,
// a pipeline that cannot make an extra the method declares (naming both).
struct BatchSpec {
    // Sample pipeline (runner/sample_pipelines.h): "timm" (RandomResizedCrop + flip + RandAugment + erasing),
    // "irn" (IRNet: random long-side resize, flip, padded random crop), "flip" (resize + flip), "none" (resize),
    // "toco" (ToCo multi-view: the main crop with its valid-region box, two global views, a view for local crops).
    // Recipe::augmentation holds the same name (settable as `augmentation`); the recipe wins when they differ.
    LabelKind labels = LabelKind::multi_label;
    // Per-sample extras the method reads from MethodBatch::extras, by name; each pipeline documents what it
    // makes. Known names: "valid_box" (B, 4) f32 [y0, y1, x0, x1] of the image inside the padded crop;
    // "view2" (B, 3, S, S) a second, independently augmented view; "global_views" (B, 2, 3, s, s) and
    // "crop_source" (B, 3, S, S) (ToCo); "gt_mask" (B, S, S) i64 (tests and diagnostics only).
    std::vector<std::string> extras;
    // > 0: MethodBatch::clip_images, the batch re-normalized with CLIP's mean/std and resized (bicubic,
    // align_corners False) to this size, for methods with a frozen CLIP image tower.
    int64_t clip_input_size = 0;
    // Images normalized with CLIP's mean/std instead of ImageNet's.
    bool clip_normalize = false;
    // > 0: the runner refuses, before training, a dataset with an image whose shorter side is below this (naming
    // the image and min_image_side_reason), e.g. ToCo's local crop size.
    int64_t min_image_side = 0;
    std::string min_image_side_reason;
};

// One training batch as the method receives it.
struct MethodBatch {
    Tensor images;       // (B, 3, H, W) f32, augmented and normalized as the method's recipe says
    Tensor labels;       // (B, C) f32 multi-hot (or one-hot) over the C foreground classes (no background)
    Tensor class_ids;    // (B) i64 single-label class ids in 0..C-1 (LabelKind::single_label); else undefined
    Tensor pixel_labels; // (B, H, W) i64 (LabelKind::pixel_labels); else undefined
    Tensor clip_images;  // (B, 3, s, s) f32 CLIP-normalized (BatchSpec::clip_input_size > 0); else undefined
    std::map<std::string, Tensor> extras;  // BatchSpec::extras, each stacked over the batch
    std::vector<std::string> ids;          // the samples' dataset ids, in batch order
    const Tensor& extra(const std::string& name) const;  // throws naming the extra when absent
};

// Where the run is when a batch arrives: warm-ups and loss switches (ToCo's iteration 2,000) live in the method.
struct StepContext {
    int64_t step = 0;             // 0-based index of this update (= updates done before it)
    int64_t total_steps = 0;
    int64_t epoch = 0, epochs = 0;
    int64_t steps_per_epoch = 0;
};

// The named loss terms of one step (names as in the paper, e.g. "mlsm_cls", "contrast"), and their weighted sum.
struct LossTerms {
    std::vector<std::pair<std::string, Tensor>> terms;  // each a 0-dim tensor
    Tensor total;                                       // 0-dim, what backward() is called on
};

// ---- the prediction ----

struct PredictedBox {
    int class_id = 0;                        // 0-based foreground class
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;   // original-image pixels, inclusive corners (wsolevaluation)
    double score = 0;
};

// Whatever a method makes for one image; an undefined tensor / empty vector means "not made". Spatial outputs are
// at the size of the image the runner passed (InferSpec); the runner resizes them to the original image.
struct Prediction {
    Tensor scores;        // (C) f32 class scores (higher = more likely; probabilities or logits)
    Tensor maps;          // (C, H, W) f32 per-class localization maps in [0, 1] (zero for classes not asked for)
    Tensor segmentation;  // (C + 1, H, W) f32 class probabilities, channel 0 = background
    std::vector<PredictedBox> boxes;
};

// How the runner prepares a test image for predict().
struct InferSpec {
    // true: the image is resized to Recipe::input_size (PIL bilinear) first; false: the full-resolution image
    // (MCTformer's and ToCo's test protocol; the method resizes internally as its reference does).
    bool resize_to_input = true;
    // The labels passed to predict: the image's ground-truth classes (the WSSS seed protocol; GT-known
    // localization) — predict must still fill `scores` for methods judged by classification.
    bool gt_labels = true;
};

// ---- files a method must be given ----
struct Need {
    std::string name;      // "backbone" | "clip" | "stage:<key>" (e.g. "stage:maps": MethodConfig::stage_inputs)
    bool required = false;  // false: optional (the method says what it does without it)
    std::string what;       // one line for errors and --dry-run, e.g. "a CLIP checkpoint (its text tower embeds
                            // the class prompts)"
};

// ---- optimisation ----

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
std::vector<ParamGroupSpec> timm_decay_groups(const nn::Module& network,
                                              const std::vector<std::string>& no_decay_names = {"pos_embed",
                                                                                                "cls_token"});

// A method's default training recipe, as typed data (printed by `wsdol train --dry-run`, overridable by settings).
struct Recipe {
    std::string optimizer = "adamw";  // "adamw" | "sgd"
    double lr = 5e-4;
    double weight_decay = 0.05;
    double momentum = 0.9;            // sgd only
    int64_t epochs = 60;
    int64_t warmup_epochs = 5;
    double warmup_lr = 1e-6;
    double min_lr = 1e-5;
    std::string schedule = "cosine";  // "cosine" | "poly" | "constant" | "step"
    // schedule "step": before the first update of the run's epoch e (0-based, i.e. after e epochs), the lr is
    // multiplied by lr_step_factor once for every milestone m <= e (m may be fractional: counted in updates,
    // round(m x updates_per_epoch)); the warm-up fields are not used. The milestones are given for `epochs`: a run
    // whose epochs differ from the recipe's scales them by epochs / recipe epochs (runner/trainer.h), unless set.
    std::vector<double> lr_steps;
    double lr_step_factor = 0.1;
    // "update": the schedule advances after every optimizer update; "epoch": timm's epoch stepping as MCTformer's
    // main.py calls it (lr_scheduler.step(epoch) after epoch `epoch`, so epochs 0 and 1 both run at the start
    // value: the reference's one-epoch lag).
    std::string schedule_step = "update";
    int64_t batch_size = 64;
    // > 0: the learning rate was given for this batch size and is scaled by batch_size / lr_batch when the batch
    // size changes (DeiT/MCTformer: lr × batch / 512). 0: no scaling.
    int64_t lr_batch = 0;
    int64_t input_size = 224;
    std::string augmentation = "timm";  // the sample pipeline's name (BatchSpec above)
    double grad_clip = 0;               // global-norm clipping (0: off)
};

class Method {
public:
    virtual ~Method() = default;
    virtual std::string name() const = 0;
    // Everything a checkpoint holds (trainable and frozen parts; frozen parts are simply not in param_groups()).
    virtual nn::Module& network() = 0;
    virtual std::vector<ParamGroupSpec> param_groups() = 0;
    virtual Recipe recipe() const = 0;
    virtual BatchSpec batch_spec() const { return {}; }
    virtual InferSpec infer_spec() const { return {}; }
    // Training-mode forward of one batch and all loss terms (the caller runs backward and the optimizer step).
    virtual LossTerms losses(const MethodBatch& batch, const StepContext& step) = 0;
    // Inference, no gradients: image (3, H, W) f32 normalized as for training (at the size InferSpec says),
    // labels = the classes present (0-based over the C foreground classes) when InferSpec::gt_labels.
    virtual Prediction predict(const Tensor& image, const std::vector<int>& labels) = 0;
};

}  // namespace wsdol::models
