// test_train_cli.cpp — `wsdol train` and `wsdol infer` from the outside: the progress bar, --stop-after/--resume
// and a killed process resuming to the uninterrupted run's bytes, maps that `wsdol eval` reads with the same mIoU,
// and bad input failing with a clear message before any training step (missing image, class list differing from
// the checkpoint, a CLIP checkpoint of the wrong architecture, usage errors).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "models/method_registry.h"
#include "models/vit.h"
#include "weights/weights_file.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& piece) { return s.find(piece) != std::string::npos; }

class TrainCli : public testing::Test {
protected:
    static void SetUpTestSuite() {
        root_ = new test::ScratchDir();
        const auto r = test::run_wsdol("synth --quiet --out '" + data() + "' --images 40 --size 48 --classes 4 --seed 5");
        ASSERT_EQ(r.code, 0) << r.output;
        // The uninterrupted reference run: tinycam, 3 epochs of 2 batches of 16.
        const auto f = test::run_wsdol(train_args("full") + " --quiet");
        ASSERT_EQ(f.code, 0) << f.output;
    }
    static void TearDownTestSuite() {
        delete root_;
        root_ = nullptr;
    }
    static std::string data() { return root_->file("data"); }
    static std::string dir(const std::string& name) { return root_->file(name); }
    static std::string ckpt(const std::string& name) { return dir(name) + "/checkpoint.safetensors"; }
    static std::string train_args(const std::string& out) {
        return "train --method tinycam --data '" + data() + "' --out '" + dir(out) + "' --epochs 3 --input-size 48";
    }
    static test::ScratchDir* root_;
};
test::ScratchDir* TrainCli::root_ = nullptr;

TEST_F(TrainCli, ProgressStopAndResumeReproduceTheUninterruptedCheckpoint) {
    const auto a = test::run_wsdol(train_args("stopped") + " --stop-after 3 --checkpoint-every 1");
    ASSERT_EQ(a.code, 0) << a.output;
    for (const char* piece : {"img/s", "ETA", "loss", "lr", "step 3/6", "epoch 2/3", "stopped at step 3/6"})
        EXPECT_TRUE(contains(a.output, piece)) << piece << " not in:\n" << a.output;
    const auto b = test::run_wsdol("train --data '" + data() + "' --out '" + dir("stopped") + "' --resume --workers 3");
    ASSERT_EQ(b.code, 0) << b.output;
    EXPECT_TRUE(contains(b.output, "resuming tinycam")) << b.output;
    EXPECT_TRUE(contains(b.output, "resuming at step 3")) << b.output;
    EXPECT_TRUE(test::read_bytes(ckpt("stopped")) == test::read_bytes(ckpt("full")));
    // A finished run resumed again changes nothing.
    const auto c = test::run_wsdol("train --data '" + data() + "' --out '" + dir("stopped") + "' --resume --quiet");
    ASSERT_EQ(c.code, 0) << c.output;
    EXPECT_TRUE(test::read_bytes(ckpt("stopped")) == test::read_bytes(ckpt("full")));
}

// --log-terms: one stdout line per step with the total and every loss term, equal to the run's final loss line.
TEST_F(TrainCli, LogTermsPrintsEveryStep) {
    const auto r = test::run_wsdol(train_args("terms") + " --stop-after 2 --quiet --log-terms");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "step 1/6 loss ")) << r.output;
    EXPECT_TRUE(contains(r.output, "step 2/6 loss ")) << r.output;
    EXPECT_FALSE(contains(r.output, "step 3/6")) << r.output;
    const size_t at = r.output.find("step 2/6 loss ");
    ASSERT_NE(at, std::string::npos);
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    std::istringstream in(line);
    std::string step, steps, loss_word, cls_word;
    double loss = 0, cls = 0;
    in >> step >> steps >> loss_word >> loss >> cls_word >> cls;
    EXPECT_EQ(cls_word, "cls") << line;
    EXPECT_EQ(loss, cls) << line;  // tinycam's total is its one term
}

