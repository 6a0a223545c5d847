// test_cdtr_method.cpp — the "cdtr" and "tscam" methods through the runner (models/cdtr_method.cpp): a short
// training run on the WSOL synthetic task (engine/data/synth_wsol.h) and inference evaluated with the box metrics,
// plus the configuration errors (no CLIP for SBA) and the released-layout loaders.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/data/synth_wsol.h"
#include "engine/io/safetensors.h"
#include "models/cdtr.h"
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
    mc.options["sba"] = "false";
    EXPECT_NO_THROW(models::make_method("cdtr", mc));
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
