// test_cdtr_method.cpp — the "cdtr" and "tscam" methods through the runner (models/cdtr_method.cpp): a short
// training run on the WSOL synthetic task (engine/data/synth_wsol.h) and inference evaluated with the box metrics,
// plus SBA with either CLIP image tower (ViT, ModifiedResNet: models/frozen_clip.h), bit-identical resume, the
// errors raised before training (no CLIP for SBA, a CLIP of another architecture, a box outside its image, a class
// id out of range) and the released-layout loaders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/data/datasets.h"
#include "engine/data/npy.h"
#include "engine/data/synth_wsol.h"
#include "engine/eval/boxes.h"
#include "engine/io/safetensors.h"
#include "models/cdtr.h"
#include "models/frozen_clip.h"
#include "models/method_registry.h"
#include "runner/infer.h"
#include "runner/trainer.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

void write_task(const std::string& root) {
    data::SynthConfig c;
    c.classes = 3;
    c.images = 12;
    c.size = 32;
    c.seed = 3;
    c.val_fraction = 1.0 / 3.0;  // 8 train, 4 test
    data::write_synth_wsol(c, root);
}

// A tiny DeiT (32 x 32 input, patch 8, 2 blocks) so a run takes a second.
void tiny(train::TrainSettings& s, const std::string& method) {
    s.set("method", method);
    s.set("epochs", "2");
    s.set("batch_size", "4");
    s.set("input_size", "32");
    s.set("augmentation", "flip");
    s.set("threads", "2");
    s.set("options.image_size", "32");
    s.set("options.patch_size", "8");
    s.set("options.embed_dim", "32");
    s.set("options.depth", "4");
    s.set("options.num_heads", "2");
}

TEST(CdtrMethod, TrainsAndIsEvaluatedWithBoxesOnTheWsolTask) {
    test::ScratchDir dir;
    write_task(dir.file("data"));
    for (const std::string method : {"cdtr", "tscam"}) {
        train::TrainSettings s;
        tiny(s, method);
        s.set("data", dir.file("data"));
        s.set("out", dir.file("run_" + method));
        if (method == "cdtr") {
            s.set("options.sba", "false");  // no CLIP in the test
            s.set("options.csm_base", "2");
        }
        const train::TrainResult tr = train::train(s);
        ASSERT_TRUE(tr.finished) << method;
        EXPECT_EQ(tr.total_steps, 4) << method;  // 8 images, batch 4, 2 epochs
        train::InferOptions io;
        io.checkpoint = tr.checkpoint;
        io.data = dir.file("data");
        io.split = "test";
        io.out = dir.file("pred_" + method);
        const train::InferResult ir = train::run_inference(io);
        EXPECT_EQ(ir.images, 4) << method;
        EXPECT_TRUE(ir.classification_evaluated) << method;
        EXPECT_TRUE(ir.boxes_evaluated) << method;
        for (double v : {ir.top1_cls, ir.gt_known_loc, ir.top1_loc}) {
            EXPECT_GE(v, 0.0);
            EXPECT_LE(v, 100.0);
        }
    }
}

TEST(CdtrMethod, SbaWithoutClipIsAClearError) {
    models::MethodConfig mc;
    mc.class_names = {"a", "b"};
    mc.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "4"}, {"num_heads", "2"}};
    test::expect_error([&] { models::make_method("cdtr", mc); }, {"cdtr", "CLIP", "sba=false"});
    // A trained checkpoint infers without a CLIP (SBA is a training loss); training it so refuses, naming --clip.
    mc.weights_from_checkpoint = true;
    std::unique_ptr<models::Method> m = models::make_method("cdtr", mc);
    models::MethodBatch b;
    b.images = Tensor::zeros({2, 3, 32, 32});
    b.class_ids = Tensor::from_vector({0, 1}, {2}, DType::i64);
    test::expect_error([&] { m->losses(b, {}); }, {"cdtr", "SBA needs the CLIP", "--clip"});
    EXPECT_EQ(m->predict(Tensor::zeros({3, 32, 32}), {}).boxes.size(), 1u);
    mc.weights_from_checkpoint = false;
    mc.options["sba"] = "false";
    EXPECT_NO_THROW(models::make_method("cdtr", mc));
}

