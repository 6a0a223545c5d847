// test_sample_pipelines.cpp — the runner's named sample pipelines (runner/sample_pipelines.h) against the data
// functions they stand for: "irn" is data::irn_train_view (IRNet's view, padded with 0 in normalized space) with
// the long-side range scaled by S / 512, and its pixel labels follow the same geometry.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/data/datasets.h"
#include "engine/data/image_io.h"
#include "engine/data/transforms_pipeline.h"
#include "runner/sample_pipelines.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

TEST(SamplePipelines, IrnIsIrnTrainView) {
    test::ScratchDir dir;
    const auto r = test::run_wsdol("synth --quiet --out '" + dir.file("data") + "' --images 6 --size 48 --classes 3");
    ASSERT_EQ(r.code, 0) << r.output;
    const data::Dataset ds = data::open_dataset(dir.file("data"), "train");
    ASSERT_GE(ds.samples.size(), 4u);
    const int64_t S = 64;
    train::PipelineInputs in;
    in.dataset = &ds;
    in.pipeline = "irn";
    in.size = S;
    in.spec.labels = models::LabelKind::pixel_labels;
    const data::ExampleFn fn = train::make_example_fn(in);
    data::IrnTrainOptions o;  // ImageNet normalization as TorchvisionNormalize
    o.crop = S;
    o.resize_long_lo = 40;  // round(320 * 64 / 512)
    o.resize_long_hi = 80;
    bool padded = false;
    for (int64_t i = 0; i < int64_t(ds.samples.size()); ++i) {
        data::SampleRng a(9, 1, uint64_t(i)), b(9, 1, uint64_t(i));
        std::vector<float> got(size_t(3 * S * S)), want(size_t(3 * S * S)), want_label(size_t(S * S));
        data::Example ex;
        fn(i, a, got.data(), ex);
        const data::Image rgb = data::read_image(ds.samples[size_t(i)].image_path, data::ColorMode::rgb);
        const data::Image label = data::read_label_png(ds.samples[size_t(i)].mask_path);
        const data::IrnSample s = data::irn_train_view(rgb, b, o, want.data(), &label, want_label.data());
        EXPECT_EQ(got, want) << i;
        EXPECT_EQ(ex.img_box, s.img_box) << i;
        EXPECT_EQ(ex.extras.at("pixel_labels").values, want_label) << i;
        padded = padded || s.img_box != std::array<int64_t, 4>{0, S, 0, S};
    }
    EXPECT_TRUE(padded);  // 48 px images at long side 40..80: some views are padded (with 0, the mean colour)
}

}  // namespace
}  // namespace wsdol
