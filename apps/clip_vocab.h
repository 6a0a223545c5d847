// clip_vocab.h — where the CLIP BPE vocabulary file is found, for the commands that tokenize text (clip, and the
// same rule `wsdol tokenize` documents): --vocab FILE, else $WSDOL_CLIP_VOCAB, else
// ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz from the current directory, else the same beside the repository
// that holds the executable (<repo>/build/wsdol -> <repo>/../shared/data/clip/...).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace wsdol::cli {

inline std::string find_clip_vocab(const std::string& command, const std::optional<std::string>& explicit_path) {
    const char* const name = "bpe_simple_vocab_16e6.txt.gz";
    if (explicit_path) {
        WSDOL_CHECK(std::filesystem::exists(*explicit_path), command, ": --vocab ", *explicit_path, " does not exist");
        return *explicit_path;
    }
    std::vector<std::string> tried;
    if (const char* env = std::getenv("WSDOL_CLIP_VOCAB"); env && *env) {
        if (std::filesystem::exists(env)) return env;
        tried.push_back(std::string(env) + " ($WSDOL_CLIP_VOCAB)");
    }
    std::vector<std::filesystem::path> candidates{std::filesystem::path("../shared/data/clip") / name};
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back(exe.parent_path().parent_path().parent_path() / "shared/data/clip" / name);
        candidates.push_back(exe.parent_path().parent_path() / "shared/data/clip" / name);
    }
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c)) return c.string();
        tried.push_back(c.string());
    }
    std::string list;
    for (const auto& t : tried) list += "\n  " + t;
    fail(str(command, ": no CLIP vocab found; pass --vocab FILE or set WSDOL_CLIP_VOCAB. Looked in:", list));
}

}  // namespace wsdol::cli
