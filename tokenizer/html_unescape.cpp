// html_unescape.cpp — Python's html.unescape and ftfy's unescape_html over code-point strings (see the header).
// Both are written as scanners that reproduce the regular expressions of the references:
//   html.unescape:  &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
//   ftfy:           &#?[0-9A-Za-z]{1,24};
#include "tokenizer/html_unescape.h"

#include <string>
#include <unordered_map>

#include "tokenizer/unicode_data.h"

namespace wsdol::tok {
namespace {

struct EntityTables {
    std::unordered_map<std::string, const data::Entity*> html5;  // "amp;", "amp", "AElig;", ...
    std::unordered_map<std::string, const data::Entity*> ftfy;   // ftfy's names, all ending in ';'
    char32_t cp1252[32];                                         // bytes 0x80..0x9F in (sloppy) windows-1252
    EntityTables() {
        for (const auto& e : data::html5_entities()) {
            html5.emplace(e.name, &e);
            const std::string name = e.name;
            if (!name.empty() && name.back() == ';') ftfy.emplace(name, &e);
        }
        for (const auto& e : data::ftfy_upper_entities()) ftfy.emplace(e.name, &e);
        // sloppy-windows-1252 is ftfy's second charmap; its bytes 0x80..0x9F are exactly html.unescape's
        // _invalid_charrefs for 0x80..0x9F (the five undefined bytes map to the C1 control itself).
        const data::Charmap& w1252 = data::charmaps()[1];
        for (int i = 0; i < 32; ++i) cp1252[i] = w1252.high[i];
    }
};

const EntityTables& entities() {
    static const EntityTables t;
    return t;
}

void append_entity(const data::Entity& e, std::u32string& out) {
    for (int k = 0; k < 3 && e.value[k]; ++k) out.push_back(e.value[k]);
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum_ascii(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// html.unescape's numeric rule. value is saturated (anything above 0x10FFFF behaves the same).
void append_numeric_reference(uint32_t value, std::u32string& out) {
    if (value == 0) {
        out.push_back(0xFFFD);
    } else if (value == 0x0D) {
        out.push_back(U'\r');
    } else if (value >= 0x80 && value <= 0x9F) {
        out.push_back(entities().cp1252[value - 0x80]);
    } else if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
        out.push_back(0xFFFD);
    } else if ((value >= 0x1 && value <= 0x8) || value == 0xB || (value >= 0xE && value <= 0x1F) || value == 0x7F ||
               (value >= 0xFDD0 && value <= 0xFDEF) || (value & 0xFFFE) == 0xFFFE) {
        // Python's _invalid_codepoints: dropped.
    } else {
        out.push_back(static_cast<char32_t>(value));
    }
}

// Tries html.unescape's pattern at in[i] == '&'. On a match appends the replacement, returns the match length.
size_t unescape_one(std::u32string_view in, size_t i, std::u32string& out) {
    const size_t n = in.size();
    size_t j = i + 1;
    if (j < n && in[j] == '#') {
        const bool hex = j + 1 < n && (in[j + 1] == 'x' || in[j + 1] == 'X');
        size_t k = j + (hex ? 2 : 1);
        const size_t digits_start = k;
        uint32_t value = 0;
        while (k < n && (hex ? is_hex(in[k]) : is_digit(in[k]))) {
            const char32_t c = in[k];
            const uint32_t d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
            value = value > 0x10FFFF ? value : value * (hex ? 16 : 10) + d;  // saturate past the Unicode range
            ++k;
        }
        if (k == digits_start) {
            // "&#x" + non-hex is not alternative 2; alternative 1 needs a digit right after '#'
            // (checked by the same loop when !hex). Alternative 3 cannot start with '#': no match.
            return 0;
        }
        if (k < n && in[k] == ';') ++k;
        append_numeric_reference(value, out);
        return k - i;
    }
    // Named: [^\t\n\f <&#;]{1,32};?
    size_t k = j;
    while (k < n && k - j < 32) {
        const char32_t c = in[k];
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';') break;
        ++k;
    }
    if (k == j) return 0;
    const bool semicolon = k < n && in[k] == ';';
    const size_t end = semicolon ? k + 1 : k;
    // The name as ASCII (entity names are ASCII; a non-ASCII character ends the usable prefix).
    std::string name;
    size_t ascii_len = 0;
    for (size_t p = j; p < end; ++p) {
        if (in[p] >= 0x80) break;
        name.push_back(static_cast<char>(in[p]));
        ++ascii_len;
    }
    const auto& table = entities().html5;
    const size_t len = end - j;
    if (ascii_len == len) {
        auto it = table.find(name);
        if (it != table.end()) {
            append_entity(*it->second, out);
            return end - i;
        }
    }
    // Longest proper prefix of length >= 2 that is a name (only the legacy names without ';' can match).
    for (size_t x = std::min(len - 1, ascii_len); x >= 2 && len >= 1; --x) {
        auto it = table.find(name.substr(0, x));
        if (it != table.end()) {
            append_entity(*it->second, out);
            out.append(in.substr(j + x, end - (j + x)));
            return end - i;
        }
        if (x == 2) break;
    }
    out.push_back('&');
    out.append(in.substr(j, end - j));
    return end - i;
}

}  // namespace

void python_html_unescape(std::u32string_view in, std::u32string& out) {
    out.clear();
    out.reserve(in.size());
    const size_t n = in.size();
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            out.push_back(in[i++]);
            continue;
        }
        const size_t used = unescape_one(in, i, out);
        if (used == 0) {
            out.push_back('&');
            ++i;
        } else {
            i += used;
        }
    }
}

void ftfy_unescape_html(std::u32string_view in, std::u32string& out) {
    out.clear();
    out.reserve(in.size());
    const size_t n = in.size();
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            out.push_back(in[i++]);
            continue;
        }
        // &#?[0-9A-Za-z]{1,24};
        size_t j = i + 1;
        const bool numeric = j < n && in[j] == '#';
        if (numeric) ++j;
        size_t k = j;
        while (k < n && k - j < 24 && is_alnum_ascii(in[k])) ++k;
        if (k == j || k >= n || in[k] != ';') {
            out.push_back('&');
            ++i;
            continue;
        }
        const size_t end = k + 1;
        const std::u32string_view match = in.substr(i, end - i);
        std::string name;  // without '&', with ';'
        for (size_t p = i + 1; p < end; ++p) name.push_back(static_cast<char>(in[p]));
        const auto& table = entities().ftfy;
        auto it = table.find(name);
        if (it != table.end()) {
            append_entity(*it->second, out);
        } else if (numeric) {
            // html.unescape(match); keep the text when it did not consume the ';'.
            std::u32string decoded;
            python_html_unescape(match, decoded);
            if (decoded.find(U';') != std::u32string::npos)
                out.append(match);
            else
                out.append(decoded);
        } else {
            out.append(match);
        }
        i = end;
    }
}

}  // namespace wsdol::tok
