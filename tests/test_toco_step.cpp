// test_toco_step.cpp — one whole ToCo and one whole DIAL training step on a reduced ViT (models/toco.h,
// models/toco_training.h) against tests/reference/toco/gen_toco_step.py (seed 0, ToCo e13514d9 + DIAL §3.8):
// the no-grad CAMs, the crop flags, the PAR-refined pseudo label, every loss term, the total, every parameter's
// gradient and the EMA teacher; the iteration-2,000 switch; ToCo's parameter names and groups; bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/schedule.h"
#include "models/toco.h"
#include "models/toco_infer.h"
#include "models/toco_training.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

using test::ParityFixture;

std::string step_fixture(bool dial) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/toco/" + (dial ? "dial_step" : "toco_step") + ".safetensors";
}

// The reduced configuration of gen_toco_step.py.
models::TocoConfig reduced(bool dial) {
    models::TocoConfig c;
    c.vit.image_size = 32;
    c.vit.patch_size = 8;
    c.vit.embed_dim = 32;
    c.vit.depth = 4;
    c.vit.num_heads = 4;
    c.num_classes = 5;
    c.decoder_dim = 16;
    c.ctc_hidden = 24;
    c.ctc_bottleneck = 8;
    c.ctc_out = 12;
    c.dial = dial;
    c.text_dim = 10;
    c.joint_dim = 12;
    return c;
}

models::TocoStepOptions reduced_options(bool dial) {
    models::TocoStepOptions o;
    o.local_crop_size = 16;
    o.energy.weight = 1.0;                         // the fixture's weight (ToCo: 1e-7)
    o.energy.filter = models::EnergyFilter::exact;  // the fixture's filter (ToCo: rloss's lattice)
    o.use_gia = o.use_lea = dial;
    return o;
}

struct StepRun {
    std::shared_ptr<models::TocoNet> net;
    models::TocoStepResult result;
};

StepRun run_step(const ParityFixture& fx, bool dial, int64_t step) {
    StepRun r;
    r.net = std::make_shared<models::TocoNet>(reduced(dial));
    r.net->load_state_dict(fx.state_dict());
    models::TocoBatch b;
    b.images = fx.at("input.images");
    b.cls_labels = fx.at("input.cls_labels");
    b.img_box = models::img_boxes_from_tensor(fx.at("input.box"));
    b.global_view = fx.at("input.global_view");
    b.local_view = fx.at("input.local_view");
    if (dial) {
        b.text_fg = fx.at("input.text_fg");
        b.text_bg = fx.at("input.text_bg");
    }
    auto perm = [&](int64_t i, int64_t n) {
        const Tensor p = fx.at("input.perm." + std::to_string(i));
        EXPECT_EQ(p.numel(), n) << "candidate count of image " << i;
        return p.to_vector_as<int64_t>();
    };
    r.result = models::toco_step_losses(*r.net, b, step, reduced_options(dial), perm);
    return r;
}

void expect_exact(const ParityFixture& fx, const std::string& key, const Tensor& actual) {
    const Tensor expected = fx.at(key);
    ASSERT_EQ(actual.shape(), expected.shape()) << key;
    const auto a = actual.to_vector(), e = expected.to_vector();
    int64_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff += a[i] != e[i];
    std::printf("[parity] %-10s %-28s %lld of %zu differ\n", fx.path().substr(fx.path().rfind('/') + 1).c_str(),
                key.c_str(), static_cast<long long>(diff), a.size());
    EXPECT_EQ(diff, 0) << key;
}

