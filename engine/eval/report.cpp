// report.cpp — base64, HTML escaping, prediction loading for display and the HTML page of `wsdol report`
// (format in report.h).
#include "engine/eval/report.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "engine/core/error.h"
#include "engine/data/npy.h"
#include "engine/data/overlay.h"
#include "engine/data/png_write.h"
#include "engine/eval/boxes.h"
#include "engine/eval/seg_metrics.h"

namespace wsdol::eval {

namespace fs = std::filesystem;

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string hxw(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

std::string fmt3(double v) {
    if (!std::isfinite(v)) return "nan";
    char b[64];
    std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}
}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
    }
    const size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    WSDOL_CHECK(text.size() % 4 == 0, "base64: length ", text.size(), " is not a multiple of 4");
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            int d;
            if (c == '=' && i + 4 == text.size() && j >= 2) {
                d = 0;
                ++pad;
            } else {
                WSDOL_CHECK(pad == 0, "base64: data after padding at offset ", i + j);
                const char* p = c ? std::strchr(kAlphabet, c) : nullptr;
                WSDOL_CHECK(p != nullptr, "base64: invalid character '", c, "' at offset ", i + j);
                d = int(p - kAlphabet);
            }
            v = v << 6 | uint32_t(d);
        }
        out.push_back(char(v >> 16));
        if (pad < 2) out.push_back(char((v >> 8) & 255));
        if (pad < 1) out.push_back(char(v & 255));
    }
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::string encode_png_compact(const data::Image& image) {
    WSDOL_CHECK(image.channels >= 1 && image.channels <= 4, "encode_png_compact: ", image.channels, " channels");
    WSDOL_CHECK(image.height > 0 && image.width > 0, "encode_png_compact: empty image");
    std::string bytes;
    auto sink = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
    };
    const int ok = stbi_write_png_to_func(sink, &bytes, int(image.width), int(image.height), int(image.channels),
                                          image.pixels.data(), int(image.width * image.channels));
    WSDOL_CHECK(ok != 0 && !bytes.empty(), "encode_png_compact: PNG encoding failed");
    return bytes;
}

std::string png_data_uri(const data::Image& image) {
    return "data:image/png;base64," + base64_encode(encode_png_compact(image));
}

MethodSpec parse_method_spec(const std::string& arg) {
    const size_t eq = arg.find('=');
    WSDOL_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < arg.size(), "--method expects NAME=PRED_DIR, got '", arg,
                "'");
    return {arg.substr(0, eq), arg.substr(eq + 1)};
}

std::vector<int> gt_classes(const data::Image& gt, int num_classes) {
    std::set<int> present;
    for (uint8_t v : gt.pixels)
        if (v != 0 && v < num_classes) present.insert(v);
    return {present.begin(), present.end()};
}

namespace {

template <typename T>
std::vector<uint8_t> heat_from_cams_impl(const T* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                                         const std::string& what) {
    const int64_t hw = h * w;
    if (classes.empty()) {
        std::vector<T> top(size_t(hw), T(0));
        for (int64_t i = 0; i < hw; ++i) {
            T best = cams[i];
            for (int64_t c = 1; c < k; ++c) best = std::max(best, cams[c * hw + i]);
            top[size_t(i)] = k > 0 ? best : T(0);
        }
        return data::normalize_map(top.data(), hw, what);
    }
    std::vector<uint8_t> heat(size_t(hw), 0);
    for (int c : classes) {
        WSDOL_CHECK(c >= 1 && c <= k, what, ": class ", c, " has no channel (", k, " channels)");
        const auto u8 = data::normalize_map(cams + (c - 1) * hw, hw, str(what, " channel ", c - 1));
        for (int64_t i = 0; i < hw; ++i) heat[size_t(i)] = std::max(heat[size_t(i)], u8[size_t(i)]);
    }
    return heat;
}

template <typename T>
void view_from_cams(MethodView& v, const T* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                    double threshold) {
    v.heat = heat_from_cams_impl(cams, k, h, w, classes, v.path);
    cams_to_labels(cams, k, h, w, classes, threshold, v.mask.pixels.data());
}

template <typename T>
void view_from_map(MethodView& v, const T* map, int64_t h, int64_t w, const std::vector<int>& classes, double threshold) {
    const int64_t hw = h * w;
    v.heat = data::normalize_map(map, hw, v.path);
    const uint8_t label = classes.empty() ? 1 : uint8_t(classes.front());
    const T t = static_cast<T>(threshold);  // compared in the map's precision, as cams_to_labels does
    std::vector<uint8_t> binary(static_cast<size_t>(hw));
    for (int64_t i = 0; i < hw; ++i) {
        const bool on = map[i] > t;
        v.mask.pixels[size_t(i)] = on ? label : 0;
        binary[size_t(i)] = on ? 255 : 0;
    }
    // The largest connected region's box (TS-CAM/CDTR get_bboxes on the binary mask).
    const Box b = largest_contour_box(binary.data(), h, w, 0.5);
    v.has_box = std::find(binary.begin(), binary.end(), 255) != binary.end();
    v.box[0] = b.x0;
    v.box[1] = b.y0;
    v.box[2] = std::min(b.x1, w - 1);
    v.box[3] = std::min(b.y1, h - 1);
}

}  // namespace

