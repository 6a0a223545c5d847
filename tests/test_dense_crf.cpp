// test_dense_crf.cpp — models/dense_crf: the permutohedral filter and mean-field CRF against pydensecrf (when the
// fixture carries its outputs) and against the exact O(N^2) model (tests/reference/localize/gen_dense_crf.py),
// plus properties.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/ops/ops.h"
#include "models/dense_crf.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol::models {
namespace {

const test::ParityFixture& fixture() {
    static const test::ParityFixture f(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/localize/dense_crf.safetensors");
    return f;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return max(abs(sub(a, b))).item(); }

// pydensecrf and this file run the same float algorithm; they differ only in float rounding (Eigen's evaluation
// order in the normalizations, SSE vs scalar expf), so 1e-4 (1 + |b|) holds.
TEST(DenseCrf, MatchesPydensecrf) {
    if (!fixture().has("pydensecrf.q")) GTEST_SKIP() << "fixture written without pydensecrf";
    const Tensor q = dense_crf(fixture().at("image"), fixture().at("probs"), psa_crf_params());
    fixture().expect("pydensecrf.q", q, 1e-4);
    const Tensor qa = dense_crf_unary(fixture().at("image"), unary_from_labels(fixture().at("labels"), 3, 0.7),
                                      irn_crf_params());
    fixture().expect("pydensecrf.label_q", qa, 1e-4);
    const Tensor lab = crf_label_inference(fixture().at("image"), fixture().at("labels"), 3);
    EXPECT_EQ(lab.to_vector(), fixture().at("pydensecrf.label").to_vector());
}

// The lattice is an approximation of the Gaussian filter (its effective kernel is a blurred, slightly different
// "Gaussian" on the lattice, and densecrf does not rescale it to the exact kernel's mass; the test above shows we
// reproduce densecrf's numbers, this one bounds how far they are from the exact filter). Checked on the CRF's
// own two feature sets: raw sums and normalized averages filter(v) / filter(1) (what the CRF's symmetric
// normalization sees) against the exact O(N^2) sums; the bounds are the measured errors (printed) with margin. The CRF marginals themselves are checked against the exact
// model below.
TEST(DenseCrf, LatticeApproximatesExactGaussian) {
    const Tensor vals = fixture().at("exact.filter.values");
    for (const char* kind : {"gauss", "bilateral"}) {
        const std::string key = std::string("exact.filter.") + kind;
        const Tensor feats = fixture().at(key + ".features");
        const Tensor exact = fixture().at(key + ".out"), density = fixture().at(key + ".density");
        const Tensor out = permutohedral_filter(feats, vals);
        const Tensor ones = permutohedral_filter(feats, Tensor::ones({feats.size(0), 1}));
        const double raw_err = max_abs_diff(out, exact) / max(abs(exact)).item();
        const double density_err = max(abs(div(sub(ones, density), density))).item();
        const Tensor exact_avg = div(exact, density), lattice_avg = div(out, ones);
        const double avg_err = max_abs_diff(lattice_avg, exact_avg) / max(abs(exact_avg)).item();
        std::printf("[dense_crf] lattice vs exact (%s): raw %.4f, density (relative) %.4f, normalized %.4f\n", kind,
                    raw_err, density_err, avg_err);
        // measured: gauss 0.18 / 0.23 / 0.15, bilateral 0.49 / 0.57 / 0.13 (the 5-D lattice is coarser; its
        // per-pixel scale errors largely cancel in the normalized averages)
        const bool gauss = std::string(kind) == "gauss";
        EXPECT_LT(raw_err, gauss ? 0.25 : 0.6) << kind;
        EXPECT_LT(density_err, gauss ? 0.3 : 0.7) << kind;
        EXPECT_LT(avg_err, 0.2) << kind;
    }
}

TEST(DenseCrf, CloseToExactMeanField) {
    const Tensor q = dense_crf(fixture().at("image"), fixture().at("probs"), psa_crf_params());
    const double err = max_abs_diff(q, fixture().at("exact.q"));
    std::printf("[dense_crf] mean field vs exact O(N^2) model: max |dQ| = %.4f\n", err);
    EXPECT_LT(err, 0.1);
    // The CRF cleans the noisy labels toward the colour regions as the exact model does.
    const Tensor ours = argmax(q, 0), exact = argmax(fixture().at("exact.q"), 0);
    const double agree = mean(eq(ours, exact).to(DType::f32)).item();
    EXPECT_GT(agree, 0.97);
}

TEST(DenseCrf, LabelsFollowColourBoundaries) {
    const Tensor region = fixture().at("region");
    const Tensor noisy = argmax(fixture().at("probs"), 0);
    const Tensor refined = argmax(dense_crf(fixture().at("image"), fixture().at("probs"), psa_crf_params()), 0);
    const double before = mean(eq(noisy, region).to(DType::f32)).item();
    const double after = mean(eq(refined, region).to(DType::f32)).item();
    std::printf("[dense_crf] agreement with the colour regions: %.3f -> %.3f\n", before, after);
    EXPECT_LT(before, 0.8);
    EXPECT_GT(after, 0.97);
}

TEST(DenseCrf, UniformUnaryStaysUniformAndZeroIterationsIsSoftmax) {
    const Tensor image = fixture().at("image");
    const Tensor uniform = Tensor::full({3, 18, 22}, 1.0 / 3.0);
    const Tensor q = dense_crf(image, uniform, psa_crf_params());
    EXPECT_LT(max_abs_diff(q, uniform), 1e-6);
    DenseCrfParams none = psa_crf_params();
    none.iterations = 0;
    const Tensor probs = fixture().at("probs");
    const Tensor q0 = dense_crf(image, probs, none);
    EXPECT_LT(max_abs_diff(q0, probs), 1e-6);  // softmax(log p) = p for p >= 1e-5 summing to 1
    const Tensor sums = sum(dense_crf(image, probs, psa_crf_params()), {0});
    EXPECT_LT(max_abs_diff(sums, Tensor::ones({18, 22})), 1e-5);
}

TEST(DenseCrf, UnaryFromLabels) {
    const Tensor labels = Tensor::from_vector({0, 2, 1, 2}, {2, 2}, DType::i64);
    const Tensor u = unary_from_labels(labels, 3, 0.7);
    const float p = static_cast<float>(-std::log(0.7)), n = static_cast<float>(-std::log(0.15));
    EXPECT_EQ(u.to_vector(), std::vector<double>({p, n, n, n, n, n, p, n, n, p, n, p}));
}

TEST(DenseCrf, FilterOfConstantIsSmoothDensity) {
    // On a regular grid with spacing 1 / s the filtered constant is about the Gaussian mass 2 pi s^2 inside.
    const int64_t n = 40;
    std::vector<double> f;
    for (int64_t y = 0; y < n; ++y)
        for (int64_t x = 0; x < n; ++x) f.insert(f.end(), {x / 3.0, y / 3.0});
    const Tensor out = permutohedral_filter(Tensor::from_vector(f, {n * n, 2}), Tensor::ones({n * n, 1}));
    const double centre = out.to_vector()[(n / 2) * n + n / 2];
    EXPECT_NEAR(centre, 2 * M_PI * 9, 0.25 * 2 * M_PI * 9);
}

TEST(DenseCrf, SeedRecipesMatchPsaAndIrnet) {
    if (!fixture().has("seeds.irn_conf")) GTEST_SKIP() << "fixture written without pydensecrf";
    const Tensor image = fixture().at("image"), maps = fixture().at("seeds.maps");
    fixture().expect("seeds.crf_alpha1", crf_with_alpha(image, maps, {0, 2}, 1.0), 1e-4);
    fixture().expect("seeds.crf_alpha12", crf_with_alpha(image, maps, {0, 2}, 12.0), 1e-4);
    const Tensor conf = irn_confident_labels(image, maps, {0, 2}, 0.30, 0.10);
    EXPECT_EQ(conf.dtype(), DType::u8);
    EXPECT_EQ(conf.to_vector(), fixture().at("seeds.irn_conf").to_vector());
}

TEST(DenseCrf, IrnConfidentLabelsUnsureBand) {
    // A map between the two thresholds: background for the fg pass, the class for the bg pass -> 255 (unsure);
    // above both -> the class id (1 + c); below both -> 0.
    const Tensor image = Tensor::full({6, 9, 3}, 128, DType::u8);
    for (const auto& [value, expected] : {std::pair{0.2, 255.0}, std::pair{0.5, 3.0}, std::pair{0.05, 0.0}}) {
        Tensor maps = Tensor::zeros({4, 6, 9});
        maps.select(0, 2).fill_(value);
        const Tensor conf = irn_confident_labels(image, maps, {2}, 0.30, 0.10);
        EXPECT_EQ(conf.to_vector(), std::vector<double>(54, expected)) << value;
    }
}

TEST(DenseCrf, BadInputsName) {
    const Tensor probs = fixture().at("probs");
    test::expect_error([&] { dense_crf(Tensor::zeros({18, 22, 3}), probs); }, "dense_crf",
                       {"uint8", "float32"});
    test::expect_error([&] { dense_crf(Tensor::zeros({18, 21, 3}, DType::u8), probs); }, "dense_crf",
                       {"does not match", "18x22"});
    test::expect_error([&] { dense_crf(fixture().at("image"), probs.select(0, 0)); }, "dense_crf",
                       {"(L, H, W)"});
    test::expect_error([&] { unary_from_labels(Tensor::from_vector({0, 3}, {1, 2}, DType::i64), 3); },
                       "unary_from_labels", {"label 3", "3 labels"});
    test::expect_error([&] { unary_from_labels(Tensor::zeros({2, 2}, DType::i64), 3, 1.0); }, "unary_from_labels",
                       {"gt_prob 1"});
    test::expect_error([&] { permutohedral_filter(Tensor::zeros({4, 2}), Tensor::zeros({5, 1})); },
                       "permutohedral_filter", {"share N"});
}

}  // namespace
}  // namespace wsdol::models
