// clims_setup.h — what the CLIMS method needs before its first step, independent of the method seam: the stage-0
// checkpoint read into the CLIMS network, the frozen CLIP evaluator from any CLIP file, the class and background
// prompts for a dataset and their text embeddings. Spec: ../shared/docs/methods.md §4.2; CODE CVI-SZU/CLIMS
// f9546d32 step/train_clims.py (load_state_dict(res50_cam.pth, strict=True), clip.load) and clip_utils.py
// (category_dict / background_dict 'voc').
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/clims.h"
#include "models/clip.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

// Reads a stage-0 (or CLIMS) checkpoint file into the network: a wsdol training checkpoint ("model.<name>" tensors,
// "optim.*" ignored), or an IRNet/CLIMS PyTorch state_dict (res50_cam.pth / res50_clims.pth, alias keys allowed).
// A checkpoint of another network (a ViT CAM, a torchvision classifier, another class count) is an error naming
// the file and what does not fit.
void load_clims_stage0_file(ClimsNetwork& net, const std::string& path);

// A CLIP file as CLIMS's frozen evaluator (any OpenAI/HF CLIP, ViT or ModifiedResNet tower): requires_grad false,
// eval mode. Another architecture is an error naming the file (models/clip_checkpoint.h).
// head_width: channels per attention head (64 in every released CLIP; not recoverable from the shapes).
std::shared_ptr<Clip> load_clims_clip(const std::string& path, int64_t head_width = 64);

// The name in "a photo of {name}." for each class: the VOC classes as clip_utils.py category_dict['voc'] spells them
// (IRNet's names "diningtable", "person", "pottedplant", "tvmonitor" -> "dining table", "player", "potted plant",
// "tv monitor"); any other name with '_' read as a space (INFERRED for non-VOC datasets).
std::vector<std::string> clims_class_prompt_names(const std::vector<std::string>& class_names);

// The background prompts L_CBS suppresses. which: "voc" (clip_utils.py's 10), "synth" (INFERRED: "a photo of
// {name}." for every background of the synthetic benchmark, engine/data/synth.h: water, rails, ...), "auto" (voc
// for the 20 VOC classes, synth for the synthetic benchmark's class names, else an error asking for the option),
// or a comma-separated list of names.
std::vector<std::string> clims_background_prompts(const std::string& which,
                                                  const std::vector<std::string>& class_names);

// Token rows (context_length, truncated and padded as clip.tokenize) of the prompts, encoded by the frozen text
// tower without gradients. Returns the text bank (unnormalized features, as the losses expect).
ClimsTextBank clims_text_bank(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_prompts,
                              const std::vector<std::string>& background_prompts);

}  // namespace wsdol::models
