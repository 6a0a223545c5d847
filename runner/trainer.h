// trainer.h — the method-agnostic training loop behind `wsdol train` and `wsdol demo`:
//   dataset (VOC layout) -> deterministic threaded loader -> MethodBatch -> method.losses -> backward ->
//   (gradient clipping) -> optimizer (AdamW | SGD over the method's parameter groups) -> lr schedule,
// with atomic checkpoints every N steps and at the end, and bit-identical resume.
//
// SETTINGS. A run is described by string settings (config file and CLI flags, one vocabulary; '-' and '_' are
// the same in keys). Keys (identity keys define the run and are stored in the checkpoint; run keys do not change
// the result):
//   identity  method, split, seed, epochs, batch_size, lr, weight_decay, momentum, optimizer (adamw|sgd),
//             schedule (cosine|poly|constant|step), lr_steps (the step schedule's milestones in epochs, comma-
//             separated), lr_step_factor, warmup_epochs, warmup_lr, min_lr, input_size,
//             augmentation (the sample pipeline: timm|irn|flip|none|toco), grad_clip (0: off), schedule_step
//             (update|epoch), lr_batch (lr given per this many images; 0: no scaling), dataset_kind
//             (auto|voc|coco|cub|openimages|ilsvrc), and the method's options (options.<key>)
//   run       data, out, clip, clip_vocab, backbone, workers, checkpoint_every, stop_after, resume, force, threads, and
//             the outputs of earlier stages the method reads (inputs.<name>, MethodInfo::needs "stage:<name>")
// Defaults for the recipe keys come from the method's Recipe; explicit settings override them.
//
// RESUME (resume = true): the run continues from OUT/checkpoint.safetensors with the identity settings stored
// there; an explicit identity setting that differs from the stored one, a different method, class list or dataset
// size is an error naming the field, raised before any training step. The result is bit-identical to the
// uninterrupted run: model, optimizer and schedule state, the model generator (init, dropout, drop-path) and the
// default generator are restored; the loader is stateless given (seed, epoch, sample), and a run stopped inside
// an epoch skips that epoch's consumed batches without decoding them.
//
// SCHEDULES count optimizer updates: cosine = timm CosineLRScheduler with t_initial = total updates, warm-up of
// warmup_epochs * updates_per_epoch from warmup_lr, floor min_lr; poly = ToCo's PolyWarmupLR (power 0.9); constant;
// step = optim::MultiStepLR: x lr_step_factor at each milestone of lr_steps (epochs done; update
// round(m x updates_per_epoch)). A run whose epochs differ from the method's recipe scales the recipe's milestones
// by epochs / recipe epochs (TS-CAM's 29,59 of 60 become 2.9,5.9 in a 6-epoch run) unless lr_steps is set.
// CHECKPOINT (engine/io/checkpoint.h) user metadata: wsdol.method, wsdol.config (JSON object of the identity
// settings, all resolved, method options under "options"), wsdol.classes (JSON array of the foreground class
// names), wsdol.num_samples. Nothing time- or path-dependent is stored, so the bytes of a resumed run's final
// checkpoint equal the uninterrupted run's.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/data/datasets.h"
#include "models/method_registry.h"