void check_whole_step(bool dial) {
    const ParityFixture fx(step_fixture(dial));
    StepRun r = run_step(fx, dial, 2001);
    const auto& res = r.result;
    fx.expect("output.cams", res.cams, test::kParityForwardTol);
    fx.expect("output.cams_aux", res.cams_aux, test::kParityForwardTol);
    expect_exact(fx, "output.flags", res.flags);
    expect_exact(fx, "output.refined", res.refined_label);
    EXPECT_EQ(res.terms.size(), dial ? 8u : 6u);
    for (const auto& [name, t] : res.terms) fx.expect("output." + name, t, test::kParityForwardTol);
    fx.expect("output.total", res.total, test::kParityForwardTol);
    res.total.backward();
    // Every trainable parameter's gradient; the frozen ones (pos_embed, weight_g, the teacher) have none.
    size_t in_file = 0, trainable = 0;
    for (const auto& [key, t] : io::load_safetensors(fx.path())) in_file += key.rfind("grad.param.", 0) == 0;
    for (const auto& [name, p] : r.net->named_parameters()) {
        if (!p.requires_grad()) {
            EXPECT_FALSE(fx.has("grad.param." + name)) << name << " is frozen here, trained in PyTorch";
            continue;
        }
        ++trainable;
        fx.expect("grad.param." + name, p.grad(), test::kParityGradTol);
    }
    EXPECT_EQ(trainable, in_file);
    for (const auto& [name, t] : r.net->proj_head_t->state_dict()) fx.expect("teacher." + name, t, test::kParityForwardTol);
}

TEST(TocoStep, WholeToCoStepParity) { check_whole_step(false); }
TEST(TocoStep, WholeDialStepParity) { check_whole_step(true); }

// ToCo's `if n_iter <= 2000`: seg and reg join the total from iteration 2001.
TEST(TocoStep, SegAndRegJoinAfterIteration2000) {
    const ParityFixture fx(step_fixture(false));
    const StepRun before = run_step(fx, false, 2000);
    const double expected = fx.at("output.total").item() - 0.1 * fx.at("output.seg").item() -
                            0.05 * fx.at("output.reg").item();
    EXPECT_NEAR(before.result.total.item(), expected, 1e-4 * (1 + std::abs(expected)));
    EXPECT_NEAR(before.result.term("seg").item(), fx.at("output.seg").item(), 1e-4);
}

TEST(TocoStep, ParamGroupsAsToCo) {
    models::TocoNet net(reduced(true));
    const auto g = net.param_groups();
    ASSERT_EQ(g.size(), 4u);
    size_t total = 0;
    for (const auto& v : g) total += v.size();
    size_t trainable = 0;
    for (const auto& [n, p] : net.named_parameters()) trainable += p.requires_grad();
    EXPECT_EQ(total, trainable);
    EXPECT_EQ(g[3].size(), 3u);  // conv6, conv7, conv8
    EXPECT_EQ(g[1].size(), 4u * 4u + 2u);  // norm1/norm2 weight+bias per block, final norm
    EXPECT_FALSE(net.encoder->pos_embed.requires_grad());
    EXPECT_FALSE(net.proj_head->weight_g.requires_grad());
}

