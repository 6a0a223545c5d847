// torch_tensors.h — Tensors from the unpickler's tensor references (weights/pickle.h) over raw storage bytes
// (a zip record, or a slice of a legacy file).
//
// A reference is (storage, storage_offset, size, stride, dtype). Checks, each failing with an error naming the
// file and the tensor: at most 8 dims, non-negative sizes and strides, no overflow, and every element the view
// can reach inside the storage (whose byte size, numel x item size, must fit in its record).
// Dtypes: float32/float64/float16/bfloat16/int64/int32/uint8/bool load as themselves; int8, int16 and uint16
// are widened to int32 and uint32 to int64 (lossless, always a copy — as the safetensors reader does); anything
// else (complex, quantized, float8, uint64) is an error naming the tensor and its dtype. Bool bytes must be 0/1.
// Zero copy: a contiguous view of a native-dtype, little-endian storage whose bytes are aligned to the element
// size and writable (a private mapping) shares one Storage per record with every other view of that record,
// exactly as PyTorch shares storages. Non-contiguous views (a transposed tensor saved as is, expanded strides),
// misaligned bytes, big-endian data (byte-swapped) and widened dtypes are copied into fresh contiguous tensors.
// A view with more elements than its storage (expanded / overlapping strides) is refused above 256 MiB copied.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/tensor/tensor.h"
#include "weights/pickle.h"

namespace wsdol::weights {

// The bytes of one root storage and the Storage made over them on first zero-copy use.
struct StorageBytes {
    const uint8_t* data = nullptr;
    uint64_t nbytes = 0;
    std::shared_ptr<void> owner;         // keeps `data` alive
    bool writable = false;               // zero-copy tensors allowed
    bool big_endian = false;             // byte-swap every element on load
    std::string record;                  // for messages, e.g. "data/3"
    std::shared_ptr<Storage> zero_copy;  // shared by every zero-copy view of these bytes
};

// The engine dtype a PyTorch dtype loads as; false when it cannot be loaded.
bool torch_dtype_loadable(pickle::TorchDType t, DType* out = nullptr);

// Builds the tensor `name` of file `label` from `ref` over `bytes` (the root storage of ref.storage).
Tensor materialize_tensor(const pickle::TensorRef& ref, StorageBytes& bytes, const std::string& label,
                          const std::string& name);

}  // namespace wsdol::weights
