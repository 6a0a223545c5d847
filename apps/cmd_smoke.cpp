// cmd_smoke.cpp — `wsdol smoke`: trains the tiny ViT on the toy pattern task and reports loss and accuracy.
// A one-minute end-to-end check of the engine on this machine (the README's main job until the demo exists).
#include <chrono>
#include <cstdio>

#include "apps/cli.h"
#include "kernels/cpu/parallel.h"
#include "models/toy_training.h"

namespace {

int run_smoke(const std::vector<std::string>& args) {
    wsdol::cli::Args a("smoke", args, {"steps", "seed", "threads", "batch-size"}, {});
    wsdol::models::ToyTrainConfig c;
    c.steps = a.get_int("steps", 150);
    c.seed = static_cast<uint64_t>(a.get_int("seed", 1));
    c.batch_size = a.get_int("batch-size", 32);
    WSDOL_CHECK(c.steps > 0 && c.batch_size > 0, "smoke: --steps and --batch-size must be positive");
    if (a.get("threads")) wsdol::cpu::set_num_threads(a.get_int("threads", 0));
    std::printf("training a tiny ViT (depth 2, width 64, 4 heads, patch 8) on %lldx%lld toy patterns, %lld steps, "
                "batch %lld, %d threads\n",
                static_cast<long long>(c.image_size), static_cast<long long>(c.image_size),
                static_cast<long long>(c.steps), static_cast<long long>(c.batch_size), wsdol::cpu::num_threads());
    const auto start = std::chrono::steady_clock::now();
    c.on_step = [&](int64_t step, double loss, double lr) {
        if (step % 25 == 0 || step == c.steps) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("  step %4lld  loss %.4f  lr %.2e  %.0f img/s\n", static_cast<long long>(step), loss, lr,
                        step * c.batch_size / s);
            std::fflush(stdout);
        }
    };
    wsdol::models::ToyTrainResult r = wsdol::models::train_toy_vit(c);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("held-out accuracy %.2f%% on %lld images; %.1f s\n", 100 * r.eval_accuracy,
                static_cast<long long>(c.eval_images), seconds);
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "smoke", "train a tiny ViT on a synthetic pattern task (an end-to-end check of the engine)",
    "usage: wsdol smoke [--steps N] [--seed S] [--batch-size B] [--threads T]\n\n"
    "Trains a ViT (depth 2, width 64, 4 heads, patch 8) with AdamW, a cosine schedule and drop-path on 32x32\n"
    "images of four synthetic pattern classes, printing loss, lr and throughput, then the held-out accuracy.\n"
    "Defaults: 150 steps, seed 1, batch size 32. The result is identical for any thread count.\n"
    "\n"
    "examples:\n"
    "  wsdol smoke --steps 10 --batch-size 16\n"
    "  wsdol smoke --steps 10 --threads 1",
    run_smoke});
