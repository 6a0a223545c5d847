// test_report_cli.cpp — `wsdol report` end to end: a synthetic VOC-layout set from `wsdol synth`, two methods
// (GT label maps copied, and (C-1, H, W) CAMs written here), the HTML checked for one row per image, one map and
// one mask cell per method, data URIs that decode to PNGs, the metric tables; the --overlay PNG's pixels for a
// constant map; and the errors for missing predictions, bad --method syntax and bad --metrics files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/eval/eval_data.h"
#include "engine/eval/report.h"
#include "engine/io/json.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;
using test::run_wsdol;

std::string q(const std::string& s) { return "'" + s + "'"; }

int64_t count(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    return std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator());
}

// synth data (6 foreground classes, 4 train images of 48x48: the split every command reads by default), "gt" = copied GT PNGs, "cam" = per-class CAMs that
// are 0.9 on the class's GT pixels and 0.1 elsewhere (so at threshold 0.5 the masks equal the GT, void aside).
struct Fixture {
    test::ScratchDir dir;
    std::string data, gt_pred, cam_pred;
    std::vector<std::string> ids;
    Fixture() {
        data = dir.file("data");
        const auto r = run_wsdol("synth --out " + q(data) + " --images 8 --size 48 --val-fraction 0.5 --quiet");
        EXPECT_EQ(r.code, 0) << r.output;
        ids = eval::read_id_list(data + "/ImageSets/Segmentation/train.txt");
        gt_pred = dir.file("pred_gt");
        cam_pred = dir.file("pred_cam");
        fs::create_directories(gt_pred);
        fs::create_directories(cam_pred);
        for (const auto& id : ids) {
            const std::string gt_path = data + "/SegmentationClass/" + id + ".png";
            fs::copy_file(gt_path, gt_pred + "/" + id + ".png");
            const data::Image gt = data::read_label_png(gt_path);
            std::vector<double> cams(size_t(6 * gt.height * gt.width), 0.1);
            for (int64_t i = 0; i < gt.height * gt.width; ++i)
                if (gt.pixels[size_t(i)] >= 1 && gt.pixels[size_t(i)] <= 6)
                    cams[size_t((gt.pixels[size_t(i)] - 1) * gt.height * gt.width + i)] = 0.9;
            data::write_npy(cam_pred + "/" + id + ".npy",
                            Tensor::from_vector(cams, {6, gt.height, gt.width}, DType::f32));
        }
    }
};

