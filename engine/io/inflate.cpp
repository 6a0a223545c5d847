// inflate.cpp — see inflate.h.
#include "engine/io/inflate.h"

#include <stb/stb_image.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace wsdol::io {

std::optional<std::string> inflate_raw(const void* data, size_t size, std::optional<size_t> max_size) {
    constexpr size_t kPadding = 16;  // stb's look-ahead (see inflate.h)
    if (size > size_t(INT_MAX) - kPadding || (max_size && *max_size > size_t(INT_MAX) - 1)) return std::nullopt;
    std::vector<char> input(size + kPadding, 0);
    if (size) std::memcpy(input.data(), data, size);
    if (max_size) {
        std::string out(*max_size + 1, '\0');  // +1: never a zero-size buffer; stb fails when the output overflows
        const int got = stbi_zlib_decode_noheader_buffer(out.data(), int(*max_size), input.data(), int(input.size()));
        if (got < 0) return std::nullopt;
        out.resize(size_t(got));
        return out;
    }
    int out_len = 0;
    char* raw = stbi_zlib_decode_noheader_malloc(input.data(), int(input.size()), &out_len);
    if (!raw) return std::nullopt;
    std::string out(raw, raw + out_len);
    std::free(raw);
    return out;
}

}  // namespace wsdol::io
