// test_loader.cpp — engine/data/loader: batches are bit-identical for any worker count (each sample has its own
// stream, batch order fixed), the epoch order is a seeded permutation, and a worker's error reaches the caller
// naming the file. Images are written as PNGs into a scratch directory (no dependence on shared data).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/data/loader.h"
#include "engine/data/png_write.h"
#include "engine/data/transforms_pipeline.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

// A dataset of `n` small RGB PNGs with varied sizes and content.
data::Dataset make_dataset(const test::ScratchDir& dir, int n) {
    data::Dataset ds;
    ds.kind = "voc";
    for (int i = 0; i < n; ++i) {
        data::Image img;
        img.height = 20 + (i * 7) % 23;
        img.width = 25 + (i * 11) % 31;
        img.channels = 3;
        img.pixels.resize(img.numel());
        for (int64_t k = 0; k < img.numel(); ++k) img.pixels[k] = uint8_t((k * (i + 3) + i * 17) % 256);
        data::Sample s;
        s.id = "img" + std::to_string(i);
        s.image_path = dir.file(s.id + ".png");
        s.labels = {i % 5 + 1};
        data::write_png(s.image_path, img);
        ds.samples.push_back(s);
    }
    return ds;
}

data::ImagePipeline toco_pipeline(int64_t crop) {
    data::TocoOptions o;
    o.crop = crop;
    return [o](const data::Image& rgb, data::SampleRng& rng, float* out, data::Example& ex) {
        ex.img_box = data::toco_main_view(rgb, rng, o, out).img_box;
    };
}

std::vector<data::Batch> run_epoch(data::Loader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<data::Batch> batches;
    data::Batch b;
    while (loader.next(b)) batches.push_back(b);
    return batches;
}

TEST(Loader, SameBatchesForAnyWorkerCount) {
    test::ScratchDir dir;
    const data::Dataset ds = make_dataset(dir, 11);
    std::vector<std::vector<data::Batch>> runs;
    for (int workers : {0, 1, 3}) {
        data::LoaderOptions o;
        o.batch_size = 4;
        o.height = o.width = 24;
        o.workers = workers;
        o.prefetch = 2;
        o.seed = 123;
        o.drop_last = false;
        auto loader = data::make_image_loader(ds, toco_pipeline(24), o);
        EXPECT_EQ(loader->batches_per_epoch(), 3);
        auto e0 = run_epoch(*loader, 0);
        auto e1 = run_epoch(*loader, 1);
        e0.insert(e0.end(), e1.begin(), e1.end());
        runs.push_back(e0);
    }
    ASSERT_EQ(runs[0].size(), 6u);
    EXPECT_EQ(runs[0][2].images.size(0), 3);  // 11 = 4 + 4 + 3 (drop_last off)
    for (size_t r = 1; r < runs.size(); ++r) {
        ASSERT_EQ(runs[r].size(), runs[0].size());
        for (size_t b = 0; b < runs[0].size(); ++b) {
            EXPECT_TRUE(test::bit_equal(runs[r][b].images, runs[0][b].images)) << "run " << r << " batch " << b;
            ASSERT_EQ(runs[r][b].examples.size(), runs[0][b].examples.size());
            for (size_t k = 0; k < runs[0][b].examples.size(); ++k) {
                EXPECT_EQ(runs[r][b].examples[k].index, runs[0][b].examples[k].index);
                EXPECT_EQ(runs[r][b].examples[k].img_box, runs[0][b].examples[k].img_box);
                EXPECT_EQ(runs[r][b].examples[k].labels, runs[0][b].examples[k].labels);
            }
        }
    }
    // Each epoch visits every sample once, in a different (seeded) order; epochs 0 and 1 differ in content.
    std::set<int64_t> seen;
    std::vector<int64_t> order0, order1;
    for (int b = 0; b < 3; ++b)
        for (const auto& ex : runs[0][b].examples) {
            seen.insert(ex.index);
            order0.push_back(ex.index);
        }
    for (int b = 3; b < 6; ++b)
        for (const auto& ex : runs[0][b].examples) order1.push_back(ex.index);
    EXPECT_EQ(seen.size(), 11u);
    EXPECT_NE(order0, order1);
    // A sample's augmentation depends on (seed, epoch, index) only: img_box of a sample is a function of it.
    for (const auto& b : runs[0])
        for (const auto& ex : b.examples) {
            EXPECT_GE(ex.img_box[1], ex.img_box[0]);
            EXPECT_LE(ex.img_box[1], 24);
            EXPECT_EQ(ex.labels, std::vector<int>{int(ex.index % 5 + 1)});
        }
}

