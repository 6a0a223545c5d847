// error.h — the one exception type of wsdol and the check macros that raise it.
//
// Every user-facing failure (bad shape, bad file, missing kernel, out-of-range index) throws wsdol::Error
// with a message that names what is wrong: the op, the file, the tensor, the shape. Nothing aborts.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace wsdol {

struct Error : std::runtime_error {
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& s, const T& first, const Rest&... rest) {
    s << first;
    append(s, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: str("conv2d: expected 4-D input, got ", shape).
template <typename... Args>
std::string str(const Args&... args) {
    std::ostringstream s;
    detail::append(s, args...);
    return s.str();
}

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace wsdol

// WSDOL_CHECK(cond, pieces...): throws wsdol::Error("pieces...") when cond is false.
#define WSDOL_CHECK(cond, ...)                                   \
    do {                                                         \
        if (!(cond)) ::wsdol::fail(::wsdol::str(__VA_ARGS__));   \
    } while (0)