std::vector<uint8_t> heat_from_cams(const float* cams, int64_t k, int64_t h, int64_t w, const std::vector<int>& classes,
                                    const std::string& what) {
    return heat_from_cams_impl(cams, k, h, w, classes, what);
}
std::vector<uint8_t> heat_from_cams(const double* cams, int64_t k, int64_t h, int64_t w,
                                    const std::vector<int>& classes, const std::string& what) {
    return heat_from_cams_impl(cams, k, h, w, classes, what);
}

MethodView load_method_view(const std::string& pred_dir, const std::string& id, const data::Image& gt, int num_classes,
                            double threshold) {
    MethodView v;
    const std::string npy = pred_dir + "/" + id + ".npy", png = pred_dir + "/" + id + ".png";
    const bool has_npy = fs::is_regular_file(npy);
    WSDOL_CHECK(has_npy || fs::is_regular_file(png), "missing prediction for id ", id, " (expected ", npy, " or ", png,
                ")");
    const int64_t h = gt.height, w = gt.width;
    v.mask.height = h;
    v.mask.width = w;
    v.mask.channels = 1;
    v.mask.pixels.assign(size_t(h * w), 0);
    const std::vector<int> classes = gt_classes(gt, num_classes);
    if (!has_npy) {
        v.path = png;
        v.mask = data::read_label_png(png);
        WSDOL_CHECK(v.mask.height == h && v.mask.width == w, png, ": wrong size ", hxw(v.mask.height, v.mask.width),
                    " (HxW) vs ground truth ", hxw(h, w));
        for (uint8_t l : v.mask.pixels)
            WSDOL_CHECK(l < num_classes || l == 255, png, ": label ", int(l), " out of range for ", num_classes,
                        " classes");
        return v;
    }
    v.path = npy;
    v.has_scores = true;
    Tensor t = data::read_npy(npy);
    WSDOL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, npy, ": expected float32 or float64 scores, got ",
                dtype_name(t.dtype()));
    t = t.contiguous();
    if (t.dim() == 3) {
        WSDOL_CHECK(t.size(0) == num_classes - 1, npy, ": expected ", num_classes - 1, " foreground CAM channels (",
                    num_classes, " classes), got shape ", shape_str(t.shape()));
        WSDOL_CHECK(t.size(1) == h && t.size(2) == w, npy, ": wrong size ", hxw(t.size(1), t.size(2)),
                    " (HxW) vs ground truth ", hxw(h, w));
        if (t.dtype() == DType::f32) view_from_cams(v, t.data<float>(), t.size(0), h, w, classes, threshold);
        else view_from_cams(v, t.data<double>(), t.size(0), h, w, classes, threshold);
    } else {
        WSDOL_CHECK(t.dim() == 2, npy, ": expected a (C-1, H, W) or (H, W) array, got shape ", shape_str(t.shape()));
        WSDOL_CHECK(t.size(0) == h && t.size(1) == w, npy, ": wrong size ", hxw(t.size(0), t.size(1)),
                    " (HxW) vs ground truth ", hxw(h, w));
        if (t.dtype() == DType::f32) view_from_map(v, t.data<float>(), h, w, classes, threshold);
        else view_from_map(v, t.data<double>(), h, w, classes, threshold);
    }
    return v;
}

