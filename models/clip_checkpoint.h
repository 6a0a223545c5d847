// clip_checkpoint.h — any CLIP checkpoint file -> a models::Clip holding its weights, for every command and method
// that takes a CLIP (`wsdol clip`, MMCST's text/image embeddings, the demo).
//
// Reads every format weights/ reads (safetensors, PyTorch zip, TorchScript, legacy pickle), recognises OpenAI
// CLIP (ViT or ModifiedResNet image tower) and HF CLIPModel names (mapped to OpenAI's), builds the configuration
// from the shapes (clip_config_from_state_dict) and loads strictly. Anything else — timm's image-only CLIP tower,
// a ViT or ResNet classifier, a file that is not a checkpoint — is an error naming the file and what it holds.
#pragma once
#include <memory>
#include <string>

#include "models/clip.h"

namespace wsdol::models {

struct LoadedClip {
    std::shared_ptr<Clip> model;  // in eval mode
    std::string format;           // "safetensors", "pytorch-zip", ... (weights::format_name)
    std::string description;      // weights::detect_architecture's, e.g. "OpenAI CLIP ViT-B/16 (...)"
};

// head_width: channels per attention head of the text tower (64 in every released CLIP; not recoverable from
// shapes). `who` prefixes the error messages (the command or method asking).
LoadedClip load_clip_checkpoint(const std::string& path, int64_t head_width = 64, const std::string& who = "clip");

// Reads `path` and checks that it holds a whole CLIP (OpenAI or HF names, image and text towers) without building
// it — what a pipeline checks before its first stage. Returns detect_architecture's description; the errors are
// load_clip_checkpoint's (naming the file and what it holds).
std::string check_clip_file(const std::string& path, const std::string& who = "clip");

}  // namespace wsdol::models