TEST(ReportCli, HtmlHasOneRowPerImageAndOneOverlayPerMethod) {
    Fixture f;
    ASSERT_EQ(f.ids.size(), 4u);
    const std::string out = f.dir.file("report.html"), metrics = f.dir.file("m.json");
    std::ofstream(metrics) << R"({"task":"seg","mIoU":12.5,"per_class_IoU":[1,2]})";
    const auto r = run_wsdol("report --data " + q(f.data) + " --method gt=" + q(f.gt_pred) + " --method cam=" +
                             q(f.cam_pred) + " --metrics prior=" + q(metrics) + " --title 'Test <report>' --out " +
                             q(out));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("report ["), std::string::npos) << r.output;  // the progress bar
    EXPECT_NE(r.output.find("4/4 img"), std::string::npos) << r.output;
    const std::string html = data::read_file_bytes(out);
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("</html>"), std::string::npos);
    EXPECT_NE(html.find("<h1>Test &lt;report&gt;</h1>"), std::string::npos);
    EXPECT_EQ(count(html, "<tr class=\"image-row\""), 4);
    for (const auto& id : f.ids) EXPECT_NE(html.find("id=\"img-" + id + "\""), std::string::npos) << id;
    // gt: label maps only, so a mask column and no map column; cam: heat maps and masks.
    EXPECT_EQ(count(html, "<td class=\"map\">"), 4);
    EXPECT_EQ(count(html, "<td class=\"mask\">"), 4);
    EXPECT_EQ(count(html, "<td class=\"mask mask-only\">"), 4);
    EXPECT_EQ(count(html, "<td class=\"gt\">"), 4);
    EXPECT_EQ(count(html, "<th class=\"map\" colspan=\"1\">gt</th>"), 1);
    EXPECT_EQ(count(html, "<th class=\"map\" colspan=\"2\">cam</th>"), 1);
    EXPECT_EQ(count(html, "label map \\(no scores\\)"), 0);
    EXPECT_EQ(count(html, "<img alt=\"map\""), 4);
    // Metric tables: computed (both methods 100 mIoU: masks equal the GT) and the JSON file's.
    EXPECT_EQ(count(html, "<table class=\"metrics\">"), 2);
    EXPECT_NE(html.find("<tr><td>gt</td><td>100.0</td>"), std::string::npos);
    EXPECT_NE(html.find("<tr><td>cam</td><td>100.0</td>"), std::string::npos);
    EXPECT_NE(html.find("prior (m.json)"), std::string::npos);
    EXPECT_NE(html.find("<td>1, 2</td>"), std::string::npos);
    // Self-contained: no external references; every picture decodes.
    EXPECT_EQ(html.find("http"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    const std::regex uri_re("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
    int64_t pictures = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), uri_re); it != std::sregex_iterator(); ++it) {
        const data::Image im = data::decode_image(eval::base64_decode((*it)[1].str()), "data uri");
        EXPECT_EQ(im.channels, 3);
        if (im.width == 48) {
            EXPECT_EQ(im.height, 48);  // 48 px images are embedded as they are
        }
        ++pictures;
    }
    EXPECT_EQ(pictures, 1 + 4 * (2 + 1 + 2));  // colour bar; per row input, gt, gt-mask, cam map, cam mask
    EXPECT_EQ(count(html, "<img "), pictures);

    // A method mixing score maps and label maps keeps its map column; label-map rows say so.
    const std::string mixed = f.dir.file("pred_mixed");
    fs::create_directories(mixed);
    for (size_t i = 0; i < f.ids.size(); ++i)
        fs::copy_file(i < 2 ? f.cam_pred + "/" + f.ids[i] + ".npy" : f.gt_pred + "/" + f.ids[i] + ".png",
                      mixed + "/" + f.ids[i] + (i < 2 ? ".npy" : ".png"));
    // (An existing page is replaced only with --force.)
    const auto refused = run_wsdol("report --quiet --data " + q(f.data) + " --method mixed=" + q(mixed) + " --out " + q(out));
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.output.find("exists; give --force to replace it"), std::string::npos) << refused.output;
    const auto r1 = run_wsdol("report --quiet --data " + q(f.data) + " --method mixed=" + q(mixed) + " --force --out " +
                              q(out));
    ASSERT_EQ(r1.code, 0) << r1.output;
    const std::string html1 = data::read_file_bytes(out);
    EXPECT_EQ(count(html1, "<td class=\"map\">"), 4);
    EXPECT_EQ(count(html1, "<img alt=\"map\""), 2);
    EXPECT_EQ(count(html1, "label map \\(no scores\\)"), 2);

    // The computed table agrees with `wsdol eval` on a non-trivial case: CAMs that miss every third GT pixel.
    const std::string partial = f.dir.file("pred_partial");
    fs::create_directories(partial);
    for (const auto& id : f.ids) {
        const data::Image gt = data::read_label_png(f.data + "/SegmentationClass/" + id + ".png");
        std::vector<double> cams(size_t(6 * gt.height * gt.width), 0.1);
        for (int64_t i = 0; i < gt.height * gt.width; ++i)
            if (gt.pixels[size_t(i)] >= 1 && gt.pixels[size_t(i)] <= 6 && i % 3 != 0)
                cams[size_t((gt.pixels[size_t(i)] - 1) * gt.height * gt.width + i)] = 0.9;
        data::write_npy(partial + "/" + id + ".npy", Tensor::from_vector(cams, {6, gt.height, gt.width}, DType::f32));
    }
    const auto ev = run_wsdol("eval --task seg --data " + q(f.data) + " --pred " + q(partial) +
                              " --threshold 0.4 --json 2>/dev/null");
    ASSERT_EQ(ev.code, 0) << ev.output;
    const double miou = json::parse(ev.output).at("mIoU").as_double();
    EXPECT_LT(miou, 95.0);
    const auto rp = run_wsdol("report --quiet --data " + q(f.data) + " --method p=" + q(partial) +
                              " --threshold 0.4 --force --out " + q(out));
    ASSERT_EQ(rp.code, 0) << rp.output;
    char expected[64];
    std::snprintf(expected, sizeof expected, "<tr><td>p</td><td>%.1f</td>", miou);
    EXPECT_NE(data::read_file_bytes(out).find(expected), std::string::npos) << expected;

    // --max-images limits the rows, not the metrics.
    const auto r2 = run_wsdol("report --quiet --data " + q(f.data) + " --method cam=" + q(f.cam_pred) +
                              " --max-images 1 --force --out " + q(out));
    ASSERT_EQ(r2.code, 0) << r2.output;
    EXPECT_EQ(r2.output.find("report ["), std::string::npos);  // --quiet
    const std::string html2 = data::read_file_bytes(out);
    EXPECT_EQ(count(html2, "<tr class=\"image-row\""), 1);
    EXPECT_NE(html2.find("(4 images, SegmentationClass)"), std::string::npos);
}

