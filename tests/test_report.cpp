// test_report.cpp — the pieces of `wsdol report`: base64, HTML escaping, the jet colour map and blending rules
// (engine/data/overlay.h), prediction loading for display, JSON tables and the page structure (report.h).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/overlay.h"
#include "engine/data/png_write.h"
#include "engine/eval/report.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

using data::Image;
using test::expect_error;

Image solid(int64_t h, int64_t w, std::initializer_list<uint8_t> rgb) {
    Image im;
    im.height = h;
    im.width = w;
    im.channels = int64_t(rgb.size());
    for (int64_t i = 0; i < h * w; ++i)
        for (uint8_t v : rgb) im.pixels.push_back(v);
    return im;
}

Image labels_of(int64_t h, int64_t w, const std::vector<uint8_t>& values) {
    Image im;
    im.height = h;
    im.width = w;
    im.channels = 1;
    im.pixels = values;
    return im;
}

TEST(ReportBase64, Rfc4648Vectors) {
    // RFC 4648 §10 test vectors.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, coded] : cases) {
        EXPECT_EQ(eval::base64_encode(plain), coded);
        EXPECT_EQ(eval::base64_decode(coded), plain);
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(char(i));
    EXPECT_EQ(eval::base64_decode(eval::base64_encode(all)), all);
    EXPECT_EQ(eval::base64_encode("\xff\xfe"), "//4=");
}

TEST(ReportBase64, DecodeErrors) {
    expect_error([] { eval::base64_decode("abc"); }, {"base64", "multiple of 4"});
    expect_error([] { eval::base64_decode("ab!d"); }, {"base64", "invalid character '!'", "offset 2"});
    expect_error([] { eval::base64_decode("a=bc"); }, {"base64"});
}

