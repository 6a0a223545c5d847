// clip_checkpoint.cpp — load_clip_checkpoint: read, recognise, configure, load strictly; errors name the file.
#include "models/clip_checkpoint.h"

#include "engine/core/error.h"
#include "weights/architecture.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol::models {

namespace {
// The file's tensors in OpenAI names; anything but a whole CLIP is an error naming the file.
weights::MappedTensors clip_tensors(const weights::WeightsFile& file, const weights::DetectedArchitecture& detected,
                                    const std::string& path, const std::string& who) {
    using weights::Architecture;
    switch (detected.arch) {
        case Architecture::openai_clip_vit:
        case Architecture::openai_clip_resnet: return weights::openai_clip_clean(file.tensors);
        case Architecture::hf_clip: return weights::hf_clip_to_openai(file.tensors);
        case Architecture::timm_clip_vit:
            fail(str(who, ": ", path, " holds only timm's CLIP image tower (", detected.description,
                     "); a CLIP with its text tower is needed (an OpenAI or HF CLIP checkpoint)"));
        default: fail(str(who, ": ", path, " is not a CLIP checkpoint (", detected.description, ")"));
    }
}
}  // namespace

std::string check_clip_file(const std::string& path, const std::string& who) {
    const weights::WeightsFile file = weights::read_weights(path);
    const weights::DetectedArchitecture detected = weights::detect_architecture(file.tensors);
    (void)clip_tensors(file, detected, path, who);
    return detected.description;
}

LoadedClip load_clip_checkpoint(const std::string& path, int64_t head_width, const std::string& who) {
    using weights::Architecture;
    const weights::WeightsFile file = weights::read_weights(path);
    const weights::DetectedArchitecture detected = weights::detect_architecture(file.tensors);
    const weights::MappedTensors mapped = clip_tensors(file, detected, path, who);
    ClipConfig cfg;
    try {
        cfg = clip_config_from_state_dict(mapped.tensors, head_width);
    } catch (const Error& e) {
        fail(str(who, ": ", path, ": ", e.what(), " (heads = width / head width: see --head-width)"));
    }
    LoadedClip out;
    out.model = std::make_shared<Clip>(cfg);
    const Architecture target = cfg.vision_resnet ? Architecture::openai_clip_resnet : Architecture::openai_clip_vit;
    try {
        weights::load_into(*out.model, file.tensors, target, true);
    } catch (const Error& e) {
        fail(str(who, ": ", path, ": ", e.what()));
    }
    out.model->eval();
    out.format = weights::format_name(file.format);
    out.description = detected.description;
    return out;
}

}  // namespace wsdol::models
