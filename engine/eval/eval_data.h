// eval_data.h — the minimal on-disk layouts that `wsdol eval` reads (ground truth side). Full dataset readers
// (images, transforms, loaders) are separate, later work; this file only knows the text files and mask paths
// the metrics need. Every parse error names the file and line.
//
// VOC-style segmentation (../shared/docs/data-eval.md §1.1):
//   DIR/SegmentationClassAug/<id>.png or DIR/SegmentationClass/<id>.png   palette or grey label PNGs, 255 = void
//   an id list, one id per line (default DIR/ImageSets/Segmentation/val.txt)
//   optional image-level labels "id c1 c2 ..." (classes 1..C-1), e.g. ../shared/data/real/voc/lists/cls_labels_all.txt
// wsolevaluation metadata (§1.3-1.5; clovaai/wsolevaluation data_loaders.py), one folder per split:
//   image_ids.txt     one image id (a relative path) per line (when absent: the order of first appearance in
//                     localization.txt)
//   class_labels.txt  id,class
//   image_sizes.txt   id,w,h                             (boxes)
//   localization.txt  id,x0,y0,x1,y1 (one line per box)   or   id,mask_path,ignore_path (one line per instance
//                     mask; the first line of an image names its ignore mask, later lines leave it empty)
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/eval/boxes.h"

namespace wsdol::eval {

// Lines without trailing '\r', blank lines dropped. Errors name the file.
std::vector<std::string> read_text_lines(const std::string& path);
// An id list: one id per line, surrounding spaces trimmed.
std::vector<std::string> read_id_list(const std::string& path);
// "id c1 c2 ..." -> classes per id (classes 1..max_class).
std::map<std::string, std::vector<int>> read_image_labels(const std::string& path, int max_class);
// "id c1 c2 c3 c4 c5 ..." (predicted classes, best first) -> per id.
std::map<std::string, std::vector<int64_t>> read_topk(const std::string& path);

struct WsolMetadata {
    std::string dir;
    std::vector<std::string> image_ids;
    std::map<std::string, int64_t> class_labels;                   // empty when class_labels.txt is absent
    std::map<std::string, std::pair<int64_t, int64_t>> sizes;      // id -> (w, h); empty when absent
    std::map<std::string, std::vector<Box>> boxes;                 // box metadata
    std::map<std::string, std::vector<std::string>> mask_paths;    // mask metadata (relative to the mask root)
    std::map<std::string, std::string> ignore_paths;
    bool has_boxes() const { return !boxes.empty(); }
    bool has_masks() const { return !mask_paths.empty(); }
};
// Reads what the folder holds; localization.txt is required (boxes or masks, decided by its field count).
WsolMetadata read_wsol_metadata(const std::string& dir);

}  // namespace wsdol::eval
