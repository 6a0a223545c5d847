// test_clims_pipeline.cpp — the CLIMS chain (tests/pipelines/clims_synth.json: cam stage 0 -> clims stage 1 ->
// seeds) through `wsdol pipeline` in a tiny configuration (ResNet width 4, 64 px, the 1 MB test CLIP): it runs,
// an interruption between the stages and inside the CLIMS stage resumes to the same files as an uninterrupted
// chain, and a CLIP of another architecture or a missing file fails before the first stage trains, a missing stage
// output before the stage that reads it, and a stage-0 checkpoint of another network before CLIMS trains, each
// naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

const std::string kChain = std::string(WSDOL_SOURCE_DIR) + "/tests/pipelines/clims_synth.json";
const std::string kClip = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cli/clip_tiny.safetensors";
const std::string kVocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";

std::string tiny_vars(const std::string& data, const std::string& clip) {
    return " --quiet --var data='" + data + "' --var clip='" + clip + "' --var vocab='" + kVocab +
           "' --var head_width=4 --var width=4 --var input_size=64 --var batch_size=4 --var cam_epochs=1"
           " --var cam_lr=0.001 --var clims_epochs=1";
}

TEST(ClimsPipeline, ChainRunsAndResumesBitIdentically) {
    test::ScratchDir dir;
    auto r = test::run_wsdol("synth --quiet --out '" + dir.file("data") + "' --images 16 --size 48 --classes 3 --seed 2");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string vars = tiny_vars(dir.file("data"), kClip);
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("full") + "'" + vars);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("4 stage(s) ran, 0 skipped; finished"), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(dir.file("full") + "/clims/checkpoint.safetensors"));
    // stopped between the stages (the CAM done), then inside the CLIMS stage, then continued
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "' --stop-after-stage cam" + vars);
    ASSERT_EQ(r.code, 0) << r.output;
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "' --stop-after-steps 2" + vars);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("stopped"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("part") + "/seeds"));
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("part") + "'" + vars);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(test::folder_digest(dir.file("part")), test::folder_digest(dir.file("full")));
}

TEST(ClimsPipeline, BadInputsFailBeforeTrainingNamingTheFile) {
    test::ScratchDir dir;
    auto r = test::run_wsdol("synth --quiet --out '" + dir.file("data") + "' --images 8 --size 48 --classes 3 --seed 2");
    ASSERT_EQ(r.code, 0) << r.output;
    // a CLIP file of another architecture (a torchvision ResNet)
    const std::string not_clip = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/models/resnet.safetensors";
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("a") + "'" + tiny_vars(dir.file("data"), not_clip));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find(not_clip), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pipeline stage 'clims': clip"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("is not a CLIP checkpoint"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("a") + "/cam"));  // checked before the first stage: nothing trained
    // a missing CLIP file, likewise
    const std::string no_file = dir.file("no_such_clip.safetensors");
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("a2") + "'" + tiny_vars(dir.file("data"), no_file));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("pipeline stage 'clims': clip " + no_file + " does not exist"), std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(dir.file("a2") + "/cam"));
    // a missing stage output: the CAM stage finished, then its checkpoint went missing
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("m") + "' --stop-after-stage cam" +
                        tiny_vars(dir.file("data"), kClip));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string stage0 = dir.file("m") + "/cam/checkpoint.safetensors";
    ASSERT_TRUE(fs::remove(stage0));
    r = test::run_wsdol("pipeline '" + kChain + "' --out '" + dir.file("m") + "'" + tiny_vars(dir.file("data"), kClip));
    EXPECT_NE(r.code, 0);
    // (the first reader of the CAM checkpoint is the stage of its seeds)
    EXPECT_NE(r.output.find("pipeline stage 'cam_seeds': checkpoint " + stage0 + " does not exist: stage 'cam' finished"),
              std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("m") + "/cam_seeds"));
    EXPECT_FALSE(fs::exists(dir.file("m") + "/clims"));
    // a stage-0 checkpoint of another network, and a missing stage output
    const std::string common = " --quiet --data '" + dir.file("data") + "' --clip '" + kClip + "' --clip-vocab '" +
                               kVocab + "' --set width=4 --set clip_head_width=4 --input-size 64 --batch-size 4";
    r = test::run_wsdol("train --method clims --out '" + dir.file("b") + "' --backbone '" + not_clip + "'" + common);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find(not_clip), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("b") + "/checkpoint.safetensors"));
    const std::string missing = dir.file("nowhere") + "/checkpoint.safetensors";
    r = test::run_wsdol("train --method clims --out '" + dir.file("c") + "' --backbone '" + missing + "'" + common);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
