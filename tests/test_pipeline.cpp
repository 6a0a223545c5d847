// test_pipeline.cpp — `wsdol pipeline` (runner/pipeline.h): a declared chain runs, skips finished stages, resumes
// an interrupted one to the same files as an uninterrupted run, refuses changed settings and bad files by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>

#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

const std::string kChain = std::string(WSDOL_SOURCE_DIR) + "/tests/pipelines/cam_seeds.json";


TEST(Pipeline, InterruptedChainResumesToTheSameFiles) {
    test::ScratchDir dir;
    auto r = test::run_wsdol("synth --quiet --out '" + dir.file("data") + "' --images 24 --size 32 --classes 3 --seed 1");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string common = " --quiet --var data='" + dir.file("data") + "'";
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("full") + "'" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("2 stage(s) ran, 0 skipped; finished"), std::string::npos) << r.output;
    // Interrupted inside the training stage, then continued twice (the second run finds everything done).
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "' --stop-after-steps 1" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("stopped"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("part") + "/seeds"));
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "'" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("2 stage(s) ran, 0 skipped; finished"), std::string::npos) << r.output;
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "'" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("0 stage(s) ran, 2 skipped; finished"), std::string::npos) << r.output;
    EXPECT_EQ(test::folder_digest(dir.file("part")), test::folder_digest(dir.file("full")));
    // Stopped between the stages, then continued.
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("mid") + "' --stop-after-stage cam" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("mid") + "'" + common);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("1 stage(s) ran, 1 skipped; finished"), std::string::npos) << r.output;
    EXPECT_EQ(test::folder_digest(dir.file("mid")), test::folder_digest(dir.file("full")));
    // Changed settings of a finished stage are refused, naming it; --force starts over.
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("full") + "' --var epochs=3" + common);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("stage 'cam' finished earlier with other settings"), std::string::npos) << r.output;
}

TEST(Pipeline, BadFilesAreNamed) {
    test::ScratchDir dir;
    auto bad = [&](const std::string& text, std::vector<std::string> wanted) {
        const std::string path = dir.file("p.json");
        std::ofstream(path) << text;
        const auto r = test::run_wsdol("pipeline '" + path + "' --out '" + dir.file("out") + "' --quiet");
        EXPECT_NE(r.code, 0) << text;
        for (const auto& w : wanted) EXPECT_NE(r.output.find(w), std::string::npos) << w << "\n" << r.output;
        EXPECT_FALSE(fs::exists(dir.file("out"))) << "nothing is written before the file is valid";
    };
    bad("{\"stages\": []}", {"p.json", "non-empty array"});
    bad("{\"stages\": [{\"name\": \"a\", \"run\": \"fly\"}]}", {"stage 'a'", "train | infer", "fly"});
    bad("{\"stages\": [{\"name\": \"a\", \"run\": \"infer\", \"settings\": {\"checkpoint\": \"${stage:b}/c\"}}]}",
        {"stage 'a'", "${stage:b} names no earlier stage"});
    bad("{\"stages\": [{\"name\": \"a\", \"run\": \"train\", \"settings\": {\"data\": \"${nope}\"}}]}",
        {"variable ${nope} is not defined"});
    bad("{\"stagez\": []}", {"unknown key 'stagez'"});
    // a file a stage reads that nothing writes is checked before the first stage runs
    bad("{\"stages\": [{\"name\": \"a\", \"run\": \"train\", \"settings\": {\"method\": \"tinycam\", "
        "\"data\": \"/no/such/folder\"}}]}",
        {"pipeline stage 'a': data /no/such/folder does not exist"});
}

}  // namespace
}  // namespace wsdol
