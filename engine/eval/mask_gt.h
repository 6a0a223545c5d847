// mask_gt.h — ground-truth label maps of the WSOL mask benchmark (OpenImages30k in clovaai/wsolevaluation):
// every instance mask and the ignore mask are read as grey, resized with OpenCV's nearest-neighbour rule to the
// evaluation size, binarised with > 0.5, and combined into 1 = foreground (union of instances), 255 = ignore
// (ignore box minus foreground), 0 = background. ../shared/docs/data-eval.md §1.3, §4.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wsdol::eval {

// cv2.resize(..., INTER_NEAREST): destination pixel x takes source column min(floor(x * (1 / (dst_w / src_w))),
// src_w - 1) with both scale factors computed in double exactly like that; rows likewise.
// (Not the centre-aligned rule floor((x + 0.5) * src / dst), which gives different counts on real masks.)
std::vector<uint8_t> resize_nearest(const uint8_t* src, int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w);

struct MaskGt {
    int64_t height = 0, width = 0;
    std::vector<uint8_t> labels;  // (H, W): 1 foreground, 0 background, 255 ignore
    int64_t positives = 0, negatives = 0, ignored = 0;
};

// mask_paths: the instance masks of one image (at least one); ignore_path: its ignore mask ("" = none).
// Errors name the file (missing, undecodable, or instance masks of different sizes).
MaskGt wsol_mask_gt(const std::vector<std::string>& mask_paths, const std::string& ignore_path, int64_t size = 224);

}  // namespace wsdol::eval
