// test_train_resume.cpp — the training loop (runner/trainer.h) against a small real method defined here
// ("testlinear": a linear multi-label classifier over 4x4-pooled pixels with dropout): it trains, an interrupted run
// resumes to a bit-identical checkpoint (stopped inside an epoch, at an epoch boundary, after a crash between
// periodic saves, with another worker count), checkpoints are written atomically every N steps, settings parse
// from files and flags, and mismatches on resume are errors naming the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/core/parse.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/nn/dropout.h"
#include "engine/nn/linear.h"
#include "engine/ops/ops.h"
#include "runner/trainer.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

// ---- the test method: logits = W · dropout(flatten(adaptive_avg_pool(x, 4))) + b ----
class LinearNet : public nn::Module {
public:
    LinearNet(int64_t classes, double p, Generator* gen) : Module("LinearNet") {
        drop = register_module("drop", std::make_shared<nn::Dropout>(p, gen));
        fc = register_module("fc", std::make_shared<nn::Linear>(3 * 16, classes, true, gen));
    }
    // x: (B, 3, H, W) -> (B, C)
    Tensor forward(const Tensor& x) override {
        Tensor pooled = adaptive_avg_pool2d(x, {4, 4});  // (B, 3, 4, 4)
        return fc->forward(drop->forward(pooled.reshape({x.size(0), 48})));
    }
    std::shared_ptr<nn::Dropout> drop;
    std::shared_ptr<nn::Linear> fc;
};

class TestLinear : public models::Method {
public:
    explicit TestLinear(const models::MethodConfig& c)
        : classes_(int64_t(c.class_names.size())),
          net_(std::make_shared<LinearNet>(classes_, c.get_double("dropout", 0.2), c.generator)),
          step_recipe_(c.get_bool("step_recipe", false)) {}
    std::string name() const override { return "testlinear"; }
    nn::Module& network() override { return *net_; }
    std::vector<models::ParamGroupSpec> param_groups() override {
        return {{"weights", {"fc.weight"}, 1.0, 1.0}, {"bias", {"fc.bias"}, 2.0, 0.0}};
    }
    models::Recipe recipe() const override {
        models::Recipe r;
        r.lr = 0.05;
        r.weight_decay = 1e-3;
        r.epochs = 3;
        r.warmup_epochs = 1;
        r.warmup_lr = 1e-3;
        r.min_lr = 1e-4;
        r.batch_size = 8;
        r.input_size = 32;
        r.augmentation = "flip";
        if (step_recipe_) {  // a step schedule given for the recipe's 3 epochs: x 0.5 after 2 epochs
            r.schedule = "step";
            r.lr_steps = {2};
            r.lr_step_factor = 0.5;
        }
        return r;
    }
    models::LossTerms losses(const models::MethodBatch& b, const models::StepContext&) override {
        net_->train();
        Tensor loss = multilabel_soft_margin_loss(net_->forward(b.images), b.labels);
        return {{{"cls", loss}}, loss};
    }
    models::Prediction predict(const Tensor& image, const std::vector<int>& labels) override {
        NoGradGuard g;
        models::Prediction p;
        p.maps = Tensor::zeros({classes_, image.size(1), image.size(2)});
        return p;
    }

private:
    int64_t classes_;
    std::shared_ptr<LinearNet> net_;
    bool step_recipe_ = false;
};

WSDOL_METHOD(models::MethodInfo{"testlinear", "test-only linear classifier",
                                [](const models::MethodConfig& c) { return std::make_unique<TestLinear>(c); }});

