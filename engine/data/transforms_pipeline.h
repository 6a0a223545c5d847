// transforms_pipeline.h — the training-time augmentation pipelines of the reference methods, composed from
// transforms.h / transforms_color.h, plus timm's RandomErasing (which works on the normalised tensor).
//
// Each pipeline takes a decoded RGB image and the sample's own stream, and writes the normalised (3, H, W) f32
// image into caller memory (a slot of the loader's batch), returning what else the sample carries.
#pragma once
#include <array>
#include <cstdint>

#include "engine/data/transforms.h"
#include "engine/data/transforms_color.h"
#include "engine/data/transforms_randaugment.h"

namespace wsdol::data {

// timm RandomErasing(probability, mode='pixel', max_count=1) on a normalised (C, H, W) image: with probability
// p, up to 10 attempts to place a box of area U(min_area, max_area) * H * W and aspect exp(U(log r, -log r))
// (h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)), accepted when w < W and h < H, top/left
// uniform over the valid range inclusive), filled with per-pixel N(0, 1) noise. Returns whether it erased, and
// the box as {top, left, h, w} in *box when given.
struct RandomErasingOptions {
    double probability = 0.25, min_area = 0.02, max_area = 1.0 / 3.0, min_aspect = 0.3;
};
bool random_erasing(float* chw, int64_t C, int64_t H, int64_t W, SampleRng& rng,
                    const RandomErasingOptions& options = {}, std::array<int64_t, 4>* box = nullptr);

// ToCo's main view (datasets/voc.py + transforms.py, §3.5 of methods.md): random rescale r ~ U(lo, hi) with PIL
// BILINEAR, horizontal flip p 0.5, random crop with black padding (recording img_box), then photometric
// augmentation — ColorJitter(b, c, s, h) with p jitter_p, grayscale p gray_p, Gaussian blur (radius U(0.1, 2))
// with p blur_p, solarize with p solarize_p — and normalisation. ToCo's main image uses gray 0.2, blur 1.0 and
// flips a second time after cropping without mirroring img_box (second_flip; a code quirk kept as an option).
struct TocoOptions {
    double scale_lo = 0.5, scale_hi = 2.0;
    int64_t crop = 448;
    double jitter_p = 0.8, brightness = 0.4, contrast = 0.4, saturation = 0.2, hue = 0.1;
    double gray_p = 0.2, blur_p = 1.0, solarize_p = 0.0;
    bool second_flip = true;
    std::array<float, 3> mean = kImageNetMean, std = kImageNetStd;
};
struct TocoSample {
    std::array<int64_t, 4> img_box{};  // [top, bottom, left, right) of the valid image inside the crop
};
// image: (H, W, 3) u8 -> out: (3, crop, crop) f32.
TocoSample toco_main_view(const Image& image, SampleRng& rng, const TocoOptions& options, float* out);

// Photometric step shared by the ToCo/DINO views: jitter (p), grayscale (p), blur (p), solarize (p).
Image photometric_views(Image image, SampleRng& rng, const TocoOptions& options);

// All three views of one ToCo training sample (rulixiang/ToCo e13514d9 datasets/voc.py VOC12ClsDataset with
// aug=True, as coded; methods.md §3.5 and §0.1), in the reference's order of draws:
//   1. the shared crop: rescale r ~ U(scale_lo, scale_hi) (PIL BILINEAR, int(r*W) x int(r*H)), flip p 0.5,
//      random crop `crop` with black padding -> img_box (transforms.random_scaling / random_fliplr / random_crop);
//   2. crops[2], the view the local crops are cut from (local_view): its own flip p 0.5, jitter p jitter_p,
//      grayscale p gray_p, blur p local_blur_p, normalise -> local_out;
//   3. the main image crops[0] (global_view1 + normalize): another, independent flip p 0.5, jitter, grayscale,
//      blur p blur_p (1.0), normalise -> main_out. img_box is not mirrored by either flip (the code's quirk);
//   4. crops[1], the second global view (global_view2) of the ORIGINAL image: RandomResizedCrop(crop,
//      global_scale, bicubic), flip p 0.5, jitter, grayscale, blur p global_blur_p, solarize p
//      global_solarize_p, normalise -> global_out.
// Every flip is its own draw, so the main view and the crop source are mirrored independently (about half the
// local crops are mirrored relative to the roi mask that chose them, as in ToCo).
struct TocoViewOptions {
    TocoOptions main;  // the shared crop's geometry and the main view's photometric draws (blur 1.0)
    double local_blur_p = 0.5;
    double global_blur_p = 0.1, global_solarize_p = 0.2;
    std::array<double, 2> global_scale = {0.4, 1.0};
};
struct TocoViews {
    std::array<int64_t, 4> img_box{};  // [top, bottom, left, right) of the valid image inside the crop
    bool crop_flipped = false;         // step 1's flip (img_box is drawn after it, so it follows it)
    bool main_flipped = false, local_flipped = false, global_flipped = false;
    CropBox global_box;                // step 4's RandomResizedCrop box on the original image
};
// image: (H, W, 3) u8 -> main_out, global_out, local_out: each (3, crop, crop) f32.
TocoViews toco_views(const Image& image, SampleRng& rng, const TocoViewOptions& options, float* main_out,
                     float* global_out, float* local_out);

// timm create_transform(size, is_training=True, auto_augment='rand-m9-mstd0.5-inc1'): RandomResizedCrop(size,
// (0.08, 1), (3/4, 4/3), bicubic), flip p 0.5, RandAugment (transforms_randaugment.h), normalise,
// RandomErasing(0.25, 'pixel').
struct TimmTrainOptions {
    int64_t size = 224;
    std::array<double, 2> scale = {0.08, 1.0};
    double flip_p = 0.5;
    bool rand_augment = true;
    RandAugmentOptions rand_augment_options;
    RandomErasingOptions erasing;
    std::array<float, 3> mean = kImageNetMean, std = kImageNetStd;
};
void timm_train_view(const Image& image, SampleRng& rng, const TimmTrainOptions& options, float* out);

// IRNet / CLIMS training view (jiwoon-ahn/irn voc12/dataloader.py VOC12ImageDataset with resize_long=(lo, hi),
// hor_flip=True, crop_size, crop_method="random"; misc/imutils.py; methods.md §4.1):
//   1. long side L ~ U{lo..hi} (random.randint, inclusive); scale = L / H when W < H, else L / W; PIL BICUBIC
//      resize to (np.round(H s), np.round(W s)) (pil_rescale order 3; no resize when the size is unchanged);
//   2. TorchvisionNormalize: (v / 255. - mean) / std computed in double, stored f32;
//   3. horizontal flip with p 0.5 (random.getrandbits(1));
//   4. random_crop(img, crop, 0): get_random_crop_box draws the columns first, then the rows: a side longer than
//      the crop gets a random image offset in [0, len - crop], a shorter one a random container offset in
//      [0, crop - len]; the container is filled with 0 IN NORMALIZED SPACE (the mean colour), not black.
// Our random numbers are our own stream (SampleRng), in the reference's order.
// A label map (optional; IRNet's segmentation datasets, e.g. VOC12SegmentationDataset, imutils order 0 and crop
// fill 255) follows the same geometry: PIL NEAREST resize to the image's new size, the same flip, the same crop
// window with 255 outside the image; written as f32 class ids into label_out (crop * crop).
struct IrnTrainOptions {
    int64_t crop = 512;
    int64_t resize_long_lo = 320, resize_long_hi = 640;
    bool flip = true;
    std::array<double, 3> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};  // TorchvisionNormalize
};
struct IrnSample {
    int64_t long_side = 0;
    bool flipped = false;
    std::array<int64_t, 4> img_box{};  // [top, bottom, left, right) of the image inside the crop
};
// image: (H, W, 3) u8 -> out: (3, crop, crop) f32; label: (H, W, 1) u8 -> label_out: (crop, crop) f32.
IrnSample irn_train_view(const Image& image, SampleRng& rng, const IrnTrainOptions& options, float* out,
                         const Image* label = nullptr, float* label_out = nullptr);

}  // namespace wsdol::data
