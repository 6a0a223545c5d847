// transforms.h — the per-sample random stream and the geometric transforms of the reference training pipelines
// (torchvision / timm / ToCo), on 8-bit (H, W, C) images, plus normalisation to an f32 (C, H, W) tensor.
//
// Reproducibility: every sample i of epoch e draws from its own stream SampleRng(seed, e, i) (Philox keyed by
// a hash of the three numbers), and every random transform takes that stream explicitly. So a sample's
// augmentation never depends on which loader thread ran it, or on the order in which samples were processed.
// The streams are not the reference's (Python's random / torch's generator): a run is reproducible within
// wsdol, and tests against Pillow/torchvision store the sampled parameters with the outputs instead.
//
// Geometric semantics reproduced (each documented where implemented in transforms.cpp):
//   - torchvision RandomResizedCrop.get_params (10 attempts, log-uniform aspect, fallback centre crop), then
//     F.resized_crop = PIL crop + PIL resize (no box) via pil_resize;
//   - ToCo random_scaling: r ~ U(a, b), PIL BILINEAR to (int(r*W), int(r*H)); labels with PIL NEAREST;
//   - ToCo random_crop: pad to >= crop with black (labels 255) at a random offset, random crop window, and the
//     valid-image box img_box = [top, bottom, left, right) inside the crop;
//   - IRN/CLIMS resize-long, torchvision Resize(int) (shorter side) and CenterCrop.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/data/pil_resize.h"
#include "engine/tensor/tensor.h"

namespace wsdol::data {

// ---------------------------------------------------------------------------------------------------------------
// Per-sample random stream.
class SampleRng {
public:
    // The stream of sample `index` in epoch `epoch` of a run seeded with `seed`.
    SampleRng(uint64_t seed, uint64_t epoch, uint64_t index);
    uint32_t next_u32();
    double uniform();                    // [0, 1), 53 random bits
    double uniform(double a, double b);  // a + (b - a) * u, as Python's random.uniform
    int64_t below(int64_t n);            // integer in [0, n); n >= 1
    double normal();                     // N(0, 1), Box-Muller
    bool bernoulli(double p) { return uniform() < p; }
    std::vector<int> permutation(int n);  // Fisher-Yates

private:
    uint64_t key_;
    uint64_t counter_ = 0;
    uint32_t words_[4] = {0, 0, 0, 0};
    int used_ = 4;
};

// ---------------------------------------------------------------------------------------------------------------
// Plain geometric transforms (deterministic).

Image hflip(const Image& image);
// PIL Image.crop((left, top, left + width, top + height)): pixels outside the image are `fill`.
Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width, uint8_t fill = 0);
// Pillow Image.resize(..., BILINEAR / BICUBIC) (pil_resize.h): returns (height, width, C).
Image resize(const Image& image, int64_t height, int64_t width, PilFilter filter);
// Pillow Image.resize(..., NEAREST): source pixel ~ floor((x + 0.5) * W / width), accumulated as Pillow does
// (label maps).
Image resize_nearest(const Image& image, int64_t height, int64_t width);

// torchvision Resize(size) with an int: the shorter side becomes `size`, the longer int(size * long / short).
Image resize_shorter(const Image& image, int64_t size, PilFilter filter);
// torchvision CenterCrop: top = int(round((H - h) / 2)), left likewise (zero padding when the image is smaller).
Image center_crop(const Image& image, int64_t height, int64_t width);
// IRN/CLIMS pil_rescale to a long side: scale = long_side / max(H, W), size (np.round(H*s), np.round(W*s)).
Image resize_long(const Image& image, int64_t long_side, PilFilter filter);

// ---------------------------------------------------------------------------------------------------------------
// Random geometric transforms: parameters are drawn first (so tests can replay them), then applied.

struct CropBox {
    int64_t top = 0, left = 0, height = 0, width = 0;
};
// torchvision transforms.RandomResizedCrop.get_params for an H x W image.
CropBox random_resized_crop_params(int64_t H, int64_t W, SampleRng& rng, std::array<double, 2> scale = {0.08, 1.0},
                                   std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0});
// F.resized_crop: crop the box, then PIL-resize to size x size.
Image resized_crop(const Image& image, const CropBox& box, int64_t size, PilFilter filter);

// ToCo random_scaling: the output size of rescaling an H x W image by r is (int(r*H), int(r*W)).
std::array<int64_t, 2> rescaled_size(int64_t H, int64_t W, double ratio);
Image rescale(const Image& image, double ratio, PilFilter filter);  // PIL resize to rescaled_size
Image rescale_nearest(const Image& image, double ratio);            // labels

// ToCo random_crop with padding. The image (h x w) is placed at (pad_top, pad_left) inside a black canvas of
// max(crop, h) x max(crop, w), and the crop x crop window at (crop_top, crop_left) of the canvas is taken.
struct PadCrop {
    int64_t pad_top = 0, pad_left = 0, crop_top = 0, crop_left = 0, crop = 0;
    // The valid-image region inside the crop, ToCo's img_box = [top, bottom, left, right) (rows, then columns).
    std::array<int64_t, 4> img_box{};
};
PadCrop random_pad_crop_params(int64_t h, int64_t w, int64_t crop, SampleRng& rng);
PadCrop pad_crop_params(int64_t h, int64_t w, int64_t crop, int64_t pad_top, int64_t pad_left, int64_t crop_top,
                        int64_t crop_left);  // fills img_box
Image pad_crop(const Image& image, const PadCrop& p, uint8_t fill);  // fill 0 for images, 255 for label maps

// pad_crop(flip ? hflip(rescale(image, ratio)) : rescale(image, ratio), p, fill), bit for bit, resizing only the
// part of the image that lands in the crop (pil_resize_window). p is for the rescaled size.
Image rescale_flip_pad_crop(const Image& image, double ratio, bool flip, const PadCrop& p, PilFilter filter,
                            uint8_t fill);

// ---------------------------------------------------------------------------------------------------------------
// Normalisation: torchvision ToTensor (v / 255 in f32) then Normalize ((x - mean) / std in f32).

constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};
constexpr std::array<float, 3> kClipMean = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr std::array<float, 3> kClipStd = {0.26862954f, 0.26130258f, 0.27577711f};

// image: (H, W, 3) u8 -> out: (3, H, W) f32, written to `out` (H*W*3 floats).
void normalize_into(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                    float* out);
Tensor normalize(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std);

}  // namespace wsdol::data
