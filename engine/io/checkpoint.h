// checkpoint.h — training checkpoints that resume bit-exactly: one safetensors file holding
//   "model.<name>"            the model's tensors (parameters and buffers, as the caller names them)
//   "optim.<param>.<buffer>"  the optimizer's state tensors (optimizer.h)
//   __metadata__["wsdol.checkpoint"] = a JSON object (json.h):
//     {"version": 1, "step": S, "epoch": E,
//      "optimizer": {"type": "AdamW", "groups": [[names...], ...], "scalars": {"group.0.lr": ..., ...}} | null,
//      "schedule": {"type": "CosineLRScheduler", "state": {"last_epoch": ..., ...}} | null,
//      "generators": {"default": {"seed": s, "offset": o}, ...},
//      "user": {str: str}}
// Numbers are written in their shortest exact form and 64-bit integers as integer literals, so everything
// reads back bit-identically. The file is an ordinary safetensors file (model tensors load with any reader).
//
// save_checkpoint is atomic (temp file + fsync + rename + directory fsync, atomic_file.h): after a crash the
// path holds either the previous complete checkpoint or the new one. The process-wide default generator
// (wsdol::default_generator()) is always saved under "default" (unless the caller names another "default").
//
// load_checkpoint restores into the objects the Checkpoint points at: every model tensor is copied into the
// caller's tensor (same name, shape and dtype required; a tensor missing from the file, or a "model." tensor
// the caller does not have, is an error naming the file and the tensor); the optimizer's and schedule's
// states when those pointers are set (the file must then hold them, of the same type); each listed generator
// and the default generator; step, epoch and user metadata. Everything is validated before the model and
// generators are touched; a mismatch is an error naming the file and the tensor or key.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/rng.h"
#include "engine/io/safetensors.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/schedule.h"

namespace wsdol::io {

constexpr int kCheckpointVersion = 1;
constexpr const char* kCheckpointMetadataKey = "wsdol.checkpoint";

struct Checkpoint {
    NamedTensors model;                       // stored as "model.<name>"
    optim::Optimizer* optimizer = nullptr;    // stored as "optim.*" + metadata
    optim::LRScheduler* schedule = nullptr;   // metadata
    std::vector<std::pair<std::string, Generator*>> generators = {};  // plus "default" -> default_generator()
    int64_t step = 0;
    int64_t epoch = 0;
    StringMap user = {};                      // free-form metadata
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
void load_checkpoint(const std::string& path, Checkpoint& checkpoint);

}  // namespace wsdol::io
