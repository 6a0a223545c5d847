// attention_maps.h — class localisation maps from transformer attention (MCTformer-V2 / MMCST inference) and the
// multi-scale + flip test-time driver shared by every map-producing method (MCTformer, MMCST, CAM baselines).
// Pure functions of tensors: no model knowledge. Spec: ../shared/docs/methods.md §2.1 "Localisation map
// generation" (CODE xulianuwa/MCTformer engine.generate_attention_maps_ms + models.MCTformerV2.forward) and §2.2
// "Inference"; CAM normalisation of §4.3 (IRNet/CLIMS make_cam).
//
// Typical use (MMCST / MCTformer Method::localize):
//
//     auto forward = [&](const Tensor& images) {            // (N, 3, h, w) -> (N, C, gh, gw)
//         auto out = net.forward_all(images, /*return_attention*/ true);
//         AttentionTokenLayout layout{/*class_start*/ 0, /*num_classes*/ C, /*patch_start*/ 2 * C, gh, gw};
//         return attention_class_maps(out.attn_probs, layout, C_t2p + C_c2p, {});  // ReLU applied inside
//     };
//     Tensor sum = multiscale_flip_maps(image, forward, labels, {});   // (C, H, W), zero off the labels
//     return minmax_normalize_maps(sum, labels);                       // (C, H, W) in [0, 1]
//
// Numerics (as the reference): sums in f32 in the order the reference sums (blocks, then flip passes);
// bilinear upsampling is PyTorch's align_corners=False.
#pragma once
#include <functional>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::models {

// Where the tokens sit in the transformer's sequence of T tokens (named apart from models/mmcst.h MmcstLayout, which
// describes MMCST's own sequence: MmcstLayout::attention_layout() converts).
// Tokens outside the two ranges (text tokens, distillation token, ...) are ignored. The patch tokens are the
// grid_h x grid_w patches in row-major order.
struct AttentionTokenLayout {
    int64_t class_start = 0;  // index of the first of the C class tokens
    int64_t num_classes = 0;  // C
    int64_t patch_start = 0;  // index of the first patch token
    int64_t grid_h = 0, grid_w = 0;
};

// MCTformer's --attention-type: "fused" = A_c2p * ReLU(cam) (V2 default), "attention" = A_c2p alone (V1 / "mct"),
// "cam" = ReLU(cam) alone ("patchcam").
enum class AttentionMapType { fused, attention, cam };
const char* attention_map_type_name(AttentionMapType t);
AttentionMapType attention_map_type_from_name(const std::string& name);  // "fused" | "attention" | "cam"

struct AttentionMapOptions {
    int64_t class_blocks = 3;     // A_c2p sums the last K blocks (MCTformer --layer-index 3)
    AttentionMapType type = AttentionMapType::fused;
    bool patch_refine = true;     // M_c = A_p2p . map_c, A_p2p summed over ALL blocks (--patch-attn-refine)
};

// The per-class maps at patch resolution, §2.1 steps 2-5:
//   Ā_l = mean over heads of attn_probs[l]                              (B, T, T)
//   A_c2p = sum_{l in last K blocks} Ā_l[class rows, patch columns]     (B, C, gh, gw)
//   fused = A_c2p * ReLU(cam)                                           (cam detached)
//   A_p2p = sum_{all l} Ā_l[patch rows, patch columns]                  (B, N, N), N = gh gw
//   M_c(i) = sum_j A_p2p(i, j) fused_c(j)                               (row i = query patch)
// attn_probs: L >= 1 tensors (B, heads, T, T), post-softmax, f32/f64; cam: (B, C, gh, gw) (MCTformer's patch CAM,
// MMCST's C_t2p + C_c2p), needed unless type == attention (then ignored, may be undefined).
// Returns (B, C, gh, gw), detached (no autograd history).
Tensor attention_class_maps(const std::vector<Tensor>& attn_probs, const AttentionTokenLayout& layout,
                            const Tensor& cam, const AttentionMapOptions& options = {});