// kill -9 at an arbitrary moment (possibly during a save): the checkpoint on disk is complete, and --resume
// reaches the uninterrupted run's bytes.
TEST_F(TrainCli, KilledRunResumesBitIdentically) {
    const std::string path = ckpt("killed");
    const std::string script = "sh -c \"" + std::string(WSDOL_BINARY) + " " + train_args("killed") +
                               " --checkpoint-every 1 --quiet >/dev/null 2>&1 & pid=\\$!; i=0; while [ ! -f '" + path +
                               "' ] && [ \\$i -lt 400 ]; do sleep 0.01; i=\\$((i+1)); done; kill -9 \\$pid; wait \\$pid\" 2>/dev/null";
    FILE* p = popen(script.c_str(), "r");
    ASSERT_NE(p, nullptr);
    pclose(p);
    ASSERT_TRUE(fs::exists(path));
    io::SafetensorsFile f(path);  // complete and valid
    const auto r = test::run_wsdol("train --data '" + data() + "' --out '" + dir("killed") + "' --resume --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(test::read_bytes(path) == test::read_bytes(ckpt("full")));
}

TEST_F(TrainCli, InferWritesMapsAndSeedsThatEvalScoresAlike) {
    const std::string maps = dir("maps");
    const auto r = test::run_wsdol("infer --checkpoint '" + ckpt("full") + "' --data '" + data() + "' --out '" + maps + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    ASSERT_TRUE(contains(r.output, "mIoU ")) << r.output;
    const Tensor m = data::read_npy(maps + "/synth_000000.npy");
    ASSERT_EQ(m.dim(), 3);
    EXPECT_EQ(m.size(0), 4);
    EXPECT_EQ(m.size(1), 48);
    EXPECT_EQ(m.size(2), 48);
    const data::Image seed = data::read_label_png(maps + "/synth_000000.png");
    EXPECT_EQ(seed.height, 48);
    for (uint8_t v : seed.pixels) EXPECT_LE(v, 4);
    // `wsdol eval --sweep` on the written maps prints the same mIoU.
    const auto e = test::run_wsdol("eval --task seg --data '" + data() + "' --pred '" + maps + "' --list '" + data() +
                                   "/ImageSets/Segmentation/train.txt' --sweep --pred-type npy --json");
    ASSERT_EQ(e.code, 0) << e.output;
    // infer prints "seed mIoU Y at background threshold T' (MCTformer's published protocol ...)" (the headline)
    // then "diagnostic: best mIoU over t = 0.00 .. 0.99: X at T".
    const std::string best_key = "best mIoU over t = 0.00 .. 0.99: ";
    const size_t at = r.output.find(best_key);
    ASSERT_NE(at, std::string::npos) << r.output;
    const double best_miou = std::stod(r.output.substr(at + best_key.size()));
    const size_t sweep_at = r.output.find("seed mIoU ");
    ASSERT_NE(sweep_at, std::string::npos) << r.output;
    const double sweep_miou = std::stod(r.output.substr(sweep_at + 10));
    EXPECT_GE(best_miou, sweep_miou);
    const json::Value v = json::parse(e.output.substr(e.output.find('{')));
    EXPECT_NEAR(v.at("mIoU").as_double(), sweep_miou, 0.006);
}

TEST_F(TrainCli, MissingImageFailsBeforeTraining) {
    const std::string broken = dir("broken_data");
    fs::copy(data(), broken, fs::copy_options::recursive);
    fs::remove(broken + "/JPEGImages/synth_000007.jpg");
    const auto r = test::run_wsdol("train --method tinycam --data '" + broken + "' --out '" + dir("broken") + "'");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "synth_000007.jpg")) << r.output;
    EXPECT_FALSE(contains(r.output, "step ")) << r.output;
    EXPECT_FALSE(fs::exists(ckpt("broken")));
}

TEST_F(TrainCli, ClassListDifferingFromTheCheckpointIsAnError) {
    const std::string other = dir("other_classes");
    const auto g = test::run_wsdol("synth --quiet --out '" + other + "' --images 40 --size 48 --classes 3 --seed 5");
    ASSERT_EQ(g.code, 0) << g.output;
    const auto r = test::run_wsdol("infer --checkpoint '" + ckpt("full") + "' --data '" + other + "' --out '" +
                                   dir("other_maps") + "'");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "classes of the dataset (circle, square, triangle) differ from the classes of"))
        << r.output;
    EXPECT_FALSE(fs::exists(dir("other_maps") + "/synth_000000.npy"));
    // Resuming on it.
    fs::create_directories(dir("resume_other"));
    fs::copy_file(ckpt("full"), ckpt("resume_other"));
    const auto s = test::run_wsdol("train --data '" + other + "' --out '" + dir("resume_other") + "' --resume");
    EXPECT_EQ(s.code, 1) << s.output;
    EXPECT_TRUE(contains(s.output, "--resume: classes of")) << s.output;
    EXPECT_TRUE(test::read_bytes(ckpt("resume_other")) == test::read_bytes(ckpt("full")));  // untouched
}

