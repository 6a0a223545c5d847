// test_models_full_size.cpp — our models built at the released sizes have exactly the reference state_dicts
// (names in PyTorch's order, shapes, dtypes) of tests/reference/models/full_size_keys.txt, and the parameter
// totals of formats.md §3.9. Heavy (ctest -L heavy): each model is allocated and initialized in full
// (CLIP ViT-B/16 alone is 600 MB in f32); the shape-only checks of the same lists run in the default suite
// (tests/test_name_maps.cpp).
#include <gtest/gtest.h>

#include "models/clip.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "tests/test_models_util.h"
#include "weights/architecture.h"

namespace wsdol {
namespace {

const NamedTensors& reference(const std::string& label) {
    static const std::map<std::string, NamedTensors> lists = test::full_size_key_lists();
    auto it = lists.find(label);
    EXPECT_NE(it, lists.end()) << label;
    static const NamedTensors empty;
    return it == lists.end() ? empty : it->second;
}

void expect_same_state(const nn::Module& model, const std::string& label, int64_t parameters) {
    const NamedTensors& ref = reference(label);
    const NamedTensors mine = model.state_dict();
    ASSERT_EQ(mine.size(), ref.size()) << label;
    for (size_t i = 0; i < mine.size(); ++i) {
        EXPECT_EQ(mine[i].first, ref[i].first) << label << " position " << i;
        EXPECT_EQ(mine[i].second.shape(), ref[i].second.shape()) << label << " " << mine[i].first;
        EXPECT_EQ(mine[i].second.dtype(), ref[i].second.dtype()) << label << " " << mine[i].first;
    }
    EXPECT_EQ(model.num_parameters(), parameters) << label;
    EXPECT_EQ(weights::detect_architecture(mine).description, weights::detect_architecture(ref).description);
}

models::ViTConfig deit(int64_t width, int64_t heads, bool distilled) {
    models::ViTConfig c;
    c.embed_dim = width;
    c.num_heads = heads;
    c.distilled = distilled;
    return c;
}

TEST(ModelsFullSize, TorchvisionResNet50) {
    expect_same_state(models::ResNet(models::resnet50_config()), "torchvision_resnet50", 25557032);
}

TEST(ModelsFullSize, DeiT) {
    expect_same_state(models::VisionTransformer(deit(384, 6, false)), "timm_deit_small", 22050664);
    expect_same_state(models::VisionTransformer(deit(384, 6, true)), "timm_deit_small_distilled", 22436432);
    expect_same_state(models::VisionTransformer(deit(768, 12, false)), "timm_deit_base", 86567656);
    expect_same_state(models::VisionTransformer(deit(768, 12, true)), "timm_deit_base_distilled", 87338192);
}

TEST(ModelsFullSize, OpenAICLIP) {
    expect_same_state(models::Clip(models::clip_vit_b16_config()), "openai_clip_vit_b16", 149620737);
    expect_same_state(models::Clip(models::clip_vit_b32_config()), "openai_clip_vit_b32", 151277313);
    expect_same_state(models::Clip(models::clip_rn50_config()), "openai_clip_rn50", 102007137);
}

}  // namespace
}  // namespace wsdol
