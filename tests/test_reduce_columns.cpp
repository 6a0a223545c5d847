// test_reduce_columns.cpp — the column-sum path of the CPU "reduce" kernel (kernels/cpu/reduce.cpp): a sum over
// leading (non-unit-stride) dims whose kept dims end in a unit-stride dim, e.g. the Linear bias gradient
// sum(g (rows, out), {0}). The path must give exactly the bits of the documented order — per output, blocks of
// kReduceBlock elements each summed 0 + x0 + x1 + ... in double, the block sums added in order — for any thread
// count, including across block boundaries (more than 4096 reduced elements) and for views.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/ops/reduce.h"
#include "engine/tensor/tensor.h"
#include "kernels/cpu/parallel.h"

namespace wsdol {
namespace {

// The documented order for out[j] = sum over r of x[r * ld + j], r in [0, rows).
std::vector<float> reference_column_sums(const std::vector<double>& x, int64_t rows, int64_t cols) {
    std::vector<float> out(cols);
    for (int64_t j = 0; j < cols; ++j) {
        double total = 0.0;
        for (int64_t b = 0; b < rows; b += cpu::kReduceBlock) {
            double partial = 0.0;
            for (int64_t r = b; r < std::min(rows, b + cpu::kReduceBlock); ++r)
                partial += static_cast<double>(static_cast<float>(x[r * cols + j]));
            total += partial;
        }
        out[j] = static_cast<float>(total);
    }
    return out;
}

void expect_same_bits(const Tensor& got, const std::vector<float>& want, const std::string& what) {
    const Tensor c = got.contiguous();
    ASSERT_EQ(c.numel(), static_cast<int64_t>(want.size())) << what;
    ASSERT_EQ(std::memcmp(c.data<float>(), want.data(), want.size() * sizeof(float)), 0) << what;
}

TEST(ReduceColumns, BiasGradientShapeSameBitsAsTheDocumentedOrder) {
    const int saved = cpu::num_threads();
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1576, 768}, {5000, 37}, {9000, 130}, {3, 2}}) {
        Tensor x = Tensor::randn({rows, cols});
        const std::vector<double> xv = x.to_vector();
        const std::vector<float> want = reference_column_sums(xv, rows, cols);
        for (int threads : {1, 2, 3}) {
            cpu::set_num_threads(threads);
            expect_same_bits(sum(x, {0}), want, str(rows, "x", cols, " threads ", threads));
        }
    }
    cpu::set_num_threads(saved);
}

TEST(ReduceColumns, LeadingDimsOfA3DTensorAndAView) {
    // (2, 2600, 40) summed over dims {0, 1}: 5200 reduced elements per output (two blocks), outputs contiguous.
    Tensor x = Tensor::randn({2, 2600, 40});
    const std::vector<double> xv = x.to_vector();
    expect_same_bits(sum(x, {0, 1}), reference_column_sums(xv, 5200, 40), "(2,2600,40) over {0,1}");
    // A column slice (kept dim unit-stride, rows 40 apart): sum over rows of x2d[:, 5:25].
    Tensor x2d = x.reshape({5200, 40});
    Tensor view = x2d.narrow(1, 5, 20);
    std::vector<double> sliced;
    for (int64_t r = 0; r < 5200; ++r)
        for (int64_t j = 5; j < 25; ++j) sliced.push_back(xv[r * 40 + j]);
    expect_same_bits(sum(view, {0}), reference_column_sums(sliced, 5200, 20), "narrowed view");
    // keepdim and a middle reduced dim with the last dim kept: (6, 300, 50) over {1} -> (6, 50).
    Tensor y = Tensor::randn({6, 300, 50});
    const std::vector<double> yv = y.to_vector();
    Tensor s = sum(y, {1}, true);
    ASSERT_EQ(s.shape(), (Shape{6, 1, 50}));
    std::vector<float> want;
    for (int64_t i = 0; i < 6; ++i) {
        std::vector<double> part(yv.begin() + i * 300 * 50, yv.begin() + (i + 1) * 300 * 50);
        const std::vector<float> w = reference_column_sums(part, 300, 50);
        want.insert(want.end(), w.begin(), w.end());
    }
    expect_same_bits(s, want, "(6,300,50) over {1}");
}

}  // namespace
}  // namespace wsdol
