// overlay.h — drawing localization results on images: a jet-like colour map, score map -> 8-bit heat map with
// per-map min-max normalisation, alpha-blended heat-map and label overlays, box outlines and thumbnails.
// Used by `wsdol report` (HTML pages and single PNG overlays); everything works on data::Image (8-bit, H, W, C).
//
// Conventions (the numbers the tests pin):
//  - jet_color(v), t = v / 255: r = clamp(1.5 - |4t - 3|), g = clamp(1.5 - |4t - 2|), b = clamp(1.5 - |4t - 1|),
//    each scaled by 255 and rounded half up. Endpoints: jet_color(0) = (0, 0, 128) dark blue,
//    jet_color(255) = (128, 0, 0) dark red; the middle 128 is near (130, 255, 125) green (matplotlib's "jet").
//  - blending: out = round((1 - alpha) * image + alpha * colour), rounded half up, per channel.
//  - normalize_map: (v - min) / (max - min) * 255, rounded half up; a constant map (max == min) has no range to
//    stretch and is shown as its value clamped to [0, 1] (so an all-0 map is all dark blue, an all-1 map all red).
//    NaN scores are an error naming `what`.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/data/png_write.h"

namespace wsdol::data {

using Rgb = std::array<uint8_t, 3>;

Rgb jet_color(uint8_t v);

// scores: n values -> n heat values 0..255 (rule above). `what` names the map in errors.
std::vector<uint8_t> normalize_map(const float* scores, int64_t n, const std::string& what);
std::vector<uint8_t> normalize_map(const double* scores, int64_t n, const std::string& what);

// image: (H, W, 1|3|4) (converted to RGB); heat: (H, W) values 0..255 -> (H, W, 3) image blended with
// jet_color(heat) at `alpha` (0 = image only, 1 = colour map only).
Image heat_overlay(const Image& image, const std::vector<uint8_t>& heat, double alpha = 0.5);

// image: (H, W, C); labels: (H, W, 1) label map. Pixels with label 0 (background) keep the image; other labels
// are blended with their palette colour at `alpha` (255 = void gets the palette's 255 entry, VOC's cream).
Image label_overlay(const Image& image, const Image& labels, double alpha = 0.6, const Palette& palette = voc_palette());

// Outlines the box (x0, y0, x1, y1 inclusive, clipped to the image) `thickness` pixels wide, inwards.
// image: (H, W, 3).
void draw_box(Image& image, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb colour, int thickness = 2);

// (H, W, C) -> the longer side scaled to `size` (Pillow bilinear, engine/data/pil_resize.h), aspect kept.
Image thumbnail(const Image& image, int64_t size);

// Nearest-neighbour resize of a label map (H, W, 1) to (out_h, out_w, 1): source index floor((i + 0.5) * H / out_h),
// PIL's NEAREST rule, so labels are never mixed.
Image resize_labels_nearest(const Image& labels, int64_t out_h, int64_t out_w);

}  // namespace wsdol::data
