// parity_transformers_checks.h — the parity checks of the transformer backbones, shared by the reduced fixtures
// (tests/test_parity_transformers.cpp) and the full-size ones (tests/heavy/test_parity_full_size_transformers.cpp):
// load the fixture's state strictly, run our forward with attention probabilities, rebuild the fixture's loss
// over every output, backward, compare outputs and gradients (tests/parity_util.h).
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/clip.h"
#include "models/vit.h"
#include "tests/parity_util.h"

namespace wsdol::test {

inline void load_strict(nn::Module& model, const ParityFixture& f) {
    const nn::LoadReport r = model.load_state_dict(f.state_dict(), true);
    ASSERT_TRUE(r.ok()) << f.path() << ": " << r.str();
    model.eval();
}

inline void add_probs(std::map<std::string, Tensor>& outputs, const std::string& prefix,
                      const std::vector<Tensor>& probs) {
    for (size_t i = 0; i < probs.size(); ++i) outputs[prefix + std::to_string(i)] = probs[i];
}

// timm ViT / DeiT / MCTformer-style: outputs tokens, logits (with a head), class_logits (C > 1 class tokens: the
// class tokens averaged over D, MCTformer's class branch), attn.<i>; with_mask: input.mask goes to every block.
inline void check_vit_parity(const std::string& path, const models::ViTConfig& cfg, bool with_mask = false) {
    const ParityFixture f(path);
    models::VisionTransformer model(cfg);
    load_strict(model, f);
    std::map<std::string, Tensor> inputs{{"images", f.input("images")}};
    if (with_mask) inputs["mask"] = f.input("mask");
    const models::ViTOutput o = model.forward_all(inputs["images"], true, with_mask ? inputs["mask"] : Tensor());
    std::map<std::string, Tensor> outputs{{"tokens", o.tokens}};
    if (o.logits.defined()) outputs["logits"] = o.logits;
    if (cfg.num_prefix_tokens > 1) outputs["class_logits"] = mean(o.tokens.narrow(1, 0, cfg.num_prefix_tokens), {-1});
    add_probs(outputs, "attn.", o.attn_probs);
    f.expect_outputs(outputs);
    f.loss(outputs).backward();
    f.expect_gradients(model, inputs);
}

// OpenAI CLIP with a ViT image tower: text and image features with every block's probabilities, zero-shot
// logits and probabilities.
inline void check_clip_parity(const std::string& path, const models::ClipConfig& cfg) {
    const ParityFixture f(path);
    models::Clip model(cfg);
    load_strict(model, f);
    std::map<std::string, Tensor> inputs{{"images", f.input("images")}};
    const Tensor text = f.input("text");
    const models::ClipVisionOutput img = model.visual_vit->forward_all(inputs["images"], true);
    const models::ClipTextOutput txt = model.encode_text_all(text, true);
    const models::ClipZeroShot z = models::clip_zero_shot(img.features, txt.features, model.logit_scale);
    std::map<std::string, Tensor> outputs{{"image_features", img.features}, {"text_features", txt.features},
                                          {"logits", z.logits}, {"probs", z.probs}};
    add_probs(outputs, "text_attn.", txt.attn_probs);
    add_probs(outputs, "image_attn.", img.attn_probs);
    f.expect_outputs(outputs);
    f.loss(outputs).backward();
    f.expect_gradients(model, inputs);
}

// OpenAI CLIP's ModifiedResNet image tower (BN in eval): the attention-pool output.
inline void check_clip_resnet_parity(const std::string& path, models::ModifiedResNet& model) {
    const ParityFixture f(path);
    load_strict(model, f);
    std::map<std::string, Tensor> inputs{{"images", f.input("images")}};
    std::map<std::string, Tensor> outputs{{"features", model.forward(inputs["images"])}};
    f.expect_outputs(outputs);
    f.loss(outputs).backward();
    f.expect_gradients(model, inputs);
}

}  // namespace wsdol::test
