// test_synth_cli.cpp — `wsdol synth` writes the VOC layout, byte-identically for a seed and any thread count, and
// refuses bad arguments before writing anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/data/image_io.h"
#include "engine/data/png_write.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

TEST(SynthCli, WritesTheVocLayoutByteIdenticallyForAnyThreadCount) {
    test::ScratchDir dir;
    const std::string a = dir.file("a"), b = dir.file("b");
    const auto ra = test::run_wsdol("synth --quiet --out '" + a + "' --images 30 --size 64 --classes 4 --seed 11");
    ASSERT_EQ(ra.code, 0) << ra.output;
    const auto rb = test::run_wsdol("synth --quiet --out '" + b + "' --images 30 --size 64 --classes 4 --seed 11");
    ASSERT_EQ(rb.code, 0) << rb.output;
    setenv("OMP_NUM_THREADS", "1", 1);
    const std::string c = dir.file("c");
    const auto rc = test::run_wsdol("synth --quiet --out '" + c + "' --images 30 --size 64 --classes 4 --seed 11");
    unsetenv("OMP_NUM_THREADS");
    ASSERT_EQ(rc.code, 0) << rc.output;
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(a)) {
        if (!entry.is_regular_file()) continue;
        const fs::path rel = fs::relative(entry.path(), a);
        EXPECT_EQ(test::read_bytes(entry.path()), test::read_bytes(fs::path(b) / rel)) << rel;
        EXPECT_EQ(test::read_bytes(entry.path()), test::read_bytes(fs::path(c) / rel)) << rel;
        ++files;
    }
    EXPECT_EQ(files, 30 * 2 + 3 + 4 + 1);  // images + masks, three lists, labels/captions/classes/synth.json, marker
    EXPECT_EQ(test::read_bytes(fs::path(a) / "ImageSets/Segmentation/val.txt").size(), size_t(6 * 13));  // 6 ids of 12 chars
    EXPECT_EQ(test::read_bytes(fs::path(a) / "classes.txt"), "0 background\n1 circle\n2 square\n3 triangle\n4 star\n");

    // Masks decode to the labels of cls_labels.txt; images decode to RGB of the right size.
    std::istringstream labels(test::read_bytes(fs::path(a) / "cls_labels.txt"));
    std::string line;
    int lines = 0;
    while (std::getline(labels, line)) {
        std::istringstream fields(line);
        std::string id;
        fields >> id;
        std::set<int> listed;
        for (int k; fields >> k;) listed.insert(k);
        const data::Image mask = data::read_label_png((fs::path(a) / "SegmentationClass" / (id + ".png")).string());
        std::set<int> present;
        for (uint8_t v : mask.pixels)
            if (v != 0 && v != 255) present.insert(v);
        EXPECT_EQ(listed, present) << id;
        const data::Image image = data::read_image((fs::path(a) / "JPEGImages" / (id + ".jpg")).string());
        EXPECT_EQ(image.height, 64);
        EXPECT_EQ(image.width, 64);
        EXPECT_EQ(image.channels, 3);
        ++lines;
    }
    EXPECT_EQ(lines, 30);
}

TEST(SynthCli, BadArgumentsFailBeforeWriting) {
    test::ScratchDir dir;
    const std::string out = dir.file("x");
    for (const char* bad : {"--classes 0", "--classes 11", "--size 8", "--difficulty brutal", "--images 0",
                                   "--val-fraction 1.5"}) {
        const auto r = test::run_wsdol("synth --quiet --out '" + out + "' " + std::string(bad));
        EXPECT_NE(r.code, 0) << bad;
        EXPECT_NE(r.output.find("synth:"), std::string::npos) << r.output;
        EXPECT_FALSE(fs::exists(out)) << bad;
    }
    // A folder holding something else (a user's dataset) is never written into; a previous synth output is.
    fs::create_directories(dir.file("theirs"));
    std::ofstream(dir.file("theirs/cls_labels.txt")) << "2007_000032 1 15\n";
    const auto theirs = test::run_wsdol("synth --quiet --images 2 --size 32 --out '" + dir.file("theirs") + "'");
    EXPECT_NE(theirs.code, 0);
    EXPECT_NE(theirs.output.find("is not empty and was not written by wsdol"), std::string::npos) << theirs.output;
    EXPECT_EQ(test::read_bytes(fs::path(dir.file("theirs")) / "cls_labels.txt"), "2007_000032 1 15\n");
    // Its own earlier output: refused without --force (naming it), started over with it.
    ASSERT_EQ(test::run_wsdol("synth --quiet --images 2 --size 32 --out '" + dir.file("again") + "'").code, 0);
    const auto again = test::run_wsdol("synth --quiet --images 3 --size 32 --out '" + dir.file("again") + "'");
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.output.find("--force starts over"), std::string::npos) << again.output;
    EXPECT_EQ(again.output.find("--resume"), std::string::npos) << again.output;  // synth has no --resume
    EXPECT_EQ(test::run_wsdol("synth --quiet --images 3 --size 32 --force --out '" + dir.file("again") + "'").code, 0);
    const auto r = test::run_wsdol("synth --images 3");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol

namespace wsdol {
namespace {

// Issue acceptance: synth then eval — ground truth as the prediction gives mIoU 100, an all-background
// prediction gives exactly IoU_bg / (number of classes present) under the default (ToCo) rule.
TEST(SynthCli, EvalOfGroundTruthAndOfAllBackground) {
    test::ScratchDir dir;
    const std::string data_dir = dir.file("syn"), bg_dir = dir.file("bg");
    ASSERT_EQ(test::run_wsdol("synth --quiet --out '" + data_dir + "' --images 40 --size 64 --seed 9").code, 0);
    const std::string list = data_dir + "/ImageSets/Segmentation/train.txt";
    const auto gt = test::run_wsdol("eval --task seg --json --data '" + data_dir + "' --pred '" + data_dir +
                                    "/SegmentationClass' --list '" + list + "'");
    ASSERT_EQ(gt.code, 0) << gt.output;
    EXPECT_NE(gt.output.find("\"mIoU\":100,"), std::string::npos) << gt.output;
    EXPECT_NE(gt.output.find("\"classes\":7,"), std::string::npos) << gt.output;  // from classes.txt

    fs::create_directories(bg_dir);
    int64_t background = 0, valid = 0;
    std::set<int> present;
    std::ifstream ids(list);
    for (std::string id; std::getline(ids, id);) {
        data::Image mask = data::read_label_png(data_dir + "/SegmentationClass/" + id + ".png");
        for (uint8_t& v : mask.pixels) {
            if (v != 255) ++valid, background += v == 0, present.insert(v);
            v = 0;
        }
        data::write_palette_png(bg_dir + "/" + id + ".png", mask);
    }
    const auto bg = test::run_wsdol("eval --task seg --json --data '" + data_dir + "' --pred '" + bg_dir +
                                    "' --list '" + list + "'");
    ASSERT_EQ(bg.code, 0) << bg.output;
    const double expected = 100.0 * double(background) / double(valid) / double(present.size());
    const size_t at = bg.output.find("\"mIoU\":");
    ASSERT_NE(at, std::string::npos) << bg.output;
    EXPECT_DOUBLE_EQ(std::stod(bg.output.substr(at + 7)), expected) << bg.output;
}

}  // namespace
}  // namespace wsdol
