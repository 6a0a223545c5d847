// ftfy.cpp — ftfy 6.3.1's fix_text (default configuration) over code-point strings: segmentation, the "auto"
// HTML rule, and the per-character fixers of each pass. Mojibake repair is in ftfy_encoding.cpp.
#include "tokenizer/ftfy.h"

#include <algorithm>
#include <unordered_map>

#include "tokenizer/html_unescape.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_data.h"

namespace wsdol::tok {
namespace {

constexpr size_t kMaxSegment = 1000000;  // ftfy's max_decode_length (code points)

struct FixerTables {
    std::unordered_map<char32_t, const data::CaseMapping*> ligature, width;
    char32_t cp1252[32];
    FixerTables() {
        for (const auto& m : data::ligatures()) ligature[m.cp] = &m;
        for (const auto& m : data::width_map()) width[m.cp] = &m;
        const data::Charmap& w1252 = data::charmaps()[1];  // sloppy-windows-1252
        for (int i = 0; i < 32; ++i) cp1252[i] = w1252.high[i];
    }
};

const FixerTables& fixer_tables() {
    static const FixerTables t;
    return t;
}

// remove_control_chars: U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF, U+FFF9..U+FFFC.
bool removed_control(char32_t c) {
    for (const auto& r : data::removed_controls())
        if (c >= r.first && c <= r.last) return true;
    return false;
}

void append_mapping(const data::CaseMapping& m, std::u32string& out) {
    for (int k = 0; k < 3 && m.to[k]; ++k) out.push_back(m.to[k]);
}

// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, in this order. Each maps single
// characters to strings, so the four are applied one after the other to each character's expansion.
void per_character_fixes(const std::u32string& in, std::u32string& out) {
    const FixerTables& t = fixer_tables();
    out.clear();
    out.reserve(in.size());
    std::u32string a, b;
    for (char32_t c : in) {
        if (c < 0x80 || !(props(c) & kFtfyTouch)) {
            out.push_back(c);
            continue;
        }
        if (c <= 0x9F) c = t.cp1252[c - 0x80];  // C1 -> sloppy windows-1252 (undefined bytes stay)
        a.clear();
        if (auto it = t.ligature.find(c); it != t.ligature.end())
            append_mapping(*it->second, a);
        else
            a.push_back(c);
        b.clear();
        for (char32_t x : a) {
            if (auto it = t.width.find(x); it != t.width.end())
                append_mapping(*it->second, b);
            else
                b.push_back(x);
        }
        for (char32_t x : b) {
            if (x == 0x2BC || (x >= 0x2018 && x <= 0x201B))
                out.push_back('\'');
            else if (x >= 0x201C && x <= 0x201F)
                out.push_back('"');
            else
                out.push_back(x);
        }
    }
}

// fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 -> LF.
void fix_line_breaks(const std::u32string& in, std::u32string& out) {
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const char32_t c = in[i];
        if (c == '\r') {
            out.push_back('\n');
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            out.push_back('\n');
        } else {
            out.push_back(c);
        }
    }
}

// remove_terminal_escapes: ESC '[' (\d | ';')* [a-zA-Z], with Python re's Unicode \d; then remove_control_chars.
void remove_escapes_and_controls(const std::u32string& in, std::u32string& out) {
    out.clear();
    out.reserve(in.size());
    const size_t n = in.size();
    std::u32string tmp;
    tmp.reserve(n);
    for (size_t i = 0; i < n;) {
        if (in[i] == 0x1B && i + 1 < n && in[i + 1] == '[') {
            size_t j = i + 2;
            while (j < n && (in[j] == ';' || (props(in[j]) & kPyDecimal))) ++j;
            if (j < n && ((in[j] >= 'a' && in[j] <= 'z') || (in[j] >= 'A' && in[j] <= 'Z'))) {
                i = j + 1;
                continue;
            }
        }
        tmp.push_back(in[i++]);
    }
    for (char32_t c : tmp)
        if (!removed_control(c)) out.push_back(c);
}

uint16_t props_of(const std::u32string& s) {
    uint16_t any = 0;
    for (char32_t c : s) any |= props(c);
    return any;
}

// One segment: repeat the pass until nothing changes (ftfy.fix_and_explain). Steps that cannot change the
// text are skipped: unescape_html without '&'; fix_encoding without a character of ftfy's classes (pure ASCII
// and not is_bad() both return the text as it is); the per-character fixers without a character they touch;
// NFC without a character that can change under it.
void fix_segment(std::u32string_view segment, bool unescape, std::u32string& out) {
    out.assign(segment);
    uint16_t any = props_of(out);
    if (!(any & (kFtfyTouch | kFtfyClass | kNfcTrigger))) return;  // no fixer can change it

    std::u32string before, a;
    while (true) {
        before = out;
        if (unescape && out.find(U'&') != std::u32string::npos) {
            ftfy_unescape_html(out, a);
            out.swap(a);
            any = props_of(out);
        }
        if (any & kFtfyClass) {
            out = fix_encoding(out);
            any = props_of(out);
        }
        if (any & kFtfyTouch) {
            per_character_fixes(out, a);
            fix_line_breaks(a, out);
            remove_escapes_and_controls(out, a);
            out.swap(a);
            any = props_of(out);
        }
        if (any & kNfcTrigger) {
            nfc(out, a);
            out.swap(a);
            any = props_of(out);
        }
        if (out == before) return;
    }
}

}  // namespace

void fix_text(std::u32string_view text, std::u32string& out) {
    out.clear();
    out.reserve(text.size());
    bool unescape = true;  // unescape_html="auto"
    std::u32string fixed;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(U'\n', pos);
        end = end == std::u32string_view::npos ? text.size() : end + 1;
        if (end - pos > kMaxSegment) end = pos + kMaxSegment;
        const std::u32string_view segment = text.substr(pos, end - pos);
        if (unescape && segment.find(U'<') != std::u32string_view::npos) unescape = false;
        fix_segment(segment, unescape, fixed);
        out += fixed;
        pos = end;
    }
}

std::u32string fix_text(std::u32string_view text) {
    std::u32string out;
    fix_text(text, out);
    return out;
}

}  // namespace wsdol::tok