// One synthetic dataset (40 images: 32 train = 4 batches of 8 per epoch) shared by the suite.
class TrainResume : public testing::Test {
protected:
    static void SetUpTestSuite() {
        root_ = new test::ScratchDir();
        const auto r = test::run_wsdol("synth --quiet --out '" + data() + "' --images 40 --size 48 --classes 4 --seed 3");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    static void TearDownTestSuite() {
        delete root_;
        root_ = nullptr;
    }
    static std::string data() { return root_->file("data"); }
    static std::string out(const std::string& name) { return root_->file(name); }
    static train::TrainSettings base(const std::string& out_name) {
        train::TrainSettings s;
        s.set("method", "testlinear");
        s.set("data", data());
        s.set("out", out(out_name));
        s.set("workers", "1");
        return s;
    }
    static test::ScratchDir* root_;
};
test::ScratchDir* TrainResume::root_ = nullptr;

TEST_F(TrainResume, TheTestMethodTrains) {
    train::TrainSettings s = base("trains");
    s.set("epochs", "12");
    s.set("options.dropout", "0");
    const train::TrainResult r = train::train(s);
    ASSERT_EQ(r.total_steps, 48);
    EXPECT_TRUE(r.finished);
    ASSERT_EQ(r.losses.size(), 48u);
    double first = 0, last = 0;
    for (int i = 0; i < 4; ++i) first += r.losses[i], last += r.losses[44 + i];
    EXPECT_LT(last, 0.9 * first) << "first epoch " << first / 4 << ", last epoch " << last / 4;
}

TEST_F(TrainResume, InterruptedRunsResumeBitIdentically) {
    const train::TrainResult full = train::train(base("full"));
    ASSERT_TRUE(full.finished);
    ASSERT_EQ(full.total_steps, 12);
    const std::string reference = test::read_bytes(full.checkpoint);
    // Stopped inside an epoch (step 6 = epoch 1, batch 2), at an epoch boundary (step 8), after one step; resumed
    // with another worker count.
    for (int stop : {6, 8, 1}) {
        const std::string name = "stop" + std::to_string(stop);
        train::TrainSettings s = base(name);
        s.set("stop_after", std::to_string(stop));
        const train::TrainResult part = train::train(s);
        EXPECT_EQ(part.last_step, stop);
        EXPECT_FALSE(part.finished);
        train::TrainSettings r;
        r.set("data", data());
        r.set("out", out(name));
        r.set("resume", "true");
        r.set("workers", stop == 6 ? "0" : "3");
        const train::TrainResult rest = train::train(r);
        EXPECT_EQ(rest.first_step, stop);
        EXPECT_TRUE(rest.finished);
        // The losses of the resumed steps equal the uninterrupted run's, and the final files are identical.
        ASSERT_EQ(rest.losses.size(), size_t(12 - stop));
        for (size_t i = 0; i < rest.losses.size(); ++i) EXPECT_EQ(rest.losses[i], full.losses[stop + i]) << i;
        EXPECT_TRUE(test::read_bytes(rest.checkpoint) == reference) << "stop at " << stop;
    }
}

TEST_F(TrainResume, SgdPolyScheduleResumesBitIdentically) {
    train::TrainSettings s = base("sgd_full");
    s.set("optimizer", "sgd");
    s.set("schedule", "poly");
    s.set("grad_clip", "0.5");
    const train::TrainResult full = train::train(s);
    train::TrainSettings p = base("sgd_part");
    p.set("optimizer", "sgd");
    p.set("schedule", "poly");
    p.set("grad_clip", "0.5");
    p.set("stop_after", "5");
    train::train(p);
    train::TrainSettings r = base("sgd_part");
    r.set("resume", "true");
    r.set("optimizer", "sgd");  // explicit settings equal to the stored ones are fine
    const train::TrainResult rest = train::train(r);
    EXPECT_TRUE(test::read_bytes(rest.checkpoint) == test::read_bytes(full.checkpoint));
}

// The step schedule's learning-rate trace: x lr_step_factor before the first update at or after each milestone
// (epochs done -> round(m x 4 updates per epoch)), the same for every group's multiplier; a run stopped across a
// decay resumes bit-identically.
TEST_F(TrainResume, StepScheduleLearningRateTrace) {
    train::TrainSettings s = base("step_trace");
    s.set("schedule", "step");
    s.set("lr_steps", "1,2.5");  // updates 4 and 10 of 12
    s.set("lr_step_factor", "0.5");
    std::vector<double> lrs;  // the lr of update t, t = 0..11
    train::TrainHooks hooks;
    hooks.on_start = [&](const train::StepInfo& info) { lrs.push_back(info.lr); };
    hooks.on_step = [&](const train::StepInfo& info) {
        if (info.step < info.total_steps) lrs.push_back(info.lr);
    };
    const train::TrainResult full = train::train(s, hooks);
    ASSERT_EQ(lrs.size(), 12u);
    for (size_t t = 0; t < lrs.size(); ++t) {
        double want = 0.05;
        if (t >= 4) want = want * 0.5;
        if (t >= 10) want = want * 0.5;
        EXPECT_EQ(lrs[t], want) << "update " << t;
    }
    train::TrainSettings p = base("step_part");
    p.set("schedule", "step");
    p.set("lr_steps", "1,2.5");
    p.set("lr_step_factor", "0.5");
    p.set("stop_after", "5");
    train::train(p);
    train::TrainSettings r = base("step_part");
    r.set("resume", "true");
    const train::TrainResult rest = train::train(r);
    EXPECT_TRUE(test::read_bytes(rest.checkpoint) == test::read_bytes(full.checkpoint));
    // 'step' without milestones is an error before training
    train::TrainSettings none = base("step_none");
    none.set("schedule", "step");
    test::expect_error([&] { train::resolve_config(none); }, {"'step' needs milestones", "lr_steps"});
    test::expect_error([&] { none.set("lr_steps", "3,1"); train::resolve_config(none); }, {"lr_steps", "non-decreasing"});
}

// A recipe's milestones are given for its epochs: a shorter or longer run scales them (epochs / recipe epochs),
// explicit milestones are kept as given.
TEST_F(TrainResume, StepMilestonesScaleWithTheRunLength) {
    train::TrainSettings s = base("scale");
    s.set("options.step_recipe", "true");
    EXPECT_EQ(train::resolve_config(s).recipe.lr_steps, (std::vector<double>{2}));  // the recipe's 3 epochs
    s.set("epochs", "6");
    EXPECT_EQ(train::resolve_config(s).recipe.lr_steps, (std::vector<double>{4}));
    s.set("epochs", "1");
    const train::TrainConfig c = train::resolve_config(s);
    EXPECT_EQ(c.recipe.lr_steps, (std::vector<double>{2.0 / 3.0}));
    EXPECT_NE(train::describe(c).find("lr_steps = " + number_text(2.0 / 3.0)), std::string::npos) << train::describe(c);
    s.set("lr_steps", "0.5");
    EXPECT_EQ(train::resolve_config(s).recipe.lr_steps, (std::vector<double>{0.5}));
}

// A crash between periodic saves: the file on disk is the last complete periodic checkpoint (never a partial
// one), and resuming from it reaches the uninterrupted run's bytes.
TEST_F(TrainResume, CheckpointsAreWrittenEveryNStepsAtomically) {
    const train::TrainResult full = train::train(base("crash_full"));
    train::TrainSettings s = base("crash");
    s.set("checkpoint_every", "3");
    train::TrainHooks hooks;
    const std::string path = train::checkpoint_path(out("crash"));
    std::vector<int64_t> seen_steps;
    hooks.on_step = [&](const train::StepInfo& info) {
        // Before this step's save: the file holds the last multiple of 3 (or nothing yet).
        if (fs::exists(path)) {
            io::SafetensorsFile f(path);
            seen_steps.push_back(info.step);
        }
        if (info.step == 8) throw Error("simulated crash at step 8");
    };
    test::expect_error([&] { train::train(s, hooks); }, "", {"simulated crash"});
    EXPECT_EQ(seen_steps.front(), 4);  // saved after step 3, first seen in step 4's hook
    for (const auto& e : fs::directory_iterator(out("crash")))
        EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
    // Step stored: 6.
    {
        io::SafetensorsFile f(path);
        const json::Value meta = json::parse(f.metadata().at(io::kCheckpointMetadataKey));
        EXPECT_EQ(meta.at("step").as_int64(), 6);
        EXPECT_EQ(meta.at("user").at("wsdol.method").as_string(), "testlinear");
    }
    train::TrainSettings r;
    r.set("data", data());
    r.set("out", out("crash"));
    r.set("resume", "true");
    const train::TrainResult rest = train::train(r);
    EXPECT_EQ(rest.first_step, 6);
    EXPECT_TRUE(test::read_bytes(rest.checkpoint) == test::read_bytes(full.checkpoint));
}

TEST_F(TrainResume, ResumeMismatchesNameTheField) {
    train::TrainSettings s = base("mismatch");
    s.set("stop_after", "2");
    train::train(s);
    auto resume_with = [&](const std::string& key, const std::string& value) {
        train::TrainSettings r;
        r.set("data", data());
        r.set("out", out("mismatch"));
        r.set("resume", "true");
        r.set(key, value);
        return r;
    };
    test::expect_error([&] { train::train(resume_with("lr", "0.5")); }, "--resume: setting 'lr'", {"0.5", "0.05"});
    test::expect_error([&] { train::train(resume_with("method", "tinycam")); }, "--resume: setting 'method'",
                       {"tinycam", "testlinear"});
    test::expect_error([&] { train::train(resume_with("options.dropout", "0.7")); }, "--resume: method option 'dropout'",
                       {"0.7"});
    test::expect_error([&] { train::train(resume_with("epochs", "9")); }, "--resume: setting 'epochs'", {"9", "3"});
    // Another dataset with other classes.
    const std::string other = out("other_data");
    const auto g = test::run_wsdol("synth --quiet --out '" + other + "' --images 40 --size 48 --classes 5 --seed 3");
    ASSERT_EQ(g.code, 0) << g.output;
    test::expect_error([&] { train::train(resume_with("data", other)); }, "--resume: classes of", {"differ", "ring)"});
    // Missing checkpoint.
    test::expect_error(
        [&] {
            train::TrainSettings r = base("never_trained");
            r.set("resume", "true");
            train::train(r);
        },
        "", {"checkpoint.safetensors", "not found"});
}

TEST_F(TrainResume, SettingsParseFromFilesAndFlags) {
    test::ScratchDir dir;
    const std::string json_file = dir.file("c.json"), kv_file = dir.file("c.cfg");
    test::write_bytes(json_file, R"({"method": "testlinear", "epochs": 7, "lr": 0.01, "batch-size": 4,
                                     "options": {"dropout": 0.3}})");
    test::write_bytes(kv_file, "# a comment\nmethod = testlinear\nepochs = 5   # trailing\nschedule = constant\n");
    train::TrainSettings s;
    s.set("epochs", "2");  // flags win over the file
    train::read_config_file(json_file, s);
    EXPECT_EQ(s.values.at("method"), "testlinear");
    EXPECT_EQ(s.values.at("epochs"), "2");
    EXPECT_EQ(s.values.at("lr"), "0.01");
    EXPECT_EQ(s.values.at("batch_size"), "4");
    EXPECT_EQ(s.options.at("dropout"), "0.3");
    s.set("data", data());
    s.set("out", dir.file("run"));
    const train::TrainConfig c = train::resolve_config(s);
    EXPECT_EQ(c.recipe.epochs, 2);
    EXPECT_EQ(c.recipe.lr, 0.01);
    EXPECT_EQ(c.recipe.batch_size, 4);
    EXPECT_EQ(c.recipe.weight_decay, 1e-3);  // the method's recipe
    EXPECT_EQ(c.options.at("dropout"), "0.3");
    train::TrainSettings k;
    train::read_config_file(kv_file, k);
    EXPECT_EQ(k.values.at("epochs"), "5");
    EXPECT_EQ(k.values.at("schedule"), "constant");

