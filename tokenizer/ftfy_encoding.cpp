// ftfy_encoding.cpp — ftfy 6.3.1's mojibake repair (ftfy.fix_encoding) and its badness heuristic (is_bad),
// ported from reading ftfy/__init__.py, fixes.py, chardata.py, badness.py and bad_codecs/ (no code copied).
//
// One step of fix_encoding, on text that is not pure ASCII and that is_bad():
//   1. For each single-byte encoding in ftfy's order (latin-1, sloppy-windows-1252, -1251, -1250, -1253, -1254,
//      -1257, iso-8859-2, macroman, cp437) that can encode every character: encode; if the bytes look like UTF-8
//      whose 0xA0 bytes became spaces, put 0xA0 back (restore_byte_a0; not for macroman); for the sloppy codecs
//      turn UTF-8 sequences with lost bytes (byte 0x1A = U+FFFD, or '?') into U+FFFD (replace_lossy_sequences);
//      decode as strict UTF-8 (as "utf-8-variants", which also accepts CESU-8 and 0xC0 0x80, when the bytes
//      hold 0xED or 0xC0). The first encoding whose decode succeeds gives the result.
//   2. Else, if UTF-8-looking runs occur, fix each run that is_bad on its own (decode_inconsistent_utf8).
//   3. Else, for Latin-1-only text, decode its C1 characters as windows-1252 when all are defined there.
//   4. Else replace C1 controls by their sloppy-windows-1252 characters.
// fix_encoding repeats the step until the text stops changing.
//
// The regular expressions of the reference (BADNESS_RE, UTF8_DETECTOR_RE, ALTERED_UTF8_RE, LOSSY_UTF8_RE,
// A_GRAVE_WORD_RE, the utf-8-variants codec's patterns) are hand-written matchers here; their character classes
// come from ftfy itself through the generated tables (ftfy_mask(), ftfy_classes.h).
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/ftfy.h"
#include "tokenizer/ftfy_classes.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_data.h"

