// preprocess.h — the evaluation-time image preprocessing of each pretrained model family, as its reference code
// does it, so a checkpoint sees the same input tensor in wsdol as in PyTorch.
//
// Every preset is the same three steps (only the numbers differ):
//   1. Resize: the shorter side becomes `resize` (torchvision Resize(int): the longer side int(resize * long /
//      short)), with Pillow's BILINEAR or BICUBIC filter, bit for bit (pil_resize.h: Pillow's fixed-point
//      separable convolution with antialiasing on downscale);
//   2. CenterCrop(crop) (torchvision: top = int(round((H - crop) / 2)), zero padding if the image is smaller);
//   3. ToTensor + Normalize in f32: (v / 255 - mean) / std, each step rounded to f32 as torchvision does.
//
// Presets (crop = the model's input size S, 224 for the released models; resize from S as the reference computes
// it, so other input sizes follow the same rule):
//   clip       OpenAI CLIP clip.py _transform / open_clip eval: Resize(S, BICUBIC), CenterCrop(S),
//              CLIP mean (0.48145466, 0.4578275, 0.40821073), std (0.26862954, 0.26130258, 0.27577711).
//   resnet     torchvision ResNet IMAGENET1K_V1 (weights.transforms()): Resize(256, BILINEAR), CenterCrop(224),
//              ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225); resize = int(S / 0.875).
//   resnet-v2  torchvision ResNet-50 IMAGENET1K_V2: Resize(232, BILINEAR), CenterCrop(224), ImageNet;
//              resize = S * 232 / 224 (integer division).
//   deit       facebookresearch/deit evaluation (datasets.py build_transform, eval_crop_ratio 0.875):
//              Resize(int(S / 0.875) = 256, BICUBIC), CenterCrop(224), ImageNet mean/std.
//   timm-deit  timm's pretrained_cfg of deit_*: crop_pct 0.9 -> Resize(floor(S / 0.9) = 248, BICUBIC),
//              CenterCrop(224), ImageNet mean/std (timm.data.create_transform).
//   vit        timm ViT augreg / orig_in21k_ft_in1k / jx weights: crop_pct 0.9 -> Resize(248, BICUBIC),
//              CenterCrop(224), mean = std = (0.5, 0.5, 0.5).
//
// Colour: images are converted to RGB first (grey repeated, alpha dropped, palettes expanded), as torchvision's
// and timm's dataset loaders do (Image.convert('RGB') before the transform). OpenAI CLIP's _transform converts
// after resizing instead; that gives the same pixels for RGB and grey images, and differs only for palette
// images (Pillow resizes mode 'P' with NEAREST) and translucent RGBA/LA images (Pillow resizes premultiplied).
// Decoding: PNG/BMP pixels are exact, so the tensors equal the reference's bit for bit
// (tests/reference/cli/gen_preprocess.py checks this). JPEG pixels come from stb_image, whose IDCT and chroma
// upsampling differ from Pillow's libjpeg(-turbo) by a few levels on some pixels; model outputs of JPEG inputs
// therefore agree with PyTorch's closely but not bit for bit.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/data/pil_resize.h"
#include "engine/tensor/tensor.h"

namespace wsdol::data {

struct PreprocessSpec {
    std::string name;  // the preset ("clip", "resnet", ...)
    int64_t resize = 224;  // the shorter side after resizing
    int64_t crop = 224;    // the centre crop (the model's input size)
    PilFilter filter = PilFilter::bicubic;
    std::array<float, 3> mean{}, std{};

    std::string str() const;  // "clip: resize 224 (bicubic), center crop 224, mean (...), std (...)"
};

// The preset names, in the order above.
const std::vector<std::string>& preprocess_presets();

// The preset `name` for a model input size `image_size` (the crop). Unknown names are an error listing the known
// ones.
PreprocessSpec preprocess_spec(const std::string& name, int64_t image_size = 224);

// image: any channel count (converted to RGB) -> (3, crop, crop) f32.
Tensor preprocess_image(const Image& image, const PreprocessSpec& spec);
// The same for a file (errors name the file).
Tensor preprocess_file(const std::string& path, const PreprocessSpec& spec);
// paths: N files -> (N, 3, crop, crop) f32.
Tensor preprocess_files(const std::vector<std::string>& paths, const PreprocessSpec& spec);

}  // namespace wsdol::data
