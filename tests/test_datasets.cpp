// test_datasets.cpp — the dataset readers on miniature datasets in their real layouts, built in a temp folder
// from ../shared/data/real (read in place or copied there, never committed), and their failure cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "engine/data/datasets.h"
#include "engine/data/image_io.h"
#include "engine/data/png_write.h"
#include "engine/data/synth.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;
const std::string kReal = std::string(WSDOL_SHARED_DIR) + "/data/real";

void write_text(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

// VOC2012 layout with the three real images that have masks.
fs::path make_mini_voc(const test::ScratchDir& dir) {
    const fs::path root = fs::path(dir.file("VOC2012"));
    for (const char* id : {"2011_000003", "2011_000006", "2011_000025"}) {
        fs::create_directories(root / "JPEGImages");
        fs::create_directories(root / "SegmentationClassAug");
        fs::copy_file(kReal + "/voc/JPEGImages/" + id + ".jpg", root / "JPEGImages" / (std::string(id) + ".jpg"));
        fs::copy_file(kReal + "/voc/SegmentationClassAug/" + id + ".png",
                      root / "SegmentationClassAug" / (std::string(id) + ".png"));
    }
    write_text(root / "ImageSets/Segmentation/train.txt", "2011_000003\n2011_000006\n2011_000025\n");
    return root;
}

TEST(Datasets, VocWithLabelsFromTheFileOrFromTheMasks) {
    test::ScratchDir dir;
    const fs::path root = make_mini_voc(dir);
    data::DatasetOptions options;
    options.labels_file = kReal + "/voc/lists/cls_labels_all.txt";
    const data::Dataset from_file = data::open_voc(root.string(), "train", options);
    ASSERT_EQ(from_file.samples.size(), 3u);
    EXPECT_EQ(from_file.class_names.size(), 21u);
    // ../shared/data/real/voc/labels.txt: 2011_000003 is 500x338 with classes 5 (bottle) and 15 (person).
    EXPECT_EQ(from_file.samples[0].id, "2011_000003");
    EXPECT_EQ(from_file.samples[0].labels, (std::vector<int>{5, 15}));
    EXPECT_EQ(from_file.samples[0].width, 500);
    EXPECT_EQ(from_file.samples[0].height, 338);
    EXPECT_NE(from_file.samples[0].mask_path.find("SegmentationClassAug"), std::string::npos);
    const data::Dataset from_masks = data::open_voc(root.string(), "train");
    ASSERT_EQ(from_masks.samples.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(from_masks.samples[i].labels, from_file.samples[i].labels) << i;
}

TEST(Datasets, VocFailuresNameTheFileOrAreSkippedOnRequest) {
    test::ScratchDir dir;
    const fs::path root = make_mini_voc(dir);
    // A listed id without an image.
    write_text(root / "ImageSets/Segmentation/train.txt", "2011_000003\n2011_999999\n2011_000025\n");
    test::expect_error([&] { data::open_voc(root.string(), "train"); }, {"2011_999999.jpg", "image not found"});
    data::DatasetOptions skip;
    skip.skip_bad = true;
    const data::Dataset skipped = data::open_voc(root.string(), "train", skip);
    EXPECT_EQ(skipped.samples.size(), 2u);
    ASSERT_EQ(skipped.skipped.size(), 1u);
    EXPECT_NE(skipped.skipped[0].find("2011_999999"), std::string::npos);
    // A mask of the wrong size.
    write_text(root / "ImageSets/Segmentation/train.txt", "2011_000003\n2011_000006\n");
    data::Image small;
    small.height = small.width = 10;
    small.channels = 1;
    small.pixels.assign(100, 0);
    data::write_palette_png((root / "SegmentationClassAug/2011_000006.png").string(), small);
    test::expect_error([&] { data::open_voc(root.string(), "train"); },
                       {"2011_000006.png", "mask is 10x10", "500x"});
    // A bad label line, and a missing list.
    write_text(root / "labels.txt", "2011_000003 5 15\n2011_000006 x\n");
    data::DatasetOptions bad_labels;
    bad_labels.labels_file = (root / "labels.txt").string();
    bad_labels.check_files = false;
    test::expect_error([&] { data::open_voc(root.string(), "train", bad_labels); }, {"labels.txt"});
    test::expect_error([&] { data::open_voc(root.string(), "val"); }, {"val.txt", "not found"});
    test::expect_error([&] { data::open_voc((root / "nope").string(), "train"); }, {"nope", "not found"});
}

TEST(Datasets, SynthOutputReadsAsVocWithItsOwnClasses) {
    test::ScratchDir dir;
    const std::string out = dir.file("synth");
    const auto r = test::run_wsdol("synth --quiet --out '" + out + "' --images 12 --size 48 --classes 5 --seed 2");
    ASSERT_EQ(r.code, 0) << r.output;
    const data::Dataset d = data::open_voc(out, "train");
    EXPECT_EQ(d.samples.size(), 10u);
    ASSERT_EQ(d.class_names.size(), 6u);
    EXPECT_EQ(d.class_names[1], "circle");
    data::SynthConfig config;
    config.classes = 5, config.size = 48, config.seed = 2;
    for (size_t i = 0; i < d.samples.size(); ++i)
        EXPECT_EQ(d.samples[i].labels, data::synth_image(config, int64_t(i)).labels) << d.samples[i].id;
}

TEST(Datasets, CocoWssLayoutFindsFoldersFromStems) {
    test::ScratchDir dir;
    const fs::path root = fs::path(dir.file("coco"));
    const std::vector<std::string> stems = {"COCO_val2014_000000000042", "COCO_train2014_000000000009"};
    for (const std::string& stem : stems) {
        const std::string folder = stem.substr(5, stem.find('_', 5) - 5);
        fs::create_directories(root / "JPEGImages" / folder);
        fs::copy_file(kReal + "/voc/JPEGImages/2011_000025.jpg", root / "JPEGImages" / folder / (stem + ".jpg"));
        int64_t w = 0, h = 0;
        data::image_size(kReal + "/voc/JPEGImages/2011_000025.jpg", &w, &h);
        data::Image mask;
        mask.height = h, mask.width = w, mask.channels = 1;
        mask.pixels.assign(w * h, 0);
        mask.pixels[5] = 80;  // toothbrush
        mask.pixels[7] = 1;   // person
        mask.pixels[9] = 255;
        fs::create_directories(root / "SegmentationClass" / folder);
        data::write_palette_png((root / "SegmentationClass" / folder / (stem + ".png")).string(), mask);
    }
    write_text(root / "val.txt", stems[0] + "\n" + stems[1] + "\n");
    const data::Dataset d = data::open_coco(root.string(), "val");
    ASSERT_EQ(d.samples.size(), 2u);
    EXPECT_EQ(d.class_names.size(), 81u);
    EXPECT_EQ(d.class_names[80], "toothbrush");
    EXPECT_EQ(d.samples[0].labels, (std::vector<int>{1, 80}));
    EXPECT_NE(d.samples[1].image_path.find("train2014/COCO_train2014_000000000009.jpg"), std::string::npos);
    // A value that is no COCO class (81..254) is named.
    data::Image bad = data::read_label_png(d.samples[0].mask_path);
    bad.pixels[3] = 81;
    data::write_palette_png(d.samples[0].mask_path, bad);
    test::expect_error([&] { data::open_coco(root.string(), "val"); }, {"COCO_val2014_000000000042.png", "81"});
    write_text(root / "val.txt", "not_a_stem\n");
    test::expect_error([&] { data::open_coco(root.string(), "val"); }, "coco:", {"not_a_stem"});
}

TEST(Datasets, CubOfficialFilesWithBoxes) {
    test::ScratchDir dir;
    const fs::path root = fs::path(dir.file("CUB_200_2011"));
    // Metadata trimmed to three of the sample images (the real files list all 11788).
    const std::vector<std::string> keep = {"001.Black_footed_Albatross/Black_Footed_Albatross_0025_796057.jpg",
                                           "009.Brewer_Blackbird/Brewer_Blackbird_0028_2682.jpg",
                                           "003.Sooty_Albatross/Sooty_Albatross_0030_1122.jpg"};
    std::ifstream images(kReal + "/cub/metadata/images.txt");
    std::set<std::string> ids;
    std::string images_txt;
    for (std::string line; std::getline(images, line);)
        for (const std::string& k : keep)
            if (line.find(k) != std::string::npos) {
                images_txt += line + "\n";
                ids.insert(line.substr(0, line.find(' ')));
                fs::create_directories((root / "images" / k).parent_path());
                fs::copy_file(kReal + "/cub/images/" + k, root / "images" / k);
            }
    write_text(root / "images.txt", images_txt);
    for (const char* name : {"image_class_labels.txt", "bounding_boxes.txt", "train_test_split.txt"}) {
        std::ifstream in(kReal + "/cub/metadata/" + name);
        std::string text;
        for (std::string line; std::getline(in, line);)
            if (ids.count(line.substr(0, line.find(' ')))) text += line + "\n";
        write_text(root / name, text);
    }
    fs::copy_file(kReal + "/cub/metadata/classes.txt", root / "classes.txt");
    const data::Dataset test_split = data::open_cub(root.string(), "test");
    ASSERT_EQ(test_split.samples.size(), 3u);  // all three are test images
    EXPECT_EQ(test_split.class_names.size(), 200u);
    // boxes.txt: Black_Footed_Albatross_0025_796057 is class 0, 250x208, box x y w h = 27 4 199 201.
    const data::Sample& s = test_split.samples[0];
    EXPECT_EQ(s.id, keep[0]);
    EXPECT_EQ(s.labels, std::vector<int>{0});
    EXPECT_EQ(s.width, 250);
    EXPECT_EQ(s.height, 208);
    ASSERT_EQ(s.boxes.size(), 1u);
    EXPECT_EQ(s.boxes[0].x0, 27.0);
    EXPECT_EQ(s.boxes[0].y1, 4.0 + 201.0);
    EXPECT_TRUE(data::open_cub(root.string(), "train").samples.empty());
    test::expect_error([&] { data::open_cub(root.string(), "val"); }, "cub:", {"train or test"});
    write_text(root / "bounding_boxes.txt", "1 2 3\n");
    test::expect_error([&] { data::open_cub(root.string(), "test"); }, {"bounding_boxes.txt:1", "expected 5 fields"});
}

// Found by fuzz/fuzz_datasets.cpp: CUB ids and classes were converted from any double (1e32: undefined
// behaviour); they must be integers in range, and box values finite.
TEST(Datasets, CubIdsAndClassesAreIntegersAndBoxesFinite) {
    test::ScratchDir dir;
    const fs::path root = fs::path(dir.file("cub"));
    fs::create_directories(root);
    write_text(root / "classes.txt", "1 001.a\n");
    write_text(root / "image_class_labels.txt", "1 1\n");
    write_text(root / "bounding_boxes.txt", "1 0 0 4 4\n");
    write_text(root / "train_test_split.txt", "1 0\n");
    write_text(root / "images.txt", "222222222222222222222222222222222 001.a/x.jpg\n");
    test::expect_error([&] { data::open_cub(root.string(), "test"); }, {"images.txt:1", "expected an integer", "2222"});
    write_text(root / "images.txt", "1e32 001.a/x.jpg\n");
    test::expect_error([&] { data::open_cub(root.string(), "test"); }, {"images.txt:1", "1e32"});
    write_text(root / "images.txt", "1 001.a/x.jpg\n");
    write_text(root / "image_class_labels.txt", "1 7e30\n");
    test::expect_error([&] { data::open_cub(root.string(), "test"); }, {"image_class_labels.txt", "7e30"});
    write_text(root / "image_class_labels.txt", "1 1\n");
    write_text(root / "bounding_boxes.txt", "1 nan 0 4 4\n");
    test::expect_error([&] { data::open_cub(root.string(), "test"); }, {"bounding_boxes.txt", "expected a number", "nan"});
}

TEST(Datasets, IlsvrcValBoxesThroughWsolevaluationMetadata) {
    test::ScratchDir dir;
    // wsolevaluation's metadata/ILSVRC/test layout, written from ../shared/data/real/ilsvrc/boxes.txt
    // ("file class wnid orig_w orig_h stored_w stored_h x0 y0 x1 y1", one line per box).
    std::ifstream boxes(kReal + "/ilsvrc/boxes.txt");
    std::string localization, labels, sizes;
    std::map<std::string, int> box_count;
    std::set<std::string> seen;
    for (std::string line; std::getline(boxes, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream f(line);
        std::string file, wnid;
        int cls = 0, ow = 0, oh = 0, sw = 0, sh = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        f >> file >> cls >> wnid >> ow >> oh >> sw >> sh >> x0 >> y0 >> x1 >> y1;
        const std::string id = "val/" + file;
        localization += id + "," + std::to_string(x0) + "," + std::to_string(y0) + "," + std::to_string(x1) + "," +
                        std::to_string(y1) + "\n";
        ++box_count[id];
        if (seen.insert(id).second) {
            labels += id + "," + std::to_string(cls) + "\n";
            sizes += id + "," + std::to_string(ow) + "," + std::to_string(oh) + "\n";
        }
    }
    const fs::path meta = fs::path(dir.file("metadata/ILSVRC/test"));
    write_text(meta / "localization.txt", localization);
    write_text(meta / "class_labels.txt", labels);
    write_text(meta / "image_sizes.txt", sizes);
    const data::Dataset d = data::open_wsol(meta.string(), kReal + "/ilsvrc", "");
    ASSERT_EQ(d.samples.size(), 20u);
    for (const data::Sample& s : d.samples) {
        EXPECT_EQ(s.boxes.size(), size_t(box_count[s.id])) << s.id;
        EXPECT_EQ(s.labels.size(), 1u) << s.id;
        EXPECT_GT(s.width, 0) << s.id;
    }
    // ILSVRC2012_val_00000001 is class 65 (n01751748); val_00000023 carries five boxes.
    EXPECT_EQ(d.samples[0].id, "val/ILSVRC2012_val_00000001.JPEG");
    EXPECT_EQ(d.samples[0].labels, std::vector<int>{65});
    EXPECT_EQ(box_count["val/ILSVRC2012_val_00000023.JPEG"], 5);
}

TEST(Datasets, OpenImagesThroughWsolevaluationMetadata) {
    test::ScratchDir dir;
    const fs::path meta = fs::path(dir.file("metadata"));
    fs::create_directories(meta);
    fs::copy_file(kReal + "/openimages/localization.txt", meta / "localization.txt");
    fs::copy_file(kReal + "/openimages/class_labels.txt", meta / "class_labels.txt");
    // The sample data ships masks only: write stand-in images of each mask's size.
    const fs::path images = fs::path(dir.file("images"));
    for (const auto& [id, mask] : std::vector<std::pair<std::string, std::string>>{
             {"val/0bt_c3/1cd9ac0169ec7df0", "val/0bt_c3/1cd9ac0169ec7df0_m0bt_c3_6932e993.png"},
             {"val/0bt_c3/3a29f0b33894d4a6", "val/0bt_c3/3a29f0b33894d4a6_m0bt_c3_3581e3ae.png"},
             {"val/0bt_c3/3b3b9931325d65c9", "val/0bt_c3/3b3b9931325d65c9_m0bt_c3_d4e2e136.png"},
             {"val/0by6g/490365f63135f3e0", "val/0by6g/490365f63135f3e0_m0by6g_4f9ded4f.png"},
             {"val/0by6g/b4d953e7105da1d8", "val/0by6g/b4d953e7105da1d8_m0by6g_9f8621ff.png"}}) {
        const data::PngInfo info = data::read_png_info(kReal + "/openimages/" + mask);
        data::Image grey;
        grey.height = info.height, grey.width = info.width, grey.channels = 1;
        grey.pixels.assign(grey.height * grey.width, 128);
        fs::create_directories((images / id).parent_path());
        data::write_png((images / (id + ".jpg")).string(), grey);  // PNG bytes under .jpg: headers are sniffed
    }
    const data::Dataset d = data::open_wsol(meta.string(), images.string(), kReal + "/openimages");
    ASSERT_EQ(d.samples.size(), 5u);
    {  // The same through the one dataset interface, in the wsolevaluation repository's layout.
        const fs::path repo = fs::path(dir.file("wsolevaluation"));
        fs::create_directories(repo / "metadata" / "OpenImages");
        fs::create_directories(repo / "dataset");
        fs::create_directories(repo / "maskdata");
        fs::copy(meta, repo / "metadata" / "OpenImages" / "test", fs::copy_options::recursive);
        fs::create_directory_symlink(images, repo / "dataset" / "OpenImages");
        fs::create_directory_symlink(fs::absolute(kReal + "/openimages"), repo / "maskdata" / "OpenImages");
        const data::Dataset e = data::open_dataset(repo.string(), "test", {}, "openimages");
        ASSERT_EQ(e.samples.size(), 5u);
        EXPECT_EQ(e.samples[1].id, d.samples[1].id);
        EXPECT_EQ(e.samples[1].labels, d.samples[1].labels);
        EXPECT_EQ(data::foreground_class_names(e), d.class_names);
        test::expect_error([&] { data::open_dataset(repo.string(), "train", {}, "openimages"); },
                           {"no wsolevaluation metadata folder", "metadata/OpenImages/train"});
    }
    EXPECT_EQ(d.samples[1].id, "val/0bt_c3/3a29f0b33894d4a6.jpg");
    EXPECT_EQ(d.samples[1].instance_masks.size(), 2u);
    EXPECT_NE(d.samples[1].ignore_mask.find("_ignore.png"), std::string::npos);
    EXPECT_EQ(d.samples[1].labels, std::vector<int>{80});
    EXPECT_EQ(d.samples[0].width, 459);
    // Without the images: every sample names its missing file; skipped on request.
    test::expect_error([&] { data::open_wsol(meta.string(), dir.file("none"), kReal + "/openimages"); },
                       {"1cd9ac0169ec7df0.jpg", "image not found"});
    data::DatasetOptions skip;
    skip.skip_bad = true;
    EXPECT_EQ(data::open_wsol(meta.string(), dir.file("none"), kReal + "/openimages", skip).skipped.size(), 5u);
}

}  // namespace
}  // namespace wsdol