namespace wsdol::train {

struct TrainSettings {
    std::map<std::string, std::string> values;   // key -> value (keys normalised to '_')
    std::map<std::string, std::string> options;  // method options
    std::map<std::string, std::string> inputs;   // stage inputs by name (MethodInfo::needs "stage:<name>")
    // Sets "key", "options.key" or "inputs.key"; '-' in the key is read as '_'.
    void set(const std::string& key, const std::string& value);
};

// Reads a config file into `settings` (entries already present are kept: flags win over the file). Format: a JSON
// object whose members are settings (strings, numbers or booleans) and an optional "options" object of method
// options; or "key = value" lines with '#' comments. Errors name the file and the key or line.
void read_config_file(const std::string& path, TrainSettings& settings);

// The resolved configuration of a run.
struct TrainConfig {
    std::string method;
    std::map<std::string, std::string> options;  // the method's options, resolved (defaults included)
    std::string split = "train";
    std::string dataset_kind = "auto";  // data::open_dataset kinds: auto | voc | coco | cub | openimages | ilsvrc
    uint64_t seed = 0;
    models::Recipe recipe;
    // run keys
    std::string data, out, clip, clip_vocab, backbone;
    std::map<std::string, std::string> stage_inputs;  // outputs of earlier stages the method reads
    int workers = 1;
    int64_t checkpoint_every = 50;
    int64_t stop_after = -1;  // stop after this many optimizer steps in total (as if interrupted); -1: run to the end
    bool resume = false;
    bool force = false;  // start over in an earlier run's folder (removes only what that run created)
    int threads = 0;  // 0: leave the OpenMP setting
};

// Every key the settings may hold (identity keys first), for help texts and error messages.
std::vector<std::string> setting_keys();
bool is_identity_key(const std::string& key);

struct StepInfo {
    int64_t step = 0, total_steps = 0;  // step: updates done (1-based after the first)
    int64_t first_step = 0;             // where this call started (resumed runs start > 0)
    int64_t epoch = 0, epochs = 0;
    int64_t batch_size = 0;
    double loss = 0, lr = 0;
    std::vector<std::pair<std::string, double>> terms;
};

struct TrainHooks {
    std::function<void(const std::string&)> log;     // one-line notices (method/run summary, resume, saves)
    std::function<void(const StepInfo&)> on_start;   // before the first update of this call (step = first_step)
    std::function<void(const StepInfo&)> on_step;    // after every update
};

struct TrainResult {
    TrainConfig config;
    std::string checkpoint;              // OUT/checkpoint.safetensors
    int64_t first_step = 0, last_step = 0, total_steps = 0;
    bool finished = false;               // last_step == total_steps
    double seconds = 0;                  // wall time of the training steps of this call
    std::vector<double> losses;          // one per step of this call
};

// The checkpoint file of a run folder.
std::string checkpoint_path(const std::string& out_dir);

// Resolves the settings (building the method once for its recipe), checks everything a run needs (dataset,
// classes, resume compatibility) and returns the configuration, without training. `--dry-run` prints it.
TrainConfig resolve_config(const TrainSettings& settings, const TrainHooks& hooks = {});
// Resolves and runs.
TrainResult train(const TrainSettings& settings, const TrainHooks& hooks = {});

// One resolved configuration as JSON text (identity keys; "options" as an object) — what the checkpoint stores.
std::string config_json(const TrainConfig& config);
// Human-readable multi-line description (the recipe, options and run keys).
std::string describe(const TrainConfig& config);

// ---- loading a trained method (wsdol infer, wsdol demo) ----
struct LoadedMethod {
    std::unique_ptr<models::Method> method;
    std::unique_ptr<Generator> generator;  // the method's generator (owned here, as in training)
    TrainConfig config;                    // identity keys from the checkpoint
    std::vector<std::string> class_names;  // foreground classes
    int64_t step = 0;
};
// Builds the method stored in `checkpoint` and loads its weights. `clip` overrides the CLIP file passed to the
// method (methods that build a frozen CLIP; the weights themselves come from the checkpoint). When
// `dataset_classes` is non-empty it must equal the checkpoint's classes (else an error naming both lists).
// `option_overrides` replace the stored method options (inference settings; an unknown one is an error).
// Builds method `method` from a released checkpoint of its reference repository (MethodInfo::from_release, e.g.
// MCTformer-V2's {"model": state_dict} .pth): the network's size comes from the tensor shapes, the classes from
// the dataset (`class_names`, which must match the file's class count).
LoadedMethod load_released_method(const std::string& method, const std::string& weights,
                                  const std::vector<std::string>& class_names,
                                  const std::map<std::string, std::string>& option_overrides = {});
LoadedMethod load_trained_method(const std::string& checkpoint, const std::vector<std::string>& dataset_classes = {},
                                 const std::string& clip = "", const std::string& clip_vocab = "",
                                 const std::map<std::string, std::string>& option_overrides = {});


}  // namespace wsdol::train
