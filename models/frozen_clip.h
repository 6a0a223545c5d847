// frozen_clip.h — a CLIP used as a frozen scorer inside another method's training step (CLIMS's evaluator, CDTR's
// SBA): loaded from any CLIP file wsdol reads, with either image tower (ViT or ModifiedResNet), frozen
// (requires_grad false, eval mode — BatchNorm statistics fixed in a ResNet tower), its prompts encoded once without
// gradients, and images scored so that gradients flow through the tower into the images (never into the CLIP).
// One path for every method that scores images with a frozen CLIP, so none is limited to one tower kind.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/clip.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

// Freezes a CLIP: requires_grad false everywhere, eval mode (CLIMS and CDTR, methods.md §0.1).
void freeze_clip(Clip& clip);

// A CLIP file (OpenAI or HF names, ViT or ModifiedResNet image tower; models/clip_checkpoint.h), frozen. A file of
// another architecture is an error naming `who` and the file. head_width: channels per attention head (64 in every
// released CLIP; not recoverable from the shapes).
std::shared_ptr<Clip> load_frozen_clip(const std::string& path, const std::string& who, int64_t head_width = 64);

// Token-id rows (K, context_length) i64/i32 -> the text tower's features (K, E), unnormalized, without gradients.
Tensor frozen_text_features(Clip& clip, const Tensor& ids);

// Prompts -> token rows (truncated and padded to the context as clip.tokenize) -> frozen_text_features (K, E).
Tensor frozen_prompt_features(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& prompts);

// The frozen image tower on images (B, 3, R, R), R = clip.cfg.image_size, for either tower kind -> (B, E),
// unnormalized. Differentiable with respect to `images` (the CLIP's own parameters take no gradient when frozen).
// `who` names the caller in the shape error.
Tensor frozen_image_features(Clip& clip, const Tensor& images, const std::string& who);

}  // namespace wsdol::models
