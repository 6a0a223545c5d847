// test_toco_train.cpp — ToCo / DIAL through the runner: the "toco" sample pipeline (engine toco_views and the
// runner's pipeline of that name: shapes, img_box inside the crop and matching the padding, the main view and the
// crop source flipped independently, determinism by seed), `wsdol train --method toco|dial` for a few steps on a
// tiny synthetic set and `wsdol infer` evaluating the segmentation output, bit-identical resume, and the errors
// raised before training (DIAL without a CLIP, a CLIP of the wrong width, images smaller than a local crop,
// unknown --set keys).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "engine/data/datasets.h"
#include "engine/data/transforms_pipeline.h"
#include "engine/io/safetensors.h"
#include "models/clip.h"
#include "runner/infer.h"
#include "runner/sample_pipelines.h"
#include "runner/trainer.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"
#include "tests/tiny_clip_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

// A 30 x 40 image whose columns differ (so a mirror is visible) and whose rows differ (so a shift is visible).
data::Image asymmetric_image() {
    data::Image im;
    im.height = 30, im.width = 40, im.channels = 3;
    im.pixels.resize(size_t(30 * 40 * 3));
    for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 40; ++x)
            for (int c = 0; c < 3; ++c) im.pixels[size_t((y * 40 + x) * 3 + c)] = uint8_t(10 + 5 * x + y + 3 * c);
    return im;
}

// The photometric draws off, so every view is pure geometry.
data::TocoViewOptions geometry_only(int64_t crop) {
    data::TocoViewOptions o;
    o.main.crop = crop;
    o.main.jitter_p = 0, o.main.gray_p = 0, o.main.blur_p = 0, o.main.solarize_p = 0;
    o.local_blur_p = 0, o.global_blur_p = 0, o.global_solarize_p = 0;
    return o;
}

bool mirrored(const std::vector<float>& a, const std::vector<float>& b, int64_t S) {
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < S; ++y)
            for (int64_t x = 0; x < S; ++x)
                if (a[size_t((c * S + y) * S + x)] != b[size_t((c * S + y) * S + S - 1 - x)]) return false;
    return true;
}

TEST(TocoPipeline, ViewsShapesBoxAndIndependentFlips) {
    const data::Image im = asymmetric_image();
    const int64_t S = 48;
    const size_t n = size_t(3 * S * S);
    std::set<std::pair<bool, bool>> combos;
    for (uint64_t seed = 0; seed < 48; ++seed) {
        data::TocoViewOptions o = geometry_only(S);
        o.main.scale_lo = o.main.scale_hi = 1.0;  // 30 x 40 inside a 48 crop: padded on both sides
        std::vector<float> main(n), global(n), local(n);
        data::SampleRng rng(seed, 0, 0);
        const data::TocoViews v = data::toco_views(im, rng, o, main.data(), global.data(), local.data());
        // img_box: the 30 x 40 image inside the crop.
        EXPECT_EQ(v.img_box[1] - v.img_box[0], 30);
        EXPECT_EQ(v.img_box[3] - v.img_box[2], 40);
        EXPECT_GE(v.img_box[0], 0);
        EXPECT_LE(v.img_box[1], S);
        EXPECT_GE(v.img_box[2], 0);
        EXPECT_LE(v.img_box[3], S);
        // The crop source and the main view are the same crop, each mirrored by its own draw.
        combos.insert({v.main_flipped, v.local_flipped});
        if (v.main_flipped == v.local_flipped) EXPECT_TRUE(main == local) << seed;
        else EXPECT_TRUE(mirrored(main, local, S)) << seed;
        // Outside img_box the unflipped view is the black padding (normalized), inside it is the image.
        const std::vector<float>& unflipped = !v.main_flipped ? main : local;
        if (!v.main_flipped || !v.local_flipped) {
            const float black0 = (0.0f - data::kImageNetMean[0]) / data::kImageNetStd[0];
            for (int64_t y = 0; y < S; ++y)
                for (int64_t x = 0; x < S; ++x) {
                    const bool inside = y >= v.img_box[0] && y < v.img_box[1] && x >= v.img_box[2] && x < v.img_box[3];
                    const float value = unflipped[size_t(y * S + x)];
                    if (inside) EXPECT_NE(value, black0) << seed << " " << y << " " << x;
                    else EXPECT_EQ(value, black0) << seed << " " << y << " " << x;
                }
        }
        // Determinism by seed: the same stream gives the same bytes, another seed other ones.
        std::vector<float> main2(n), global2(n), local2(n);
        data::SampleRng again(seed, 0, 0);
        data::toco_views(im, again, o, main2.data(), global2.data(), local2.data());
        EXPECT_TRUE(main == main2 && global == global2 && local == local2) << seed;
    }
    EXPECT_EQ(combos.size(), 4u) << "the two flips are not independent draws";
}