    test::write_bytes(dir.file("bad1.json"), R"({"method": "testlinear", "epoch": 3})");
    test::expect_error([&] { train::TrainSettings x; train::read_config_file(dir.file("bad1.json"), x); }, "",
                       {"bad1.json", "unknown setting 'epoch'"});
    test::write_bytes(dir.file("bad2.cfg"), "method testlinear\n");
    test::expect_error([&] { train::TrainSettings x; train::read_config_file(dir.file("bad2.cfg"), x); }, "",
                       {"bad2.cfg", "line 1", "key = value"});
    test::expect_error([&] { train::TrainSettings x; train::read_config_file(dir.file("none.json"), x); }, "",
                       {"none.json", "not found"});
    train::TrainSettings bad = s;
    bad.set("schedule", "linear");
    test::expect_error([&] { train::resolve_config(bad); }, "setting 'schedule'", {"cosine | poly | constant", "linear"});
    train::TrainSettings bad_lr = s;
    bad_lr.set("lr", "fast");
    test::expect_error([&] { train::resolve_config(bad_lr); }, "setting 'lr'", {"expected a number", "fast"});
    train::TrainSettings bad_opt = s;
    bad_opt.set("options.dropuot", "0.1");
    test::expect_error([&] { train::resolve_config(bad_opt); }, "method testlinear: unknown option 'dropuot'", {});
    train::TrainSettings unknown = s;
    unknown.set("method", "nosuchmethod");
    test::expect_error([&] { train::resolve_config(unknown); }, "unknown method 'nosuchmethod'", {"testlinear", "tinycam"});
    train::TrainSettings big = s;
    big.set("batch_size", "1000");
    test::expect_error([&] { train::resolve_config(big); }, "train: split 'train'", {"fewer than one batch"});
}