TEST(Loader, DropLastAndNoShuffleOrder) {
    std::vector<int64_t> calls;
    data::LoaderOptions o;
    o.batch_size = 3;
    o.height = o.width = 2;
    o.workers = 2;
    o.shuffle = false;
    data::Loader loader(
        8,
        [](int64_t index, data::SampleRng&, float* out, data::Example&) {
            for (int i = 0; i < 12; ++i) out[i] = float(index);
        },
        o);
    EXPECT_EQ(loader.batches_per_epoch(), 2);
    auto batches = run_epoch(loader, 0);
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[1].images.data<float>()[0], 3.0f);
    EXPECT_EQ(batches[1].images.data<float>()[2 * 12], 5.0f);
}

TEST(Loader, WorkerErrorNamesTheFile) {
    test::ScratchDir dir;
    data::Dataset ds = make_dataset(dir, 6);
    ds.samples[4].image_path = dir.file("missing_image.jpg");
    for (int workers : {0, 2}) {
        data::LoaderOptions o;
        o.batch_size = 2;
        o.height = o.width = 16;
        o.workers = workers;
        o.shuffle = false;
        auto loader = data::make_image_loader(ds, toco_pipeline(16), o);
        loader->start_epoch(0);
        data::Batch b;
        EXPECT_TRUE(loader->next(b));
        EXPECT_TRUE(loader->next(b));
        test::expect_error([&] { loader->next(b); }, "loader: sample 4", {"missing_image.jpg"});
        EXPECT_FALSE(loader->next(b));
        // The loader stays usable: a new epoch starts cleanly.
        loader->start_epoch(1);
        EXPECT_TRUE(loader->next(b));
    }
}

TEST(Loader, BadOptionsAreErrors) {
    auto fn = [](int64_t, data::SampleRng&, float*, data::Example&) {};
    data::LoaderOptions o;
    o.batch_size = 0;
    test::expect_error([&] { data::Loader l(4, fn, o); }, "Loader", {"batch_size"});
    o.batch_size = 2;
    o.prefetch = 0;
    test::expect_error([&] { data::Loader l(4, fn, o); }, "Loader", {"prefetch"});
    o.prefetch = 1;
    data::Loader l(4, fn, o);
    data::Batch b;
    test::expect_error([&] { l.next(b); }, "Loader::next", {"start_epoch"});
}

// timm RandomErasing geometry and the timm/ToCo pipelines' output shapes.
TEST(Loader, RandomErasingBoxWithinBoundsAndNoise) {
    int erased = 0;
    for (uint64_t i = 0; i < 400; ++i) {
        data::SampleRng rng(1, 0, i);
        std::vector<float> x(3 * 20 * 30, 7.0f);
        std::array<int64_t, 4> box{};
        if (!data::random_erasing(x.data(), 3, 20, 30, rng, {}, &box)) continue;
        ++erased;
        const auto [top, left, h, w] = box;
        ASSERT_LT(h, 20);
        ASSERT_LT(w, 30);
        ASSERT_LE(top + h, 20);
        ASSERT_LE(left + w, 30);
        const double area = double(h) * w / 600.0;
        EXPECT_GT(area, 0.02 * 0.5);
        EXPECT_LT(area, 1.0 / 3.0 * 1.3);
        int changed = 0;
        for (float v : x) changed += v != 7.0f;
        EXPECT_EQ(changed, 3 * h * w);
    }
    EXPECT_GT(erased, 60);  // p = 0.25 of 400
    EXPECT_LT(erased, 140);
}

// The timm training view through the loader: fixed (3, 224, 224)-style output, reproducible for any workers.
TEST(Loader, TimmTrainViewReproducibleAcrossWorkers) {
    test::ScratchDir dir;
    const data::Dataset ds = make_dataset(dir, 5);
    std::vector<Tensor> images;
    for (int workers : {0, 2}) {
        data::LoaderOptions o;
        o.batch_size = 5;
        o.height = o.width = 32;
        o.workers = workers;
        o.seed = 9;
        data::TimmTrainOptions t;
        t.size = 32;
        auto loader = data::make_image_loader(
            ds, [t](const data::Image& rgb, data::SampleRng& rng, float* out, data::Example&) {
                data::timm_train_view(rgb, rng, t, out);
            }, o);
        auto batches = run_epoch(*loader, 3);
        ASSERT_EQ(batches.size(), 1u);
        images.push_back(batches[0].images);
    }
    EXPECT_TRUE(test::bit_equal(images[0], images[1]));
}

}  // namespace
}  // namespace wsdol