TEST(TocoPipeline, DefaultViewsDifferBySeedAndStayInTheCrop) {
    const data::Image im = asymmetric_image();
    const int64_t S = 32;
    const size_t n = size_t(3 * S * S);
    data::TocoViewOptions o;  // ToCo's defaults: rescale U(0.5, 2), jitter, grayscale, blur, solarize
    o.main.crop = S;
    std::vector<float> first;
    for (uint64_t seed = 0; seed < 16; ++seed) {
        std::vector<float> main(n), global(n), local(n);
        data::SampleRng rng(7, 1, seed);
        const data::TocoViews v = data::toco_views(im, rng, o, main.data(), global.data(), local.data());
        EXPECT_TRUE(v.img_box[0] >= 0 && v.img_box[0] < v.img_box[1] && v.img_box[1] <= S) << seed;
        EXPECT_TRUE(v.img_box[2] >= 0 && v.img_box[2] < v.img_box[3] && v.img_box[3] <= S) << seed;
        for (float x : global) ASSERT_TRUE(std::isfinite(x));
        if (seed == 0) first = main;
        else EXPECT_FALSE(main == first) << seed;
    }
}

// ---- through the runner ----

class TocoTrain : public testing::Test {
protected:
    static void SetUpTestSuite() {
        root_ = new test::ScratchDir();
        const auto r = test::run_wsdol("synth --quiet --out '" + data() + "' --images 10 --size 32 --classes 3 --seed 2");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    static void TearDownTestSuite() {
        delete root_;
        root_ = nullptr;
    }
    static std::string data() { return root_->file("data"); }
    static std::string path(const std::string& name) { return root_->file(name); }
    // A reduced ToCo: 32 px crops, patch 8 (4 x 4 tokens), 3 blocks (aux = block 0), 16-px local crops, narrow
    // heads (a checkpoint of ~30k parameters instead of ToCo's 12M of heads).
    static train::TrainSettings base(const std::string& method, const std::string& out) {
        train::TrainSettings s;
        s.set("method", method);
        s.set("data", data());
        s.set("out", path(out));
        s.set("input_size", "32");
        s.set("batch_size", "2");
        s.set("epochs", "1");
        s.set("workers", "1");
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "24"}, {"depth", "3"}, {"num_heads", "2"},
                 {"local_crop_size", "16"}, {"cam_input_size", "32"}, {"ncrops", "4"}, {"seg_start", "1"},
                 {"decoder_dim", "16"}, {"ctc_hidden", "24"}, {"ctc_bottleneck", "8"}, {"ctc_out", "12"}})
            s.set("options." + k, v);
        return s;
    }
    // A small CLIP in OpenAI names whose text tower embeds in `width` dimensions.
    static std::string clip(int64_t width) {
        const std::string file = path("clip" + std::to_string(width) + ".safetensors");
        if (fs::exists(file)) return file;
        return test::write_tiny_clip(file, test::tiny_clip_config(width));
    }
    static std::string vocab() { return WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz"; }
    static test::ScratchDir* root_;
};
test::ScratchDir* TocoTrain::root_ = nullptr;

