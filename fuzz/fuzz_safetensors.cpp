// fuzz_safetensors.cpp — libFuzzer harness for the safetensors reader (engine/io/safetensors.h): the input bytes
// are parsed as a whole file through SafetensorsFile::from_bytes (header JSON, dtypes, shapes, offsets tiling),
// then every tensor is materialized (zero-copy and copying paths, widened dtypes, BOOL validation) and read, and
// the weights-file front end (format detection, "module." stripping) runs on the same bytes.
//
// Build (from the repository root; the lead's CMake option instruments the whole library):
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DWSDOL_FUZZ=ON -DWSDOL_BUILD_TESTS=OFF -DWSDOL_CUDA=OFF
//   cmake --build build-fuzz --target fuzz_safetensors
// or by hand, with every library source (clang++ 14):
//   clang++-14 -std=c++20 -march=native -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp \
//     -I. fuzz/fuzz_safetensors.cpp $(find engine kernels/cpu tokenizer weights models -name '*.cpp') \
//     -o fuzz_safetensors
// Run (seeds: any .safetensors files, e.g. tests/reference/safetensors and tests/reference/formats):
//   mkdir -p /tmp/corpus/safetensors && cp tests/reference/*/*.safetensors /tmp/corpus/safetensors/
//   ./build-fuzz/fuzz_safetensors -max_total_time=600 /tmp/corpus/safetensors
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "engine/io/safetensors.h"
#include "weights/weights_file.h"


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const wsdol::io::SafetensorsFile f = wsdol::io::SafetensorsFile::from_bytes(bytes, "fuzz.safetensors");
        for (const wsdol::io::SafetensorsEntry& e : f.entries()) {
            try {
                for (bool copy : {false, true}) {
                    const wsdol::Tensor t = f.tensor(e.name, copy);
                    touch_bytes(t);
                }
            } catch (const wsdol::Error&) {
                // unloadable dtype / too many dims: an error naming the tensor is the expected outcome
            }
        }
    } catch (const wsdol::Error&) {
    }
    try {
        (void)wsdol::weights::read_weights_from_bytes(bytes, "fuzz.bin");
    } catch (const wsdol::Error&) {
    }
    return 0;
}
