// datasets.h — the dataset layouts the reference repositories use, read into one sample list.
//
// Spec: ../shared/docs/data-eval.md §1. Readers only list and check files; images are decoded by the loader.
//   VOC 2012 (+ SBD SegmentationClassAug) and the synthetic benchmark (`wsdol synth` writes the same layout):
//     ROOT/JPEGImages/<id>.jpg, ROOT/SegmentationClassAug/<id>.png (else ROOT/SegmentationClass/<id>.png),
//     the id list ROOT/ImageSets/Segmentation/<split>.txt (or --list), image-level labels "id c1 c2 ..." from
//     a labels file (default ROOT/cls_labels.txt when present) or, failing that, derived from the masks.
//   COCO 2014 in the WSSS layout (ToCo/AFA): ROOT/JPEGImages/{train2014,val2014}/<stem>.jpg (or
//     ROOT/{train2014,val2014}/), masks ROOT/SegmentationClass/{train2014,val2014}/<stem>.png with contiguous
//     0..80 values, an id list of stems, labels as for VOC; 81 classes (0 = background).
//   CUB-200-2011 (official files): ROOT/images.txt, image_class_labels.txt, bounding_boxes.txt,
//     train_test_split.txt, classes.txt, ROOT/images/<relative path>; split "train" or "test"; one box per image
//     kept as the official floats (box scaling is a method's choice: engine/eval/boxes.h).
//   OpenImages30k and ILSVRC through wsolevaluation metadata folders (class_labels.txt, localization.txt, ...),
//     images under an image root, masks under a mask root.
// Bad data: a missing or unreadable image or mask, a mask whose size differs from its image, a malformed line
// or an unknown class is an error naming the file (and line). With `skip_bad`, such samples are left out and
// listed in Dataset::skipped instead (the count is reported by the caller).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/eval/boxes.h"

namespace wsdol::data {

struct Sample {
    std::string id;                           // VOC id, COCO stem, CUB/wsolevaluation relative path
    std::string image_path;
    std::string mask_path;                    // segmentation label PNG ("" when the dataset has none)
    std::vector<int> labels;                  // segmentation: classes 1..C-1 present; WSOL: the one class id
    std::vector<eval::BoxF> boxes;            // WSOL box datasets: original pixels, as the file gives them
    std::vector<std::string> instance_masks;  // OpenImages: instance mask files
    std::string ignore_mask;                  // OpenImages: the ignore mask file ("" when none)
    int64_t width = 0, height = 0;            // image size when the files were checked (0 otherwise)
};

struct Dataset {
    std::string kind;  // "voc", "coco", "cub", "wsol"
    std::string root, split;
    std::vector<std::string> class_names;  // indexed by class id (segmentation: 0 = background)
    std::vector<Sample> samples;
    std::vector<std::string> skipped;  // "<id>: <reason>" for samples left out under skip_bad
};

struct DatasetOptions {
    bool skip_bad = false;       // leave bad samples out (and list them) instead of failing
    bool check_files = true;     // open every image (header only) and mask, and compare their sizes
    bool require_masks = false;  // segmentation: a sample without a mask is bad (else mask_path stays "")
    std::string list_file;       // overrides the split's id list
    std::string labels_file;     // overrides the image-level labels file
};

const std::vector<std::string>& voc_class_names();   // 21: background, aeroplane, ..., tvmonitor
const std::vector<std::string>& coco_class_names();  // 81: background, person, ..., toothbrush

// A classes.txt file ("k name" lines, k = 0, 1, ... in order); errors name the file and line.
std::vector<std::string> read_class_names(const std::string& path);
// The classes of a VOC-layout dataset folder: ROOT/classes.txt when present, else the 21 VOC classes.
std::vector<std::string> dataset_class_names(const std::string& root);

// `class_names` gives the classes of a VOC-layout dataset; when empty, ROOT/classes.txt ("k name" lines, as
// `wsdol synth` writes) is read if present, else the 21 VOC classes.
Dataset open_voc(const std::string& root, const std::string& split, const DatasetOptions& options = {},
                 std::vector<std::string> class_names = {});
Dataset open_coco(const std::string& root, const std::string& split, const DatasetOptions& options = {});
Dataset open_cub(const std::string& root, const std::string& split, const DatasetOptions& options = {});
Dataset open_wsol(const std::string& metadata_dir, const std::string& image_root, const std::string& mask_root,
                  const DatasetOptions& options = {});

// The foreground classes of a dataset: segmentation kinds (voc, coco) drop class 0 (background); box kinds
// (cub, wsol) have no background entry. foreground_label maps a Sample::labels entry to 0..C-1 accordingly.
bool has_background_class(const Dataset& dataset);
std::vector<std::string> foreground_class_names(const Dataset& dataset);
int foreground_label(const Dataset& dataset, int label);

// Opens a dataset by kind: "voc" (also the synthetic benchmark), "coco", "cub", "openimages" / "ilsvrc" (the
// wsolevaluation repository's layout: ROOT/metadata/<Name>/<split>, ROOT/dataset/<Name>, ROOT/maskdata/<Name>), or
// "auto" — CUB when ROOT/images.txt exists, COCO when ROOT/train2014 or ROOT/JPEGImages/train2014 exists, else
// VOC. Errors name the folder and what was looked for.
Dataset open_dataset(const std::string& root, const std::string& split, const DatasetOptions& options = {},
                     const std::string& kind = "auto");
std::vector<std::string> dataset_kinds();  // auto, voc, coco, cub, openimages, ilsvrc

// image_size(path, &w, &h) (the header's size, errors naming the file) is declared in engine/data/image_io.h.

}  // namespace wsdol::data