TEST_F(TocoTrain, PipelineMakesTheDeclaredExtras) {
    const data::Dataset ds = data::open_dataset(data(), "train");
    models::BatchSpec spec;
    spec.extras = {"valid_box", "global_views", "crop_source"};
    train::check_batch_spec("toco", "toco", spec);
    train::PipelineInputs in;
    in.dataset = &ds;
    in.pipeline = "toco";
    in.size = 32;
    in.spec = spec;
    const data::ExampleFn fn = train::make_example_fn(in);
    data::Batch batch;
    batch.images = Tensor::zeros({2, 3, 32, 32});
    for (int64_t i = 0; i < 2; ++i) {
        data::Example ex;
        ex.index = i;
        data::SampleRng rng(3, 0, uint64_t(i));
        fn(i, rng, batch.images.data<float>() + i * 3 * 32 * 32, ex);
        batch.examples.push_back(ex);
    }
    const models::MethodBatch mb = train::make_method_batch(batch, in, 3);
    ASSERT_EQ(mb.extra("global_views").shape(), (Shape{2, 2, 3, 32, 32}));
    ASSERT_EQ(mb.extra("crop_source").shape(), (Shape{2, 3, 32, 32}));
    ASSERT_EQ(mb.extra("valid_box").shape(), (Shape{2, 4}));
    // global_views[:, 0] is the main view itself; [:, 1] and the crop source are other views.
    const Tensor g0 = mb.extra("global_views").select(1, 0).contiguous();
    EXPECT_EQ(test::tensor_bytes(g0), test::tensor_bytes(mb.images));
    EXPECT_NE(test::tensor_bytes(mb.extra("global_views").select(1, 1).contiguous()), test::tensor_bytes(mb.images));
    const float* box = mb.extra("valid_box").data<float>();
    for (int64_t b = 0; b < 2; ++b) {
        EXPECT_GE(box[b * 4 + 0], 0.0f);
        EXPECT_LT(box[b * 4 + 0], box[b * 4 + 1]);
        EXPECT_LE(box[b * 4 + 1], 32.0f);
        EXPECT_GE(box[b * 4 + 2], 0.0f);
        EXPECT_LT(box[b * 4 + 2], box[b * 4 + 3]);
        EXPECT_LE(box[b * 4 + 3], 32.0f);
    }
    // The same stream gives the same sample.
    data::Example again;
    std::vector<float> image(3 * 32 * 32);
    data::SampleRng rng(3, 0, 0);
    fn(0, rng, image.data(), again);
    EXPECT_EQ(0, std::memcmp(image.data(), batch.images.data<float>(), image.size() * sizeof(float)));
    EXPECT_TRUE(again.extras.at("crop_source").values == batch.examples[0].extras.at("crop_source").values);
    // The single-view pipelines do not make ToCo's views, and "toco" makes no view2: named errors.
    test::expect_error([&] { train::check_batch_spec("toco", "flip", spec); },
                       {"toco", "global_views", "'flip'", "valid_box | view2"});
    models::BatchSpec v2;
    v2.extras = {"view2"};
    test::expect_error([&] { train::check_batch_spec("m", "toco", v2); },
                       {"view2", "'toco'", "valid_box | global_views | crop_source"});
}

TEST_F(TocoTrain, TocoAndDialTrainAndInferEvaluatesSegmentation) {
    for (const std::string method : {"toco", "dial"}) {
        std::string args = "train --quiet --method " + method + " --data '" + data() + "' --out '" + path(method) +
                           "' --input-size 32 --batch-size 2 --epochs 1 --threads 1 --set image_size=32 "
                           "--set patch_size=8 --set embed_dim=24 --set depth=3 --set num_heads=2 "
                           "--set local_crop_size=16 --set cam_input_size=32 --set ncrops=4 --set seg_start=1 "
                           "--set decoder_dim=16 --set ctc_hidden=24 --set ctc_bottleneck=8 --set ctc_out=12";
        if (method == "dial") args += " --clip '" + clip(32) + "' --clip-vocab '" + vocab() + "'";
        const auto r = test::run_wsdol(args);
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_NE(r.output.find(method + ": 4 steps"), std::string::npos) << r.output;  // 8 train images / 2
        const auto inf = test::run_wsdol("infer --checkpoint '" + path(method) + "/checkpoint.safetensors' --data '" +
                                         data() + "' --out '" + path(method + "_pred") + "' --threads 1");
        ASSERT_EQ(inf.code, 0) << inf.output;
        EXPECT_NE(inf.output.find("segmentation mIoU"), std::string::npos) << inf.output;
        EXPECT_NE(inf.output.find("seed mIoU"), std::string::npos) << inf.output;
    }
}