// A CLIP checkpoint of the wrong architecture (here a timm ViT) for a CLIP-guided method is refused before training.
TEST_F(TrainCli, ClipCheckpointOfTheWrongArchitectureIsAnError) {
    if (!models::has_method("mmcst")) GTEST_SKIP() << "mmcst is not in this build";
    models::ViTConfig vc;
    vc.image_size = 32;
    vc.patch_size = 8;
    vc.embed_dim = 32;
    vc.depth = 1;
    vc.num_heads = 2;
    vc.num_classes = 4;
    models::VisionTransformer vit(vc);
    const std::string wrong = dir("not_a_clip.safetensors");
    io::save_safetensors(wrong, vit.state_dict());
    const auto r = test::run_wsdol("train --method mmcst --data '" + data() + "' --out '" + dir("mmcst_wrong") +
                                   "' --clip '" + wrong + "'");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "not_a_clip.safetensors")) << r.output;
    EXPECT_TRUE(contains(r.output, "CLIP")) << r.output;
    EXPECT_FALSE(fs::exists(ckpt("mmcst_wrong")));
}

// The demo's pretraining path: a vit_classifier checkpoint is read as a timm ViT file (its "model." tensors,
// without the optimizer state) and starts CAM and MCTformer; one of another width is refused naming the file.
TEST_F(TrainCli, ViTClassifierCheckpointIsABackbone) {
    const std::string vit = " --set image_size=48 --set patch_size=8 --set embed_dim=32 --set depth=1 --set num_heads=2";
    const auto p = test::run_wsdol("train --method vit_classifier --data '" + data() + "' --out '" + dir("pre") +
                                   "' --epochs 1 --batch-size 8 --input-size 48 --quiet" + vit);
    ASSERT_EQ(p.code, 0) << p.output;
    const weights::WeightsFile w = weights::read_weights(ckpt("pre"));
    EXPECT_EQ(w.state_dict_key, "model");
    std::map<std::string, Tensor> by_name(w.tensors.begin(), w.tensors.end());
    for (const char* name : {"cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "head.weight"})
        EXPECT_TRUE(by_name.count(name)) << name;
    for (const auto& [name, t] : w.tensors) EXPECT_NE(name.rfind("optim.", 0), 0u) << name;
    for (const char* method : {"cam", "mctformer"}) {
        const std::string out = dir(std::string("from_pre_") + method);
        const auto r = test::run_wsdol(std::string("train --method ") + method + " --data '" + data() + "' --out '" +
                                       out + "' --backbone '" + ckpt("pre") + "' --epochs 1 --batch-size 8 --input-size 48 --quiet" +
                                       vit + (std::string(method) == "cam" ? " --set backbone=vit" : ""));
        ASSERT_EQ(r.code, 0) << method << "\n" << r.output;
        EXPECT_FALSE(contains(r.output, "random initialisation")) << r.output;
    }
    // The backbone tensors arrived: MCTformer's first block equals the classifier's before any step.
    const auto z = test::run_wsdol("train --method mctformer --data '" + data() + "' --out '" + dir("zero_steps") +
                                   "' --backbone '" + ckpt("pre") + "' --epochs 1 --batch-size 8 --input-size 48 --stop-after 0 --quiet" +
                                   vit);
    ASSERT_EQ(z.code, 0) << z.output;
    const weights::WeightsFile m = weights::read_weights(ckpt("zero_steps"));
    std::map<std::string, Tensor> mct(m.tensors.begin(), m.tensors.end());
    ASSERT_TRUE(mct.count("blocks.0.attn.qkv.weight"));
    EXPECT_TRUE(test::bit_equal(mct.at("blocks.0.attn.qkv.weight"), by_name.at("blocks.0.attn.qkv.weight")));
    const auto bad = test::run_wsdol("train --method cam --data '" + data() + "' --out '" + dir("from_pre_bad") +
                                     "' --backbone '" + ckpt("pre") + "' --epochs 1 --batch-size 8 --input-size 48 --quiet --set backbone=vit"
                                     " --set image_size=48 --set patch_size=8 --set embed_dim=64 --set depth=1 --set num_heads=2");
    EXPECT_EQ(bad.code, 1) << bad.output;
    EXPECT_TRUE(contains(bad.output, ckpt("pre"))) << bad.output;
    EXPECT_FALSE(fs::exists(ckpt("from_pre_bad")));
}

// `wsdol infer --set` replaces a stored method option for one run: MCTformer's map type and refinement.
TEST_F(TrainCli, InferSetReplacesMapOptions) {
    if (!models::has_method("mctformer")) GTEST_SKIP() << "mctformer is not in this build";
    const auto t = test::run_wsdol("train --method mctformer --data '" + data() + "' --out '" + dir("mct") +
                                   "' --epochs 1 --batch-size 8 --input-size 48 --quiet --set image_size=48 --set patch_size=8"
                                   " --set embed_dim=32 --set depth=2 --set num_heads=2");
    ASSERT_EQ(t.code, 0) << t.output;
    auto infer = [&](const std::string& name, const std::string& sets) {
        return test::run_wsdol("infer --checkpoint '" + ckpt("mct") + "' --data '" + data() + "' --out '" + dir(name) +
                               "' --max-images 2 --no-png --quiet" + sets);
    };
    const auto fused = infer("m_fused", ""), attention = infer("m_attention", " --set map_type=attention"),
               unrefined = infer("m_unrefined", " --set patch_refine=false");
    ASSERT_EQ(fused.code, 0) << fused.output;
    ASSERT_EQ(attention.code, 0) << attention.output;
    ASSERT_EQ(unrefined.code, 0) << unrefined.output;
    const Tensor a = data::read_npy(dir("m_fused") + "/synth_000000.npy");
    EXPECT_FALSE(test::bit_equal(a, data::read_npy(dir("m_attention") + "/synth_000000.npy")));
    EXPECT_FALSE(test::bit_equal(a, data::read_npy(dir("m_unrefined") + "/synth_000000.npy")));
    const auto typo = infer("m_typo", " --set patch_refin=false");
    EXPECT_EQ(typo.code, 1) << typo.output;
    EXPECT_TRUE(contains(typo.output, "unknown option 'patch_refin'")) << typo.output;
    const auto bad = infer("m_bad", " --set map_type=rollout");
    EXPECT_EQ(bad.code, 1) << bad.output;
    EXPECT_TRUE(contains(bad.output, "rollout")) << bad.output;
}

TEST_F(TrainCli, UsageErrorsNameTheProblem) {
    struct Case {
        std::string args, expected;
    };
    const std::vector<Case> cases = {
        {"train --data '" + data() + "' --out '" + dir("u") + "'", "--method is required"},
        {"train --method tinycam --out '" + dir("u") + "'", "--data DIR is required"},
        {"train --method nope --data '" + data() + "' --out '" + dir("u") + "'", "unknown method 'nope'"},
        {"train --method tinycam --data '" + data() + "' --out '" + dir("u") + "' --set widht=3",
         "unknown option 'widht'"},
        {"train --method tinycam --data '" + data() + "' --out '" + dir("u") + "' --set width", "--set expects key=value"},
        {"train --method tinycam --data '" + data() + "' --out '" + dir("u") + "' --optimizer lamb",
         "setting 'optimizer': expected adamw | sgd, got 'lamb'"},
        {"train --method tinycam --data '" + data() + "' --out '" + dir("u") + "' --config '" + dir("none.cfg") + "'",
         "none.cfg: config file not found"},
        {"train --data '" + data() + "' --out '" + dir("never") + "' --resume", "checkpoint not found"},
        {"infer --data '" + data() + "' --out '" + dir("u") + "'", "--checkpoint FILE is required"},
        {"infer --checkpoint '" + dir("none.safetensors") + "' --data '" + data() + "' --out '" + dir("u") + "'",
         "none.safetensors: checkpoint not found"},
    };
    for (const Case& c : cases) {
        const auto r = test::run_wsdol(c.args);
        EXPECT_EQ(r.code, 1) << c.args << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, c.expected)) << c.args << "\nexpected '" << c.expected << "' in:\n" << r.output;
    }
    const auto d = test::run_wsdol("train --method tinycam --data '" + data() + "' --out '" + dir("u") +
                                   "' --dry-run --lr 0.003 --set width=8");
    ASSERT_EQ(d.code, 0) << d.output;
    EXPECT_TRUE(contains(d.output, "lr = 0.003")) << d.output;
    EXPECT_TRUE(contains(d.output, "options.width = 8")) << d.output;
    EXPECT_FALSE(fs::exists(ckpt("u")));
}

}  // namespace
}  // namespace wsdol
