// toy_patterns.h — a tiny synthetic image-classification task for smoke runs and engine tests.
//
// Four classes of 3 x S x S images: 0 horizontal stripes, 1 vertical stripes, 2 one bright square, 3 a checkerboard,
// each with a random phase/position, colour and contrast, over uniform noise. A tiny ViT learns it in a few hundred
// steps on the CPU, which makes it a quick end-to-end check of the forward, backward and optimizer paths.
// (The real synthetic benchmark for localization is `wsdol synth`.)
#pragma once
#include "engine/core/rng.h"
#include "engine/tensor/tensor.h"

namespace wsdol::data {

struct ToyBatch {
    Tensor images;  // (N, 3, S, S) f32, roughly zero-mean
    Tensor labels;  // (N) i64 in [0, 4)
};
constexpr int kToyClasses = 4;

// Deterministic for a generator state; consumes counters from `gen`.
ToyBatch make_toy_patterns(int64_t n, int64_t size, Generator& gen);

}  // namespace wsdol::data
