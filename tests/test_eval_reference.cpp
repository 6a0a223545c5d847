// test_eval_reference.cpp — MaxBoxAcc / MaxBoxAccV2 per-threshold IoUs, TS-CAM boxes and PxAP / pIoU against the
// numpy + cv2 reference of tests/reference/eval/gen_wsol_metrics.py on 16 smooth multi-blob score maps (some
// quantised, so thresholds create ties and equal-area components).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/data/npy.h"
#include "engine/eval/boxes.h"
#include "engine/eval/wsol_metrics.h"
#include "tests/test_eval_util.h"

namespace wsdol::eval {
namespace {

struct Reference {
    std::map<int, std::vector<Box>> gt;
    std::map<int, std::vector<double>> v1, v2;
    std::vector<std::tuple<int, double, Box>> tscam;
    std::map<std::pair<std::string, int>, std::pair<double, int>> maxboxacc;
    double pxap = 0, piou = 0;
};

Reference load_reference() {
    Reference r;
    std::ifstream f(test::eval_fixture("wsol_metrics.txt"));
    EXPECT_TRUE(f.good());
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream s(line);
        std::string tag;
        s >> tag;
        if (tag == "image") {
            int i;
            std::string word;
            s >> i >> word;
            Box b;
            while (s >> b.x0 >> b.y0 >> b.x1 >> b.y1) r.gt[i].push_back(b);
        } else if (tag == "v1" || tag == "v2") {
            int i;
            s >> i;
            double v;
            auto& dst = tag == "v1" ? r.v1[i] : r.v2[i];
            while (s >> v) dst.push_back(v);
        } else if (tag == "tscam") {
            int i;
            double theta;
            Box b;
            s >> i >> theta >> b.x0 >> b.y0 >> b.x1 >> b.y1;
            r.tscam.emplace_back(i, theta, b);
        } else if (tag == "maxboxacc") {
            std::string variant;
            int delta, index;
            double value;
            s >> variant >> delta >> value >> index;
            r.maxboxacc[{variant, delta}] = {value, index};
        } else if (tag == "pxap") {
            std::string w;
            s >> r.pxap >> w >> r.piou;
        }
    }
    return r;
}

TEST(EvalReference, WsolMetricsMatchNumpyAndOpenCV) {
    const Reference ref = load_reference();
    const Tensor maps = data::read_npy(test::eval_fixture("wsol_maps.npy"));
    const Tensor masks = data::read_npy(test::eval_fixture("wsol_masks.npy"));
    ASSERT_EQ(maps.dim(), 3);
    const int64_t n = maps.size(0), h = maps.size(1), w = maps.size(2);
    ASSERT_EQ(n, 16);
    ASSERT_EQ(static_cast<int64_t>(ref.gt.size()), n);
    const auto thresholds = wsol_thresholds(0.01);
    BoxAccumulator acc(thresholds);
    PxapAccumulator pxap(thresholds);
    for (int64_t i = 0; i < n; ++i) {
        SCOPED_TRACE("map " + std::to_string(i));
        const double* m = maps.data<double>() + i * h * w;
        const auto u8 = heatmap_u8(m, h * w);
        const auto& gt = ref.gt.at(static_cast<int>(i));
        EXPECT_EQ(acc.best_ious(u8.data(), h, w, gt, false), ref.v1.at(static_cast<int>(i)));
        EXPECT_EQ(acc.best_ious(u8.data(), h, w, gt, true), ref.v2.at(static_cast<int>(i)));
        acc.add(u8.data(), h, w, gt);
        pxap.add(m, masks.data<uint8_t>() + i * h * w, h * w);
    }
    for (const auto& [key, value] : ref.maxboxacc) {
        SCOPED_TRACE(key.first + " " + std::to_string(key.second));
        const BoxAccResult r = acc.compute(key.first == "v2");
        size_t d = 0;
        while (r.iou_thresholds[d] != key.second) ++d;
        EXPECT_EQ(r.max_box_acc[d], value.first);
        EXPECT_EQ(r.best_threshold_index[d], value.second);
    }
    const PxapResult p = pxap.compute();
    EXPECT_NEAR(p.pxap, ref.pxap, 1e-10);  // numpy sums pairwise, we sum in order
    EXPECT_DOUBLE_EQ(p.piou, ref.piou);
    // TS-CAM boxes from the float32 version of the maps.
    ASSERT_EQ(ref.tscam.size(), 48u);
    for (const auto& [i, theta, box] : ref.tscam) {
        const double* m = maps.data<double>() + i * h * w;
        std::vector<float> f(m, m + h * w);
        const auto u8 = heatmap_u8(f.data(), h * w);
        EXPECT_EQ(largest_contour_box(u8.data(), h, w, theta), box) << "map " << i << " theta " << theta;
    }
}

}  // namespace
}  // namespace wsdol::eval
