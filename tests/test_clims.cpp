// test_clims.cpp — CLIMS parity (models/clims_losses.h, models/clims.h) against the PyTorch restatement of
// CVI-SZU/CLIMS f9546d32 in tests/reference/clims/gen_clims.py (fixtures written there, seed 20261207): the
// stage-1 losses with the clamp's zero gradient, the camera-ready variant, the fg/bg composition, one whole
// stage-1 step through a frozen CLIP with a ViT and with a ModifiedResNet image tower, the stage-2 maps, and the
// PolyOptimizer learning-rate / parameter trace. Tolerances: tests/parity_util.h (forward 1e-4 (1 + |b|),
// gradients 1e-3 (1 + |b|)).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/data/cam_npy.h"
#include "engine/eval/seg_metrics.h"
#include "engine/ops/ops.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
#include "kernels/cpu/parallel.h"
#include "error_matchers.h"
#include "models/clims.h"
#include "models/clims_losses.h"
#include "models/clims_setup.h"
#include "engine/data/synth.h"
#include "engine/io/safetensors.h"
#include "parity_util.h"

namespace wsdol {
namespace {

using test::kParityForwardTol;
using test::kParityGradTol;
using test::ParityFixture;

std::string read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string clims_fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/clims/" + name;
}

Tensor grad_input(const ParityFixture& f, const std::string& key) {
    Tensor t = f.at(key).clone();
    t.set_requires_grad(true);
    return t;
}

// ---------------------------------------------------------------- losses

TEST(Clims, SimMaxSimMinClampAndItsZeroGradient) {
    const ParityFixture f(clims_fixture("clims_losses.safetensors"));
    for (const bool is_max : {true, false}) {
        const std::string name = is_max ? "sim_max" : "sim_min";
        Tensor x = grad_input(f, "sim.x");
        const Tensor y = is_max ? models::clims_sim_max(x) : models::clims_sim_min(x);
        f.expect(name + ".output", y, kParityForwardTol);
        y.backward();
        f.expect(name + ".grad", x.grad(), kParityGradTol);
        // outside [1e-4, 0.9999] the gradient is exactly zero: x = -0.3, 0, 5e-5, 0.99995, 1.2
        const std::vector<double> g = x.grad().to_vector();
        for (size_t i : {0u, 1u, 2u, 7u, 8u}) EXPECT_EQ(g[i], 0.0) << name << " x[" << i << "]";
        for (size_t i : {3u, 4u, 5u, 6u}) EXPECT_NE(g[i], 0.0) << name << " x[" << i << "]";
    }
}

models::ClimsLossInputs loss_inputs(const ParityFixture& f, const std::string& prefix, std::vector<Tensor>& held) {
    held = {grad_input(f, prefix + "input.fg_features"), grad_input(f, prefix + "input.bg_features"),
            grad_input(f, prefix + "input.pair_text"), grad_input(f, prefix + "input.background_text"),
            grad_input(f, prefix + "input.maps")};
    models::ClimsLossInputs in;
    in.fg_features = held[0];
    in.bg_features = held[1];
    in.pair_text = held[2];
    in.background_text = held[3];
    in.maps = held[4];
    return in;
}

const std::vector<std::string> kInputNames = {"fg_features", "bg_features", "pair_text", "background_text", "maps"};

TEST(Clims, ImprovedLossesEveryTermAndGradient) {
    const ParityFixture f(clims_fixture("clims_losses.safetensors"));
    for (const std::string term : {"otm", "btm", "cbs", "reg", "total"}) {
        std::vector<Tensor> held;
        const models::ClimsLossInputs in = loss_inputs(f, "", held);
        models::ClimsLossOptions o;  // improved, weights 10, 24, 1, 0.2, threshold 0.26
        const models::ClimsLossValues v = models::clims_losses(in, o);
        if (term == "otm") {
            f.expect("output.s_oo", v.s_oo, kParityForwardTol);
            f.expect("output.s_bo", v.s_bo, kParityForwardTol);
        }
        const Tensor t = term == "otm" ? v.otm : term == "btm" ? v.btm : term == "cbs" ? v.cbs
                        : term == "reg" ? v.reg : v.total;
        f.expect("output." + term, t, kParityForwardTol);
        t.backward();
        for (size_t i = 0; i < kInputNames.size(); ++i) {
            const Tensor g = held[i].grad().defined() ? held[i].grad() : Tensor::zeros(held[i].shape());
            f.expect("grad." + term + "." + kInputNames[i], g, kParityGradTol);
        }
    }
}

TEST(Clims, CameraReadyVariant) {
    const ParityFixture f(clims_fixture("clims_losses.safetensors"));
    std::vector<Tensor> held;
    models::ClimsLossInputs in = loss_inputs(f, "camera.", held);
    const std::vector<double> pc = f.at("camera.pair_class").to_vector();
    in.pair_class.assign(pc.begin(), pc.end());
    models::ClimsLossOptions o;
    o.variant = models::ClimsVariant::camera_ready;
    o.weights = models::clims_default_weights(o.variant);
    EXPECT_EQ(o.weights.btm, 25.0);
    EXPECT_EQ(o.weights.cbs, 29.5);
    o.class_background = {{0, 1}, {}, {1, 2, 3}};
    o.class_weight = {1.0, 3.0, 1.0};
    const models::ClimsLossValues v = models::clims_losses(in, o);
    f.expect("camera.output.otm", v.otm, kParityForwardTol);
    f.expect("camera.output.btm", v.btm, kParityForwardTol);
    f.expect("camera.output.cbs", v.cbs, kParityForwardTol);
    f.expect("camera.output.reg", v.reg, kParityForwardTol);
    f.expect("camera.output.total", v.total, kParityForwardTol);
    v.total.backward();
    for (size_t i = 0; i < kInputNames.size(); ++i)
        f.expect("camera.grad.total." + kInputNames[i], held[i].grad(), kParityGradTol);
}

TEST(Clims, CameraReadyPromptSets) {
    models::ClimsLossOptions o;
    const std::vector<std::string> names = {"boat", "sofa", "train", "cat"};
    const std::vector<std::string> prompts = models::clims_camera_ready_prompts(names, o);
    ASSERT_EQ(prompts.size(), 9u);
    EXPECT_EQ(prompts[0], "a photo of river");
    EXPECT_EQ(o.class_background[0], (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(o.class_background[2], (std::vector<int>{5, 6, 7, 8}));
    EXPECT_TRUE(o.class_background[3].empty());
    EXPECT_EQ(o.class_weight, (std::vector<double>{1, 3, 1, 1}));
}

TEST(Clims, LossErrors) {
    models::ClimsLossInputs in;
    in.fg_features = Tensor::randn({3, 4});
    in.bg_features = Tensor::randn({2, 4});
    in.pair_text = Tensor::randn({3, 4});
    in.background_text = Tensor::randn({2, 4});
    in.maps = Tensor::rand({1, 2, 2, 2});
    test::expect_error([&] { models::clims_losses(in, {}); }, {"clims losses", "bg_features", "[2, 4]"});
    in.bg_features = Tensor::randn({3, 4});
    in.background_text = Tensor::randn({2, 5});
    test::expect_error([&] { models::clims_losses(in, {}); }, {"background_text", "[2, 5]"});
    test::expect_error([] { models::clims_variant_from_name("paper"); }, {"clims", "paper", "camera_ready"});
    models::ClimsLossOptions cr;
    cr.variant = models::ClimsVariant::camera_ready;
    cr.class_background = {{0}};
    test::expect_error([&] { models::clims_losses(in, cr); }, {"clims losses", "pair_class", "3 pairs"});
}

// ---------------------------------------------------------------- composition

TEST(Clims, ComposeAlignCornersResizesAndPairs) {
    const ParityFixture f(clims_fixture("clims_compose.safetensors"));
    Tensor maps = f.input("maps"), images = f.input("images");
    const models::ClimsComposition c = models::clims_compose(maps, images, f.at("input.labels"), 16);
    const std::vector<double> pairs = f.at("output.pairs").to_vector();  // (N, 2) image, class
    ASSERT_EQ(c.pair_image.size() * 2, pairs.size());
    for (size_t j = 0; j < c.pair_image.size(); ++j) {
        EXPECT_EQ(c.pair_image[j], pairs[2 * j]);
        EXPECT_EQ(c.pair_class[j], pairs[2 * j + 1]);
    }
    f.expect_outputs({{"fg", c.fg}, {"bg", c.bg}, {"pairs", f.at("output.pairs")}});
    f.loss({{"fg", c.fg}, {"bg", c.bg}}).backward();
    f.expect("grad.input.maps", maps.grad(), kParityGradTol);
    f.expect("grad.input.images", images.grad(), kParityGradTol);
    test::expect_error([&] { models::clims_compose(maps, images, Tensor::zeros({2, 3}), 16); },
                       {"clims_compose", "no positive"});
    test::expect_error([&] { models::clims_compose(maps, images, Tensor::zeros({2, 4}), 16); },
                       {"clims_compose", "labels", "[2, 4]"});
}

// ---------------------------------------------------------------- one stage-1 step

models::ClimsConfig reduced_config() {
    models::ClimsConfig cfg = models::clims_config(3);
    cfg.resnet.width = 4;
    cfg.resnet.layers = {1, 1, 1, 1};
    return cfg;
}

NamedTensors prefixed(const ParityFixture& f, const std::string& prefix) {
    NamedTensors out;
    for (const auto& [name, t] : io::load_safetensors(f.path()))
        if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), t);
    return out;
}

void check_step(const std::string& file) {
    const ParityFixture f(clims_fixture(file));
    models::ClimsNetwork net(reduced_config());
    models::load_clims_state(net, f.state_dict(), f.path());
    const NamedTensors clip_state = prefixed(f, "clip.");
    models::Clip clip(models::clip_config_from_state_dict(clip_state, 16));
    clip.load_state_dict(clip_state, true);
    models::freeze_clip(clip);

    models::ClimsTextBank text;
    text.class_text = models::frozen_text_features(clip, f.at("input.class_ids"));
    text.background_text = models::frozen_text_features(clip, f.at("input.background_ids"));
    f.expect("output.class_text", text.class_text, kParityForwardTol);
    f.expect("output.background_text", text.background_text, kParityForwardTol);

    net.train(true);
    const models::ClimsStepOutput o =
        models::clims_step(net, clip, text, f.at("input.images"), f.at("input.labels"), models::ClimsLossOptions{});
    f.expect("output.maps", o.maps, kParityForwardTol);
    f.expect("output.fg_features", o.fg_features, kParityForwardTol);
    f.expect("output.bg_features", o.bg_features, kParityForwardTol);
    f.expect("output.s_oo", o.losses.s_oo, kParityForwardTol);
    f.expect("output.s_bo", o.losses.s_bo, kParityForwardTol);
    f.expect("output.otm", o.losses.otm, kParityForwardTol);
    f.expect("output.btm", o.losses.btm, kParityForwardTol);
    f.expect("output.cbs", o.losses.cbs, kParityForwardTol);
    f.expect("output.reg", o.losses.reg, kParityForwardTol);
    f.expect("output.total", o.losses.total, kParityForwardTol);
    o.losses.total.backward();

    // every trainable parameter of the CAM network (conv1 / bn1 are frozen and absent from the file)
    size_t in_file = 0, trainable = 0;
    for (const auto& [name, t] : io::load_safetensors(f.path())) in_file += name.rfind("grad.param.", 0) == 0;
    for (const auto& [name, p] : net.named_parameters()) {
        if (!p.requires_grad()) {
            EXPECT_FALSE(p.grad().defined()) << name << " is frozen but got a gradient";
            continue;
        }
        ++trainable;
        f.expect("grad.param." + name, p.grad(), kParityGradTol);
    }
    EXPECT_EQ(trainable, in_file);
    // train-mode BN updated its running statistics exactly as PyTorch's
    for (const auto& [name, b] : net.named_buffers())
        if (f.has("after." + name)) f.expect("after." + name, b, kParityForwardTol);
    for (const auto& [name, p] : clip.named_parameters()) EXPECT_FALSE(p.grad().defined()) << "CLIP " << name;
}

TEST(Clims, StageOneStepThroughFrozenClipViT) { check_step("clims_step_vit.safetensors"); }
TEST(Clims, StageOneStepThroughFrozenClipResNet) { check_step("clims_step_rn.safetensors"); }

// A fixed input gives the same bits for any thread count: maps, every loss term and every gradient.
TEST(Clims, StepIsBitIdenticalAcrossThreadCounts) {
    const ParityFixture f(clims_fixture("clims_step_rn.safetensors"));
    const NamedTensors clip_state = prefixed(f, "clip.");
    auto run = [&](int threads) {
        const int before = cpu::num_threads();
        cpu::set_num_threads(threads);
        models::ClimsNetwork net(reduced_config());
        models::load_clims_state(net, f.state_dict(), f.path());
        models::Clip clip(models::clip_config_from_state_dict(clip_state, 16));
        clip.load_state_dict(clip_state, true);
        models::freeze_clip(clip);
        models::ClimsTextBank text{models::frozen_text_features(clip, f.at("input.class_ids")),
                                   models::frozen_text_features(clip, f.at("input.background_ids"))};
        net.train(true);
        const models::ClimsStepOutput o = models::clims_step(net, clip, text, f.at("input.images"),
                                                             f.at("input.labels"), models::ClimsLossOptions{});
        o.losses.total.backward();
        std::vector<std::vector<double>> out = {o.maps.to_vector(), o.losses.total.to_vector()};
        for (const auto& [name, p] : net.named_parameters())
            if (p.grad().defined()) out.push_back(p.grad().to_vector());
        cpu::set_num_threads(before);
        return out;
    };
    const auto a = run(1), b = run(2);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "tensor " << i;
}

TEST(Clims, StageZeroCheckpointErrorsNameTheFile) {
    models::ClimsNetwork net(reduced_config());
    NamedTensors state = net.state_dict();
    state.pop_back();  // classifier.weight
    test::expect_error([&] { models::load_clims_state(net, state, "some/res50_cam.pth"); },
                       {"some/res50_cam.pth", "missing", "classifier.weight"});
    NamedTensors other = net.state_dict();
    other.emplace_back("vit.cls_token", Tensor::zeros({1, 1, 8}));
    test::expect_error([&] { models::load_clims_state(net, other, "vit.safetensors"); },
                       {"vit.safetensors", "unexpected", "vit.cls_token"});
    models::ClimsConfig five = reduced_config();
    five.num_classes = 5;
    models::ClimsNetwork wider(five);
    test::expect_error([&] { models::load_clims_state(wider, net.state_dict(), "c3.pth"); },
                       {"c3.pth", "classifier.weight", "shape"});
}

TEST(Clims, StageZeroFileWsdolCheckpointAndWrongNetworks) {
    models::ClimsNetwork a(reduced_config()), b(reduced_config());
    for (auto& [name, t] : a.state_dict())
        if (is_floating(t.dtype())) {
            NoGradGuard ng;
            t.copy_(Tensor::randn(t.shape()));
        }
    // a wsdol training checkpoint of the stage-0 CAM network: "model.<name>" plus optimizer state
    NamedTensors file;
    for (const auto& [name, t] : a.state_dict()) file.emplace_back("model." + name, t);
    file.emplace_back("optim.classifier.weight.momentum_buffer", Tensor::zeros({3, 128, 1, 1}));
    const std::string path = ::testing::TempDir() + "clims_stage0.safetensors";
    io::save_safetensors(path, file);
    models::load_clims_stage0_file(b, path);
    for (const auto& [name, t] : b.state_dict()) {
        const auto& ref =
            *std::find_if(file.begin(), file.end(), [&](const auto& kv) { return kv.first == "model." + name; });
        EXPECT_EQ(t.to_vector(), ref.second.to_vector()) << name;
    }
    // a torchvision classifier is not a stage-0 CAM network; a ViT file is not a CLIP
    const std::string tv = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/resnet.safetensors";
    test::expect_error([&] { models::load_clims_stage0_file(b, tv); }, {"clims", tv, "missing"});
    test::expect_error([&] { models::load_clims_clip(tv); }, {tv});
    test::expect_error([&] { models::load_clims_stage0_file(b, "/nonexistent/res50_cam.pth"); },
                       {"/nonexistent/res50_cam.pth"});
}

TEST(Clims, Prompts) {
    const std::vector<std::string> voc = {
        "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",   "car",  "cat",   "chair",    "cow",
        "diningtable", "dog",   "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
    EXPECT_EQ(models::clims_class_prompt_names(voc), models::clims_voc_prompt_names());
    EXPECT_EQ(models::clims_background_prompts("auto", voc), models::clims_voc_background_prompts());
    const std::vector<std::string> synth = data::synth_class_names(4);
    const std::vector<std::string> bg = models::clims_background_prompts("auto", synth);
    ASSERT_EQ(bg.size(), data::synth_background_names().size());
    EXPECT_EQ(bg[0], "a photo of " + data::synth_background_names()[0] + ".");
    EXPECT_EQ(models::clims_background_prompts("sea, rocks", synth),
              (std::vector<std::string>{"a photo of sea.", "a photo of rocks."}));
    test::expect_error([&] { models::clims_background_prompts("auto", {"a", "b"}); }, {"clims", "backgrounds"});
    EXPECT_EQ(models::clims_class_prompt_names({"traffic_light"}), (std::vector<std::string>{"traffic light"}));
}

// ---------------------------------------------------------------- stage 2

TEST(Clims, StageTwoStridedAndHighResMaps) {
    const ParityFixture f(clims_fixture("clims_stage2.safetensors"));
    models::ClimsNetwork net(reduced_config());
    models::load_clims_state(net, f.state_dict(), f.path());
    const Tensor image = f.at("input.image");
    const std::vector<int> labels = {2, 0};
    // the reduction alone, from PyTorch's per-scale CAMs
    std::vector<Tensor> scale_cams;
    for (int i = 0; i < 4; ++i) scale_cams.push_back(f.at("output.scale_cam." + std::to_string(i)));
    const models::ClimsStage2Maps r = models::clims_stage2_reduce(scale_cams, image.size(1), image.size(2), labels);
    EXPECT_EQ(r.keys, (std::vector<int64_t>{0, 2}));
    f.expect("output.strided", r.strided, kParityForwardTol);
    f.expect("output.high_res", r.high_res, kParityForwardTol);
    // the whole of make_clims: PIL bicubic rescales, eval-mode network, flip, reduction
    const models::ClimsStage2Maps m = models::clims_stage2_maps(net, image, labels);
    EXPECT_EQ(m.keys, (std::vector<int64_t>{0, 2}));
    EXPECT_EQ(m.strided.shape(), (Shape{2, 10, 12}));  // ceil(37 / 4), ceil(45 / 4)
    EXPECT_EQ(m.high_res.shape(), (Shape{2, 37, 45}));
    f.expect("output.strided", m.strided, kParityForwardTol);
    f.expect("output.high_res", m.high_res, kParityForwardTol);
    EXPECT_TRUE(net.is_training());  // restored after inference
    const data::IrnCamFile file = models::clims_irn_cam_file(m);
    EXPECT_EQ(file.keys.to_vector(), (std::vector<double>{0, 2}));
    EXPECT_EQ(file.keys.dtype(), DType::i64);
    EXPECT_EQ(file.cam.shape(), m.strided.shape());
    EXPECT_GT(data::irn_cam_npy_bytes(file).size(), 4u * (2 * 10 * 12 + 2 * 37 * 45));
    test::expect_error([&] { models::clims_stage2_maps(net, image, {3}); }, {"clims stage 2", "label 3"});
}

TEST(Clims, SeedLabelsAndMiouAsEvalCam) {
    const ParityFixture f(clims_fixture("clims_stage2.safetensors"));
    models::ClimsStage2Maps m;
    m.keys = {0, 2};
    m.high_res = f.at("output.high_res");
    const int64_t H = m.high_res.size(1), W = m.high_res.size(2);
    for (const auto& [t, key] : std::vector<std::pair<double, std::string>>{{0.15, "output.seed_labels"},
                                                                              {0.97, "output.seed_labels_097"}}) {
        const std::vector<uint8_t> labels = models::clims_seed_labels(m, t);
        const std::vector<double> ref = f.at(key).to_vector();
        ASSERT_EQ(labels.size(), ref.size());
        int64_t differ = 0;
        for (size_t i = 0; i < ref.size(); ++i) differ += labels[i] != ref[i];
        EXPECT_EQ(differ, 0) << key;
    }
    const std::vector<uint8_t> seed = models::clims_seed_labels(m, 0.15);
    const Tensor gt_t = f.at("input.gt");
    std::vector<uint8_t> gt(static_cast<size_t>(H * W));
    const std::vector<double> gv = gt_t.to_vector();
    for (size_t i = 0; i < gv.size(); ++i) gt[i] = static_cast<uint8_t>(gv[i]);
    eval::ConfusionMatrix cm(4);
    cm.add(gt.data(), seed.data(), H * W);
    std::vector<double> iou = cm.scores().iou;
    for (double& x : iou) x /= 100.0;
    const std::vector<double> ref_iou = f.at("output.iou").to_vector();
    for (size_t k = 0; k < iou.size(); ++k) EXPECT_NEAR(iou[k], ref_iou[k], 1e-12) << k;
    EXPECT_NEAR(models::clims_nanmean_iou(iou), f.at("output.miou").item(), 1e-12);
    EXPECT_NEAR(models::clims_nanmean_iou({0.5, std::nan(""), 0.0}), 0.25, 1e-15);
}

// The IRNet per-image CAM file: the bytes of tests/reference/clims/irn_cam.npy, which check_irn_npy.py loads with
// numpy (np.load(allow_pickle=True).item()) and compares with the values below (keys [0, 2], cam / high_res =
// arange * 0.25 in the shapes below).
data::IrnCamFile irn_cam_example() {
    data::IrnCamFile f;
    f.keys = Tensor::from_vector({0, 2}, {2}, DType::i64);
    f.cam = mul(Tensor::arange(0, 2 * 3 * 4, 1, DType::f32).reshape({2, 3, 4}), 0.25);
    f.high_res = mul(Tensor::arange(0, 2 * 9 * 13, 1, DType::f32).reshape({2, 9, 13}), 0.25);
    return f;
}

TEST(Clims, IrnCamNpyBytes) {
    const std::string bytes = data::irn_cam_npy_bytes(irn_cam_example());
    if (const char* out = std::getenv("WSDOL_WRITE_IRN_NPY")) data::write_irn_cam_npy(out, irn_cam_example());
    const std::string expected = read_file_bytes(clims_fixture("irn_cam.npy"));
    EXPECT_EQ(bytes.size(), expected.size());
    EXPECT_TRUE(bytes == expected) << "the writer's bytes changed: re-check them with check_irn_npy.py";
    data::IrnCamFile bad = irn_cam_example();
    bad.cam = Tensor::zeros({3, 3, 4});
    test::expect_error([&] { data::irn_cam_npy_bytes(bad); }, {"write_irn_cam_npy", "cam", "[3, 3, 4]"});
}

// ---------------------------------------------------------------- PolyOptimizer

TEST(Clims, PolyOptimizerLearningRateAndMomentumQuirk) {
    const ParityFixture f(clims_fixture("clims_poly.safetensors"));
    const double lr = 2.5e-4 * 100;
    Tensor a = f.at("input.a").clone(), b = f.at("input.b").clone();
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    optim::SGDOptions o;
    o.lr = lr;
    o.momentum = 1e-4;  // PolyOptimizer: SGD(params, lr, weight_decay) -> momentum = the weight-decay value
    o.weight_decay = 1e-4;
    optim::SGDOptions o10 = o;
    o10.lr = 10 * lr;
    optim::SGD sgd(std::vector<optim::SGD::Group>{{{{"a", a}}, o}, {{{"b", b}}, o10}});
    optim::PolyWarmupOptions po;
    po.warmup_iter = 0;
    po.max_iter = 7;
    po.power = 0.9;
    optim::PolyWarmupLR sched(sgd, po);
    const std::vector<double> lrs = f.at("output.lrs").to_vector();  // (10, 2)
    const Tensor ga = f.at("grad.a"), gb = f.at("grad.b");
    for (int64_t t = 0; t < 10; ++t) {
        // the reference's gradients of this step (its loss couples a and b), so only the update is under test
        a.set_grad(ga.select(0, t).clone());
        b.set_grad(gb.select(0, t).clone());
        sched.step();
        sgd.step();
        EXPECT_NEAR(sgd.lr(0), lrs[2 * t], 1e-15 * lr) << "step " << t;
        EXPECT_NEAR(sgd.lr(1), lrs[2 * t + 1], 1e-14 * lr) << "step " << t;
        EXPECT_NEAR(models::clims_poly_lr(lr, t, 7), lrs[2 * t], 1e-15 * lr) << "step " << t;
        EXPECT_LE(test::parity_error_fraction(a, f.at("output.a").select(0, t), kParityForwardTol), 1.0) << t;
        EXPECT_LE(test::parity_error_fraction(b, f.at("output.b").select(0, t), kParityForwardTol), 1.0) << t;
    }
}

}  // namespace
}  // namespace wsdol
