// frozen_clip.cpp — a frozen CLIP scorer shared by CLIMS and CDTR (see frozen_clip.h).
#include "models/frozen_clip.h"

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "models/clip_checkpoint.h"

namespace wsdol::models {

void freeze_clip(Clip& clip) {
    clip.requires_grad_(false);
    clip.eval();
}

std::shared_ptr<Clip> load_frozen_clip(const std::string& path, const std::string& who, int64_t head_width) {
    std::shared_ptr<Clip> clip = load_clip_checkpoint(path, head_width, who).model;  // another architecture: error
    freeze_clip(*clip);
    return clip;
}

Tensor frozen_text_features(Clip& clip, const Tensor& ids) {
    NoGradGuard no_grad;
    nn::EvalModeGuard eval(clip);
    return clip.encode_text(ids);
}

Tensor frozen_prompt_features(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& prompts) {
    WSDOL_CHECK(!prompts.empty(), "frozen_prompt_features: no prompts");
    const auto context = static_cast<int>(clip.cfg.context_length);
    std::vector<double> ids;
    for (const auto& p : prompts) {
        const std::vector<int32_t> row = tokenizer.encode_row(p, context, /*truncate=*/true, /*pad=*/true);
        ids.insert(ids.end(), row.begin(), row.end());
    }
    return frozen_text_features(
        clip, Tensor::from_vector(ids, {static_cast<int64_t>(prompts.size()), context}, DType::i64));
}

Tensor frozen_image_features(Clip& clip, const Tensor& images, const std::string& who) {
    const int64_t R = clip.cfg.image_size;
    WSDOL_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == R && images.size(3) == R, who,
                ": the CLIP image tower (", clip.cfg.vision_resnet ? "ModifiedResNet" : "ViT", ") takes (B, 3, ", R,
                ", ", R, ") images, got ", shape_str(images.shape()));
    return clip.encode_image(images);
}

}  // namespace wsdol::models
