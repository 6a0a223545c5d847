// test_eval_util.h — helpers for the image I/O and evaluation tests: where the committed fixtures and the shared
// real sample data live, and parsers for the oracle text files of ../shared/data/real.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace wsdol::test {

// tests/reference/eval in the source tree.
inline std::string eval_fixture(const std::string& rel) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/eval/" + rel;
}

// ../shared/data/real (override with the environment variable WSDOL_SHARED_DIR = the shared folder).
inline std::string real_data_dir() {
    const char* env = std::getenv("WSDOL_SHARED_DIR");
    return std::string(env && *env ? env : WSDOL_SHARED_DIR) + "/data/real";
}

// Skips the current test when the shared real data is not available (e.g. on a machine without ../shared).
#define WSDOL_REQUIRE_REAL_DATA()                                                                     \
    do {                                                                                              \
        if (!std::filesystem::exists(::wsdol::test::real_data_dir() + "/README.md"))                  \
            GTEST_SKIP() << "shared real data not found at " << ::wsdol::test::real_data_dir();       \
    } while (0)

inline std::vector<std::string> split_ws(const std::string& line) {
    std::istringstream s(line);
    std::vector<std::string> out;
    std::string w;
    while (s >> w) out.push_back(w);
    return out;
}

inline std::vector<std::string> split_on(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    out.push_back(cur);
    return out;
}

// Non-empty lines that do not start with '#'.
inline std::vector<std::string> data_lines(const std::string& path) {
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    std::vector<std::string> out;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        out.push_back(line);
    }
    return out;
}

// One line of voc/labels.txt.
struct VocSample {
    std::string id, split;
    bool has_jpeg = false;
    int64_t width = 0, height = 0;
    std::vector<int> xml_classes, mask_classes;
    bool has_255 = false;
    std::map<int, int64_t> pixel_counts;
};

inline std::vector<int> parse_class_list(const std::string& s) {
    std::vector<int> out;
    if (s == "-") return out;
    for (const std::string& p : split_on(s, ',')) out.push_back(std::stoi(p));
    return out;
}

inline std::vector<VocSample> voc_samples() {
    std::vector<VocSample> out;
    for (const std::string& line : data_lines(real_data_dir() + "/voc/labels.txt")) {
        const auto w = split_ws(line);
        EXPECT_EQ(w.size(), 9u) << line;
        if (w.size() != 9) continue;
        VocSample s;
        s.id = w[0];
        s.split = w[1];
        s.has_jpeg = w[2] == "yes";
        s.width = std::stoll(w[3]);
        s.height = std::stoll(w[4]);
        s.xml_classes = parse_class_list(w[5]);
        s.mask_classes = parse_class_list(w[6]);
        s.has_255 = w[7] == "yes";
        for (const std::string& kv : split_on(w[8], ',')) {
            const auto p = split_on(kv, ':');
            s.pixel_counts[std::stoi(p[0])] = std::stoll(p[1]);
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace wsdol::test
