// weights_test_util.h — helpers shared by tests/test_weights_*.cpp: fixture paths, reading the companion
// "*.expected.safetensors" files, and bit-exact comparison of a WeightsFile against them.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/io/safetensors.h"
#include "tests/io_test_util.h"
#include "weights/weights_file.h"

namespace wsdol::test {

inline std::string format_fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/formats/" + name;
}

// Every tensor of `got` equals the tensor of the same name in the expected safetensors file (dtype, shape, bytes),
// and the two hold the same names.
inline void expect_matches_expected(const NamedTensors& got, const std::string& expected_file) {
    std::map<std::string, Tensor> want;
    for (auto& [name, t] : io::load_safetensors(format_fixture(expected_file))) want[name] = t;
    EXPECT_EQ(got.size(), want.size()) << expected_file;
    std::map<std::string, int> seen;
    for (const auto& [name, t] : got) {
        EXPECT_EQ(++seen[name], 1) << "duplicate name " << name;
        auto it = want.find(name);
        if (it == want.end()) {
            ADD_FAILURE() << "unexpected tensor '" << name << "' (not in " << expected_file << ")";
            continue;
        }
        EXPECT_TRUE(bit_equal(t, it->second)) << name << ": got " << dtype_name(t.dtype()) << shape_str(t.shape())
                                              << ", want " << dtype_name(it->second.dtype())
                                              << shape_str(it->second.shape());
    }
}

inline bool has_entry(const std::vector<std::string>& list, const std::string& piece) {
    for (const std::string& s : list)
        if (s.find(piece) != std::string::npos) return true;
    return false;
}

}  // namespace wsdol::test