TEST(ReportCli, ErrorsNameTheProblem) {
    Fixture f;
    const std::string out = f.dir.file("r.html");
    fs::remove(f.cam_pred + "/" + f.ids[2] + ".npy");
    auto r = run_wsdol("report --data " + q(f.data) + " --method cam=" + q(f.cam_pred) + " --out " + q(out));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("method cam: missing prediction for id " + f.ids[2]), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(f.cam_pred + "/" + f.ids[2] + ".npy"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));

    r = run_wsdol("report --data " + q(f.data) + " --method " + q(f.gt_pred) + " --out " + q(out));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--method expects NAME=PRED_DIR, got '" + f.gt_pred + "'"), std::string::npos) << r.output;

    r = run_wsdol("report --data " + q(f.data) + " --method a=" + q(f.gt_pred) + " --method a=" + q(f.gt_pred) +
                  " --out " + q(out));
    EXPECT_NE(r.output.find("--method name 'a' given twice"), std::string::npos) << r.output;

    r = run_wsdol("report --data " + q(f.data) + " --method a=/no/such/dir --out " + q(out));
    EXPECT_NE(r.output.find("--method a: prediction folder /no/such/dir not found"), std::string::npos) << r.output;

    std::ofstream(f.dir.file("bad.json")) << "{\"a\": ";
    r = run_wsdol("report --data " + q(f.data) + " --method g=" + q(f.gt_pred) + " --metrics " +
                  q(f.dir.file("bad.json")) + " --out " + q(out));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--metrics: " + f.dir.file("bad.json") + ": invalid JSON"), std::string::npos) << r.output;

    r = run_wsdol("report --method g=" + q(f.gt_pred) + " --out " + q(out));
    EXPECT_NE(r.output.find("report needs --data DIR"), std::string::npos) << r.output;
}

TEST(ReportCli, OverlayPngOfConstantMapsIsTheColourMapEndpoints) {
    Fixture f;
    const std::string image = f.data + "/JPEGImages/" + f.ids[0] + ".jpg";
    const std::string zeros = f.dir.file("zeros.npy"), ones = f.dir.file("ones.npy"), out = f.dir.file("o.png");
    data::write_npy(zeros, Tensor::zeros({48, 48}));
    data::write_npy(ones, Tensor::ones({6, 12, 12}));  // smaller than the image: resized
    auto r = run_wsdol("report --overlay --image " + q(image) + " --map " + q(zeros) + " --alpha 1 --out " + q(out));
    ASSERT_EQ(r.code, 0) << r.output;
    data::Image png = data::read_image(out);
    ASSERT_EQ(png.channels, 3);
    ASSERT_EQ(png.width, 48);
    for (int64_t i = 0; i < 48 * 48; ++i)
        ASSERT_TRUE(png.pixels[size_t(i * 3)] == 0 && png.pixels[size_t(i * 3 + 1)] == 0 &&
                    png.pixels[size_t(i * 3 + 2)] == 128)
            << i;
    r = run_wsdol("report --overlay --image " + q(image) + " --map " + q(ones) + " --class 2 --alpha 1 --force --out " +
                  q(out));
    ASSERT_EQ(r.code, 0) << r.output;
    png = data::read_image(out);
    ASSERT_EQ(png.height, 48);
    for (int64_t i = 0; i < 48 * 48; ++i)
        ASSERT_TRUE(png.pixels[size_t(i * 3)] == 128 && png.pixels[size_t(i * 3 + 1)] == 0 &&
                    png.pixels[size_t(i * 3 + 2)] == 0)
            << i;
    // With --mask, the GT outline is white; alpha 0 leaves the image elsewhere.
    const std::string mask = f.data + "/SegmentationClass/" + f.ids[0] + ".png";
    r = run_wsdol("report --overlay --image " + q(image) + " --map " + q(zeros) + " --mask " + q(mask) +
                  " --alpha 1 --force --out " + q(out));
    ASSERT_EQ(r.code, 0) << r.output;
    png = data::read_image(out);
    int64_t white = 0;
    for (int64_t i = 0; i < 48 * 48; ++i) white += png.pixels[size_t(i * 3)] == 255 && png.pixels[size_t(i * 3 + 2)] == 255;
    EXPECT_GT(white, 0);
    // Errors.
    r = run_wsdol("report --overlay --image " + q(image) + " --map " + q(ones) + " --class 9 --out " + q(out));
    EXPECT_NE(r.output.find("--class must be in 1..6"), std::string::npos) << r.output;
    r = run_wsdol("report --overlay --image " + q(image) + " --out " + q(out));
    EXPECT_NE(r.output.find("report --overlay needs --image IMG --map MAP.npy --out OUT.png"), std::string::npos);
    r = run_wsdol("report --overlay --image " + q(image) + " --map " + q(f.dir.file("none.npy")) + " --out " + q(out));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find(f.dir.file("none.npy")), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
