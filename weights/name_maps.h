// name_maps.h — rename checkpoints from foreign namings to the names our modules use, and load them into a model.
//
// Our modules keep each family's original names (architecture.h): OpenAI CLIP names (models/clip.h), timm names
// for ViT/DeiT (models/vit.h), torchvision names for ResNet (models/resnet.h). The maps here (formats.md §3.2):
//   HF CLIPModel -> OpenAI CLIP   q/k/v_proj concatenated (rows q | k | v) into attn.in_proj_weight / _bias,
//                                 visual_projection.weight and text_projection.weight transposed into visual.proj and
//                                 text_projection, pre_layrnorm -> ln_pre, ...; the int64 position_ids buffers of
//                                 older files are dropped.
//   timm CLIP tower -> OpenAI     (vit_base_patch16_clip_224.openai names) -> visual.*: cls_token (1, 1, W) ->
//                                 class_embedding (W), pos_embed (1, T, W) -> positional_embedding (T, W),
//                                 head.weight transposed back to proj; a zero head.bias is dropped (a non-zero one
//                                 cannot be represented and stays as an unexpected key).
//   OpenAI -> OpenAI             the TorchScript release's extra entries are dropped: the int scalars
//                                 input_resolution / context_length / vocab_size and any attn_mask constant.
// DeiT releases ({'model': state_dict}) and DataParallel "module." prefixes are unwrapped by the reader
// (weights_file.h), not here.
//
// load_into() = detect the file's architecture, map it to the target naming, then load_state_dict. Strictness:
// any missing, unexpected or shape-mismatched key, or a checkpoint whose detected architecture cannot be mapped
// onto the target (an RN checkpoint for a ViT model), fails, naming all of them. One exception, by design:
// BatchNorm's num_batches_tracked counters absent from the file (torchvision files written before PyTorch 0.4.1,
// e.g. resnet50-19c8e357.pth) are "missing but optional": strict loading accepts them, the model keeps its own
// value (as PyTorch's BatchNorm._load_from_state_dict does), and the result lists them in optional_missing.
// Floating tensors convert to the model's dtype on copy (f16 release weights into an f32 model).
#pragma once
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "weights/architecture.h"

namespace wsdol::weights {

struct MappedTensors {
    NamedTensors tensors;               // in the target naming, in file order (a packed in_proj at q's place)
    std::vector<std::string> dropped;   // file entries left out on purpose: "name (reason)"
};

// HF transformers CLIPModel -> OpenAI CLIP names. Keys it does not know keep their names (so a strict load
// reports them as unexpected); an incomplete q/k/v triple stays under its HF names likewise.
MappedTensors hf_clip_to_openai(const NamedTensors& hf);
// timm's CLIP image tower -> OpenAI "visual.*" names.
MappedTensors timm_clip_to_openai(const NamedTensors& timm);
// OpenAI CLIP state_dict or TorchScript release -> the state_dict of clip.model.CLIP (drops the extras above).
MappedTensors openai_clip_clean(const NamedTensors& openai);

// Whether a checkpoint of architecture `file` can be renamed onto a model named like `target`
// (target: openai_clip_vit, openai_clip_resnet, timm_vit, timm_deit_distilled, torchvision_resnet or wide_resnet38).
bool can_map(Architecture file, Architecture target);
// The map for (file -> target): identity within a family, the maps above across. Throws wsdol::Error naming both
// architectures when can_map is false.
MappedTensors map_names(const NamedTensors& tensors, Architecture file, Architecture target);

struct LoadOptions {
    bool strict = true;
    // Only keys under this prefix (in the target naming, after the map) are loaded, with the prefix removed:
    // "visual." loads a CLIP checkpoint (OpenAI, HF or timm tower) into a ClipVisionTransformer or ModifiedResNet.
    // The others are listed in outside_prefix, never as unexpected.
    std::string prefix;
};

struct LoadResult {
    DetectedArchitecture file;                   // what the checkpoint looks like
    Architecture target = Architecture::unknown;
    nn::LoadReport report;                       // missing / unexpected / mismatched, in the target naming
    std::vector<std::string> dropped;            // left out on purpose by the map, with the reason
    std::vector<std::string> optional_missing;   // num_batches_tracked counters the file lacks (model keeps its own)
    std::vector<std::string> outside_prefix;     // with LoadOptions::prefix: the keys outside it
    bool architecture_mismatch = false;          // the file's family cannot be mapped onto the target
    bool ok() const { return report.ok() && !architecture_mismatch; }
    std::string str() const;  // multi-line: the file's description, then every list that is not empty
};

// Loads `file_tensors` into `model` (whose names are `target`'s). Strict: throws wsdol::Error listing the
// architecture mismatch and every missing/unexpected/mismatched key, copying nothing. Non-strict: copies every
// key that matches by name and shape and returns the report.
LoadResult load_into(nn::Module& model, const NamedTensors& file_tensors, Architecture target,
                     const LoadOptions& options);
LoadResult load_into(nn::Module& model, const NamedTensors& file_tensors, Architecture target, bool strict = true);

}  // namespace wsdol::weights