TEST_F(TocoTrain, ResumeIsBitIdentical) {
    for (const std::string method : {"toco", "dial"}) {
        auto with_clip = [&](train::TrainSettings s) {
            if (method == "dial") {
                s.set("clip", clip(32));
                s.set("clip_vocab", vocab());
            }
            return s;
        };
        const train::TrainResult full = train::train(with_clip(base(method, method + "_full")));
        ASSERT_TRUE(full.finished);
        ASSERT_EQ(full.total_steps, 4);
        train::TrainSettings p = with_clip(base(method, method + "_part"));
        p.set("stop_after", "1");  // before the seg/reg switch (seg_start 1): the resumed steps cross it
        train::train(p);
        train::TrainSettings r;
        r.set("data", data());
        r.set("out", path(method + "_part"));
        r.set("resume", "true");
        r.set("workers", "0");
        r = with_clip(r);
        const train::TrainResult rest = train::train(r);
        EXPECT_EQ(rest.first_step, 1);
        ASSERT_EQ(rest.losses.size(), 3u);
        for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rest.losses[i], full.losses[1 + i]) << method << " " << i;
        EXPECT_TRUE(test::read_bytes(rest.checkpoint) == test::read_bytes(full.checkpoint)) << method;
    }
}

TEST_F(TocoTrain, BadInputsFailBeforeTraining) {
    // DIAL without a CLIP file.
    test::expect_error([&] { train::train(base("dial", "no_clip")); }, {"dial", "--clip FILE", "CLIP"});
    EXPECT_FALSE(fs::exists(path("no_clip") + "/checkpoint.safetensors"));
    // A CLIP whose text width is not the projection's.
    {
        train::TrainSettings s = base("dial", "wrong_width");
        s.set("clip", clip(32));
        s.set("clip_vocab", vocab());
        s.set("options.text_dim", "512");
        test::expect_error([&] { train::train(s); }, {"embeds text in 32 dimensions", "512", "text_dim"});
        EXPECT_FALSE(fs::exists(path("wrong_width") + "/checkpoint.safetensors"));
    }
    // A resumed DIAL run given a CLIP of another width than the one it was trained with.
    {
        train::TrainSettings s = base("dial", "resume_width");
        s.set("clip", clip(32));
        s.set("clip_vocab", vocab());
        s.set("stop_after", "1");
        train::train(s);
        const std::string before = test::read_bytes(path("resume_width") + "/checkpoint.safetensors");
        train::TrainSettings r;
        r.set("data", data());
        r.set("out", path("resume_width"));
        r.set("resume", "true");
        r.set("clip", clip(16));
        r.set("clip_vocab", vocab());
        test::expect_error([&] { train::train(r); }, {"embeds text in 16 dimensions", "32"});
        EXPECT_TRUE(test::read_bytes(path("resume_width") + "/checkpoint.safetensors") == before);
    }
    // Images smaller than one local crop (the synthetic images are 32 px).
    for (const std::string method : {"toco", "dial"}) {
        train::TrainSettings s = base(method, "small_" + method);
        s.set("options.local_crop_size", "40");
        s.set("clip", clip(32));
        s.set("clip_vocab", vocab());
        test::expect_error([&] { train::train(s); },
                           {method, "smaller than the 40-pixel side", "local_crop_size", ".jpg", "32x32"});
        EXPECT_FALSE(fs::exists(path("small_" + method) + "/checkpoint.safetensors"));
    }
    // Unknown --set keys (CLI and settings).
    for (const std::string method : {"toco", "dial"}) {
        train::TrainSettings s = base(method, "typo_" + method);
        s.set("options.w_ptcc", "0.1");
        s.set("clip", clip(32));
        s.set("clip_vocab", vocab());
        test::expect_error([&] { train::train(s); }, {"w_ptcc"});
        EXPECT_FALSE(fs::exists(path("typo_" + method) + "/checkpoint.safetensors"));
    }
    const auto r = test::run_wsdol("train --quiet --method toco --data '" + data() + "' --out '" + path("typo_cli") +
                                   "' --set depth=3 --set embed_dim=24 --set num_heads=2 --set decoder_dim=16 "
                                   "--set ctc_hidden=24 --set gia=true");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("gia"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(path("typo_cli") + "/checkpoint.safetensors"));
}

}  // namespace
}  // namespace wsdol
