// cam_boxes.h — from a class map to the box TS-CAM and CDTR evaluate (../shared/docs/methods.md §5.5, §5.7;
// CDTR utils.resize_cam/get_bboxes, TS-CAM lib/cams_deit.py resize_cam/get_bboxes): OpenCV's INTER_LINEAR resize
// of a float map, the two normalization orders, the uint8 heat map, then largest_contour_box (boxes.h).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/eval/boxes.h"

namespace wsdol::eval {

// cv2.resize(src, (dst_w, dst_h)) with INTER_LINEAR on a float32 map: half-pixel source coordinates
// fx = float((x + 0.5) * (src / dst) - 0.5), taps floor(fx) and floor(fx) + 1 with weights 1 - f and f in float,
// clamped to the edge (f = 0 there), the horizontal pass then the vertical pass, in float. src: (src_h, src_w).
// OpenCV's own builds may take Intel IPP's resize for float maps, whose rounding differs in the last bit on about a
// third of the pixels; measured against opencv-python-headless 5.1.0, that changed 20 of 10 million uint8 heat-map
// pixels and no box (tests/reference/cdtr/gen_boxes.py).
std::vector<float> cv_resize_linear(const float* src, int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w);

// CDTR: min-max normalize the (h, w) map in float ((m - min) / (max - min)), resize to size x size, then
// uint8(x * 255) (truncation). A constant map gives NaNs in the reference; here it is an error naming the map.
std::vector<uint8_t> cdtr_heatmap(const float* map, int64_t h, int64_t w, int64_t size = 224);
// TS-CAM: resize first, then min-max normalize, then uint8(x * 255).
std::vector<uint8_t> tscam_heatmap(const float* map, int64_t h, int64_t w, int64_t size = 224);

}  // namespace wsdol::eval
