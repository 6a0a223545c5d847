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

// ---- for harnesses of readers that take paths: a private scratch folder and input splitting
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

// A folder of this process (under /dev/shm when it exists: the readers open a few files per input), made once.
inline const std::string& fuzz_scratch_dir() {
    static const std::string dir = [] {
        const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
        std::string d = std::string(base) + "/wsdol_fuzz_" + std::to_string(::getpid());
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

inline void fuzz_write_file(const std::string& path, std::string_view bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

// Splits the input at each "\n--\n" (a separator the corpus seeds use between the files of one dataset).
inline std::vector<std::string_view> fuzz_split_files(std::string_view bytes) {
    std::vector<std::string_view> out;
    size_t at = 0;
    while (true) {
        const size_t k = bytes.find("\n--\n", at);
        if (k == std::string_view::npos) break;
        out.push_back(bytes.substr(at, k + 1 - at));
        at = k + 4;
    }
    out.push_back(bytes.substr(at));
    return out;
}
