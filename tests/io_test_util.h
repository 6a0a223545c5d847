// io_test_util.h — helpers shared by the I/O and optimizer tests: a scratch directory per test, raw file
// writing, byte-exact tensor comparison, and expect_error (error_matchers.h).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/tensor/tensor.h"
#include "tests/error_matchers.h"  // expect_error

namespace wsdol::test {

// A fresh directory under the gtest temp dir, removed when the object dies.
class ScratchDir {
public:
    ScratchDir() {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        std::string name = std::string("wsdol_io_") + (info ? info->test_suite_name() : "x") + "_" +
                           (info ? info->name() : "y") + "_" + std::to_string(::getpid());
        for (char& c : name)
            if (c == '/') c = '_';
        path_ = std::filesystem::path(testing::TempDir()) / name;
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good()) << "cannot write " << path;
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The bytes of a tensor's elements in row-major order.
inline std::string tensor_bytes(const Tensor& t) {
    const Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * dtype_size(c.dtype()));
}

inline bool bit_equal(const Tensor& a, const Tensor& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape() && tensor_bytes(a) == tensor_bytes(b);
}

// A safetensors file from a header text and a data buffer (N = the header's length unless given).
inline std::string st_file(const std::string& header, const std::string& data, int64_t n = -1) {
    const uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
    std::string out(8, '\0');
    std::memcpy(out.data(), &len, 8);
    return out + header + data;
}

// The tensors of a committed safetensors fixture, loaded once per path; `fixture_tensor` fails the test (by
// throwing wsdol::Error) when the name is absent.
inline const NamedTensors& fixture_tensors(const std::string& path) {
    static std::map<std::string, NamedTensors> loaded;
    auto it = loaded.find(path);
    if (it == loaded.end()) it = loaded.emplace(path, io::load_safetensors(path)).first;
    return it->second;
}
inline const Tensor& fixture_tensor(const std::string& path, const std::string& name) {
    for (const auto& [n, t] : fixture_tensors(path))
        if (n == name) return t;
    throw Error(path + ": fixture has no tensor '" + name + "'");
}

// Every regular file below `dir` as "relative-name hash" lines, sorted, with the folder's own path replaced by OUT
// in the bytes first (records that name their folder compare equal across folders): two folders with the same
// digest hold the same files.
inline std::string folder_digest(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) names.push_back(std::filesystem::relative(e.path(), dir).string());
    std::sort(names.begin(), names.end());
    std::string all;
    for (const auto& n : names) {
        std::string bytes = read_bytes(dir + "/" + n);
        for (size_t at; (at = bytes.find(dir)) != std::string::npos;) bytes.replace(at, dir.size(), "OUT");
        all += n + " " + std::to_string(std::hash<std::string>{}(bytes)) + "\n";
    }
    return all;
}

}  // namespace wsdol::test