TEST_F(TrainResume, ClassMismatchAtLoadIsAnError) {
    train::TrainSettings s = base("load");
    s.set("stop_after", "1");
    const train::TrainResult r = train::train(s);
    const train::LoadedMethod lm = train::load_trained_method(r.checkpoint);
    EXPECT_EQ(lm.config.method, "testlinear");
    EXPECT_EQ(lm.class_names.size(), 4u);
    EXPECT_EQ(lm.step, 1);
    test::expect_error([&] { train::load_trained_method(r.checkpoint, {"a", "b", "c", "d"}); }, "classes of the dataset",
                       {"a, b, c, d", r.checkpoint});
    test::write_bytes(out("not_a_ckpt.safetensors"), "garbage");
    test::expect_error([&] { train::load_trained_method(out("not_a_ckpt.safetensors")); }, "", {"not_a_ckpt"});
}

}  // namespace
}  // namespace wsdol

namespace wsdol {
namespace {

// The paper's methods through the same loop: a tiny MCTformer (drop-path draws from the method's generator) and a
// tiny CAM resume bit-identically too.
TEST_F(TrainResume, RealMethodsResumeBitIdentically) {
    for (const std::string method : {"mctformer", "cam", "vit_classifier"}) {
        if (!models::has_method(method)) continue;
        auto settings = [&](const std::string& out_name) {
            train::TrainSettings s = base(out_name);
            s.set("method", method);
            s.set("epochs", "2");
            s.set("batch_size", "8");
            s.set("input_size", "32");
            s.set("augmentation", "flip");
            s.set("options.image_size", "32");
            s.set("options.patch_size", "8");
            s.set("options.embed_dim", "32");
            s.set("options.depth", "2");
            s.set("options.num_heads", "2");
            return s;
        };
        const train::TrainResult full = train::train(settings(method + "_full"));
        ASSERT_TRUE(full.finished);
        train::TrainSettings part = settings(method + "_part");
        part.set("stop_after", "3");
        train::train(part);
        train::TrainSettings rest;
        rest.set("data", data());
        rest.set("out", out(method + "_part"));
        rest.set("resume", "true");
        const train::TrainResult r = train::train(rest);
        EXPECT_EQ(r.first_step, 3);
        EXPECT_TRUE(test::read_bytes(r.checkpoint) == test::read_bytes(full.checkpoint)) << method;
    }
}

}  // namespace
}  // namespace wsdol
