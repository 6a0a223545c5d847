// toco_infer.h — ToCo / DIAL inference and ToCo's released checkpoint layout (rulixiang/ToCo e13514d9
// tools/infer_seg_voc.py, tools/infer_cam.py; ../shared/docs/methods.md §3.7).
//   toco_segment_logits  multi-scale + flip segmentation logits at the image size
//   toco_cam_maps        the CAM seeds: the image resized to the CAM input size, multi_scale_cam2, resized back
//   toco_release_*       the `model_seg_neg` state_dict (DDP "module." prefix, the unused encoder.head.*) and the
//                        network size read from its shapes
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/toco.h"

namespace wsdol::models {

// images (B, 3, H, W) normalized, full resolution. Per scale s: resized bilinear (align_corners False) to
// (int(H s), int(W s)) with its horizontal flip, the segmentation logits resized bilinear to (H, W),
// original + flipped-back summed; the max over scales. -> (B, K, H, W) logits (channel 0 background).
Tensor toco_segment_logits(TocoNet& net, const Tensor& images, const std::vector<double>& scales = {1.0, 1.5, 1.25});

// The CAM seeds of infer_cam.py: images resized bilinear to input_size x input_size, multi_scale_cam2 with
// `scales`, both maps resized bilinear to (H, W). -> {cams, cams_aux} (B, K - 1, H, W) in [0, 1] (every class; the
// caller keeps the image's classes).
std::pair<Tensor, Tensor> toco_cam_maps(TocoNet& net, const Tensor& images, int64_t input_size = 448,
                                        const std::vector<double>& scales = {1.0, 0.5, 1.5});

// A released ToCo state_dict with "module." stripped and encoder.head.* (the unused ImageNet head) dropped.
NamedTensors toco_release_state_dict(const NamedTensors& state);

// The network size read from a (cleaned) state_dict's shapes: embed_dim (cls_token), depth (blocks.i), patch size
// and pos_embed grid (image_size = grid * patch), num_classes (decoder.conv8), decoder width, CTC head sizes,
// DIAL projections when present. INFERRED: num_heads = embed_dim / 64 (every timm ViT/DeiT of ToCo's list; the
// shapes do not say) unless num_heads > 0 is given. aux_layer stays -3 (ToCo's default; not in the file).
// Throws naming the file and the missing key.
TocoConfig toco_config_from_state_dict(const NamedTensors& state, const std::string& label, int64_t num_heads = 0);

}  // namespace wsdol::models