// ---- tables from JSON ----

namespace {

std::string scalar_text(const json::Value& v) {
    switch (v.type()) {
        case json::Type::null: return "null";
        case json::Type::boolean: return v.as_bool() ? "true" : "false";
        case json::Type::number: return v.is_int64() ? v.number_text() : fmt3(v.as_double());
        case json::Type::string: return v.as_string();
        default: return "";
    }
}

void flatten(const json::Value& v, const std::string& key, ReportTable& table) {
    if (v.is_object()) {
        for (const auto& [k, member] : v.members()) flatten(member, key.empty() ? k : key + "." + k, table);
        return;
    }
    std::string text;
    if (v.is_array()) {
        bool scalars = true;
        for (const auto& item : v.items()) scalars &= !item.is_array() && !item.is_object();
        if (!scalars) {
            text = "(" + std::to_string(v.size()) + " entries)";
        } else {
            size_t n = 0;
            for (const auto& item : v.items()) {
                if (n == 40) {
                    text += ", … (" + std::to_string(v.size()) + " in all)";
                    break;
                }
                text += (n++ ? ", " : "") + scalar_text(item);
            }
        }
    } else {
        text = scalar_text(v);
    }
    table.rows.push_back({key.empty() ? "value" : key, text});
}

}  // namespace

ReportTable table_from_json(const json::Value& value, const std::string& title) {
    ReportTable table;
    table.title = title;
    table.header = {"field", "value"};
    flatten(value, "", table);
    return table;
}

// ---- HTML ----

