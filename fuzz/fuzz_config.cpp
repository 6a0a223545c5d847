// fuzz_config.cpp — libFuzzer harness for training config files as `wsdol train --config FILE` reads them
// (runner/trainer.h read_config_file: a JSON object, or `key = value` lines with '#' comments), through
// that public function only: the input is written to a file and read into TrainSettings. Any outcome but a
// wsdol::Error naming the file, or success, is a finding.
//
// Build and run: see fuzz/README.md (seeds: fuzz/corpus/config/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "runner/trainer.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_scratch_dir() + "/train.cfg";
    fuzz_write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
    wsdol::train::TrainSettings settings;
    try {
        wsdol::train::read_config_file(path, settings);
    } catch (const wsdol::Error& e) {
        if (std::string(e.what()).find(path) == std::string::npos) std::abort();  // the error must name the file
    }
    return 0;
}
