// pipeline.h — a declared chain of runs with explicit files between them (`wsdol pipeline FILE --out DIR`):
// e.g. CAM seeds -> CLIMS -> maps -> IRNet -> DeepLab. Each stage is one `train` or `infer` run in DIR/<stage>;
// a later stage names an earlier one's folder as ${stage:NAME}. Finished stages are skipped, an interrupted
// training stage resumes (bit-identically, runner/trainer.h), an interrupted inference stage is rerun.
//
// FILE (JSON):
//   {
//     "vars":   {"data": "demo/data", "epochs": "2"},          optional; --var key=value overrides
//     "stages": [
//       {"name": "cam",   "run": "train", "settings": {"method": "cam", "data": "${data}", "epochs": "${epochs}",
//                                                      "options": {"backbone": "vit"}}},
//       {"name": "seeds", "run": "infer", "settings": {"checkpoint": "${stage:cam}/checkpoint.safetensors",
//                                                      "data": "${data}"}}
//     ]
//   }
// Train settings are runner/trainer.h's keys (with "options" and "inputs" objects); the stage's "out" is set by the
// pipeline. Infer settings: checkpoint | weights + method, data, split, dataset_kind, threshold, clip, clip_vocab,
// and "options" (method options replacing the stored ones). ${name} is a variable, ${stage:NAME} the folder of an
// EARLIER stage (a later or unknown one is an error naming it).
//
// FILES: before the first stage runs, every file a running stage reads (data, clip, clip_vocab, backbone, checkpoint,
// weights, inputs.*) that no running stage writes must exist — one inside a finished stage's folder too (a missing
// stage output) — and a clip file must hold a whole CLIP; errors name the stage, the key and the file.
//
// DONE: a stage is finished when DIR/<stage>/.wsdol-stage holds the hash of its resolved settings; a stage whose
// settings changed since is an error naming it (rerun with --force to start that stage and the later ones over).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace wsdol::train {

struct PipelineStage {
    std::string name, run;  // run: "train" | "infer"
    std::map<std::string, std::string> settings, options, inputs;
};

struct Pipeline {
    std::vector<PipelineStage> stages;
};

// Reads and resolves FILE (variables substituted, stage references checked); errors name the file, the stage and
// the key.
Pipeline read_pipeline(const std::string& path, const std::string& out_dir,
                       const std::map<std::string, std::string>& vars = {});

struct PipelineOptions {
    std::string out;
    bool force = false;             // start over (removing only what earlier runs of these stages created)
    std::string stop_after_stage;   // stop after this stage ("" : run all) — for tests of interrupted chains
    int64_t stop_after_steps = -1;  // passed to every training stage as stop_after (an interruption)
    std::function<void(const std::string&)> log;
};

struct PipelineResult {
    std::vector<std::string> ran, skipped;  // stage names
    bool finished = false;
};

PipelineResult run_pipeline(const Pipeline& pipeline, const PipelineOptions& options);

}  // namespace wsdol::train
