// vit_classifier_method.h — "vit_classifier": a timm ViT/DeiT image classifier (class token -> final LayerNorm ->
// linear head), trained with the multi-label soft margin loss. It is the stand-in for the ImageNet-pretrained
// DeiT/ViT that every method of the papers starts from: `wsdol demo` trains one on an object-centric synthetic set
// (one object per image, backgrounds independent of the classes) and hands its checkpoint to CAM, MCTformer and
// MMCST as --backbone (timm names: a wsdol checkpoint of this method is read as a timm ViT file).
//
// Network: models/vit.h VisionTransformer with num_classes = C, one class token, final norm (timm layout), so the
// checkpoint's tensors are cls_token, pos_embed, patch_embed.*, blocks.*, norm.*, head.*.
// Loss: "mlsm" = MultiLabelSoftMarginLoss(head(norm(x)[:, 0]), labels) — multi-label because the trainer's labels
// are multi-hot (INFERRED: ImageNet pretraining uses softmax cross-entropy over single labels; on the one-object
// pretraining set the two differ only in the normalisation of the logits).
// localize: class-agnostic — the class token's attention to the patches in the last block, averaged over heads
// (the DINO/TS-CAM "attention map"), bilinear to the image size, min-max normalised, given to every present class.
// Options: image_size (224), patch_size (16), embed_dim (384), depth (12), num_heads (6), drop_path (0.1):
// DeiT-S by default.
#pragma once
#include "models/method_registry.h"

namespace wsdol::models {

std::unique_ptr<Method> make_vit_classifier(const MethodConfig& config);

}  // namespace wsdol::models
