// test_demo.cpp — `wsdol demo --quick`: the whole pipeline on a tiny set writes report.html (inputs, ground truth,
// each method's maps) and results.json (per method: mIoU, best threshold, training time), prints the stage times
// and the table, and refuses to write into a folder that is not a demo output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <cmath>

#include "engine/io/json.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& s, const std::string& piece) {
    size_t n = 0;
    for (size_t at = s.find(piece); at != std::string::npos; at = s.find(piece, at + 1)) ++n;
    return n;
}

TEST(DemoCli, QuickRunWritesTheReportAndResults) {
    test::ScratchDir dir;
    const std::string out = dir.file("demo");
    // The default methods (CAM, MCTformer, MMCST with the small CLIP), at the quick preset's size.
    const auto r = test::run_wsdol("demo --out '" + out + "' --quick --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* piece : {"[demo] synth", "[demo] pretrain ViT", "[demo] train small CLIP", "[demo] train CAM", "[demo] train MCTformer",
                              "[demo] train MMCST", "[demo] localize MMCST", "[demo] localize MMCST refined", "[demo] report", "mIoU", "threshold",
                              "zero-shot top-1", "expected MCTformer > CAM (seed mIoU): ",
                              "expected MMCST > MCTformer (seed mIoU): ", "total "})
        EXPECT_NE(r.output.find(piece), std::string::npos) << piece << " not in:\n" << r.output;
    const json::Value results = json::parse(test::read_bytes(out + "/results.json"));
    for (const char* method : {"cam", "mctformer", "mmcst"}) {
        const json::Value& summary = results.at("methods").at(method);
        ASSERT_EQ(summary.at("seeds").size(), 1u) << method;
        const json::Value& m = summary.at("seeds").items()[0];  // the one seed's run
        EXPECT_EQ(summary.at("mIoU").as_double(), m.at("mIoU").as_double()) << "the mean of one seed is that seed";
        EXPECT_EQ(summary.at("mIoU_std").as_double(), 0.0) << method;
        EXPECT_GT(m.at("mIoU").as_double(), 0.0) << method;
        EXPECT_GE(m.at("best_threshold").as_double(), 0.0) << method;
        EXPECT_GT(m.at("train_seconds").as_double(), 0.0) << method;
        EXPECT_TRUE(fs::exists(out + "/maps/" + method + "/synth_000000.npy")) << method;
        EXPECT_TRUE(fs::exists(out + "/runs/" + method + "/checkpoint.safetensors")) << method;
        // Every method starts from the pretrained ViT (the trainer records the backbone file).
        EXPECT_NE(m.at("backbone").as_string().find("runs/pretrain/checkpoint.safetensors"), std::string::npos) << method;
    }
    for (const char* method : {"mctformer", "mmcst"}) {  // also the maps with the patch-affinity refinement
        EXPECT_GT(results.at("methods").at(method).at("seeds").items()[0].at("with_patch_refine").at("mIoU").as_double(), 0.0)
            << method;
        EXPECT_TRUE(fs::exists(out + "/maps/" + method + "-refined/synth_000000.npy")) << method;
    }
    EXPECT_TRUE(fs::exists(out + "/runs/pretrain/checkpoint.safetensors"));
    EXPECT_GT(results.at("pretrain").at("steps").as_double(), 0.0);
    EXPECT_TRUE(results.at("clip").find("zero_shot_top1") != nullptr);
    EXPECT_TRUE(results.at("clip").find("zero_shot_top1_independent_backgrounds") != nullptr);
    EXPECT_TRUE(results.at("clip").find("zero_shot_top1_background_only") != nullptr);
    for (const char* set : {"val", "one_object", "background_only"})  // per class
        EXPECT_GT(results.at("clip").at(set).at("per_class_accuracy").size(), 0u) << set;
    EXPECT_TRUE(results.at("stage_seconds").find("synth") != nullptr);
    const std::string html = test::read_bytes(out + "/report.html");
    EXPECT_EQ(count(html, "class=\"image-row\""), 6u);  // the quick preset shows 6 images
    EXPECT_EQ(count(html, "<td class=\"input\""), 6u);
    EXPECT_EQ(count(html, "<td class=\"gt\""), 6u);
    EXPECT_EQ(count(html, "<td class=\"map\""), 30u);  // each method's map (and 2 refined) for each image
    for (const char* label : {"CAM", "MCTformer", "MMCST", "MMCST refined"})
        EXPECT_NE(html.find(label), std::string::npos) << label;
    EXPECT_NE(html.find("small CLIP per class, one-object images"), std::string::npos);
    // A typo in an option touches nothing (it is refused before the folder is opened), and files a user added
    // inside the demo's folders survive a rerun: only what the earlier demo created is replaced.
    test::write_bytes(out + "/runs/notes.txt", "user");
    test::write_bytes(out + "/runs/cam/mine.txt", "user");
    const auto typo = test::run_wsdol("demo --out '" + out + "' --quick --quiet --methods camm");
    EXPECT_EQ(typo.code, 1);
    EXPECT_NE(typo.output.find("unknown method 'camm'"), std::string::npos) << typo.output;
    EXPECT_TRUE(fs::exists(out + "/runs/cam/checkpoint.safetensors"));
    EXPECT_TRUE(fs::exists(out + "/maps/cam"));
    // Running again over its own output is allowed; over someone else's folder it is not.
    const auto again = test::run_wsdol("demo --out '" + out + "' --quick --quiet --methods tinycam");
    EXPECT_EQ(again.code, 0) << again.output;
    EXPECT_EQ(test::read_bytes(out + "/runs/notes.txt"), "user");
    EXPECT_EQ(test::read_bytes(out + "/runs/cam/mine.txt"), "user");
    EXPECT_FALSE(fs::exists(out + "/runs/cam/checkpoint.safetensors")) << "the earlier demo's own files are replaced";
    const std::string foreign = dir.file("foreign");
    fs::create_directories(foreign);
    test::write_bytes(foreign + "/notes.txt", "mine");
    const auto refused = test::run_wsdol("demo --out '" + foreign + "' --quick --quiet --methods tinycam");
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.output.find("is not empty and was not written by wsdol"), std::string::npos) << refused.output;
    EXPECT_EQ(test::read_bytes(foreign + "/notes.txt"), "mine");
}

