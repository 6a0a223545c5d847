// toy_training.h — end-to-end training of a tiny ViT on the toy pattern task (engine/data/toy_patterns.h).
//
// One function used by `wsdol smoke` and by the engine's end-to-end tests: it exercises the whole CPU stack —
// patch-embedding conv, attention, layer norm, GELU, dropout/drop-path, cross-entropy, AdamW with a cosine
// schedule, gradient clipping and checkpoints that resume bit-exactly.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "models/vit.h"

namespace wsdol::models {

struct ToyTrainConfig {
    int64_t image_size = 32;
    int64_t batch_size = 32;
    int64_t steps = 300;          // optimizer updates in total (the schedule's horizon)
    int64_t eval_images = 512;
    double lr = 1e-3, weight_decay = 0.05, warmup_steps = 20;
    double drop_path = 0.1, dropout = 0.0;
    uint64_t seed = 0;
    // Checkpointing: stop after `stop_after` steps (-1: run to the end), saving to `checkpoint` when set;
    // resume from `resume` when set.
    int64_t stop_after = -1;
    std::string checkpoint, resume;
    std::function<void(int64_t step, double loss, double lr)> on_step;  // progress callback (optional)
};

struct ToyTrainResult {
    std::vector<double> losses;  // one per step run in this call
    double eval_accuracy = -1;   // on held-out images, when the run reached `steps`
    int64_t last_step = 0;
};

// depth 2, width 64, 4 heads, patch 8 (the engine's tiny ViT)
ViTConfig tiny_vit_config(int64_t image_size, int64_t num_classes);
ToyTrainResult train_toy_vit(const ToyTrainConfig& config);

}  // namespace wsdol::models
