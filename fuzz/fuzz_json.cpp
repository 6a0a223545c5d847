// fuzz_json.cpp — libFuzzer harness for the JSON reader and writer (engine/io/json.h): any input either fails
// with wsdol::Error or parses; a parsed value must serialize (dump) to text that parses again and serializes to
// the same text (the writer's output is a fixed point), and typed number reads must not crash.
//
// Build and run: see fuzz/README.md (seeds: fuzz/corpus/json/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/io/json.h"

namespace {

void walk(const wsdol::json::Value& v) {
    using wsdol::json::Type;
    switch (v.type()) {
        case Type::number:
            try {
                (void)v.as_double();
            } catch (const wsdol::Error&) {
            }
            if (v.is_int64()) (void)v.as_int64();
            if (v.is_uint64()) (void)v.as_uint64();
            break;
        case Type::array:
            for (const auto& x : v.items()) walk(x);
            break;
        case Type::object:
            for (const auto& [k, x] : v.members()) {
                if (v.find(k) == nullptr) std::abort();
                walk(x);
            }
            break;
        default:
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    wsdol::json::Value v;
    try {
        v = wsdol::json::parse(text);
    } catch (const wsdol::Error&) {
        return 0;
    }
    walk(v);
    const std::string once = wsdol::json::dump(v);
    const std::string twice = wsdol::json::dump(wsdol::json::parse(once));
    if (once != twice) std::abort();
    return 0;
}
