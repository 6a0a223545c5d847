// boxes.h — boxes for WSOL evaluation: the three IoU conventions, GT box scaling of wsolevaluation, TS-CAM and
// CDTR, score map -> uint8 heat map, and box extraction from a thresholded heat map through contours.
// Reference: ../shared/docs/data-eval.md §1.4, §3.2, §5 (clovaai/wsolevaluation evaluation.py, TS-CAM
// lib/cams_deit.py + lib/datasets/cub.py, CDTR datasets.py + utils.py).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "engine/eval/contours.h"

namespace wsdol::eval {

// Integer box, corners inclusive-style as the references store them: (x0, y0, x1, y1).
struct Box {
    int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool operator==(const Box& o) const { return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1; }
};
std::ostream& operator<<(std::ostream& os, const Box& b);  // [x0, y0, x1, y1]
// Float box (CDTR keeps its GT boxes as floats).
struct BoxF {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// ---- IoU ----
// wsolevaluation calculate_multiple_iou: "+1" areas; IoU = 0 when the denominator is <= 0 (degenerate boxes).
// Two [0,0,0,0] boxes have IoU 1 (each is one pixel).
double iou_wsol(const Box& a, const Box& b);
// TS-CAM cal_iou: the same "+1" formula in floating point, no degenerate guard.
double iou_tscam(const BoxF& a, const BoxF& b);
// CDTR: no "+1": inter = max(0, x1-x0) * max(0, y1-y0) of the intersection; area = max(0,w) * max(0,h).
double iou_cdtr(const BoxF& a, const BoxF& b);

// ---- GT box scaling to the evaluated map size ----
// wsolevaluation resize_bbox: each coordinate c * new / old in double, truncated (int()). Throws when the box
// breaks the x0 <= x1, y0 <= y1, non-negative convention (check_box_convention).
Box wsol_resize_box(const Box& box, int64_t image_w, int64_t image_h, int64_t new_w, int64_t new_h);
// TS-CAM CUB loader (test resize straight to size x size): x, y, w, h are first truncated with int(float(v)), then
// x0 = int(max(x / W * size, 0)), x1 = int(min((x + w) / W * size, size - 1)), likewise for y.
// (TS-CAM's ILSVRC loader is the same with x + w replaced by x1: pass w = x1 - x0 in integers.)
Box tscam_resize_box(double x, double y, double w, double h, int64_t image_w, int64_t image_h, int64_t size = 224);
// CDTR loader: shorter side -> resize_min (float), centre crop `crop`; box scaled by the float factors, shifted by
// round((n - crop + 1) / 2) (Python rounding, half to even), x1 = x' + w', clipped to [0, crop]; floats kept.
BoxF cdtr_resize_box(double x, double y, double w, double h, int64_t image_w, int64_t image_h,
                     double resize_min = 256.0, int64_t crop = 224);

// ---- score maps ----
// The uint8 heat map of the references: (score * 255) truncated toward zero, computed in the map's own precision
// (numpy: float64 maps multiply in double, float32 maps in float). Scores must be finite and in [0, 1].
std::vector<uint8_t> heatmap_u8(const double* scores, int64_t n);
std::vector<uint8_t> heatmap_u8(const float* scores, int64_t n);
// Throws naming `what` when a score is NaN or outside [0, 1] (wsolevaluation check_scoremap_validity).
void check_scoremap(const double* scores, int64_t n, const std::string& what);
void check_scoremap(const float* scores, int64_t n, const std::string& what);

// The references' threshold on a heat map: int(tau * max(u8)) in double, then pixels strictly above it.
int64_t heatmap_threshold(double tau, uint8_t max_value);

// The contours of {u8 > threshold} (RETR_TREE, CHAIN_APPROX_SIMPLE). u8: (H, W).
std::vector<Contour> threshold_contours(const uint8_t* u8, int64_t height, int64_t width, int64_t threshold);

// wsolevaluation boxes at one threshold: the largest contour's box (V1) or every contour's box (V2,
// multi_contour_eval), each [x, y, min(x + w, W - 1), min(y + h, H - 1)]; [[0,0,0,0]] when there is no contour.
std::vector<Box> wsol_boxes(const std::vector<Contour>& contours, int64_t height, int64_t width, bool all_contours);

// TS-CAM / CDTR get_bboxes: the largest contour's [x, y, x + w, y + h] (not clipped) at threshold int(theta *
// max(u8)); [0, 0, 1, 1] when nothing is above the threshold.
Box largest_contour_box(const uint8_t* u8, int64_t height, int64_t width, double theta);

}  // namespace wsdol::eval
