// test_mctformer_release.cpp — a checkpoint in MCTformer-V2's released layout ({"model": state_dict}, official
// names, a reduced configuration with random weights) gives, through `wsdol infer --weights FILE --method
// mctformer`, the maps the official inference computes on the same full-resolution, non-square image (333 x 250):
// fused, patch-refined, image + flip, per-class min-max. Fixture: tests/reference/localize/gen_mctformer_release.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/data/npy.h"
#include "engine/data/png_write.h"
#include "engine/tensor/tensor.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/localize/";

// A VOC-layout dataset of the fixture's one image with its labels (3 classes).
std::string write_dataset(const test::ScratchDir& dir, const test::ParityFixture& fx) {
    const std::string root = dir.file("data");
    fs::create_directories(root + "/JPEGImages");
    fs::create_directories(root + "/ImageSets/Segmentation");
    const Tensor u8 = fx.at("input.image_u8");  // (H, W, 3)
    data::Image im;
    im.height = u8.size(0), im.width = u8.size(1), im.channels = 3;
    im.pixels.assign(u8.data<uint8_t>(), u8.data<uint8_t>() + u8.numel());
    data::write_png(root + "/JPEGImages/img.jpg", im);  // PNG bytes: decoded by content, lossless
    std::ofstream(root + "/classes.txt") << "0 background\n1 a\n2 b\n3 c\n";
    std::ofstream(root + "/ImageSets/Segmentation/train.txt") << "img\n";
    std::ofstream labels(root + "/cls_labels.txt");
    labels << "img";
    const std::vector<double> l = fx.at("input.labels").to_vector();
    for (size_t k = 0; k < l.size(); ++k)
        if (l[k] > 0) labels << " " << k + 1;
    labels << "\n";
    return root;
}

TEST(MctformerRelease, InferOnTheOfficialLayoutGivesTheOfficialFullResolutionMaps) {
    const test::ParityFixture fx(kDir + "mctformer_release.safetensors");
    test::ScratchDir dir;
    const std::string data = write_dataset(dir, fx);
    const auto r = test::run_wsdol("infer --quiet --no-png --weights '" + kDir + "mctformer_release.pth' --method mctformer"
                                   " --data '" + data + "' --out '" + dir.file("maps") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const Tensor maps = data::read_npy(dir.file("maps") + "/img.npy");
    ASSERT_EQ(maps.shape(), Shape({3, 250, 333})) << "full resolution, not the training size";
    fx.expect("output.maps", maps, test::kParityForwardTol);
}

TEST(MctformerRelease, WrongClassCountOrMethodIsAClearError) {
    const test::ParityFixture fx(kDir + "mctformer_release.safetensors");
    test::ScratchDir dir;
    const std::string data = write_dataset(dir, fx);
    std::ofstream(data + "/classes.txt") << "0 background\n1 a\n2 b\n3 c\n4 d\n";
    auto r = test::run_wsdol("infer --quiet --weights '" + kDir + "mctformer_release.pth' --method mctformer --data '" +
                             data + "' --out '" + dir.file("maps") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("mctformer_release.pth: the checkpoint has 3 classes, the dataset 4"), std::string::npos)
        << r.output;
    r = test::run_wsdol("infer --quiet --weights '" + kDir + "mctformer_release.pth' --method tinycam --data '" + data +
                        "' --out '" + dir.file("maps2") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("tinycam: reads no released checkpoint layout"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
