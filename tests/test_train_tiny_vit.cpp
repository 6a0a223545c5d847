// test_train_tiny_vit.cpp — end-to-end engine checks on the tiny ViT (depth 2, width 64, 4 heads, patch 8):
// it learns the toy pattern task to >= 95% held-out accuracy; the same seed gives bit-identical losses; and
// training 10 steps, checkpointing and resuming for 10 more gives exactly the losses of 20 uninterrupted steps.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "kernels/cpu/parallel.h"
#include "models/toy_training.h"

namespace wsdol::models {
namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("wsdol_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(TinyViT, LearnsToyPatternsAndIsDeterministic) {
    ToyTrainConfig c;
    c.steps = 150;
    c.seed = 1;
    ToyTrainResult first = train_toy_vit(c);
    ToyTrainResult second = train_toy_vit(c);
    std::printf("tiny ViT: loss %.4f -> %.4f over %lld steps, held-out accuracy %.2f%%\n", first.losses.front(),
                first.losses.back(), static_cast<long long>(c.steps), 100 * first.eval_accuracy);
    EXPECT_GE(first.eval_accuracy, 0.95);
    ASSERT_EQ(first.losses.size(), second.losses.size());
    for (size_t i = 0; i < first.losses.size(); ++i)
        ASSERT_EQ(first.losses[i], second.losses[i]) << "step " << i + 1 << " differs between two runs with one seed";
    EXPECT_EQ(first.eval_accuracy, second.eval_accuracy);
}

TEST(TinyViT, LossesDoNotDependOnThreadCount) {
    ToyTrainConfig c;
    c.steps = 15;
    c.seed = 3;
    c.eval_images = 0;
    const int threads = cpu::num_threads();
    cpu::set_num_threads(1);
    const ToyTrainResult one = train_toy_vit(c);
    cpu::set_num_threads(3);
    const ToyTrainResult three = train_toy_vit(c);
    cpu::set_num_threads(threads);
    ASSERT_EQ(one.losses.size(), three.losses.size());
    for (size_t i = 0; i < one.losses.size(); ++i) ASSERT_EQ(one.losses[i], three.losses[i]) << "step " << i + 1;
}

TEST(TinyViT, ResumeFromCheckpointIsBitIdentical) {
    ToyTrainConfig c;
    c.steps = 20;
    c.seed = 7;
    c.eval_images = 0;
    c.drop_path = 0.2;  // random masks: the generators' states must resume too
    c.dropout = 0.1;
    c.warmup_steps = 5;
    const ToyTrainResult uninterrupted = train_toy_vit(c);

    const std::string path = temp_path("resume.safetensors");
    ToyTrainConfig part1 = c;
    part1.stop_after = 10;
    part1.checkpoint = path;
    const ToyTrainResult a = train_toy_vit(part1);
    ToyTrainConfig part2 = c;
    part2.resume = path;
    const ToyTrainResult b = train_toy_vit(part2);
    std::filesystem::remove(path);

    ASSERT_EQ(a.losses.size(), 10u);
    ASSERT_EQ(b.losses.size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
        ASSERT_EQ(a.losses[i], uninterrupted.losses[i]) << "step " << i + 1;
        ASSERT_EQ(b.losses[i], uninterrupted.losses[10 + i]) << "step " << 11 + i << " after resuming";
    }
}

}  // namespace
}  // namespace wsdol::models
