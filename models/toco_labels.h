// toco_labels.h — ToCo's pseudo-label utilities as plain functions (rulixiang/ToCo e13514d9 utils/camutils.py and
// utils/imutils.py; ../shared/docs/methods.md §3.2-§3.4 with the §0.1 corrections). All run without gradient
// (ToCo calls them on detached CAMs); the tensors are f32 CPU unless said otherwise, label maps are i64.
//
//   cam_to_label          CAM -> class-id map: plain (bkg threshold) or with img_box and ignore_mid (0.25 / 0.7)
//   cam_to_roi_mask       the 0 / 1 / 2 uncertainty mask that picks the local crops of CTC
//   multi_scale_cam_merge multi_scale_cam2 after the network: resize, max with the flipped-back map, ReLU, sum,
//                         per-(image, class) min-shift and max-normalization
//   crop_from_roi         crop_from_roi_neg with the random permutation injected (tests feed PyTorch's)
//   label_to_aff_mask     pairwise same/different/ignored mask of PTC
//   denormalize_to_unit   imutils.denormalize_img2: un-normalize, cast to uint8 (truncation), / 255
//   refine_cams_with_bkg_v2  PAR-refined pseudo label of the segmentation loss
// img_box (per image) is {y0, y1, x0, x1}: rows [y0, y1) and columns [x0, x1) hold the real image inside the
// padded crop (ToCo's coord[0]:coord[1], coord[2]:coord[3]); like Python slicing, bounds past the map are clamped.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor/tensor.h"
#include "models/par.h"

namespace wsdol::models {

using ImgBox = std::array<int64_t, 4>;  // {y0, y1, x0, x1}

struct CamLabelThresholds {
    double bkg = 0.5;    // plain mode: max <= bkg -> background
    double high = 0.7;   // ignore_mid: max <= high -> ignore ...
    double low = 0.25;   // ... and max <= low -> background
    int64_t ignore_index = 255;
};

// cam_to_label without img_box: cams (B, C, H, W), cls_labels (B, C) multi-hot -> (B, H, W) i64:
// 1 + argmax_c(cams * y) (first index on ties), 0 where that max <= bkg.
Tensor cam_to_label_plain(const Tensor& cams, const Tensor& cls_labels, const CamLabelThresholds& t = {});

// cam_to_label with img_box: returns the label (B, H, W) i64 and writes valid_cam = cams * y (B, C, H, W) when
// asked. The same label as the plain mode, then (ignore_mid) ignore_index where max <= high and 0 where max <= low
// (in this order, as coded), then ignore_index outside each image's box.
Tensor cam_to_label_box(const Tensor& cams, const Tensor& cls_labels, const std::vector<ImgBox>& img_box,
                        bool ignore_mid, const CamLabelThresholds& t = {}, Tensor* valid_cam = nullptr);

// cam_to_roi_mask2: m = max_c(cams * y); 0 where m <= low, 2 where m >= high, else 1. cams (B, C, H, W) ->
// (B, H, W) i64.
Tensor cam_to_roi_mask(const Tensor& cams, const Tensor& cls_labels, double high = 0.7, double low = 0.25);

// multi_scale_cam2 after the network. per_scale[s]: the 1x1-conv CAM of the network on [x_s; flip(x_s)]
// (2B, C, h_s, w_s), where x_s is the input resized to scale s. Each is resized bilinearly (align_corners False)
// to (H, W), the max of the first half and the flipped-back second half is taken, ReLU'd, and the scales are
// summed; then per (image, class): cam -= min, cam /= max + 1e-5. -> (B, C, H, W).
Tensor multi_scale_cam_merge(const std::vector<Tensor>& per_scale, int64_t H, int64_t W);

// crop_from_roi_neg. images (B, C, H, W) (the local view), roi (B, H, W) integer. For image b the candidate
// top-left corners are the positions (y, x) of the inner window [m, H - m) x [m, W - m) (m = crop_size / 2,
// integer division) with roi <= 1, row-major, relative to the window (so a crop is centred on the candidate);
// when fewer than crop_num exist, all inner positions. permutation(b, n) returns a permutation of 0..n-1 (ToCo:
// torch.randperm(n)); its first crop_num entries pick the corners. Flag of crop i = 0 when
// sum(roi inside the crop) / crop_size^2 <= 0.2 (sum in float, as torch's int16 sum then true division), else 1.
// Returns crop_num tensors (B, C, crop_size, crop_size) and flags (B, crop_num + 2) f32 (the first two, the global
// views, are always 1).
struct RoiCrops {
    std::vector<Tensor> crops;
    Tensor flags;
};
using PermutationFn = std::function<std::vector<int64_t>(int64_t image, int64_t n)>;
RoiCrops crop_from_roi(const Tensor& images, const Tensor& roi, int64_t crop_num, int64_t crop_size,
                       const PermutationFn& permutation);

// label_to_aff_mask: labels (B, h, w) integer -> (B, hw, hw) i64: 1 where labels i and j are equal, 0 where
// different, ignore_index where either is ignore_index and on the diagonal.
Tensor label_to_aff_mask(const Tensor& labels, int64_t ignore_index = 255);

// imutils.denormalize_img2: x * std + mean (ImageNet, 0-255 scale), cast to uint8 (truncation toward zero;
// INFERRED: values outside [0, 255], which PyTorch's cast leaves undefined, are clamped), then / 255.
// images (B, 3, H, W) -> (B, 3, H, W) f32 in [0, 1].
Tensor denormalize_to_unit(const Tensor& images, const std::array<double, 3>& mean = {123.675, 116.28, 103.53},
                           const std::array<double, 3>& std = {58.395, 57.12, 57.375});

// refine_cams_with_bkg_v2 (down_scale 2): images01 (B, 3, H, W) the de-normalized crop in [0, 1];
// cams (B, C, H, W) valid_cam of cam_to_label_box; see methods.md §3.4. -> (B, H, W) i64 with 0 background,
// 1 + c class c, ignore_index unsure or outside the box.
Tensor refine_cams_with_bkg_v2(const Par& par, const Tensor& images01, const Tensor& cams, const Tensor& cls_labels,
                               const std::vector<ImgBox>& img_box, const CamLabelThresholds& t = {});

// img_box from a (B, 4) integer tensor (the "valid_box" extra).
std::vector<ImgBox> img_boxes_from_tensor(const Tensor& boxes);

}  // namespace wsdol::models
