// test_attention_maps.cpp — models/attention_maps against the PyTorch restatement of the spec
// (tests/reference/localize/gen_attention_maps.py -> attention_maps.safetensors), plus properties and errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "models/attention_maps.h"
#include "models/mmcst.h"  // both headers in one TU: their names must not clash (MMCST's localize uses ours)
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol::models {
namespace {

using test::kParityForwardTol;
using test::ParityFixture;

const ParityFixture& fixture() {
    static const ParityFixture f(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/localize/attention_maps.safetensors");
    return f;
}

std::vector<Tensor> attention(const std::string& prefix) {
    std::vector<Tensor> out;
    for (int l = 0; fixture().has(prefix + std::to_string(l)); ++l) out.push_back(fixture().at(prefix + std::to_string(l)));
    return out;
}

AttentionTokenLayout layout(const std::string& name) {
    const std::vector<double> v = fixture().at("layout." + name).to_vector();
    return AttentionTokenLayout{int64_t(v[0]), int64_t(v[1]), int64_t(v[2]), int64_t(v[3]), int64_t(v[4])};
}

std::vector<int> labels_of(const Tensor& row) {
    std::vector<int> out;
    const std::vector<double> v = row.to_vector();
    for (size_t c = 0; c < v.size(); ++c)
        if (v[c] > 0) out.push_back(static_cast<int>(c));
    return out;
}

TEST(AttentionMaps, ClassMapsMatchReference) {
    const Tensor cam = fixture().at("input.cam");
    struct Case {
        const char* name;
        const char* layout;
        int64_t k;
        AttentionMapType type;
        bool refine;
    };
    const Case cases[] = {
        {"fused_refine", "mct", 3, AttentionMapType::fused, true},
        {"fused_norefine", "mct", 3, AttentionMapType::fused, false},
        {"attention_refine", "mct", 3, AttentionMapType::attention, true},
        {"cam_refine", "mct", 3, AttentionMapType::cam, true},
        {"fused_k1", "mct", 1, AttentionMapType::fused, true},
        {"mmcst_fused_refine", "mmcst", 3, AttentionMapType::fused, true},
    };
    for (const Case& c : cases) {
        const auto attn = attention(std::string(c.layout) == "mct" ? "input.attn." : "input.attn_mmcst.");
        ASSERT_EQ(attn.size(), 4u);
        AttentionMapOptions opt;
        opt.class_blocks = c.k;
        opt.type = c.type;
        opt.patch_refine = c.refine;
        const Tensor maps = attention_class_maps(attn, layout(c.layout), cam, opt);
        fixture().expect(std::string("output.") + c.name, maps, kParityForwardTol);
    }
}

TEST(AttentionMaps, AttentionOnlyNeedsNoCam) {
    AttentionMapOptions opt;
    opt.type = AttentionMapType::attention;
    const Tensor maps = attention_class_maps(attention("input.attn."), layout("mct"), Tensor(), opt);
    fixture().expect("output.attention_refine", maps, kParityForwardTol);
}

TEST(AttentionMaps, ResultCarriesNoGradient) {
    Tensor cam = fixture().at("input.cam").clone().set_requires_grad(true);
    const Tensor maps = attention_class_maps(attention("input.attn."), layout("mct"), cam);
    EXPECT_FALSE(maps.requires_grad());
}

TEST(AttentionMaps, UpsampleAndLabelMask) {
    const Tensor maps = fixture().at("output.fused_refine");
    const Tensor up = upsample_label_maps(maps, 50, 67, fixture().at("input.labels"));
    fixture().expect("output.upsampled", up, kParityForwardTol);
}

// The driver with a stand-in network that returns the fixture's per-scale maps (checking it got the right batch).
ClassMapForward stored_passes(std::vector<int64_t>* seen_heights) {
    return [seen_heights](const Tensor& images) {
        EXPECT_EQ(images.dim(), 4);
        EXPECT_EQ(images.size(0), 2);
        const size_t s = seen_heights->size();
        seen_heights->push_back(images.size(2));
        return fixture().at("input.pass." + std::to_string(s));
    };
}

TEST(AttentionMaps, MctformerDriverMatchesReference) {
    const Tensor labels = fixture().at("input.labels").select(0, 0);
    std::vector<int64_t> heights;
    TestTimeOptions opt;  // scale 1.0 + flip, to_image
    const Tensor image = fixture().at("input.image");
    const Tensor sum = multiscale_flip_maps(image, stored_passes(&heights), labels_of(labels), opt);
    const Tensor norm = minmax_normalize_maps(sum, labels_of(labels));
    fixture().expect("output.mct_driver", norm, kParityForwardTol);
    EXPECT_EQ(heights, std::vector<int64_t>({50}));
}

TEST(AttentionMaps, IrnetDriverMatchesReference) {
    const Tensor labels = fixture().at("input.labels").select(0, 0);
    std::vector<int64_t> heights;
    TestTimeOptions opt;
    opt.scales = {1.0, 0.5, 1.5};
    opt.upsample = MapUpsample::strided_up_crop;
    const Tensor image = fixture().at("input.image");
    const Tensor sum = multiscale_flip_maps(image, stored_passes(&heights), labels_of(labels), opt);
    const Tensor norm = max_normalize_maps(sum, labels_of(labels));
    fixture().expect("output.irn_driver", norm, kParityForwardTol);
    // round(50 * 0.5) = 25, round(50 * 1.5) = 75
    EXPECT_EQ(heights, std::vector<int64_t>({50, 25, 75}));
}

TEST(AttentionMaps, PilBicubicRescaleMatchesPillow) {
    const Tensor image = fixture().at("input.image");
    const Tensor out = imagenet_pil_bicubic_rescale()(image, 25, 34);
    fixture().expect("output.rescaled", out, 1e-5);
}

TEST(AttentionMaps, FlipTestTimeAugmentationIsMirrorEquivariant) {
    // With flip on, the maps of the mirrored image are the mirrored maps of the image (for any network).
    const Tensor image = Tensor::randn({3, 8, 11});
    auto forward = [](const Tensor& images) {  // C = 2 "classes", not mirror-symmetric itself
        return mul(images.narrow(1, 0, 2), Tensor::arange(0, 11, 1, DType::f32).reshape({1, 1, 1, 11}));
    };
    const Tensor a = multiscale_flip_maps(image, forward, {0, 1});
    const Tensor b = multiscale_flip_maps(image.flip({2}), forward, {0, 1});
    EXPECT_LE(max(abs(sub(a.flip({2}), b))).item(), 1e-5);
    EXPECT_GT(max(abs(sub(a, a.flip({2})))).item(), 0.1);  // and the test can fail
}

TEST(AttentionMaps, NormalizationsZeroAbsentClasses) {
    const Tensor maps = Tensor::from_vector({1, 3, 2, 4, 5, 7, 6, 8}, {2, 2, 2});
    const Tensor mm = minmax_normalize_maps(maps, {1});
    const std::vector<double> expected{0, 0, 0, 0, 0, 2.0 / 3, 1.0 / 3, 1.0};  // classes 0 off, class 1 (5 7 6 8)
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(mm.to_vector()[i], expected[i], 1e-6) << i;
    EXPECT_EQ(mm.to_vector()[4], 0.0);
    const Tensor mx = max_normalize_maps(maps, {0});
    EXPECT_NEAR(mx.to_vector()[3], 4.0 / (4 + 1e-5), 1e-7);
    EXPECT_EQ(mx.to_vector()[4], 0.0);
    const Tensor bg = background_from_maps(Tensor::from_vector({0.5, 1.0, 0.25, 0.0}, {2, 1, 2}), 2.0);
    EXPECT_EQ(bg.to_vector(), std::vector<double>({0.25, 0.0}));
}

TEST(AttentionMaps, BadInputsName) {
    const auto attn = attention("input.attn.");
    const Tensor cam = fixture().at("input.cam");
    test::expect_error([&] { attention_class_maps({}, layout("mct"), cam); }, "attention_class_maps", {"no attention"});
    AttentionMapOptions k5;
    k5.class_blocks = 5;
    test::expect_error([&] { attention_class_maps(attn, layout("mct"), cam, k5); }, "attention_class_maps",
                       {"class_blocks 5", "[1, 4]"});
    AttentionTokenLayout big = layout("mct");
    big.grid_w = 9;
    test::expect_error([&] { attention_class_maps(attn, big, Tensor::zeros({2, 3, 3, 9})); }, "attention_class_maps",
                       {"does not fit T = 15"});
    test::expect_error([&] { attention_class_maps(attn, layout("mct"), Tensor()); }, "attention_class_maps",
                       {"'fused' needs cam", "none"});
    test::expect_error([&] { minmax_normalize_maps(Tensor::zeros({2, 3, 3}), {2}); }, "minmax_normalize_maps",
                       {"label 2 out of range for 2 classes"});
    test::expect_error([&] { attention_map_type_from_name("mct"); }, "attention map type", {"'mct'"});
    auto bad_forward = [](const Tensor& images) { return Tensor::zeros({1, 2, 3, 3}); };
    test::expect_error([&] { multiscale_flip_maps(Tensor::zeros({3, 4, 4}), bad_forward, {0}); },
                       "multiscale_flip_maps", {"N = 2", "[1, 2, 3, 3]"});
}

}  // namespace
}  // namespace wsdol::models