TEST(ReportHtml, Escape) { EXPECT_EQ(eval::html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;"); }

TEST(ReportOverlay, JetEndpointsAndMiddle) {
    EXPECT_EQ(data::jet_color(0), (data::Rgb{0, 0, 128}));    // dark blue
    EXPECT_EQ(data::jet_color(255), (data::Rgb{128, 0, 0}));  // dark red
    const data::Rgb mid = data::jet_color(128);                // green-ish: g saturated, r and b about half
    EXPECT_EQ(mid[1], 255);
    EXPECT_NEAR(mid[0], 129, 2);
    EXPECT_NEAR(mid[2], 125, 2);
    // Quarter points, by hand: t = 64/255: g = 1.5 - |4t - 2| = 0.5039 -> 128.5 -> 129, b saturated, r 0;
    // t = 191/255: r saturated, g = 1.5 - |4t - 2| = 0.5039 -> 129, b 0.
    EXPECT_EQ(data::jet_color(64), (data::Rgb{0, 129, 255}));
    EXPECT_EQ(data::jet_color(191), (data::Rgb{255, 129, 0}));
}

TEST(ReportOverlay, NormalizeMapRules) {
    const std::vector<float> ramp = {2.f, 3.f, 4.f, 6.f};  // min 2, max 6
    EXPECT_EQ(data::normalize_map(ramp.data(), 4, "m"), (std::vector<uint8_t>{0, 64, 128, 255}));
    const std::vector<double> zeros(5, 0.0), ones(5, 1.0), big(5, 7.0), half(3, 0.5);
    EXPECT_EQ(data::normalize_map(zeros.data(), 5, "m"), std::vector<uint8_t>(5, 0));  // constant: clamped value
    EXPECT_EQ(data::normalize_map(ones.data(), 5, "m"), std::vector<uint8_t>(5, 255));
    EXPECT_EQ(data::normalize_map(big.data(), 5, "m"), std::vector<uint8_t>(5, 255));
    EXPECT_EQ(data::normalize_map(half.data(), 3, "m"), std::vector<uint8_t>(3, 128));
    const std::vector<float> nan = {0.f, std::nanf(""), 1.f};
    expect_error([&] { data::normalize_map(nan.data(), 3, "cams/x.npy"); }, {"cams/x.npy", "NaN", "flat index 1"});
}

TEST(ReportOverlay, HeatOverlayOfConstantMapIsTheColourMapEndpoint) {
    const Image image = solid(3, 4, {100, 50, 200});
    // alpha 1: the colour map alone.
    const std::vector<double> zeros(12, 0.0), ones(12, 1.0);
    Image low = data::heat_overlay(image, data::normalize_map(zeros.data(), 12, "z"), 1.0);
    Image high = data::heat_overlay(image, data::normalize_map(ones.data(), 12, "o"), 1.0);
    ASSERT_EQ(low.channels, 3);
    for (int64_t i = 0; i < 12; ++i) {
        EXPECT_EQ(low.pixels[i * 3 + 0], 0);
        EXPECT_EQ(low.pixels[i * 3 + 1], 0);
        EXPECT_EQ(low.pixels[i * 3 + 2], 128);
        EXPECT_EQ(high.pixels[i * 3 + 0], 128);
        EXPECT_EQ(high.pixels[i * 3 + 1], 0);
        EXPECT_EQ(high.pixels[i * 3 + 2], 0);
    }
    // alpha 0.5: round((image + colour) / 2), half up: (100+0)/2=50, (50+0)/2=25, (200+128)/2=164.
    Image mixed = data::heat_overlay(image, data::normalize_map(zeros.data(), 12, "z"), 0.5);
    EXPECT_EQ(mixed.at(2, 3, 0), 50);
    EXPECT_EQ(mixed.at(2, 3, 1), 25);
    EXPECT_EQ(mixed.at(2, 3, 2), 164);
    // alpha 0: the image (a grey image comes back as RGB).
    Image grey = solid(2, 2, {77});
    Image same = data::heat_overlay(grey, std::vector<uint8_t>(4, 255), 0.0);
    EXPECT_EQ(same.channels, 3);
    EXPECT_EQ(same.pixels, std::vector<uint8_t>(12, 77));
    expect_error([&] { data::heat_overlay(image, std::vector<uint8_t>(5, 0)); }, {"heat_overlay", "5 values", "3x4"});
}

TEST(ReportOverlay, LabelOverlayKeepsBackgroundAndBlendsPalette) {
    const Image image = solid(1, 3, {10, 20, 30});
    const Image labels = labels_of(1, 3, {0, 1, 255});
    const Image out = data::label_overlay(image, labels, 1.0);
    EXPECT_EQ(out.pixels, (std::vector<uint8_t>{10, 20, 30, 128, 0, 0, 224, 224, 192}));
    const Image half = data::label_overlay(image, labels, 0.5);
    EXPECT_EQ(half.at(0, 1, 0), 69);  // (10 + 128) / 2
    EXPECT_EQ(half.at(0, 1, 1), 10);
    expect_error([&] { data::label_overlay(image, labels_of(1, 2, {0, 0})); }, {"label_overlay", "1x2", "1x3"});
}

TEST(ReportOverlay, DrawBoxOutlinesInsideTheClippedBox) {
    Image im = solid(6, 6, {0, 0, 0});
    data::draw_box(im, 1, 1, 10, 4, {255, 255, 0}, 1);  // x1 clipped to 5
    for (int64_t y = 0; y < 6; ++y)
        for (int64_t x = 0; x < 6; ++x) {
            const bool edge = y >= 1 && y <= 4 && x >= 1 && (x == 1 || x == 5 || y == 1 || y == 4);
            EXPECT_EQ(im.at(y, x, 0), edge ? 255 : 0) << y << "," << x;
            EXPECT_EQ(im.at(y, x, 2), 0);
        }
}

TEST(ReportOverlay, ThumbnailAndNearestLabels) {
    const Image big = solid(40, 80, {9, 8, 7});
    const Image t = data::thumbnail(big, 20);
    EXPECT_EQ(t.width, 20);
    EXPECT_EQ(t.height, 10);
    EXPECT_EQ(t.pixels, solid(10, 20, {9, 8, 7}).pixels);  // a constant image stays constant
    const Image l = data::resize_labels_nearest(labels_of(2, 2, {1, 2, 3, 4}), 4, 4);
    EXPECT_EQ(l.pixels, (std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(ReportMethodSpec, ParsesAndNamesBadSyntax) {
    const auto m = eval::parse_method_spec("cam=/tmp/a=b");
    EXPECT_EQ(m.name, "cam");
    EXPECT_EQ(m.dir, "/tmp/a=b");
    for (const std::string bad : {"cam", "=dir", "cam=", ""})
        expect_error([&] { eval::parse_method_spec(bad); }, {"--method expects NAME=PRED_DIR", "'" + bad + "'"});
}

TEST(ReportMethodView, CamsNpyGivesHeatAndThresholdedMask) {
    test::ScratchDir dir;
    // GT 2x3 with class 2 on the right column; 3 classes (2 foreground CAM channels).
    const Image gt = labels_of(2, 3, {0, 0, 2, 0, 255, 2});
    // cams: (2, 2, 3); channel 1 (class 2) ramps 0..0.9 across the pixels.
    std::vector<double> v(12, 0.0);
    for (int i = 0; i < 6; ++i) v[6 + i] = 0.18 * i;
    data::write_npy(dir.file("a.npy"), Tensor::from_vector(v, {2, 2, 3}, DType::f32));
    const eval::MethodView view = eval::load_method_view(dir.path().string(), "a", gt, 3, 0.5);
    EXPECT_TRUE(view.has_scores);
    EXPECT_FALSE(view.has_box);
    EXPECT_EQ(view.heat, (std::vector<uint8_t>{0, 51, 102, 153, 204, 255}));  // class 2's map normalised
    EXPECT_EQ(view.mask.pixels, (std::vector<uint8_t>{0, 0, 0, 2, 2, 2}));    // 0.54, 0.72, 0.9 > 0.5
}

TEST(ReportMethodView, HeatFromCamsPerClassOrRawMax) {
    // (2, 1, 4): channel 0 a strong ramp, channel 1 weak noise (absent class).
    const std::vector<float> cams = {0.f, 0.4f, 0.8f, 0.2f, 0.01f, 0.02f, 0.f, 0.03f};
    // Per class: channel 1 stretched to 0..255 on its own.
    EXPECT_EQ(eval::heat_from_cams(cams.data(), 2, 1, 4, {2}, "m"), (std::vector<uint8_t>{85, 170, 0, 255}));
    EXPECT_EQ(eval::heat_from_cams(cams.data(), 2, 1, 4, {1}, "m"), (std::vector<uint8_t>{0, 128, 255, 64}));
    // No classes: raw max (0.01, 0.4, 0.8, 0.2) normalised once, so the weak channel stays low:
    // (0.4 - 0.01) / 0.79 * 255 = 125.9 -> 126, (0.2 - 0.01) / 0.79 * 255 = 61.3 -> 61.
    EXPECT_EQ(eval::heat_from_cams(cams.data(), 2, 1, 4, {}, "m"), (std::vector<uint8_t>{0, 126, 255, 61}));
    expect_error([&] { eval::heat_from_cams(cams.data(), 2, 1, 4, {3}, "cams/a.npy"); },
                 {"cams/a.npy", "class 3 has no channel"});
}

TEST(ReportMethodView, ScoreMap2dGetsLowestGtClassAndBox) {
    test::ScratchDir dir;
    const Image gt = labels_of(3, 3, {0, 0, 0, 0, 3, 1, 0, 0, 0});
    std::vector<double> v(9, 0.1);
    v[4] = v[5] = 0.9;
    data::write_npy(dir.file("b.npy"), Tensor::from_vector(v, {3, 3}, DType::f64));
    const eval::MethodView view = eval::load_method_view(dir.path().string(), "b", gt, 4, 0.5);
    EXPECT_EQ(view.mask.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0}));
    EXPECT_TRUE(view.has_box);
    EXPECT_EQ(view.box[0], 1);
    EXPECT_EQ(view.box[1], 1);
    EXPECT_EQ(view.box[2], 2);  // x + w clipped to W - 1
    EXPECT_EQ(view.box[3], 2);
}

TEST(ReportMethodView, LabelPngAndErrorsNameTheFile) {
    test::ScratchDir dir;
    const Image gt = labels_of(2, 2, {0, 1, 1, 0});
    data::write_palette_png(dir.file("c.png"), labels_of(2, 2, {1, 1, 0, 0}));
    const eval::MethodView view = eval::load_method_view(dir.path().string(), "c", gt, 2, 0.5);
    EXPECT_FALSE(view.has_scores);
    EXPECT_EQ(view.mask.pixels, (std::vector<uint8_t>{1, 1, 0, 0}));
    const std::string d = dir.path().string();
    expect_error([&] { eval::load_method_view(d, "nope", gt, 2, 0.5); },
                 {"missing prediction for id nope", d + "/nope.npy", d + "/nope.png"});
    data::write_palette_png(dir.file("big.png"), labels_of(1, 3, {0, 0, 0}));
    expect_error([&] { eval::load_method_view(d, "big", gt, 2, 0.5); }, {d + "/big.png", "wrong size 1x3", "2x2"});
    data::write_palette_png(dir.file("lab.png"), labels_of(2, 2, {0, 7, 0, 0}));
    expect_error([&] { eval::load_method_view(d, "lab", gt, 2, 0.5); }, {d + "/lab.png", "label 7"});
    data::write_npy(dir.file("ch.npy"), Tensor::zeros({3, 2, 2}));
    expect_error([&] { eval::load_method_view(d, "ch", gt, 2, 0.5); }, {d + "/ch.npy", "1 foreground CAM channels"});
    data::write_npy(dir.file("int.npy"), Tensor::zeros({2, 2}, DType::i32));
    expect_error([&] { eval::load_method_view(d, "int", gt, 2, 0.5); }, {d + "/int.npy", "float32 or float64"});
}

TEST(ReportJson, TableFlattensObjectsAndArrays) {
    const json::Value v = json::parse(R"({"task":"seg","mIoU":50.1374,"images":8,"per_class_IoU":[90.5,null],)"
                                      R"("curve":[[0,1],[0.1,2]],"nested":{"a":true}})");
    const eval::ReportTable t = eval::table_from_json(v, "m");
    ASSERT_EQ(t.rows.size(), 6u);
    EXPECT_EQ(t.rows[0], (std::vector<std::string>{"task", "seg"}));
    EXPECT_EQ(t.rows[1], (std::vector<std::string>{"mIoU", "50.137"}));
    EXPECT_EQ(t.rows[2], (std::vector<std::string>{"images", "8"}));
    EXPECT_EQ(t.rows[3], (std::vector<std::string>{"per_class_IoU", "90.500, null"}));
    EXPECT_EQ(t.rows[4], (std::vector<std::string>{"curve", "(2 entries)"}));
    EXPECT_EQ(t.rows[5], (std::vector<std::string>{"nested.a", "true"}));
}

TEST(ReportHtml, PageStructureAndDataUris) {
    eval::ReportPage page;
    page.title = "T <1>";
    page.methods = {"m&1", "m2"};
    page.tables.push_back({"tab", {"a", "b"}, {{"x<", "1"}}});
    const std::string png = eval::encode_png_compact(solid(4, 6, {1, 2, 3}));
    for (const std::string id : {"i1", "i2", "i3"}) {
        eval::ReportRow row{id, "note", {}};
        for (const char* kind : {"input", "gt", "map", "mask", "map", "mask"}) row.cells.push_back({kind, png, 12, "c"});
        page.rows.push_back(row);
    }
    const std::string html = eval::render_html(page);
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("<title>T &lt;1&gt;</title>"), std::string::npos);
    EXPECT_NE(html.find("m&amp;1"), std::string::npos);
    EXPECT_NE(html.find("<td>x&lt;</td>"), std::string::npos);
    EXPECT_NE(html.find("width=\"12\" height=\"8\""), std::string::npos);  // 6x4 shown with longer side 12
    EXPECT_EQ(html.find("http"), std::string::npos);                         // no external resources
    const std::regex row_re("<tr class=\"image-row\"");
    EXPECT_EQ(std::distance(std::sregex_iterator(html.begin(), html.end(), row_re), std::sregex_iterator()), 3);
    const std::regex uri_re("data:image/png;base64,([A-Za-z0-9+/=]+)");
    int decoded = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), uri_re); it != std::sregex_iterator(); ++it) {
        const Image im = data::decode_image(eval::base64_decode((*it)[1].str()), "uri");
        EXPECT_GT(im.width, 0);
        ++decoded;
    }
    EXPECT_EQ(decoded, 1 + 3 * 6);  // colour bar + cells
    const Image back = data::decode_image(png, "png");
    EXPECT_EQ(back.pixels, solid(4, 6, {1, 2, 3}).pixels);
}

}  // namespace
}  // namespace wsdol
