// fuzz_util.h — shared by the harnesses: make the sanitizers see every byte a reader hands out.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/tensor/tensor.h"

// Reads every byte of a tensor's elements (materialized tensors are contiguous).
inline void touch_bytes(const wsdol::Tensor& t) {
    if (t.numel() == 0) return;
    const uint8_t* p = static_cast<const uint8_t*>(t.data_ptr());
    const size_t n = static_cast<size_t>(t.numel()) * wsdol::dtype_size(t.dtype());
    uint8_t x = 0;
    for (size_t i = 0; i < n; ++i) x ^= p[i];
    volatile uint8_t sink = x;
    (void)sink;
}
