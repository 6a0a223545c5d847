// fuzz_npy.cpp — libFuzzer harness for the .npy reader (engine/data/npy.h): magic, version, header length, the
// header dict literal (descr, fortran_order, shape), element counts and data size. A file that reads back must
// also round-trip: writing it (npy_bytes) and reading that again gives the same dtype, shape and bytes.
//
// Build and run: see fuzz/README.md (seeds: fuzz/corpus/npy/).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/data/npy.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    wsdol::Tensor t;
    try {
        t = wsdol::data::parse_npy(bytes, "fuzz.npy");
    } catch (const wsdol::Error&) {
        return 0;
    }
    touch_bytes(t);
    const wsdol::Tensor back = wsdol::data::parse_npy(wsdol::data::npy_bytes(t), "roundtrip.npy");
    if (back.dtype() != t.dtype() || back.shape() != t.shape()) std::abort();
    const size_t n = size_t(t.numel()) * wsdol::dtype_size(t.dtype());
    if (n && std::memcmp(back.data_ptr(), t.data_ptr(), n) != 0) std::abort();
    return 0;
}