// --seeds N: every method once per seed on one benchmark, mean ± std per method, and each claim judged on the
// paired differences with the true sign (the printed verdict follows the numbers in results.json).
TEST(DemoCli, SeedsRunEveryMethodPerSeedAndJudgeTheClaimsWithTrueSigns) {
    test::ScratchDir dir;
    const std::string out = dir.file("demo");
    const auto r = test::run_wsdol("demo --out '" + out + "' --quick --quiet --methods cam,mctformer --seed 3 --seeds 2");
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value results = json::parse(test::read_bytes(out + "/results.json"));
    ASSERT_EQ(results.at("seeds").size(), 2u);
    EXPECT_EQ(results.at("seeds").items()[0].as_double(), 3.0);
    EXPECT_EQ(results.at("seeds").items()[1].as_double(), 4.0);
    std::vector<double> miou[2];
    int k = 0;
    for (const char* method : {"cam", "mctformer"}) {
        const json::Value& summary = results.at("methods").at(method);
        ASSERT_EQ(summary.at("seeds").size(), 2u) << method;
        for (size_t i = 0; i < 2; ++i) {
            const json::Value& run = summary.at("seeds").items()[i];
            EXPECT_EQ(run.at("seed").as_double(), 3.0 + double(i)) << method;
            miou[k].push_back(run.at("mIoU").as_double());
            EXPECT_TRUE(fs::exists(out + "/runs/" + method + "-seed" + std::to_string(3 + i) + "/checkpoint.safetensors"));
        }
        const double mean = (miou[k][0] + miou[k][1]) / 2;
        EXPECT_NEAR(summary.at("mIoU").as_double(), mean, 1e-9) << method;
        EXPECT_NEAR(summary.at("mIoU_std").as_double(), std::abs(miou[k][0] - miou[k][1]) / std::sqrt(2.0), 1e-9);
        ++k;
    }
    // The seeds differ (a seed that changed nothing would make the spread meaningless).
    EXPECT_NE(test::read_bytes(out + "/runs/cam-seed3/checkpoint.safetensors"),
              test::read_bytes(out + "/runs/cam-seed4/checkpoint.safetensors"));
    ASSERT_EQ(results.at("orderings").size(), 1u);
    const json::Value& claim = results.at("orderings").items()[0];
    EXPECT_EQ(claim.at("claim").as_string(), "MCTformer > CAM");
    const double diff = ((miou[1][0] - miou[0][0]) + (miou[1][1] - miou[0][1])) / 2;
    EXPECT_NEAR(claim.at("mean_difference").as_double(), diff, 1e-9);
    const std::string verdict = claim.at("verdict").as_string();
    EXPECT_EQ(verdict.rfind(diff > 0 ? "holds" : diff < 0 ? "does NOT hold" : "tie", 0), 0u) << verdict;
    EXPECT_NE(r.output.find("expected MCTformer > CAM (seed mIoU): " + verdict), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("mean ± sample std over 2 seeds"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
