// tiny_clip_util.h — the tiny CLIP the method tests load as a file (ViT image tower, one block a tower, heads of
// width 64, context 16, OpenAI names): one definition instead of a copy per test file.
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/rng.h"
#include "engine/io/safetensors.h"
#include "models/clip.h"

namespace wsdol::test {

// embed_dim: the joint space (the text embeddings' width); image_size / patch: the ViT tower's input and patch.
inline models::ClipConfig tiny_clip_config(int64_t embed_dim, int64_t image_size = 16, int64_t patch = 8) {
    models::ClipConfig c;
    c.embed_dim = embed_dim;
    c.image_size = image_size;
    c.vision_width = 64;
    c.vision_layers = 1;
    c.vision_heads = 1;
    c.vision_patch_size = patch;
    c.context_length = 16;
    c.text_width = 64;
    c.text_heads = 1;
    c.text_layers = 1;
    return c;
}

// Writes a randomly initialised CLIP of config `c` (Generator seed `seed`) to `file`; returns `file`.
inline std::string write_tiny_clip(const std::string& file, const models::ClipConfig& c, uint64_t seed = 4) {
    Generator gen(seed);
    models::Clip clip(c, &gen);
    io::save_safetensors(file, clip.state_dict());
    return file;
}

}  // namespace wsdol::test