namespace {

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 20px; color: #222; }
h1 { font-size: 22px; margin: 0 0 6px 0; }
h2 { font-size: 17px; margin: 22px 0 8px 0; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.summary { margin: 2px 0; color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
table.metrics { margin: 6px 0 14px 0; }
table.metrics caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.metrics th, table.metrics td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.metrics th { background: #f2f2f2; }
table.metrics td:first-child, table.metrics th:first-child { text-align: left; }
table.images th { background: #f2f2f2; border: 1px solid #ccc; padding: 4px 6px; font-weight: 600; }
table.images td { border: 1px solid #ddd; padding: 4px; vertical-align: top; text-align: center; }
table.images td.id { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  min-width: 96px; max-width: 130px; word-break: break-all; }
table.images td.id span { display: block; color: #666; font-family: system-ui, sans-serif; margin-top: 4px; }
table.images img { display: block; margin: 0 auto; image-rendering: auto; }
div.cap { font-size: 11px; color: #555; margin-top: 2px; }
td.map div.cap:only-child { min-width: 64px; margin-top: 40px; }
td.map, th.map, td.mask-only { border-left: 2px solid #999 !important; }
div.legend { display: flex; flex-wrap: wrap; gap: 10px; font-size: 12px; margin: 6px 0; align-items: center; }
div.legend span.sw { display: inline-block; width: 14px; height: 14px; border: 1px solid #888; vertical-align: middle;
  margin-right: 4px; }
div.colorbar { font-size: 12px; display: flex; align-items: center; gap: 6px; margin: 6px 0; }
)";

std::string rgb_css(int index) {
    const auto& p = data::voc_palette();
    char b[32];
    std::snprintf(b, sizeof b, "rgb(%d,%d,%d)", p[index * 3], p[index * 3 + 1], p[index * 3 + 2]);
    return b;
}

void write_table(std::string& out, const ReportTable& t) {
    out += "<table class=\"metrics\"><caption>" + html_escape(t.title) + "</caption>\n<tr>";
    for (const auto& h : t.header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr>\n";
    for (const auto& row : t.rows) {
        out += "<tr>";
        for (const auto& c : row) out += "<td>" + html_escape(c) + "</td>";
        out += "</tr>\n";
    }
    out += "</table>\n";
}

}  // namespace

std::string render_html(const ReportPage& page) {
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(page.title) +
           "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
    out += "<h1>" + html_escape(page.title) + "</h1>\n";
    for (const auto& line : page.summary) out += "<p class=\"summary\">" + html_escape(line) + "</p>\n";
    if (!page.tables.empty()) {
        out += "<h2>Metrics</h2>\n";
        for (const auto& t : page.tables) write_table(out, t);
    }
    out += "<h2>Images</h2>\n";
    // Legends: the jet colour bar of the heat maps and the palette colours of the classes.
    data::Image bar;
    bar.height = 12;
    bar.width = 256;
    bar.channels = 3;
    bar.pixels.resize(12 * 256 * 3);
    for (int64_t y = 0; y < 12; ++y)
        for (int64_t x = 0; x < 256; ++x) {
            const auto c = data::jet_color(uint8_t(x));
            for (int k = 0; k < 3; ++k) bar.at(y, x, k) = c[k];
        }
    out += "<div class=\"colorbar\">heat map: low <img alt=\"colour bar\" src=\"" + png_data_uri(bar) +
           "\" width=\"256\" height=\"12\"> high (each class map min-max normalised)</div>\n";
    if (!page.legend.empty()) {
        out += "<div class=\"legend\">";
        for (const auto& [index, name] : page.legend)
            out += "<span><span class=\"sw\" style=\"background:" + rgb_css(index) + "\"></span>" +
                   std::to_string(index) + " " + html_escape(name) + "</span>";
        out += "</div>\n";
    }
    out += "<table class=\"images\">\n<thead><tr><th rowspan=\"2\">id</th><th rowspan=\"2\">input</th>"
           "<th rowspan=\"2\">ground truth</th>";
    auto mask_only = [&](size_t k) { return k < page.mask_only.size() && page.mask_only[k]; };
    for (size_t k = 0; k < page.methods.size(); ++k)
        out += "<th class=\"map\" colspan=\"" + std::string(mask_only(k) ? "1" : "2") + "\">" +
               html_escape(page.methods[k]) + "</th>";
    out += "</tr>\n<tr>";
    for (size_t k = 0; k < page.methods.size(); ++k)
        out += mask_only(k) ? "<th class=\"map\">mask</th>" : "<th class=\"map\">map</th><th>mask</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : page.rows) {
        out += "<tr class=\"image-row\" id=\"img-" + html_escape(row.id) + "\"><td class=\"id\">" + html_escape(row.id);
        if (!row.note.empty()) out += "<span>" + html_escape(row.note) + "</span>";
        out += "</td>";
        for (const auto& cell : row.cells) {
            out += "<td class=\"" + html_escape(cell.kind) + "\">";
            if (!cell.png.empty()) {
                std::string size;
                if (cell.display > 0) {  // the PNG's width and height from its IHDR chunk, scaled for display
                    WSDOL_CHECK(cell.png.size() >= 24, "render_html: cell picture is not a PNG");
                    auto be32 = [&](size_t at) {
                        return int64_t(uint8_t(cell.png[at])) << 24 | int64_t(uint8_t(cell.png[at + 1])) << 16 |
                               int64_t(uint8_t(cell.png[at + 2])) << 8 | int64_t(uint8_t(cell.png[at + 3]));
                    };
                    const int64_t w = be32(16), h = be32(20), longer = std::max<int64_t>(1, std::max(w, h));
                    size = " width=\"" + std::to_string(std::max<int64_t>(1, (w * cell.display + longer / 2) / longer)) +
                           "\" height=\"" + std::to_string(std::max<int64_t>(1, (h * cell.display + longer / 2) / longer)) +
                           "\"";
                }
                out += "<img alt=\"" + html_escape(cell.kind) + "\"" + size + " src=\"data:image/png;base64," +
                       base64_encode(cell.png) + "\">";
            }
            if (!cell.caption.empty()) out += "<div class=\"cap\">" + html_escape(cell.caption) + "</div>";
            out += "</td>";
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n</body>\n</html>\n";
    return out;
}

}  // namespace wsdol::eval
