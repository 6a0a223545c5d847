// fuzz_datasets.cpp — libFuzzer harness for the dataset text files (engine/data/datasets.h and
// engine/eval/eval_data.h): id lists, image-level label files ("id c1 c2 ..."), classes.txt ("k name"), top-k
// prediction files, CUB's five tables, and wsolevaluation metadata folders (localization.txt with boxes or masks,
// image_ids.txt, class_labels.txt, image_sizes.txt). COCO in the WSSS layout uses the same id list and label
// readers as VOC plus its stem rule, which the id lists reach.
//
// Input: the first byte picks the layout, the rest is cut at each "\n--\n" into that layout's files (in the
// order listed below; missing parts are absent files). Images are absent, so samples end as "image not found"
// (skip_bad lists them); what is fuzzed is the parsing.
//
// Build and run: see fuzz/README.md (seeds: fuzz/corpus/datasets/).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/data/datasets.h"
#include "engine/eval/eval_data.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;

const std::vector<std::vector<std::string>> kLayouts = {
    {"ImageSets/Segmentation/train.txt", "cls_labels.txt", "classes.txt"},                          // 0 voc
    {"train.txt", "cls_labels.txt"},                                                                // 1 coco
    {"classes.txt", "images.txt", "image_class_labels.txt", "bounding_boxes.txt", "train_test_split.txt"},  // 2 cub
    {"meta/localization.txt", "meta/image_ids.txt", "meta/class_labels.txt", "meta/image_sizes.txt"},  // 3 wsol
    {"topk.txt"},                                                                                   // 4 top-k
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t layout = data[0] % kLayouts.size();
    const std::vector<std::string_view> parts =
        fuzz_split_files(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    const std::string root = fuzz_scratch_dir() + "/ds";
    std::error_code ec;
    fs::remove_all(root, ec);
    const std::vector<std::string>& names = kLayouts[layout];
    for (size_t k = 0; k < names.size() && k < parts.size(); ++k) fuzz_write_file(root + "/" + names[k], parts[k]);
    fs::create_directories(root);

    wsdol::data::DatasetOptions options;
    options.skip_bad = true;
    try {
        switch (layout) {
            case 0:
                (void)wsdol::data::open_voc(root, "train", options);
                break;
            case 1:
                (void)wsdol::data::open_coco(root, "train", options);
                break;
            case 2:
                (void)wsdol::data::open_cub(root, "train", options);
                (void)wsdol::data::open_cub(root, "test", options);
                break;
            case 3:
                (void)wsdol::data::open_wsol(root + "/meta", root + "/images", root + "/masks", options);
                break;
            default:
                (void)wsdol::eval::read_topk(root + "/topk.txt");
                (void)wsdol::eval::read_image_labels(root + "/topk.txt", 20);
                break;
        }
    } catch (const wsdol::Error&) {
    }
    return 0;
}