// CAM makes maps and no boxes: `infer` boxes them by CAM's rule (the largest region of the GT class's map above
// 20% of its maximum), so CAM gets GT-known Loc beside TS-CAM and CDTR.
TEST(CdtrMethod, CamIsBoxedByTheLargestRegionOfItsMap) {
    test::ScratchDir dir;
    write_task(dir.file("data"));
    train::TrainSettings s;
    tiny(s, "cam");
    s.set("options.backbone", "vit");
    s.set("data", dir.file("data"));
    s.set("out", dir.file("run"));
    const train::TrainResult tr = train::train(s);
    train::InferOptions io;
    io.checkpoint = tr.checkpoint;
    io.data = dir.file("data");
    io.split = "test";
    io.out = dir.file("pred");
    const train::InferResult ir = train::run_inference(io);
    ASSERT_TRUE(ir.boxes_evaluated);
    ASSERT_TRUE(ir.max_box_acc_evaluated);
    // The same GT-known Loc from the written maps, the GT boxes and eval::largest_contour_box.
    const data::Dataset ds = data::open_dataset(dir.file("data"), "test", {}, "auto");
    int64_t hits = 0;
    for (const data::Sample& sample : ds.samples) {
        const std::string stem = fs::path(sample.id).replace_extension("").string();
        const Tensor maps = data::read_npy(dir.file("pred") + "/" + stem + ".npy");
        const int64_t H = maps.size(1), W = maps.size(2);
        const std::vector<uint8_t> u8 =
            eval::heatmap_u8(maps.data<float>() + int64_t(sample.labels[0]) * H * W, H * W);
        const eval::Box b = eval::largest_contour_box(u8.data(), H, W, 0.2);
        const double iou = eval::iou_cdtr({double(b.x0), double(b.y0), double(b.x1 - 1), double(b.y1 - 1)},
                                          sample.boxes[0]);
        hits += iou >= 0.5;
    }
    EXPECT_DOUBLE_EQ(ir.gt_known_loc, 100.0 * double(hits) / double(ds.samples.size()));
    io.map_box_threshold = 0;
    io.out = dir.file("pred_nobox");
    EXPECT_FALSE(train::run_inference(io).boxes_evaluated);
}

// A tiny random CLIP (input 32, embed 16, one text block) with a ViT or a ModifiedResNet image tower, saved in
// OpenAI names.
std::string write_clip(const std::string& path, bool resnet) {
    models::ClipConfig c;
    c.embed_dim = 16;
    c.image_size = 32;
    c.vision_resnet = resnet;
    if (resnet) {
        c.vision_width = 2;  // attnpool width 32 x 2 = 64: one head of 64
        c.vision_heads = 1;
        c.vision_resnet_layers = {1, 1, 1, 1};
        c.vision_patch_size = 32;
    } else {
        c.vision_width = 64;
        c.vision_layers = 1;
        c.vision_heads = 1;
        c.vision_patch_size = 16;
    }
    c.context_length = 16;
    c.text_width = 64;
    c.text_heads = 1;
    c.text_layers = 1;
    Generator g(resnet ? 5 : 4);
    models::Clip clip(c, &g);
    io::save_safetensors(path, clip.state_dict());
    return path;
}

const char* kVocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";

// The frozen scorer (shared by CLIMS and CDTR) on both tower kinds: gradients reach the images, none reaches the
// CLIP, and a ResNet tower's BatchNorm statistics stay as loaded (eval mode).
TEST(CdtrMethod, FrozenClipScoresImagesThroughBothTowerKinds) {
    test::ScratchDir dir;
    for (bool resnet : {false, true}) {
        const std::string path = write_clip(dir.file(resnet ? "rn.safetensors" : "vit.safetensors"), resnet);
        std::shared_ptr<models::Clip> clip = models::load_frozen_clip(path, "test");
        EXPECT_EQ(clip->cfg.vision_resnet, resnet);
        EXPECT_FALSE(clip->is_training());
        std::vector<std::vector<double>> stats_before;
        for (const auto& [n, b] : clip->named_buffers()) stats_before.push_back(b.to_vector());
        Generator g(9);
        Tensor images = Tensor::randn({2, 3, 32, 32}, DType::f32, &g);
        images.set_requires_grad(true);
        const Tensor f = models::frozen_image_features(*clip, images, "test");
        ASSERT_EQ(f.shape(), (Shape{2, 16})) << resnet;
        sum(mul(f, f)).backward();
        ASSERT_TRUE(images.grad().defined()) << resnet;
        double g_abs = 0;
        for (double v : images.grad().to_vector()) g_abs += std::abs(v);
        EXPECT_GT(g_abs, 0.0) << resnet;
        for (const auto& [n, p] : clip->named_parameters()) EXPECT_FALSE(p.grad().defined()) << n;
        size_t i = 0;
        for (const auto& [n, b] : clip->named_buffers()) EXPECT_EQ(b.to_vector(), stats_before[i++]) << n;
        test::expect_error([&] { models::frozen_image_features(*clip, Tensor::zeros({1, 3, 24, 24}), "cdtr SBA"); },
                           {"cdtr SBA", resnet ? "ModifiedResNet" : "ViT", "(B, 3, 32, 32)"});
    }
}

