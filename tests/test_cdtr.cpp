// test_cdtr.cpp — CDTR and TS-CAM against PyTorch restatements of their official code (tests/reference/cdtr/
// gen_cdtr.py: CDTR @ 86ff62ff, TS-CAM @ 25aece44): one whole training step each on a reduced DeiT — every
// intermediate map, every loss term, the BN statistics after the step, and the gradients of the total loss for
// every parameter and the images. Plus the losses' own properties (the broadcast MSE is not the per-image one,
// the area loss is a batch sum, the prompt-class quirk) and bad inputs.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/cdtr.h"
#include "models/clip.h"
#include "models/tscam.h"
#include "kernels/cpu/parallel.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

using models::Cdtr;
using models::CdtrConfig;
using test::kParityForwardTol;
using test::kParityGradTol;

std::string fixture(const std::string& name) { return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cdtr/" + name; }

models::ViTConfig reduced_vit() {
    models::ViTConfig v;
    v.image_size = 32;
    v.patch_size = 8;
    v.embed_dim = 32;
    v.depth = 5;
    v.num_heads = 2;
    v.num_classes = 3;
    return v;
}

TEST(Cdtr, TrainingStepMatchesPyTorch) {
    const test::ParityFixture f(fixture("cdtr_step.safetensors"));
    CdtrConfig cfg;
    cfg.vit = reduced_vit();
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    Cdtr model(cfg);
    ASSERT_EQ(model.ocm_blocks(), 2);
    model.load_state_dict(f.state_dict(), true);
    model.train();
    // the frozen CLIP image tower (eval, no gradients)
    models::ClipVisionTransformer clip(32, 8, 16, 1, 2, 8);
    NamedTensors clip_state;
    for (const auto& [name, t] : io::load_safetensors(f.path()))
        if (name.rfind("clip.", 0) == 0) clip_state.emplace_back(name.substr(5), t);
    clip.load_state_dict(clip_state, true);
    clip.eval();
    clip.requires_grad_(false);

    Tensor images = f.input("images");
    const Tensor labels = f.at("input.labels");
    models::CdtrOutput o = model.forward_cdtr(images);
    const Tensor obj = Cdtr::object_map(o, labels);
    const auto fgbg = models::cdtr_sba_images(obj, images);
    const Tensor text = f.at("input.text_features");
    const Tensor loss_clip = models::cdtr_sba_loss(clip.forward(fgbg[0]), clip.forward(fgbg[1]), text);
    const Tensor loss_x = cross_entropy(o.logits, labels), loss_att = cross_entropy(o.csm_logits, labels),
                 loss_dnc = cross_entropy(o.ski_logits, labels);
    const Tensor loss_area = models::cdtr_area_loss(o.m_ca, 0.25);
    const Tensor map_loss = models::cdtr_map_loss(o.m_ocm, o.m_ca, true);
    const Tensor awl = model.awl->total({loss_x, loss_att, loss_area, map_loss, loss_dnc});
    const Tensor total = add(awl, mul(loss_clip, 2.4));
    total.backward();

    const std::map<std::string, Tensor> outputs{
        {"logits", o.logits}, {"csm_logits", o.csm_logits}, {"ski_logits", o.ski_logits}, {"m_ca", o.m_ca},
        {"m_ocm", o.m_ocm}, {"x_out", o.x_out}, {"x_csm", o.x_csm}, {"object_map", obj},
        {"loss_x", loss_x}, {"loss_att", loss_att}, {"loss_area", loss_area}, {"map_loss", map_loss},
        {"loss_dnc", loss_dnc}, {"loss_clip", loss_clip}, {"awl", awl}, {"total", total}};
    for (const auto& [name, t] : outputs) f.expect("output." + name, t.detach(), kParityForwardTol);
    {  // the SKI offsets, recomputed from the same inputs
        NoGradGuard ng;
        f.expect("output.offset", model.conv_offset->forward(mul(o.x_out, o.m_ca.unsqueeze(1))), kParityForwardTol);
    }
    f.expect_gradients(model, {{"images", images}});
    for (const auto& [name, t] : model.named_buffers())
        if (name.find("running") != std::string::npos) f.expect("after." + name, t, kParityForwardTol);
}

// The same step through cdtr_step_losses (what the "cdtr" method calls): the same terms and total, the same gradients.
TEST(Cdtr, StepLossesMatchPyTorch) {
    const test::ParityFixture f(fixture("cdtr_step.safetensors"));
    CdtrConfig cfg;
    cfg.vit = reduced_vit();
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    Cdtr model(cfg);
    model.load_state_dict(f.state_dict(), true);
    model.train();
    models::ClipVisionTransformer clip(32, 8, 16, 1, 2, 8);
    NamedTensors clip_state;
    for (const auto& [name, t] : io::load_safetensors(f.path()))
        if (name.rfind("clip.", 0) == 0) clip_state.emplace_back(name.substr(5), t);
    clip.load_state_dict(clip_state, true);
    clip.eval();
    clip.requires_grad_(false);
    Tensor images = f.input("images");
    // B = C = 3 and the prompt of position i names class i: the fixture's per-position text features are the
    // class prompt features in class order
    const models::CdtrStepLosses s = models::cdtr_step_losses(
        model, images, f.at("input.labels"), models::CdtrLossOptions{},
        [&](const Tensor& x) { return clip.forward(x); }, 32, f.at("input.text_features"));
    s.total.backward();
    const std::map<std::string, std::string> names{{"cls", "loss_x"},      {"csm", "loss_att"}, {"ocm_s", "loss_area"},
                                                   {"ocm_a", "map_loss"},  {"ski", "loss_dnc"}, {"sba", "loss_clip"}};
    ASSERT_EQ(s.terms.size(), names.size());
    for (const auto& [name, t] : s.terms) f.expect("output." + names.at(name), t.detach(), kParityForwardTol);
    f.expect("output.total", s.total.detach(), kParityForwardTol);
    f.expect_gradients(model, {{"images", images}});
    test::expect_error([&] { models::cdtr_step_losses(model, images, Tensor::from_vector({0, 3, 1}, {3}, DType::i64), {}); },
                       {"cdtr", "class id 3", "3 classes"});
    test::expect_error([&] {
        models::cdtr_step_losses(model, images, f.at("input.labels"), {}, [&](const Tensor& x) { return clip.forward(x); },
                                 32, Tensor::zeros({2, 8}));
    }, {"cdtr", "prompt features", "[2, 8]"});
}

// A state_dict with the official names (the fixture's, from the restatement of CDTR's code) gives its configuration.
TEST(Cdtr, ConfigurationFromOfficialStateDict) {
    const test::ParityFixture f(fixture("cdtr_step.safetensors"));
    const CdtrConfig c = models::cdtr_config_from_state_dict(f.state_dict(), "cdtr", 16);  // 2 heads of 16
    EXPECT_EQ(c.num_classes, 3);
    EXPECT_EQ(c.vit.embed_dim, 32);
    EXPECT_EQ(c.vit.patch_size, 8);
    EXPECT_EQ(c.vit.image_size, 32);
    EXPECT_EQ(c.vit.depth, 5);
    EXPECT_EQ(c.vit.num_heads, 2);
    EXPECT_EQ(c.csm_base, 2);
    EXPECT_EQ(c.ocm_blocks, 2);
    EXPECT_TRUE(c.ski);
    Cdtr rebuilt(c);
    EXPECT_NO_THROW(rebuilt.load_state_dict(f.state_dict(), true));  // every name and shape fits
    NamedTensors missing;
    for (const auto& [n, t] : f.state_dict())
        if (n != "head.weight") missing.emplace_back(n, t);
    test::expect_error([&] { models::cdtr_config_from_state_dict(missing, "infer"); },
                       {"infer", "not a CDTR state_dict", "head.weight"});
}

TEST(Tscam, TrainingStepMatchesPyTorch) {
    const test::ParityFixture f(fixture("tscam_step.safetensors"));
    models::Tscam model(reduced_vit());
    model.load_state_dict(f.state_dict(), true);
    model.train();
    Tensor images = f.input("images");
    models::TscamOutput o = model.forward_tscam(images);
    const Tensor loss = models::Tscam::loss(o, f.at("input.labels"));
    loss.backward();
    f.expect("output.logits", o.logits.detach(), kParityForwardTol);
    f.expect("output.x_out", o.x_out.detach(), kParityForwardTol);
    f.expect("output.cams", models::Tscam::cams(o).detach(), kParityForwardTol);
    f.expect("output.loss", loss.detach(), kParityForwardTol);
    f.expect_gradients(model, {{"images", images}});
}

TEST(Tscam, ConfigurationFromOfficialStateDict) {
    const test::ParityFixture f(fixture("tscam_step.safetensors"));
    const models::ViTConfig v = models::tscam_config_from_state_dict(f.state_dict(), "tscam", 16);
    EXPECT_EQ(v.num_classes, 3);
    EXPECT_EQ(v.embed_dim, 32);
    EXPECT_EQ(v.num_heads, 2);
    EXPECT_EQ(v.depth, 5);
    EXPECT_EQ(v.image_size, 32);
    models::Tscam rebuilt(v);
    EXPECT_NO_THROW(rebuilt.load_state_dict(f.state_dict(), true));
    test::expect_error([&] { models::tscam_config_from_state_dict({}, "infer"); }, {"infer", "not a TS-CAM", "patch_embed"});
}

// The evaluation protocols end to end (eval mode, the initial weights) against the official code with OpenCV:
// CDTR's top-1 fused map and TS-CAM's GT-class map, their boxes at the protocol threshold and at 0.6.
TEST(Cdtr, PredictMatchesEvaluateOur) {
    const test::ParityFixture f(fixture("cdtr_step.safetensors"));
    CdtrConfig cfg;
    cfg.vit = reduced_vit();
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    Cdtr model(cfg);
    model.load_state_dict(f.state_dict(), true);
    model.train();  // predict switches to eval itself and back
    const Tensor images = f.at("input.images");
    const std::vector<double> box = f.at("eval.box").to_vector(), box_hi = f.at("eval.box_hi").to_vector();
    std::vector<Tensor> scores, maps;
    for (int64_t b = 0; b < images.size(0); ++b) {
        const models::WsolPrediction p = models::cdtr_predict(model, images.select(0, b), 0.2);
        const models::WsolPrediction q = models::cdtr_predict(model, images.select(0, b), 0.6);
        scores.push_back(p.scores);
        maps.push_back(p.maps);
        EXPECT_EQ(p.box_class, int(argmax(p.scores, 0).item()));
        EXPECT_EQ(p.box, (eval::Box{int64_t(box[4 * b]), int64_t(box[4 * b + 1]), int64_t(box[4 * b + 2]),
                                    int64_t(box[4 * b + 3])})) << "image " << b;
        EXPECT_EQ(q.box, (eval::Box{int64_t(box_hi[4 * b]), int64_t(box_hi[4 * b + 1]), int64_t(box_hi[4 * b + 2]),
                                    int64_t(box_hi[4 * b + 3])})) << "image " << b;
    }
    f.expect("eval.logits", stack(scores, 0), kParityForwardTol);
    f.expect("eval.maps", stack(maps, 0), kParityForwardTol);
    EXPECT_TRUE(model.is_training());
}

TEST(Tscam, PredictMatchesEvaluateClsLoc) {
    const test::ParityFixture f(fixture("tscam_step.safetensors"));
    models::Tscam model(reduced_vit());
    model.load_state_dict(f.state_dict(), true);
    const Tensor images = f.at("input.images");
    const std::vector<double> labels = f.at("input.labels").to_vector();
    const std::vector<double> box = f.at("eval.box").to_vector(), box_hi = f.at("eval.box_hi").to_vector();
    std::vector<Tensor> maps;
    for (int64_t b = 0; b < images.size(0); ++b) {
        const int gt = int(labels[size_t(b)]);
        const models::WsolPrediction p = models::tscam_predict(model, images.select(0, b), gt, 0.1);
        const models::WsolPrediction q = models::tscam_predict(model, images.select(0, b), gt, 0.6);
        maps.push_back(p.maps);
        EXPECT_EQ(p.box_class, gt);
        EXPECT_EQ(p.box, (eval::Box{int64_t(box[4 * b]), int64_t(box[4 * b + 1]), int64_t(box[4 * b + 2]),
                                    int64_t(box[4 * b + 3])})) << "image " << b;
        EXPECT_EQ(q.box, (eval::Box{int64_t(box_hi[4 * b]), int64_t(box_hi[4 * b + 1]), int64_t(box_hi[4 * b + 2]),
                                    int64_t(box_hi[4 * b + 3])})) << "image " << b;
    }
    f.expect("eval.maps", stack(maps, 0), kParityForwardTol);
    test::expect_error([&] { models::tscam_predict(model, images.select(0, 0), 3); }, {"tscam_predict", "class 3"});
}

// A seeded CDTR (random init, drop-path on) gives the same loss and gradients, bit for bit, on 1 and 2 threads.
TEST(Cdtr, SameBitsForAnyThreadCount) {
    CdtrConfig cfg;
    cfg.vit = reduced_vit();
    cfg.vit.drop_path_rate = 0.1;
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    const int previous = cpu::num_threads();
    auto run = [&](int threads) {
        cpu::set_num_threads(threads);
        Generator gen(5);
        Cdtr model(cfg, &gen);
        model.train();
        Generator data(6);
        const Tensor images = Tensor::randn({4, 3, 32, 32}, DType::f32, &data);
        const Tensor ids = Tensor::from_vector({0, 1, 2, 1}, {4}, DType::i64);
        const models::CdtrStepLosses s = models::cdtr_step_losses(model, images, ids, {});
        s.total.backward();
        std::vector<std::vector<double>> out{s.total.detach().to_vector()};
        for (const auto& [name, p] : model.named_parameters()) out.push_back(p.grad().to_vector());
        return out;
    };
    const auto a = run(1), b = run(2);
    cpu::set_num_threads(previous);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "tensor " << i;
}

TEST(CdtrLosses, BroadcastMseIsTheBatchMeanTarget) {
    // (B, 1, g, g) vs (B, g, g): each m_ocm[i] is compared with every m_ca[j]
    const Tensor ocm = Tensor::from_vector({0.0, 1.0}, {2, 1, 1, 1}, DType::f64);
    const Tensor ca = Tensor::from_vector({0.0, 3.0}, {2, 1, 1}, DType::f64);
    // broadcast: mean((0-0)^2, (0-3)^2, (1-0)^2, (1-3)^2) = (0 + 9 + 1 + 4) / 4; per image: (0 + 4) / 2
    EXPECT_DOUBLE_EQ(models::cdtr_map_loss(ocm, ca, true).item(), 14.0 / 4.0);
    EXPECT_DOUBLE_EQ(models::cdtr_map_loss(ocm, ca, false).item(), 2.0);
}

TEST(CdtrLosses, AreaLossIsABatchSumOfKeptValuesOverN) {
    // 2 images of 2x2: p = 0.25 -> theta = sorted[1]; values > theta are dropped
    const Tensor m = Tensor::from_vector({4, 1, 3, 2, /**/ 0.5, 0.5, 9, 0.25}, {2, 2, 2}, DType::f64);
    // image 0: sorted 1 2 3 4, theta 2 -> keep 1 + 2; image 1: sorted .25 .5 .5 9, theta .5 -> keep .5 + .5 + .25
    EXPECT_DOUBLE_EQ(models::cdtr_area_loss(m, 0.25).item(), (3.0 + 1.25) / 4.0);
}

TEST(CdtrLosses, PromptClassesFollowBatchPosition) {
    const Tensor labels = Tensor::from_vector({2, 2, 0, 1, 1}, {5}, DType::i64);
    EXPECT_EQ(models::cdtr_prompt_classes(labels, 3, true).to_vector(), (std::vector<double>{0, 1, 2, 0, 1}));
    EXPECT_EQ(models::cdtr_prompt_classes(labels, 3, false).to_vector(), labels.to_vector());
}

TEST(CdtrLosses, AutomaticWeightingAtInit) {
    models::AutomaticWeightedLoss awl(2);
    const Tensor l1 = Tensor::full({}, 2.0), l2 = Tensor::full({}, 4.0);
    // 0.5 / 1 * 2 + log 2 + 0.5 * 4 + log 2
    EXPECT_NEAR(awl.total({l1, l2}).item(), 3.0 + 2.0 * std::log(2.0), 1e-6);
    test::expect_error([&] { awl.total({l1}); }, {"AutomaticWeightedLoss", "1 losses for 2 weights"});
}

TEST(Cdtr, BadConfigurationsAndInputs) {
    CdtrConfig cfg;
    cfg.vit = reduced_vit();
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    cfg.vit.image_size = 24;  // 3x3 grid: CSM cannot pool
    test::expect_error([&] { Cdtr m(cfg); }, {"CDTR", "grid must be even"});
    cfg.vit.image_size = 32;
    cfg.ocm_blocks = 9;
    test::expect_error([&] { Cdtr m(cfg); }, {"CDTR", "K = 9", "depth 5"});
    cfg.ocm_blocks = -1;
    Cdtr m(cfg);
    test::expect_error([&] { m.forward_cdtr(Tensor::zeros({1, 3, 40, 40})); }, {"CDTR", "[1, 3, 40, 40]"});
    models::CdtrOutput o;
    {
        NoGradGuard ng;
        o = m.forward_cdtr(Tensor::zeros({2, 3, 32, 32}));
    }
    test::expect_error([&] { Cdtr::object_map(o, Tensor::zeros({3}, DType::i64)); }, {"object_map", "B = 2"});
}

}  // namespace
}  // namespace wsdol