namespace wsdol::tok {
namespace {

using namespace ftfy_class;

// ---------------------------------------------------------------- single-byte encodings

struct Charmaps {
    int count = 0;
    int macroman = -1;
    uint16_t sloppy_mask = 0;
    std::unordered_map<char32_t, uint16_t> encodable;  // non-ASCII character (or 0x1A) -> charmaps that encode it
    std::vector<std::unordered_map<char32_t, uint8_t>> to_byte;
    Charmaps() {
        const auto maps = data::charmaps();
        count = static_cast<int>(maps.size());
        to_byte.resize(count);
        for (int e = 0; e < count; ++e) {
            const std::string name = maps[e].name;
            if (name == "macroman") macroman = e;
            if (name.rfind("sloppy", 0) == 0) sloppy_mask |= uint16_t(1u << e);
            to_byte[e][maps[e].byte_1a] = 0x1A;
            encodable[maps[e].byte_1a] |= uint16_t(1u << e);
            for (int b = 0; b < 128; ++b) {
                to_byte[e][maps[e].high[b]] = static_cast<uint8_t>(0x80 + b);
                encodable[maps[e].high[b]] |= uint16_t(1u << e);
            }
        }
    }
    uint16_t all() const { return uint16_t((1u << count) - 1); }
    uint16_t mask(char32_t c) const {
        if (c < 0x80 && c != 0x1A) return all();
        auto it = encodable.find(c);
        return it == encodable.end() ? 0 : it->second;
    }
    std::string encode(std::u32string_view text, int e) const {
        std::string out;
        out.reserve(text.size());
        for (char32_t c : text) {
            if (c < 0x80 && c != 0x1A)
                out.push_back(static_cast<char>(c));
            else
                out.push_back(static_cast<char>(to_byte[e].at(c)));
        }
        return out;
    }
};

const Charmaps& charmaps() {
    static const Charmaps c;
    return c;
}

// ---------------------------------------------------------------- badness (BADNESS_RE.search)

bool ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool lower_ascii(char32_t c) { return c >= 'a' && c <= 'z'; }
template <size_t N>
bool one_of(char32_t c, const char32_t (&set)[N]) {
    for (char32_t s : set)
        if (c == s) return true;
    return false;
}

constexpr uint32_t kPairLeft = kBad | kLowerAccented | kUpperAccented | kBox | kStartPunct | kEndPunct | kCurrency |
                               kNumeric | kLaw;  // first class of "[..][bad]"; also the second class of "[bad][..]"

// Does one of BADNESS_RE's alternatives match at position i? (Order does not matter for search.)
bool bad_at(std::u32string_view t, const std::vector<uint32_t>& m, size_t i) {
    const size_t n = t.size();
    auto M = [&](size_t k) -> uint32_t { return k < n ? m[k] : 0; };
    auto C = [&](size_t k) -> char32_t { return k < n ? t[k] : 0xFFFFFFFFu; };
    const uint32_t m0 = M(i), m1 = M(i + 1), m2 = M(i + 2);
    const char32_t c0 = C(i), c1 = C(i + 1), c2 = C(i + 2);
    const uint32_t LA = kLowerAccented, UA = kUpperAccented, SP = kStartPunct, EP = kEndPunct, CUR = kCurrency,
                   NUM = kNumeric;
    if (m0 & kC1) return true;
    if ((m0 & kPairLeft) && (m1 & kBad)) return true;
    if (ascii_letter(c0) && (m1 & (kLowerCommon | kUpperCommon)) && (m2 & kBad)) return true;
    if ((m0 & kBad) && (m1 & (kPairLeft & ~kBad))) return true;
    if ((m0 & (LA | kLowerCommon | kBox | EP | CUR | NUM)) && (m1 & UA)) return true;
    if ((m0 & (kBox | EP | CUR | NUM)) && (m1 & LA)) return true;
    if ((m0 & (LA | kBox | EP)) && (m1 & CUR)) return true;
    if (i < n && (props(c0) & kPySpace) && (m1 & UA) && (m2 & CUR)) return true;
    if ((m0 & (UA | kBox)) && (m1 & (NUM | kLaw))) return true;
    if ((m0 & (LA | UA | kBox | CUR | EP)) && (m1 & SP) && (m2 & NUM)) return true;
    if ((m0 & (LA | UA | CUR | NUM | kBox | kLaw)) && (m1 & EP) && (m2 & SP)) return true;
    if ((m0 & (CUR | NUM | kBox)) && (m1 & SP)) return true;
    if (lower_ascii(c0) && (m1 & UA) && (m2 & (SP | CUR))) return true;
    if ((m0 & kBox) && (m1 & kKaomoji)) return true;
    if ((m0 & (LA | UA | CUR | NUM | SP | EP | kLaw)) && (m1 & kBox)) return true;
    if ((m0 & kBox) && (m1 & EP)) return true;
    if ((m0 & (LA | UA)) && (m1 & (SP | EP)) && i + 2 < n && (props(c2) & kPyWord)) return true;
    // The ligature oe when not followed by an unaccented Latin letter.
    if ((c0 == 0x152 || c0 == 0x153) && i + 1 < n && !ascii_letter(c1)) return true;
    // Degree signs after capital letters.
    if ((m0 & UA) && c1 == 0xB0) return true;
    // Common windows-1252 two-character mojibake.
    static const char32_t kW1252Second[] = {0x20AC, 0x153, 0x160, 0x161, 0xA2, 0xA3, 0x178, 0x17E, 0xA0,
                                            0xAD,   0xAE,  0xA9,  0xB0,  0xB7, 0xBB, 0x2013, 0x2014, 0xB4};
    if ((c0 == 0xC2 || c0 == 0xC3 || c0 == 0xCE || c0 == 0xD0) &&
        (one_of(c1, kW1252Second) || (i + 1 < n && (m1 & (SP | EP)))))
        return true;
    if (c0 == 0xD7 && (c1 == 0xB2 || c1 == 0xB3)) return true;
    // Windows-1252 mojibake of Arabic: four characters.
    {
        static const char32_t kArabicExtra[] = {0x178, 0x160, 0xAE, 0xB0, 0xB5, 0xBB};
        auto second = [&](size_t k) {
            return k < n && ((m[k] & (kCommon | CUR | kBad | NUM | SP)) || one_of(t[k], kArabicExtra));
        };
        auto first = [&](size_t k) { return k < n && (t[k] == 0xD8 || t[k] == 0xD9); };
        if (first(i) && second(i + 1) && first(i + 2) && second(i + 3)) return true;
    }
    static const char32_t kSouthAsian[] = {0xB2, 0xB5, 0xB9, 0xBC, 0xBD, 0xBE};
    if (c0 == 0xE0 && one_of(c1, kSouthAsian)) return true;
    // MacRoman mojibake.
    static const char32_t kAfterRoot[] = {0xB1, 0x2202, 0x2020, 0x2260, 0xAE, 0x2122, 0xB4, 0x2264, 0x2265, 0xA5,
                                          0xB5, 0xF8};
    if (c0 == 0x221A && one_of(c1, kAfterRoot)) return true;
    if (c0 == 0x2248 && (c1 == 0xB0 || c1 == 0xA2)) return true;
    static const char32_t kAfterCommaA[] = {0xEC, 0xEE, 0xEF, 0xF2, 0xF4, 0xFA, 0xF9, 0xFB, 0x2020, 0xB0, 0xA2, 0x3C0};
    if (c0 == 0x201A && c1 == 0xC4 && one_of(c2, kAfterCommaA)) return true;
    if (c0 == 0x201A && (c1 == 0xE2 || c1 == 0xF3) && (c2 == 0xE0 || c2 == 0xE4 || c2 == 0xB0 || c2 == 0xEA))
        return true;
    // Windows-1251 mojibake.
    if (c0 == 0x432 && c1 == 0x402) return true;
    {
        auto cyr = [](char32_t c) { return c == 0x412 || c == 0x413 || c == 0x420 || c == 0x421; };
        if (cyr(c0) && i + 1 < n && ((m1 & (kC1 | kBad | SP | EP | CUR)) || c1 == 0xB0 || c1 == 0xB5) && cyr(c2))
            return true;
    }
    if (c0 == 0x413 && c1 == 0x45E && c2 == 0x412 && C(i + 3) == 0x402 && C(i + 4) == 0x412 && i + 6 < n &&
        t[i + 5] != '\n' && (ascii_letter(t[i + 6]) || t[i + 6] == ' '))
        return true;
    // Windows-1252 encodings of a-grave, a-acute and NBSP itself.
    if (c0 == 0xC3 && (c1 == 0xA0 || c1 == 0xA1)) return true;
    if (lower_ascii(c0)) {
        auto ac = [](char32_t c) { return c == 0xC3 || c == 0xC2; };
        if (i + 1 < n && (props(c1) & kPySpace) && ac(c2) && C(i + 3) == ' ') return true;
        if (ac(c1) && c2 == ' ') return true;
    }
    if (i == 0 && (c0 == 0xC3 || c0 == 0xC2) && c1 == ' ') return true;
    // A-circumflex standing before the very character it encodes.
    if ((lower_ascii(c0) || c0 == '.' || c0 == ',' || c0 == '?' || c0 == '!' || (m0 & EP)) && c1 == 0xC2 &&
        (c2 == ' ' || (m2 & (SP | EP))))
        return true;
    // Windows-1253 mojibake.
    if (c0 == 0x3B2 && c1 == 0x20AC &&
        (c2 == 0x2122 || c2 == 0xA0 || c2 == 0x386 || c2 == 0xAD || c2 == 0xAE || c2 == 0xB0))
        return true;
    {
        auto gr = [](char32_t c) { return c == 0x392 || c == 0x393 || c == 0x39E || c == 0x39F; };
        if (gr(c0) && i + 1 < n && ((m1 & (kC1 | kBad | SP | EP | CUR)) || c1 == 0xB0) && gr(c2)) return true;
    }
    // Windows-1257 mojibake.
    if (c0 == 0x101 && c1 == 0x20AC) return true;
    return false;
}

std::vector<uint32_t> masks_of(std::u32string_view t, bool* any) {
    std::vector<uint32_t> m(t.size());
    uint32_t all = 0;
    for (size_t i = 0; i < t.size(); ++i) all |= m[i] = ftfy_mask(t[i]);
    *any = all != 0;
    return m;
}

// ---------------------------------------------------------------- byte-level rewrites

using Bytes = std::string;
inline uint8_t byte_at(const Bytes& b, size_t k) { return static_cast<uint8_t>(b[k]); }
inline bool in(uint8_t x, uint8_t lo, uint8_t hi) { return x >= lo && x <= hi; }
// [\x80-\x84\x86-\x9f\xa1-\xbf]: a continuation byte other than 0x85 and 0xA0
inline bool cont_not_85_a0(uint8_t x) { return in(x, 0x80, 0x84) || in(x, 0x86, 0x9F) || in(x, 0xA1, 0xBF); }

// ALTERED_UTF8_RE at position p: the match length, or 0.
size_t altered_at(const Bytes& b, size_t p) {
    const size_t n = b.size();
    auto B = [&](size_t k) -> int { return k < n ? byte_at(b, k) : -1; };
    const int b0 = B(p), b1 = B(p + 1), b2 = B(p + 2), b3 = B(p + 3);
    if ((b0 == 0xC2 || b0 == 0xC3 || b0 == 0xC5 || b0 == 0xCE || b0 == 0xD0 || b0 == 0xD9) && b1 == ' ') return 2;
    if ((b0 == 0xE2 || b0 == 0xE3) && b1 == ' ' && b2 >= 0 && cont_not_85_a0(uint8_t(b2))) return 3;
    if (b0 >= 0xE0 && b0 <= 0xE3 && b1 >= 0 && cont_not_85_a0(uint8_t(b1)) && b2 == ' ') return 3;
    auto c = [](int x) { return x >= 0x80 && x <= 0xBF; };
    if (b0 == 0xF0 && b1 == ' ' && c(b2) && c(b3)) return 4;
    if (b0 == 0xF0 && c(b1) && b2 == ' ' && c(b3)) return 4;
    if (b0 == 0xF0 && c(b1) && c(b2) && b3 == ' ') return 4;
    return 0;
}

bool altered_search(const Bytes& b) {
    for (size_t p = 0; p < b.size(); ++p)
        if (altered_at(b, p)) return true;
    return false;
}

// restore_byte_a0: first "\xc3 " not followed by " ", "quele", "quela", "quilo" or "s " becomes "\xc3\xa0 "
// (A_GRAVE_WORD_RE), then every space inside an ALTERED_UTF8_RE match becomes 0xA0.
Bytes restore_byte_a0(const Bytes& in_bytes) {
    Bytes b;
    b.reserve(in_bytes.size() + 8);
    const size_t n = in_bytes.size();
    for (size_t p = 0; p < n;) {
        if (byte_at(in_bytes, p) == 0xC3 && p + 1 < n && in_bytes[p + 1] == ' ') {
            const std::string_view rest(in_bytes.data() + p + 2, n - p - 2);
            const bool excluded = rest.rfind(" ", 0) == 0 || rest.rfind("quele", 0) == 0 ||
                                  rest.rfind("quela", 0) == 0 || rest.rfind("quilo", 0) == 0 ||
                                  rest.rfind("s ", 0) == 0;
            if (!excluded) {
                b += "\xc3\xa0 ";
                p += 2;
                continue;
            }
        }
        b.push_back(in_bytes[p++]);
    }
    Bytes out;
    out.reserve(b.size());
    for (size_t p = 0; p < b.size();) {
        const size_t len = altered_at(b, p);
        if (len == 0) {
            out.push_back(b[p++]);
            continue;
        }
        for (size_t k = 0; k < len; ++k) out.push_back(b[p + k] == ' ' ? '\xa0' : b[p + k]);
        p += len;
    }
    return out;
}

// LOSSY_UTF8_RE at position p: the match length, or 0.
size_t lossy_at(const Bytes& b, size_t p) {
    const size_t n = b.size();
    auto B = [&](size_t k) -> int { return k < n ? byte_at(b, k) : -1; };
    const int b0 = B(p), b1 = B(p + 1), b2 = B(p + 2), b3 = B(p + 3), b4 = B(p + 4), b5 = B(p + 5);
    auto sub = [](int x) { return x == 0x1A; };
    auto subq = [](int x) { return x == 0x1A || x == '?'; };
    auto subc = [](int x) { return x == 0x1A || (x >= 0x80 && x <= 0xBF); };
    auto subqc = [](int x) { return x == 0x1A || x == '?' || (x >= 0x80 && x <= 0xBF); };
    if (b0 >= 0xC2 && b0 <= 0xDF && sub(b1)) return 2;
    if ((b0 == 0xC2 || b0 == 0xC3) && b1 == '?') return 2;
    if (b0 == 0xED && b1 >= 0xA0 && b1 <= 0xAF && subq(b2) && b3 == 0xED && b4 >= 0xB0 && b4 <= 0xBF && subqc(b5))
        return 6;
    if (b0 == 0xED && b1 >= 0xA0 && b1 <= 0xAF && subqc(b2) && b3 == 0xED && b4 >= 0xB0 && b4 <= 0xBF && subq(b5))
        return 6;
    if (b0 >= 0xE0 && b0 <= 0xEF && subq(b1) && subc(b2)) return 3;
    if (b0 >= 0xE0 && b0 <= 0xEF && subc(b1) && subq(b2)) return 3;
    if (b0 >= 0xF0 && b0 <= 0xF4 && subq(b1) && subc(b2) && subc(b3)) return 4;
    if (b0 >= 0xF0 && b0 <= 0xF4 && subc(b1) && subq(b2) && subc(b3)) return 4;
    if (b0 >= 0xF0 && b0 <= 0xF4 && subc(b1) && subc(b2) && subq(b3)) return 4;
    if (sub(b0)) return 1;
    return 0;
}

Bytes replace_lossy_sequences(const Bytes& b) {
    Bytes out;
    out.reserve(b.size());
    for (size_t p = 0; p < b.size();) {
        const size_t len = lossy_at(b, p);
        if (len == 0) {
            out.push_back(b[p++]);
        } else {
            out += "\xef\xbf\xbd";
            p += len;
        }
    }
    return out;
}

// ---------------------------------------------------------------- decoding

// Strict UTF-8 (CPython's decoder with errors="strict"): appends and returns true, or returns false.
bool decode_strict(std::string_view b, std::u32string& out) {
    std::u32string tmp;
    if (!decode_utf8(b, tmp)) return false;
    out += tmp;
    return true;
}

// ftfy's "utf-8-variants" codec (bad_codecs/utf8_variants.py), decoding with errors="strict" and final=True:
// the input is cut at the first "special" sequence (0xC0 0x80 Java null, a CESU-8 surrogate pair, a lone
// surrogate, each of which may be truncated by the end of input, where the end also counts just before a final
// '\n', as Python's `$` does); the part before it is decoded as strict UTF-8; then 0xC0 + any byte decodes to
// U+0000, a complete 6-byte CESU-8 pair decodes to its supplementary character, and anything else is an error.
bool decode_utf8_variants(const Bytes& b, std::u32string& out) {
    const size_t n = b.size();
    auto at_end = [&](size_t q) { return q == n || (q + 1 == n && b[n - 1] == '\n'); };
    auto B = [&](size_t q) -> int { return q < n ? byte_at(b, q) : -1; };
    // Each element of CESU8_EXPR / SURROGATE_EXPR is "(class|$)": consume a byte in the class, or match the end.
    auto element = [&](size_t& q, int lo, int hi) {
        const int x = B(q);
        if (x >= lo && x <= hi) {
            ++q;
            return true;
        }
        return at_end(q);
    };
    auto cesu_at = [&](size_t p) {
        if (B(p) != 0xED) return false;
        size_t q = p + 1;
        return element(q, 0xA0, 0xAF) && element(q, 0x80, 0xBF) && element(q, 0xED, 0xED) &&
               element(q, 0xB0, 0xBF) && element(q, 0x80, 0xBF);
    };
    auto special_at = [&](size_t p) {
        const int x = B(p);
        if (x == 0xC0) return B(p + 1) == 0x80 || at_end(p + 1);
        if (x != 0xED) return false;
        if (cesu_at(p)) return true;
        size_t q = p + 1;
        return element(q, 0xA0, 0xBF) && element(q, 0x80, 0xBF);
    };
    const std::string_view all(b);
    size_t pos = 0;
    std::u32string result;
    while (pos < n) {
        size_t p = pos;
        while (p < n && !special_at(p)) ++p;
        if (p == n) {
            if (!decode_strict(all.substr(pos), result)) return false;
            break;
        }
        if (p > pos) {
            if (!decode_strict(all.substr(pos, p - pos), result)) return false;
            pos = p;
            continue;
        }
        if (byte_at(b, p) == 0xC0) {
            if (n - p > 1) {
                result.push_back(0);
                pos += 2;
                continue;
            }
            return false;  // a lone 0xC0 at the end: strict UTF-8 rejects it
        }
        if (n - p < 6) {  // the reference hands the rest to the strict decoder, which rejects it
            if (!decode_strict(all.substr(p), result)) return false;
            break;
        }
        if (cesu_at(p)) {
            const char32_t cp = ((char32_t(byte_at(b, p + 1)) & 0x0F) << 16) + ((char32_t(byte_at(b, p + 2)) & 0x3F) << 10) +
                                ((char32_t(byte_at(b, p + 4)) & 0x0F) << 6) + (char32_t(byte_at(b, p + 5)) & 0x3F) +
                                0x10000;
            result.push_back(cp);
            pos += 6;
            continue;
        }
        return false;  // a lone surrogate: strict UTF-8 rejects it
    }
    out += result;
    return true;
}

// ---------------------------------------------------------------- UTF8_DETECTOR_RE

// The match of (?<![strict])([first2][cont]|[first3][cont]{2}|[first4][cont]{3})+ at i, or 0. The repetition
// is greedy with the alternatives tried in order; nothing follows it, so the first path found is the match.
size_t detector_at(const std::vector<uint32_t>& m, size_t i) {
    const size_t n = m.size();
    if (i > 0 && (m[i - 1] & kContinuationStrict)) return 0;
    auto cont = [&](size_t k) { return k < n && (m[k] & kContinuation); };
    size_t j = i;
    while (j < n) {
        if ((m[j] & kFirstOf2) && cont(j + 1))
            j += 2;
        else if ((m[j] & kFirstOf3) && cont(j + 1) && cont(j + 2))
            j += 3;
        else if ((m[j] & kFirstOf4) && cont(j + 1) && cont(j + 2) && cont(j + 3))
            j += 4;
        else
            break;
    }
    return j - i;
}

std::u32string decode_inconsistent_utf8(std::u32string_view text, const std::vector<uint32_t>& m) {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t len = detector_at(m, i);
        if (len == 0) {
            out.push_back(text[i++]);
            continue;
        }
        const std::u32string_view sub = text.substr(i, len);
        if (len < text.size() && is_bad(sub))
            out += fix_encoding(sub);
        else
            out += sub;
        i += len;
    }
    return out;
}

std::u32string fix_c1_with_sloppy_1252(std::u32string_view text) {
    const data::Charmap& w1252 = data::charmaps()[1];
    std::u32string out(text);
    for (char32_t& c : out)
        if (c >= 0x80 && c <= 0x9F) c = w1252.high[c - 0x80];
    return out;
}

std::u32string fix_encoding_step(std::u32string_view text) {
    std::u32string none(text);
    if (text.empty()) return none;
    bool ascii = true;
    for (char32_t c : text)
        if (c >= 0x80) {
            ascii = false;
            break;
        }
    if (ascii || !is_bad(text)) return none;

    const Charmaps& cm = charmaps();
    uint16_t possible = cm.all();
    for (char32_t c : text) possible &= cm.mask(c);
    for (int e = 0; e < cm.count; ++e) {
        if (!(possible & (1u << e))) continue;
        Bytes bytes = cm.encode(text, e);
        if (e != cm.macroman && altered_search(bytes)) bytes = restore_byte_a0(bytes);
        if (cm.sloppy_mask & (1u << e)) bytes = replace_lossy_sequences(bytes);
        std::u32string fixed;
        const bool variants = bytes.find('\xed') != Bytes::npos || bytes.find('\xc0') != Bytes::npos;
        if (variants ? decode_utf8_variants(bytes, fixed) : decode_strict(bytes, fixed)) return fixed;
    }

    bool any_class = false;
    const std::vector<uint32_t> m = masks_of(text, &any_class);
    bool detected = false;
    for (size_t i = 0; i < text.size() && any_class; ++i)
        if (detector_at(m, i)) {
            detected = true;
            break;
        }
    if (detected) {
        std::u32string fixed = decode_inconsistent_utf8(text, m);
        if (fixed != text) return fixed;
    }

    if (possible & 1u) {  // latin-1 can encode it: try text.encode("latin-1").decode("windows-1252") (strict)
        bool undefined = false;
        for (char32_t c : text)
            if (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D) undefined = true;
        if (!undefined) {
            std::u32string fixed = fix_c1_with_sloppy_1252(text);
            if (fixed != text) return fixed;
        }
    }
    for (char32_t c : text)
        if (c >= 0x80 && c <= 0x9F) return fix_c1_with_sloppy_1252(text);
    return none;
}

}  // namespace

bool is_bad(std::u32string_view text) {
    bool any = false;
    const std::vector<uint32_t> m = masks_of(text, &any);
    if (!any) return false;  // every alternative needs a character of one of the classes
    // Every alternative has a badness-category character among its first three (the ones starting with an
    // ASCII letter, punctuation or a space need one second or third), so other positions are skipped.
    constexpr uint32_t kCategories = (1u << 14) - 1;
    const size_t n = text.size();
    for (size_t i = 0; i < n; ++i) {
        const uint32_t near = (m[i] | (i + 1 < n ? m[i + 1] : 0) | (i + 2 < n ? m[i + 2] : 0)) & kCategories;
        if (near && bad_at(text, m, i)) return true;
    }
    return false;
}

std::u32string fix_encoding(std::u32string_view text) {
    std::u32string current(text);
    while (true) {
        std::u32string next = fix_encoding_step(current);
        if (next == current) return next;
        current = std::move(next);
    }
}

}  // namespace wsdol::tok