// SBA accepts either tower kind (the demo's small CLIP is a ModifiedResNet): the step has an "sba" term, and its
// gradient reaches the DeiT through the category-aware map.
TEST(CdtrMethod, SbaTrainsWithAViTOrAResNetClip) {
    test::ScratchDir dir;
    for (bool resnet : {false, true}) {
        Generator gen(1);
        models::MethodConfig mc;
        mc.class_names = {"circle", "square", "triangle"};
        mc.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "4"},
                      {"num_heads", "2"},   {"csm_base", "2"}};
        mc.clip_checkpoint = write_clip(dir.file(resnet ? "rn.safetensors" : "vit.safetensors"), resnet);
        mc.clip_vocab = kVocab;
        mc.generator = &gen;
        std::unique_ptr<models::Method> m = models::make_method("cdtr", mc);
        Generator dg(3);
        models::MethodBatch b;
        b.images = Tensor::randn({3, 3, 32, 32}, DType::f32, &dg);
        b.class_ids = Tensor::from_vector({0, 2, 1}, {3}, DType::i64);
        b.labels = one_hot(b.class_ids, 3).to(DType::f32);
        const models::LossTerms t = m->losses(b, {});
        Tensor sba;
        for (const auto& [name, v] : t.terms)
            if (name == "sba") sba = v;
        ASSERT_TRUE(sba.defined()) << resnet;
        EXPECT_TRUE(std::isfinite(sba.item())) << resnet;
        EXPECT_GT(sba.item(), 0.0) << resnet;
        m->network().zero_grad();
        sba.backward();
        double g_abs = 0;
        for (const auto& [n, p] : m->network().named_parameters())
            if (n == "blocks.0.attn.qkv.weight")
                for (double v : p.grad().to_vector()) g_abs += std::abs(v);
        EXPECT_GT(g_abs, 0.0) << "SBA's gradient does not reach the DeiT (" << (resnet ? "ResNet" : "ViT") << " CLIP)";
    }
}

TEST(CdtrMethod, PromptsNameTheClassWithoutCubsNumber) {
    EXPECT_EQ(models::cdtr_class_prompt("001.Black_footed_Albatross"), "a photo of Black_footed_Albatross.");
    EXPECT_EQ(models::cdtr_class_prompt("003.triangle"), "a photo of triangle.");
    EXPECT_EQ(models::cdtr_class_prompt("circle"), "a photo of circle.");
    EXPECT_EQ(models::cdtr_class_prompt("001."), "a photo of 001..");        // no name after the number: kept
    EXPECT_EQ(models::cdtr_class_prompt("3.5mm jack"), "a photo of 3.5mm jack.");  // not CUB's "NNN."
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A run of each method stopped inside an epoch and resumed ends in the uninterrupted run's bytes (CDTR with SBA and
// a ResNet CLIP; TS-CAM with its step schedule, decaying inside the run).
TEST(CdtrMethod, InterruptedRunsResumeBitIdentically) {
    test::ScratchDir dir;
    write_task(dir.file("data"));
    const std::string clip = write_clip(dir.file("clip.safetensors"), true);
    for (const std::string method : {"cdtr", "tscam"}) {
        auto settings = [&](const std::string& out) {
            train::TrainSettings s;
            tiny(s, method);
            s.set("epochs", "3");
            s.set("data", dir.file("data"));
            s.set("out", dir.file(out));
            if (method == "cdtr") {
                s.set("options.csm_base", "2");
                s.set("clip", clip);
                s.set("clip_vocab", kVocab);
            }
            return s;
        };
        const train::TrainResult full = train::train(settings("full_" + method));
        ASSERT_TRUE(full.finished);
        ASSERT_EQ(full.total_steps, 6);
        train::TrainSettings part = settings("part_" + method);
        part.set("stop_after", "3");
        EXPECT_FALSE(train::train(part).finished);
        train::TrainSettings rest;
        rest.set("data", dir.file("data"));
        rest.set("out", dir.file("part_" + method));
        rest.set("resume", "true");
        rest.set("threads", "1");
        if (method == "cdtr") {
            rest.set("clip", clip);
            rest.set("clip_vocab", kVocab);
        }
        const train::TrainResult r = train::train(rest);
        EXPECT_TRUE(r.finished);
        ASSERT_EQ(r.losses.size(), 3u);
        for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r.losses[i], full.losses[3 + i]) << method << " step " << 3 + i;
        EXPECT_TRUE(test::read_bytes(r.checkpoint) == test::read_bytes(full.checkpoint)) << method;
    }
}