// ToCo's PolyWarmupAdamW: AdamW + PolyWarmupLR stepped before each update, four groups (lr, lr, 10 lr, 10 lr,
// weight decay 0.01) against tests/reference/toco/gen_poly_warmup.py: the lr trace (exact to double rounding) and
// every parameter after each of 9 steps (two past max_iter, where the lr stays).
TEST(TocoOptim, PolyWarmupAdamWTraceParity) {
    const ParityFixture fx(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/toco/poly_warmup.safetensors");
    std::vector<optim::AdamW::Group> groups;
    std::vector<Tensor> params;
    for (int g = 0; g < 4; ++g) {
        Tensor p = fx.at("init." + std::to_string(g)).clone().set_requires_grad(true);
        params.push_back(p);
        optim::AdamWOptions o;
        o.lr = g < 2 ? 6e-3 : 6e-2;
        o.weight_decay = 0.01;
        groups.push_back({{{"p" + std::to_string(g), p}}, o});
    }
    optim::AdamW opt(groups);
    optim::PolyWarmupLR sched(opt, {3, 7, 1e-6, 0.9});
    const std::vector<double> lr = fx.at("lr").to_vector();
    for (int k = 0; k < 9; ++k) {
        for (int g = 0; g < 4; ++g) params[g].set_grad(fx.at("gradstep." + std::to_string(k) + "." + std::to_string(g)));
        sched.step();
        opt.step();
        for (int g = 0; g < 4; ++g) {
            EXPECT_NEAR(opt.lr(g), lr[k * 4 + g], 1e-15 * lr[k * 4 + g]) << "step " << k << " group " << g;
            fx.expect("param." + std::to_string(k) + "." + std::to_string(g), params[g], test::kParityForwardTol);
        }
    }
}

// Inference (tools/infer_seg_voc.py, tools/infer_cam.py) against tests/reference/toco/gen_toco_infer.py: the
// multi-scale + flip segmentation logits at an odd image size (36 x 44: int(H s) truncation) and the CAM seeds.
TEST(TocoInfer, SegmentationLogitsAndCamsParity) {
    const ParityFixture fx(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/toco/toco_infer.safetensors");
    models::TocoNet net(reduced(false));
    net.load_state_dict(fx.state_dict());
    const Tensor x = fx.at("input.image");
    fx.expect("output.seg_logits", models::toco_segment_logits(net, x), test::kParityForwardTol);
    auto [cams, aux] = models::toco_cam_maps(net, x, 32);
    fx.expect("output.cams", cams, test::kParityForwardTol);
    fx.expect("output.cams_aux", aux, test::kParityForwardTol);
    EXPECT_TRUE(net.is_training());  // restored after inference
}

// ToCo's released layout: model.state_dict() of the DDP-wrapped network ("module." prefix) with the encoder's
// unused ImageNet head; the size is read from the shapes and the cleaned dict loads strictly.
TEST(TocoInfer, ReleaseLayoutLoadsWithSizeFromShapes) {
    for (const bool dial : {false, true}) {
        const ParityFixture fx(step_fixture(dial));
        NamedTensors release;
        for (const auto& [n, t] : fx.state_dict()) release.emplace_back("module." + n, t);
        release.emplace_back("module.encoder.head.weight", Tensor::zeros({1000, 32}));
        release.emplace_back("module.encoder.head.bias", Tensor::zeros({1000}));
        const NamedTensors clean = models::toco_release_state_dict(release);
        const models::TocoConfig c = models::toco_config_from_state_dict(clean, "release.pth", 4);
        EXPECT_EQ(c.vit.embed_dim, 32);
        EXPECT_EQ(c.vit.depth, 4);
        EXPECT_EQ(c.vit.patch_size, 8);
        EXPECT_EQ(c.vit.image_size, 32);
        EXPECT_EQ(c.num_classes, 5);
        EXPECT_EQ(c.decoder_dim, 16);
        EXPECT_EQ(c.ctc_hidden, 24);
        EXPECT_EQ(c.ctc_bottleneck, 8);
        EXPECT_EQ(c.ctc_out, 12);
        EXPECT_EQ(c.dial, dial);
        EXPECT_EQ(c.vit.num_heads, 4);
        models::TocoNet net(c);
        EXPECT_TRUE(net.load_state_dict(clean, true).ok());
    }
    test::expect_error([] { (void)models::toco_config_from_state_dict({{"encoder.cls_token", Tensor::zeros({1, 1, 64})}}, "x.pth"); },
                       {"x.pth", "not a ToCo model_seg_neg state_dict", "encoder.patch_embed.proj.weight"});
}

TEST(TocoStep, BadInputsNameTheProblem) {
    models::TocoNet net(reduced(false));
    models::TocoBatch b;
    b.images = Tensor::zeros({2, 3, 32, 32});
    b.cls_labels = Tensor::zeros({2, 4});
    b.img_box = {{0, 32, 0, 32}};
    auto perm = [](int64_t, int64_t n) { return std::vector<int64_t>(static_cast<size_t>(n)); };
    test::expect_error([&] { (void)models::toco_step_losses(net, b, 0, reduced_options(false), perm); },
                       {"toco step", "1 img_box entries", "valid_box"});
    b.img_box = {{0, 32, 0, 32}, {0, 32, 0, 32}};
    test::expect_error([&] { (void)models::toco_step_losses(net, b, 0, reduced_options(false), perm); },
                       {"toco step", "CTC needs the second global view"});
    auto o = reduced_options(false);
    o.use_gia = true;
    b.global_view = b.local_view = Tensor::zeros({2, 3, 32, 32});
    test::expect_error([&] { (void)models::toco_step_losses(net, b, 0, o, perm); }, {"toco step", "GIA / LEA need"});
}

}  // namespace
}  // namespace wsdol
