// codepoint_table.h — a two-stage lookup table over all 0x110000 code points (value type T), built once from a
// dense array: 128-code-point blocks, identical blocks shared. Lookups are two loads; typical size ~100 KiB.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace wsdol::tok {

template <typename T>
class CodePointTable {
public:
    static constexpr uint32_t kBlockBits = 7;
    static constexpr uint32_t kBlock = 1u << kBlockBits;
    static constexpr uint32_t kSize = 0x110000;

    CodePointTable() = default;
    // dense: one value per code point, size kSize.
    explicit CodePointTable(const std::vector<T>& dense) {
        stage1_.resize(kSize / kBlock);
        std::unordered_map<std::string, uint32_t> seen;  // block contents (as bytes) -> block index
        for (uint32_t b = 0; b < kSize / kBlock; ++b) {
            const T* first = dense.data() + size_t(b) * kBlock;
            std::string key(reinterpret_cast<const char*>(first), kBlock * sizeof(T));
            auto it = seen.find(key);
            if (it == seen.end()) {
                const uint32_t index = static_cast<uint32_t>(stage2_.size() / kBlock);
                stage2_.insert(stage2_.end(), first, first + kBlock);
                it = seen.emplace(std::move(key), index).first;
            }
            stage1_[b] = it->second;
        }
    }
    T operator()(char32_t cp) const {
        if (cp >= kSize) return T{};
        return stage2_[(static_cast<size_t>(stage1_[cp >> kBlockBits]) << kBlockBits) | (cp & (kBlock - 1))];
    }

private:
    std::vector<uint32_t> stage1_;
    std::vector<T> stage2_;
};

}  // namespace wsdol::tok
