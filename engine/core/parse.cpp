// parse.cpp — numbers and booleans from text (see parse.h).
#include "engine/core/parse.h"

#include <charconv>
#include <cmath>

#include "engine/core/error.h"

namespace wsdol {

double parse_number(const std::string& what, const std::string& s) {
    double v = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto r = std::from_chars(begin, s.data() + s.size(), v);
    WSDOL_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v), what,
                ": expected a number (finite), got '", s, "'");
    return v;
}

int64_t parse_integer(const std::string& what, const std::string& s) {
    int64_t v = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto r = std::from_chars(begin, s.data() + s.size(), v);
    WSDOL_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size(), what,
                r.ec == std::errc::result_out_of_range ? ": integer out of range, got '" : ": expected an integer, got '",
                s, "'");
    return v;
}

bool parse_boolean(const std::string& what, const std::string& s) {
    if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
    if (s == "false" || s == "no" || s == "off" || s == "0") return false;
    fail(str(what, ": expected a boolean (", kBooleanWords, "), got '", s, "'"));
}

std::string parse_choice(const std::string& what, const std::string& s, const std::vector<std::string>& allowed) {
    for (const auto& a : allowed)
        if (a == s) return s;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
    fail(str(what, ": expected ", list, ", got '", s, "'"));
}

std::string number_text(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

}  // namespace wsdol