// Bad inputs are errors naming the file before any training step (no checkpoint written).
TEST(CdtrMethod, BadDatasetsAndAWrongClipFailBeforeTraining) {
    test::ScratchDir dir;
    write_task(dir.file("data"));
    auto attempt = [&](const std::string& data, const std::string& clip, const std::string& out,
                       const std::vector<std::string>& words) {
        train::TrainSettings s;
        tiny(s, "cdtr");
        s.set("data", data);
        s.set("out", dir.file(out));
        s.set("options.csm_base", "2");
        if (clip.empty()) {
            s.set("options.sba", "false");
        } else {
            s.set("clip", clip);
            s.set("clip_vocab", kVocab);
        }
        test::expect_error([&] { train::train(s); }, words);
        EXPECT_FALSE(fs::exists(train::checkpoint_path(dir.file(out)))) << out;
    };
    // a box outside its image (the first image's box 100 px wide on a 32 px image)
    fs::copy(dir.file("data"), dir.file("bad_box"), fs::copy_options::recursive);
    {
        std::istringstream lines(read_text(dir.file("bad_box/bounding_boxes.txt")));
        std::string first, rest, line;
        std::getline(lines, first);
        while (std::getline(lines, line)) rest += line + "\n";
        const std::string id = first.substr(0, first.find(' '));
        write_text(dir.file("bad_box/bounding_boxes.txt"), id + " 2 2 100 5\n" + rest);
    }
    attempt(dir.file("bad_box"), "", "out_box", {"bounding_boxes.txt", "not inside its image", "32x32"});
    // a class id out of range (class 7 of 3)
    fs::copy(dir.file("data"), dir.file("bad_class"), fs::copy_options::recursive);
    {
        std::istringstream lines(read_text(dir.file("bad_class/image_class_labels.txt")));
        std::string first, rest, line;
        std::getline(lines, first);
        while (std::getline(lines, line)) rest += line + "\n";
        const std::string id = first.substr(0, first.find(' '));
        write_text(dir.file("bad_class/image_class_labels.txt"), id + " 7\n" + rest);
    }
    attempt(dir.file("bad_class"), "", "out_class", {"image_class_labels.txt", "class 7", "not in classes.txt"});
    // a CLIP of another architecture: a torchvision ResNet classifier, and a DeiT (the method's own backbone kind)
    const std::string resnet = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/resnet.safetensors";
    attempt(dir.file("data"), resnet, "out_clip", {"--clip", resnet, "not a CLIP"});
    {
        models::CdtrConfig cfg;
        cfg.vit.image_size = 32;
        cfg.vit.patch_size = 8;
        cfg.vit.embed_dim = 32;
        cfg.vit.depth = 4;
        cfg.vit.num_heads = 2;
        cfg.num_classes = 3;
        cfg.csm_base = 2;
        models::Cdtr net(cfg);
        io::save_safetensors(dir.file("deit.safetensors"), net.state_dict());
    }
    attempt(dir.file("data"), dir.file("deit.safetensors"), "out_deit", {"--clip", "deit.safetensors", "not a CLIP"});
}

// A CDTR state_dict with the official names (those of the parity fixture, restated from CDTR's code) loads as a
// released checkpoint: the size comes from the shapes and the loaded network gives the same outputs.
TEST(CdtrMethod, ReleasedLayoutLoads) {
    models::CdtrConfig cfg;
    cfg.vit.image_size = 32;
    cfg.vit.patch_size = 8;
    cfg.vit.embed_dim = 64;  // one head of DeiT's 64 channels
    cfg.vit.depth = 4;
    cfg.vit.num_heads = 1;
    cfg.num_classes = 3;
    cfg.csm_base = 2;
    Generator gen(1);
    models::Cdtr original(cfg, &gen);
    test::ScratchDir dir;
    io::save_safetensors(dir.file("cdtr.safetensors"), original.state_dict());
    models::MethodConfig mc;
    mc.class_names = {"a", "b", "c"};
    const models::MethodInfo& info = models::method_info("cdtr");
    ASSERT_TRUE(bool(info.from_release));
    std::unique_ptr<models::Method> m = info.from_release(dir.file("cdtr.safetensors"), mc);
    Generator data(2);
    const Tensor image = Tensor::randn({3, 32, 32}, DType::f32, &data);
    const models::Prediction p = m->predict(image, {});
    const models::WsolPrediction w = models::cdtr_predict(original, image, 0.2);
    EXPECT_EQ(p.scores.to_vector(), w.scores.to_vector());
    ASSERT_EQ(p.boxes.size(), 1u);
    EXPECT_EQ(p.boxes[0].x0, double(w.box.x0));
    EXPECT_EQ(p.boxes[0].x1, double(w.box.x1 - 1));  // inclusive corners
    mc.class_names = {"a", "b"};
    test::expect_error([&] { info.from_release(dir.file("cdtr.safetensors"), mc); }, {"cdtr", "3 classes", "2"});
}

}  // namespace
}  // namespace wsdol
