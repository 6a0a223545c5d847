// test_synth_wsol.cpp — the WSOL synthetic task (engine/data/synth_wsol.h, `wsdol synth --layout wsol`): it opens
// with the CUB and wsolevaluation readers, every box is its mask's extent, labels and splits are as configured,
// the bytes are identical across runs and thread counts, the default VOC layout is untouched, and bad options fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "engine/data/datasets.h"
#include "engine/data/image_io.h"
#include "engine/data/synth_wsol.h"
#include "engine/eval/mask_gt.h"
#include "kernels/cpu/parallel.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

data::SynthConfig small_config() {
    data::SynthConfig c;
    c.classes = 3;
    c.images = 10;
    c.size = 48;
    c.seed = 7;
    c.val_fraction = 0.3;
    return c;
}

std::map<std::string, std::string> all_files(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = test::read_bytes(e.path().string());
    return out;
}

TEST(SynthWsol, OpensAsCubAndWsolWithBoxesFromTheMasks) {
    test::ScratchDir dir;
    const data::SynthConfig c = small_config();
    data::write_synth_wsol(c, dir.path().string());
    const data::Dataset train = data::open_cub(dir.path().string(), "train");
    const data::Dataset test = data::open_cub(dir.path().string(), "test");
    ASSERT_EQ(train.samples.size(), 7u);
    ASSERT_EQ(test.samples.size(), 3u);
    ASSERT_EQ(train.class_names.size(), 3u);
    EXPECT_EQ(train.class_names[0].substr(0, 4), "001.");
    const data::Dataset wsol = data::open_wsol((dir.path() / "wsol/test").string(), (dir.path() / "images").string(),
                                               dir.path().string());
    ASSERT_EQ(wsol.samples.size(), 3u);
    for (size_t i = 0; i < test.samples.size(); ++i) {
        const data::Sample& s = test.samples[i];
        const data::Sample& w = wsol.samples[i];
        EXPECT_EQ(s.id, w.id);
        ASSERT_EQ(s.labels.size(), 1u);
        ASSERT_EQ(w.labels.size(), 1u);
        EXPECT_EQ(s.labels[0], w.labels[0]);  // both 0-based
        EXPECT_EQ(s.width, 48);
        // the box is the extent of the mask's foreground
        ASSERT_EQ(w.instance_masks.size(), 1u);
        const data::Image m = data::read_image(w.instance_masks[0]);
        int64_t x0 = 99, y0 = 99, x1 = -1, y1 = -1, fg = 0;
        for (int64_t y = 0; y < m.height; ++y)
            for (int64_t x = 0; x < m.width; ++x)
                if (m.pixels[size_t((y * m.width + x) * m.channels)] == 255) {
                    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y), ++fg;
                }
        ASSERT_GT(fg, 0);
        ASSERT_EQ(s.boxes.size(), 1u);
        EXPECT_EQ(s.boxes[0].x0, double(x0));
        EXPECT_EQ(s.boxes[0].y0, double(y0));
        EXPECT_EQ(s.boxes[0].x1, double(x1 + 1));
        EXPECT_EQ(s.boxes[0].y1, double(y1 + 1));
        const eval::MaskGt gt = eval::wsol_mask_gt(w.instance_masks, w.ignore_mask, 48);
        EXPECT_EQ(gt.positives, fg);
        EXPECT_EQ(gt.ignored, 0);
    }
}

TEST(SynthWsol, SameBytesForAnySeedRunAndThreadCount) {
    test::ScratchDir dir;
    const data::SynthConfig c = small_config();
    const int threads = cpu::num_threads();
    cpu::set_num_threads(1);
    data::write_synth_wsol(c, (dir.path() / "a").string());
    cpu::set_num_threads(2);
    data::write_synth_wsol(c, (dir.path() / "b").string());
    cpu::set_num_threads(threads);
    const auto a = all_files(dir.path() / "a"), b = all_files(dir.path() / "b");
    EXPECT_EQ(a.size(), 10u * 2 + 5 + 1 + 8);  // images + masks, 5 CUB files, synth.json, 2 x 4 metadata files
    EXPECT_TRUE(a == b);
    data::SynthConfig other = c;
    other.seed = 8;
    data::write_synth_wsol(other, (dir.path() / "c").string());
    EXPECT_NE(all_files(dir.path() / "c").at("images.txt") + all_files(dir.path() / "c").at("bounding_boxes.txt"),
              a.at("images.txt") + a.at("bounding_boxes.txt"));
}

TEST(SynthWsol, CliWritesTheWsolLayoutAndKeepsVocTheDefault) {
    test::ScratchDir dir;
    const std::string wsol = dir.file("wsol"), voc = dir.file("voc");
    test::CliResult r = test::run_wsdol("synth --out '" + wsol + "' --layout wsol --images 6 --size 40 --classes 2 --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(wsol + "/bounding_boxes.txt"));
    EXPECT_TRUE(fs::exists(wsol + "/wsol/test/localization.txt"));
    EXPECT_NE(test::read_bytes(wsol + "/synth.json").find("\"layout\": \"wsol\""), std::string::npos);
    r = test::run_wsdol("synth --out '" + voc + "' --images 4 --size 40 --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(voc + "/JPEGImages"));
    EXPECT_EQ(test::read_bytes(voc + "/synth.json").find("layout"), std::string::npos);
    r = test::run_wsdol("synth --out '" + dir.file("bad") + "' --layout wsol --max-objects 2 --quiet");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("one object per image"), std::string::npos) << r.output;
    r = test::run_wsdol("synth --out '" + dir.file("bad2") + "' --layout coco --quiet");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("--layout must be voc or wsol"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol

namespace wsdol {
namespace {

// A CUB dataset with a box outside its image or a class id out of range fails when it is opened (before any
// training), naming the file, the image id and the values.
TEST(SynthWsol, BadBoxesAndClassIdsAreClearErrors) {
    test::ScratchDir dir;
    data::SynthConfig c = small_config();
    c.images = 3;
    data::write_synth_wsol(c, dir.path().string());
    const std::string boxes = dir.file("bounding_boxes.txt"), labels = dir.file("image_class_labels.txt");
    const std::string good_boxes = test::read_bytes(boxes), good_labels = test::read_bytes(labels);
    test::write_bytes(boxes, "1 30.0 10.0 20.0 5.0\n2 1.0 1.0 2.0 2.0\n3 1.0 1.0 2.0 2.0\n");  // 30 + 20 > 48
    test::expect_error([&] { data::open_cub(dir.path().string(), "train"); },
                       {"bounding_boxes.txt", "image id 1", "not inside its image", "48x48"});
    test::write_bytes(boxes, good_boxes);
    test::write_bytes(labels, "1 1\n2 4\n3 1\n");  // 3 classes
    test::expect_error([&] { data::open_cub(dir.path().string(), "train"); },
                       {"image_class_labels.txt", "class 4", "image id 2"});
    test::write_bytes(labels, good_labels);
    EXPECT_EQ(data::open_cub(dir.path().string(), "train").samples.size(), 3u);
}

}  // namespace
}  // namespace wsdol