// maps: (B, C, h, w) -> (B, C, H, W): PyTorch bilinear (align_corners=False) to out_h x out_w, times the GT label
// vector labels (B, C) (0/1; undefined = keep every class). §2.1 step 6 before the flip sum.
Tensor upsample_label_maps(const Tensor& maps, int64_t out_h, int64_t out_w, const Tensor& labels = Tensor());

// ---- test-time augmentation driver ----
// The caller's network pass: images (N, 3, h, w) normalized -> per-class maps (N, C, h', w') at any resolution,
// already in the method's form (MCTformer: attention_class_maps; CAM: ReLU(classifier(features))).
using ClassMapForward = std::function<Tensor(const Tensor& images)>;
// Resizes one normalized image (3, H, W) to (3, h, w).
using ImageRescale = std::function<Tensor(const Tensor& image, int64_t h, int64_t w)>;

// How each pass's maps are brought to the image size:
//  to_image       — bilinear straight to H x W (MCTformer generate_attention_maps_ms);
//  strided_up_crop — bilinear to (s ceil(H/s)) x (s ceil(W/s)), then the top-left H x W (IRNet/CLIMS make_cam
//                    "high_res", s = 16).
enum class MapUpsample { to_image, strided_up_crop };

struct TestTimeOptions {
    std::vector<double> scales{1.0};  // image scale s: size (round(H s), round(W s)) (IRNet pil_rescale); 1.0 = as is
    bool flip = true;                 // also run the horizontal flip and flip its maps back before summing
    MapUpsample upsample = MapUpsample::to_image;
    int64_t upsample_stride = 16;     // s of strided_up_crop
    ImageRescale rescale;             // empty: pil_bicubic_rescale with ImageNet mean/std
};

// Runs forward on every scale (image and, with flip, its mirror as one batch of 2), upsamples each pass's maps to
// the image size, flips the mirrored pass back, multiplies by the labels and sums all passes.
// image: (3, H, W) f32 normalized; labels: the classes present (0-based over C). Returns (C, H, W) f32, zero off
// the labels, unnormalized. Runs without gradients.
Tensor multiscale_flip_maps(const Tensor& image, const ClassMapForward& forward, const std::vector<int>& labels,
                            const TestTimeOptions& options = {});

// The reference pipelines rescale the 8-bit image with PIL bicubic (MCTformer's dataset, IRNet pil_rescale) and
// normalize afterwards. We get the normalized image, so: undo the normalization, round to u8 (exact for an image
// that came from 8-bit data), PIL-bicubic resize (engine/data/pil_resize.h), normalize again.
// image: (3, H, W) f32 -> (3, h, w) f32.
Tensor pil_bicubic_rescale(const Tensor& image, int64_t h, int64_t w, const std::vector<double>& mean,
                           const std::vector<double>& std);
ImageRescale imagenet_pil_bicubic_rescale();  // mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)

// ---- per-class normalization (maps (C, H, W) -> (C, H, W); classes not in labels become 0) ----
// MCTformer: (M - min) / (max - min + 1e-8) per GT class, min/max over the whole map.
Tensor minmax_normalize_maps(const Tensor& maps, const std::vector<int>& labels);
// IRNet/CLIMS make_cam: M / (max + 1e-5) per GT class (maps are non-negative sums of ReLU'd CAMs).
Tensor max_normalize_maps(const Tensor& maps, const std::vector<int>& labels);

// Background for PSA / CRF inputs (§2.1 step 7): bg = (1 - max_c M_c)^alpha over the classes of maps (C, H, W)
// -> (H, W). alpha 1 = "la", 12 = "ha". Seeds from maps with a background threshold are
// engine/eval/seg_metrics.h cams_to_labels (and the MCTformer sweep there).
Tensor background_from_maps(const Tensor& maps, double alpha);

}  // namespace wsdol::models
