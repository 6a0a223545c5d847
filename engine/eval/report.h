// report.h — the pieces of `wsdol report` (apps/cmd_report.cpp): a self-contained HTML page that shows, per image,
// the input, the ground truth and every method's localization map (heat-map overlay) and thresholded mask, with
// metric tables; and the single-image PNG overlay.
//
// Page format: one HTML5 file, inline CSS, no scripts, no external resources; every picture is an <img> whose
// src is a data:image/png;base64 URI (RFC 4648 base64, '=' padded). Structure (what the tests look for):
//   <table class="metrics">  one per metric table (computed mIoU table, then one per --metrics JSON file)
//   <table class="images">   one <tr class="image-row" id="img-<id>"> per shown image; per method one
//                            <td class="map"> (heat-map overlay) and one <td class="mask"> (thresholded mask);
//                            a method whose shown predictions are all label maps gets the mask cell only.
// Text is HTML-escaped (& < > " ').
//
// Predictions (PRED_DIR/<id>.npy, else PRED_DIR/<id>.png):
//   (C-1, H, W) float CAMs: heat map = heat_from_cams over the image's GT foreground classes; mask = cams_to_labels at the threshold
//       on the stored scores, exactly what `wsdol eval --task seg --threshold T` evaluates.
//   (H, W) float score map (class-agnostic, wsolevaluation style): heat map = the min-max normalised map; mask =
//       score > threshold labelled with the image's lowest GT foreground class (its box: the largest contour's).
//   <id>.png label map (palette or grey PNG): mask only; the map cell says "label map".
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/data/image_io.h"
#include "engine/io/json.h"

namespace wsdol::eval {

// RFC 4648 base64 with padding. decode rejects characters outside the alphabet and bad lengths (naming both).
std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);

// & < > " ' -> entities.
std::string html_escape(std::string_view text);

// The image as a PNG with per-row adaptive filters (stb_image_write's encoder; about 1.5x smaller than
// data::encode_png's filter-None rows on photos), for the pictures embedded in the page. Channels 1..4.
std::string encode_png_compact(const data::Image& image);
// "data:image/png;base64,..." of encode_png_compact(image).
std::string png_data_uri(const data::Image& image);

// "--method NAME=PRED_DIR": NAME non-empty, without '=' ; PRED_DIR non-empty. Errors quote the argument.
struct MethodSpec {
    std::string name, dir;
};
MethodSpec parse_method_spec(const std::string& arg);

// One method's prediction for one image, ready to draw.
struct MethodView {
    std::string path;               // the file read
    bool has_scores = false;        // .npy (heat map present) vs .png label map
    std::vector<uint8_t> heat;      // (H, W) 0..255 when has_scores
    data::Image mask;               // (H, W, 1) labels
    bool has_box = false;           // 2-D score maps: largest-contour box of the mask
    int64_t box[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 (inclusive)
};
// gt: (H, W, 1) labels; num_classes C (background included). Errors name the missing or malformed file.
MethodView load_method_view(const std::string& pred_dir, const std::string& id, const data::Image& gt, int num_classes,
                            double threshold);

// cams: (K, H, W) -> (H, W) heat values 0..255. With classes (1..K, channel c-1): each class's map min-max
// normalised (engine/data/overlay.h), then the max over those classes. Without: the max of the raw scores over all
// channels, normalised once (normalising every channel alone would stretch the noise of absent classes to full
// scale). `what` names the map in errors.
std::vector<uint8_t> heat_from_cams(const float* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                                    const std::string& what);
std::vector<uint8_t> heat_from_cams(const double* cams, int64_t k, int64_t h, int64_t w,
                                    const std::vector<int>& classes, const std::string& what);

// The image's GT foreground classes (1..C-1 present in gt), ascending.
std::vector<int> gt_classes(const data::Image& gt, int num_classes);

// ---- HTML page ----
struct ReportTable {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // plain text cells (escaped when written)
};
// A JSON object as a two-column table: nested objects flattened with dotted keys, arrays of scalars joined with
// ", " (numbers with 3 decimals, at most 40 shown), arrays of arrays/objects as "(N entries)".
ReportTable table_from_json(const json::Value& value, const std::string& title);

struct ReportCell {
    std::string kind;     // CSS class of the <td>: "input", "gt", "map", "mask"
    std::string png;      // PNG bytes (empty: caption only)
    int64_t display = 0;  // shown with its longer side this many CSS pixels (0: the PNG's own size)
    std::string caption;  // under the picture
};
struct ReportRow {
    std::string id;
    std::string note;  // e.g. the GT class names
    std::vector<ReportCell> cells;
};
struct ReportPage {
    std::string title;
    std::vector<std::string> summary;  // lines under the title
    std::vector<ReportTable> tables;
    std::vector<std::string> methods;  // column groups after input and ground truth (two cells each: map, mask)
    std::vector<bool> mask_only;       // per method (empty: none): one cell (mask) per row, no map column
    std::vector<ReportRow> rows;
    std::vector<std::pair<int, std::string>> legend;  // class index and name (palette swatches)
};
std::string render_html(const ReportPage& page);

}  // namespace wsdol::eval
