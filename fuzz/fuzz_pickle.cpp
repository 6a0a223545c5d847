// fuzz_pickle.cpp — libFuzzer harness for the restricted unpickler (weights/pickle.h), the state_dict selection
// and TorchScript walk (weights/torch_state_dict.h), and the PyTorch zip / TorchScript / legacy-stream readers
// (weights/weights_file.h, weights/zip_archive.h, weights/torch_tensors.h).
// The first input byte picks the target, the rest is the payload:
//   0: unpickle (state_dict mode), then select the state_dict and describe every value
//   1: unpickle (TorchScript mode), then walk the module tree (code from a fixed source text)
//   2-255: read_weights_from_bytes (format detection, zip parsing with CRC checks, deflate through stb_image when
//          linked in, legacy streams, tensor materialization with strides/views/byte-swapping), touching every
//          element of every tensor
//
// Build (from the repository root; the lead's CMake option instruments the whole library):
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DWSDOL_FUZZ=ON -DWSDOL_BUILD_TESTS=OFF -DWSDOL_CUDA=OFF
//   cmake --build build-fuzz --target fuzz_pickle
// or by hand, with every library source (clang++ 14):
//   clang++-14 -std=c++20 -march=native -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp \
//     -I. fuzz/fuzz_pickle.cpp $(find engine kernels/cpu tokenizer weights models -name '*.cpp') \
//     -o fuzz_pickle
// Seeds: the fixtures with a selector byte in front (2 for whole files; 0 for data.pkl records):
//   mkdir -p /tmp/corpus/pickle && for f in tests/reference/formats/*.pt*; do
//     (printf '\x02'; cat "$f") > /tmp/corpus/pickle/$(basename "$f"); done
//   ./build-fuzz/fuzz_pickle -max_total_time=600 /tmp/corpus/pickle
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "weights/pickle.h"
#include "weights/torch_state_dict.h"
#include "weights/weights_file.h"

namespace {

const char* const kCode =
    "class Net(Module):\n  __parameters__ = [\"weight\", \"bias\", ]\n  __buffers__ = [\"running_mean\", ]\n"
    "class Helper(object):\n  __parameters__ = []\n";

void touch(const wsdol::weights::pickle::Value* v) {
    std::string name;
    (void)wsdol::weights::pickle::describe(v);
    (void)wsdol::weights::pickle::find_unsupported(v, &name);
}

}  // namespace


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t target = data[0];
    ++data;
    --size;
    namespace pk = wsdol::weights::pickle;
    try {
        if (target <= 1) {
            pk::Arena arena;
            pk::Options options;
            options.label = "fuzz.pkl";
            options.mode = target == 0 ? pk::Mode::state_dict : pk::Mode::torchscript;
            options.limits.max_values = 1 << 20;  // keep single inputs fast
            const pk::Value* root = pk::unpickle(arena, data, size, options);
            touch(root);
            if (target == 0) {
                const wsdol::weights::SelectedTensors s = wsdol::weights::select_state_dict(root, "fuzz.pkl");
                for (const auto& [n, t] : s.tensors) touch(t);
            } else {
                const wsdol::weights::CodeReader code = [](const std::string&) { return std::string(kCode); };
                (void)wsdol::weights::collect_torchscript(root, code, "fuzz.pkl");
            }
        } else {
            const wsdol::weights::WeightsFile w =
                wsdol::weights::read_weights_from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.pt");
            for (const auto& [name, t] : w.tensors) {
                touch_bytes(t);
            }
        }
    } catch (const wsdol::Error&) {
    }
    return 0;
}
