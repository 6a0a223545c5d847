// test_name_maps.cpp — weights/architecture.h and weights/name_maps.h: architecture detection and parameter
// counts on the FULL-SIZE name/shape lists of the reference implementations (formats.md §3.9 totals and key
// counts), our full-size models' state_dicts against those lists, the HF/timm -> OpenAI maps on hand-made tensors,
// and load_into's failure reports (wrong architecture, missing, unexpected, shape-mismatched keys).
#include <gtest/gtest.h>

#include "models/clip.h"
#include "tests/error_matchers.h"
#include "tests/test_models_util.h"
#include "weights/architecture.h"
#include "weights/name_maps.h"

namespace wsdol {
namespace {

using test::load_model_fixture;
using test::shape_only;
using test::tensor_named;
using weights::Architecture;

const std::map<std::string, NamedTensors>& full_lists() {
    static const std::map<std::string, NamedTensors> lists = test::full_size_key_lists();
    return lists;
}

const NamedTensors& full(const std::string& label) {
    auto it = full_lists().find(label);
    EXPECT_NE(it, full_lists().end()) << label;
    static const NamedTensors empty;
    return it == full_lists().end() ? empty : it->second;
}

struct Expected {
    const char* label;
    Architecture arch;
    size_t keys;
    int64_t parameters;
    const char* description;
};

// formats.md §3.9 (parameters) and §3.1-3.5 (keys); descriptions as detect_architecture words them.
const Expected kFullSize[] = {
    {"openai_clip_vit_b16", Architecture::openai_clip_vit, 302, 149620737,
     "OpenAI CLIP ViT-B/16 (vision 768x12, patch 16, image 224; text 512x12, context 77, vocab 49408; embed 512)"},
    {"openai_clip_vit_b32", Architecture::openai_clip_vit, 302, 151277313,
     "OpenAI CLIP ViT-B/32 (vision 768x12, patch 32, image 224; text 512x12, context 77, vocab 49408; embed 512)"},
    {"openai_clip_rn50", Architecture::openai_clip_resnet, 489, 102007137,
     "OpenAI CLIP RN50 (vision ModifiedResNet (3,4,6,3) width 64, image 224; text 512x12, context 77, vocab 49408; "
     "embed 1024)"},
    {"hf_clip_vit_b16", Architecture::hf_clip, 398, 149620737,
     "HF CLIPModel ViT-B/16 (vision 768x12, patch 16, image 224; text 512x12, context 77, vocab 49408; embed 512)"},
    {"timm_vit_base_patch16_clip_224", Architecture::timm_clip_vit, 153, 86193152,
     "timm CLIP image tower ViT-B/16 (width 768, depth 12, patch 16, image 224, projection 512)"},
    {"timm_deit_small", Architecture::timm_vit, 152, 22050664,
     "DeiT-S/16 (width 384, depth 12, patch 16, image 224, 1000 classes)"},
    {"timm_deit_small_distilled", Architecture::timm_deit_distilled, 155, 22436432,
     "DeiT-S/16 distilled (width 384, depth 12, patch 16, image 224, 1000 classes)"},
    {"timm_deit_base", Architecture::timm_vit, 152, 86567656,
     "DeiT-B/16 or ViT-B/16 (width 768, depth 12, patch 16, image 224, 1000 classes)"},
    {"timm_deit_base_distilled", Architecture::timm_deit_distilled, 155, 87338192,
     "DeiT-B/16 distilled (width 768, depth 12, patch 16, image 224, 1000 classes)"},
    {"torchvision_resnet50", Architecture::torchvision_resnet, 320, 25557032,
     "torchvision ResNet-50 (Bottleneck, layers 3,4,6,3, width 64, 1000 classes, with BN counters)"},
};

TEST(NameMaps, FullSizeDetectionCountsAndDescriptions) {
    ASSERT_EQ(full_lists().size(), std::size(kFullSize));
    for (const Expected& e : kFullSize) {
        SCOPED_TRACE(e.label);
        const NamedTensors& t = full(e.label);
        EXPECT_EQ(t.size(), e.keys);
        const weights::DetectedArchitecture d = weights::detect_architecture(t);
        EXPECT_EQ(d.arch, e.arch) << weights::architecture_name(d.arch);
        EXPECT_EQ(d.parameter_count, e.parameters);
        EXPECT_EQ(d.description, e.description);
    }
}

TEST(NameMaps, FullSizeVariantsOfTheFiles) {
    // The TorchScript release carries 3 more entries (int scalars): 305 keys, same parameters.
    NamedTensors jit = full("openai_clip_vit_b16");
    for (const char* k : {"input_resolution", "context_length", "vocab_size"}) jit.emplace_back(k, Tensor::scalar(1, DType::i64));
    EXPECT_EQ(jit.size(), 305u);
    weights::DetectedArchitecture d = weights::detect_architecture(jit);
    EXPECT_EQ(d.arch, Architecture::openai_clip_vit);
    EXPECT_EQ(d.parameter_count, 149620737);
    // RN50: 55 of the 489 keys are BN counters
    size_t counters = 0;
    for (const auto& [n, t] : full("openai_clip_rn50")) counters += n.find("num_batches_tracked") != std::string::npos;
    EXPECT_EQ(counters, 55u);
    // HF files written by older transformers: + 2 int64 position_ids, 400 keys, same parameters
    NamedTensors hf = full("hf_clip_vit_b16");
    hf.emplace_back("text_model.embeddings.position_ids", shape_only({1, 77}, DType::i64));
    hf.emplace_back("vision_model.embeddings.position_ids", shape_only({1, 197}, DType::i64));
    EXPECT_EQ(hf.size(), 400u);
    EXPECT_EQ(weights::detect_architecture(hf).parameter_count, 149620737);
    // resnet50-19c8e357.pth (2017): no counters, 267 keys
    NamedTensors old;
    for (const auto& [n, t] : full("torchvision_resnet50"))
        if (n.find("num_batches_tracked") == std::string::npos) old.emplace_back(n, t);
    EXPECT_EQ(old.size(), 267u);
    d = weights::detect_architecture(old);
    EXPECT_EQ(d.arch, Architecture::torchvision_resnet);
    EXPECT_EQ(d.parameter_count, 25557032);
    EXPECT_EQ(d.description, "torchvision ResNet-50 (Bottleneck, layers 3,4,6,3, width 64, 1000 classes, without BN counters)");
}

TEST(NameMaps, FullSizeMapsGiveOpenAINames) {
    // HF ViT-B/16 mapped = the OpenAI ViT-B/16 state_dict, name for name and shape for shape
    const weights::MappedTensors m = weights::map_names(full("hf_clip_vit_b16"), Architecture::hf_clip, Architecture::openai_clip_vit);
    std::map<std::string, Shape> openai;
    for (const auto& [n, t] : full("openai_clip_vit_b16")) openai[n] = t.shape();
    ASSERT_EQ(m.tensors.size(), openai.size());
    for (const auto& [n, t] : m.tensors) {
        ASSERT_TRUE(openai.count(n)) << n;
        EXPECT_EQ(t.shape(), openai[n]) << n;
    }
    // timm's CLIP tower mapped = OpenAI's visual.* (152 keys), with the zero head.bias dropped... here the shape-only
    // bias is a zero view, so it is dropped as well
    const weights::MappedTensors v =
        weights::map_names(full("timm_vit_base_patch16_clip_224"), Architecture::timm_clip_vit, Architecture::openai_clip_vit);
    size_t visual = 0;
    for (const auto& [n, s] : openai) visual += n.rfind("visual.", 0) == 0;
    EXPECT_EQ(visual, 152u);
    ASSERT_EQ(v.tensors.size(), visual);
    for (const auto& [n, t] : v.tensors) {
        ASSERT_TRUE(openai.count(n)) << n;
        EXPECT_EQ(t.shape(), openai[n]) << n;
    }
}

// ---------------------------------------------------------------- the maps on hand-made tensors

Tensor iota(const Shape& shape, double start) {
    std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<double>(i);
    return Tensor::from_vector(v, shape);
}

TEST(NameMaps, HFAttentionIsPackedQKVAndProjectionsTransposed) {
    const NamedTensors hf = {
        {"text_model.encoder.layers.3.self_attn.k_proj.weight", iota({2, 2}, 10)},
        {"text_model.encoder.layers.3.self_attn.q_proj.weight", iota({2, 2}, 0)},
        {"text_model.encoder.layers.3.self_attn.v_proj.weight", iota({2, 2}, 20)},
        {"text_model.encoder.layers.3.self_attn.q_proj.bias", iota({2}, 0)},
        {"text_model.encoder.layers.3.self_attn.k_proj.bias", iota({2}, 10)},
        {"text_model.encoder.layers.3.self_attn.v_proj.bias", iota({2}, 20).to(DType::f16)},  // dtype differs
        {"text_model.encoder.layers.3.mlp.fc2.weight", iota({2, 2}, 0)},
        {"text_projection.weight", iota({3, 2}, 0)},  // Linear(2 -> 3): (3, 2)
        {"text_model.embeddings.position_ids", Tensor::arange(4).reshape({1, 4})},
        {"vision_model.something_new", iota({1}, 0)},
    };
    const weights::MappedTensors m = weights::hf_clip_to_openai(hf);
    std::vector<std::string> names;
    for (const auto& [n, t] : m.tensors) names.push_back(n);
    EXPECT_EQ(names, (std::vector<std::string>{
                         "transformer.resblocks.3.attn.in_proj_weight",  // at the place of the first part (k)
                         "transformer.resblocks.3.mlp.c_proj.weight", "text_projection", "vision_model.something_new",
                         // the inconsistent bias triple stays under its HF names, at the end
                         "text_model.encoder.layers.3.self_attn.q_proj.bias",
                         "text_model.encoder.layers.3.self_attn.k_proj.bias",
                         "text_model.encoder.layers.3.self_attn.v_proj.bias"}));
    EXPECT_EQ(tensor_named(m.tensors, "transformer.resblocks.3.attn.in_proj_weight").to_vector(),
              (std::vector<double>{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}));  // rows q | k | v
    const Tensor p = tensor_named(m.tensors, "text_projection");
    EXPECT_EQ(p.shape(), (Shape{2, 3}));
    EXPECT_EQ(p.to_vector(), (std::vector<double>{0, 2, 4, 1, 3, 5}));
    EXPECT_EQ(m.dropped, (std::vector<std::string>{"text_model.embeddings.position_ids (HF position_ids buffer, not a weight)"}));
}

TEST(NameMaps, TimmCLIPHeadBias) {
    const NamedTensors zero_bias = {{"head.weight", iota({3, 2}, 0)}, {"head.bias", Tensor::zeros({3})},
                                    {"cls_token", iota({1, 1, 2}, 5)}};
    weights::MappedTensors m = weights::timm_clip_to_openai(zero_bias);
    ASSERT_EQ(m.tensors.size(), 2u);
    EXPECT_EQ(m.tensors[0].first, "visual.proj");
    EXPECT_EQ(m.tensors[0].second.to_vector(), (std::vector<double>{0, 2, 4, 1, 3, 5}));
    EXPECT_EQ(m.tensors[1].first, "visual.class_embedding");
    EXPECT_EQ(m.tensors[1].second.shape(), (Shape{2}));
    ASSERT_EQ(m.dropped.size(), 1u);
    // a non-zero bias cannot be represented by OpenAI's proj: kept, so a strict load reports it
    const NamedTensors biased = {{"head.weight", iota({3, 2}, 0)}, {"head.bias", iota({3}, 1)}};
    m = weights::timm_clip_to_openai(biased);
    EXPECT_EQ(m.tensors.back().first, "head.bias");
    EXPECT_TRUE(m.dropped.empty());
}

TEST(NameMaps, OpenAICleanDropsTheReleaseExtras) {
    const NamedTensors jit = {{"logit_scale", Tensor::scalar(4.6)},
                              {"input_resolution", Tensor::scalar(224, DType::i64)},
                              {"transformer.resblocks.0.attn_mask", Tensor::zeros({77, 77})},
                              {"context_length", Tensor::scalar(77, DType::i64)},
                              {"vocab_size", Tensor::scalar(49408, DType::i64)}};
    const weights::MappedTensors m = weights::openai_clip_clean(jit);
    ASSERT_EQ(m.tensors.size(), 1u);
    EXPECT_EQ(m.tensors[0].first, "logit_scale");
    EXPECT_EQ(m.dropped.size(), 4u);
}

TEST(NameMaps, MapDispatch) {
    EXPECT_TRUE(weights::can_map(Architecture::hf_clip, Architecture::openai_clip_vit));
    EXPECT_TRUE(weights::can_map(Architecture::timm_clip_vit, Architecture::openai_clip_vit));
    EXPECT_TRUE(weights::can_map(Architecture::timm_vit, Architecture::timm_vit));
    EXPECT_FALSE(weights::can_map(Architecture::openai_clip_resnet, Architecture::openai_clip_vit));
    EXPECT_FALSE(weights::can_map(Architecture::hf_clip, Architecture::openai_clip_resnet));
    EXPECT_FALSE(weights::can_map(Architecture::timm_vit, Architecture::hf_clip));  // not a model naming
    test::expect_error([] { weights::map_names({}, Architecture::torchvision_resnet, Architecture::timm_vit); },
                       {"map_names", "torchvision_resnet", "timm_vit"});
    for (int a = 0; a <= static_cast<int>(Architecture::torchvision_resnet); ++a)
        EXPECT_STRNE(weights::architecture_name(static_cast<Architecture>(a)), "?");
}

TEST(NameMaps, DetectsTheReducedFixtures) {
    const std::pair<const char*, Architecture> files[] = {
        {"clip_vit.safetensors", Architecture::openai_clip_vit},   {"clip_vit_fp16.safetensors", Architecture::openai_clip_vit},
        {"clip_rn.safetensors", Architecture::openai_clip_resnet}, {"hf_clip.safetensors", Architecture::hf_clip},
        {"timm_clip.safetensors", Architecture::timm_clip_vit},    {"deit.safetensors", Architecture::timm_vit},
        {"deit_distilled.safetensors", Architecture::timm_deit_distilled},
        {"resnet.safetensors", Architecture::torchvision_resnet},
    };
    for (const auto& [file, arch] : files) EXPECT_EQ(weights::detect_architecture(load_model_fixture(file)).arch, arch) << file;
    EXPECT_EQ(weights::detect_architecture(load_model_fixture("clip_vit.safetensors")).description,
              "OpenAI CLIP ViT (custom size: vision 32x2, patch 8, image 32; text 32x2, context 8, vocab 64; embed 24)");
    EXPECT_EQ(weights::detect_architecture(load_model_fixture("clip_rn.safetensors")).description,
              "OpenAI CLIP ResNet (custom size: vision ModifiedResNet (1,2,1,1) width 4, image 64; text 32x2, context 8, "
              "vocab 64; embed 24)");
    EXPECT_EQ(weights::detect_architecture(load_model_fixture("deit.safetensors")).description,
              "timm ViT (custom size: width 32, depth 2, patch 8, image 32, 10 classes)");
    EXPECT_EQ(weights::detect_architecture(load_model_fixture("resnet.safetensors")).description,
              "torchvision ResNet (custom size: Bottleneck, layers 2,1,1,1, width 4, 10 classes, with BN counters)");
    const weights::DetectedArchitecture unknown = weights::detect_architecture({{"foo", Tensor::zeros({2})}});
    EXPECT_EQ(unknown.arch, Architecture::unknown);
    EXPECT_EQ(unknown.description, "unknown architecture (1 tensors, first 'foo')");
}

// ---------------------------------------------------------------- load_into failure reports

std::shared_ptr<models::Clip> fixture_clip_vit() {
    return std::make_shared<models::Clip>(models::clip_config_from_state_dict(load_model_fixture("clip_vit.safetensors"), 16));
}

TEST(NameMaps, WrongArchitectureFailsStrictlyNamingIt) {
    auto vit = fixture_clip_vit();
    const NamedTensors rn = load_model_fixture("clip_rn.safetensors");
    const Tensor before = vit->find("visual.class_embedding").clone();
    test::expect_error([&] { weights::load_into(*vit, rn, Architecture::openai_clip_vit); },
                       "load_into (strict)",
                       {"OpenAI CLIP ResNet (custom size", "architecture mismatch: a openai_clip_resnet checkpoint "
                        "cannot be loaded into a openai_clip_vit model", "missing keys", "visual.class_embedding",
                        "unexpected keys", "visual.attnpool.positional_embedding"});
    EXPECT_EQ(test::bytes_of(vit->find("visual.class_embedding")), test::bytes_of(before));  // nothing copied
    EXPECT_NE(test::bytes_of(vit->find("token_embedding.weight")),
              test::bytes_of(tensor_named(rn, "token_embedding.weight")));
    // non-strict: the report, and the keys both have (the text tower, same sizes) are copied
    const weights::LoadResult r = weights::load_into(*vit, rn, Architecture::openai_clip_vit, false);
    EXPECT_TRUE(r.architecture_mismatch);
    EXPECT_FALSE(r.ok());
    // class_embedding, positional_embedding, proj; ln_pre, ln_post; 2 blocks. The RN stem's visual.conv1.weight
    // has the name of the ViT patch conv but not its shape.
    EXPECT_EQ(r.report.missing.size(), 3u + 4 + 2 * 12);
    EXPECT_EQ(r.report.mismatched, (std::vector<std::string>{"visual.conv1.weight: checkpoint [2, 3, 3, 3] vs model [32, 3, 8, 8]"}));
    EXPECT_EQ(test::bytes_of(vit->find("token_embedding.weight")),
              test::bytes_of(tensor_named(rn, "token_embedding.weight")));
    EXPECT_EQ(test::bytes_of(vit->find("visual.class_embedding")), test::bytes_of(before));
}

TEST(NameMaps, MissingUnexpectedAndMismatchedKeysAreNamed) {
    auto model = fixture_clip_vit();
    NamedTensors sd = test::without(load_model_fixture("clip_vit.safetensors"), "visual.ln_post.weight");
    for (auto& [n, t] : sd)
        if (n == "text_projection") t = Tensor::zeros({32, 25});
    sd.emplace_back("visual.extra.weight", Tensor::zeros({1}));
    test::expect_error([&] { weights::load_into(*model, sd, Architecture::openai_clip_vit); },
                       "load_into (strict)",
                       {"missing keys (1):\n  visual.ln_post.weight", "unexpected keys (1):\n  visual.extra.weight",
                        "size mismatch (1):\n  text_projection: checkpoint [32, 25] vs model [32, 24]"});
    const weights::LoadResult r = weights::load_into(*model, sd, Architecture::openai_clip_vit, false);
    EXPECT_FALSE(r.architecture_mismatch);
    EXPECT_EQ(r.report.missing, (std::vector<std::string>{"visual.ln_post.weight"}));
    EXPECT_EQ(r.report.unexpected, (std::vector<std::string>{"visual.extra.weight"}));
    EXPECT_EQ(r.report.mismatched, (std::vector<std::string>{"text_projection: checkpoint [32, 25] vs model [32, 24]"}));
    // everything else was copied
    EXPECT_EQ(test::bytes_of(model->find("visual.ln_post.bias")), test::bytes_of(tensor_named(sd, "visual.ln_post.bias")));
}

TEST(NameMaps, LoadIntoArgumentErrors) {
    auto model = fixture_clip_vit();
    test::expect_error([&] { weights::load_into(*model, {}, Architecture::hf_clip); },
                       {"load_into", "target must be a model naming", "hf_clip"});
    // a key that maps twice
    NamedTensors twice = load_model_fixture("hf_clip.safetensors");
    twice.emplace_back("text_model.final_layer_norm.weight", Tensor::zeros({32}));
    twice.emplace_back("ln_final.weight", Tensor::zeros({32}));
    test::expect_error([&] { weights::load_into(*model, twice, Architecture::openai_clip_vit); },
                       {"load_into", "'ln_final.weight' appears twice"});
}

}  // namespace
}  // namespace wsdol
