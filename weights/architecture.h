// architecture.h — recognise which network a state_dict belongs to, and map foreign names to ours.
//
// Our modules use the original names of each family: OpenAI CLIP names for CLIP (models/clip.h), timm names for
// ViT/DeiT (models/vit.h), torchvision names for ResNet-50 (models/resnet.h), PSA's
// resnet38d.py names for WideResNet-38 (models/wide_resnet38.h). Checkpoints in other namings
// (HF CLIPModel, timm's CLIP vision tower) are renamed (and re-packed/transposed where needed) to those.
#pragma once
#include <string>

#include "engine/tensor/tensor.h"

namespace wsdol::weights {

enum class Architecture {
    unknown,
    openai_clip_vit,       // OpenAI CLIP ViT-B/16, ViT-B/32 (and reduced variants), OpenAI names
    openai_clip_resnet,    // OpenAI CLIP RN50 (ModifiedResNet), OpenAI names
    hf_clip,               // HF CLIPModel names (vision_model.*, text_model.*)
    timm_clip_vit,         // timm's CLIP vision tower (vit_base_patch16_clip_224.openai): norm_pre, no patch bias
    timm_vit,              // timm ViT / DeiT (cls_token, pos_embed, blocks.i.attn.qkv ...)
    timm_deit_distilled,   // DeiT distilled (dist_token, head_dist)
    torchvision_resnet,    // torchvision ResNet (conv1, bn1, layerL.b.*, fc)
    wide_resnet38,         // PSA / MCTformer ResNet-38d "WideResNet-38" (conv1a, b2 .. b7, bn7), models/wide_resnet38.h
};
const char* architecture_name(Architecture arch);

struct DetectedArchitecture {
    Architecture arch = Architecture::unknown;
    std::string description;  // e.g. "OpenAI CLIP ViT-B/16 (vision 768x12, text 512x12, embed 512)"
    int64_t parameter_count = 0;  // floating tensors, BN running statistics and counters excluded
};

// From names and shapes only.
DetectedArchitecture detect_architecture(const NamedTensors& tensors);

}  // namespace wsdol::weights
