// unicode.cpp — UTF-8 (Python errors="replace"), property lookup, Python str.lower, NFC and str.strip.
// The data comes from the generated tables (unicode_tables.inc via unicode_data.h); see unicode.h for versions.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "tokenizer/codepoint_table.h"
#include "tokenizer/unicode_data.h"

namespace wsdol::tok {
namespace {

// Hangul syllable constants (Unicode 3.12, "Conjoining Jamo Behavior").
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

struct Tables {
    CodePointTable<uint16_t> props;
    CodePointTable<uint32_t> ftfy;
    CodePointTable<uint8_t> ccc;
    std::unordered_map<char32_t, std::pair<char32_t, char32_t>> decomposition;
    std::unordered_map<uint64_t, char32_t> composition;  // (first << 21 | second) -> primary composite
    std::vector<char32_t> literal_matches[128];          // per ASCII literal of the CLIP pattern

    Tables() {
        std::vector<uint16_t> p(CodePointTable<uint16_t>::kSize, 0);
        auto set = [&](std::span<const data::CodeRange> ranges, uint16_t bit) {
            for (const auto& r : ranges)
                for (char32_t c = r.first; c <= r.last; ++c) p[c] |= bit;
        };
        set(data::letter_ranges(), kLetter);
        set(data::number_ranges(), kNumber);
        set(data::regex_space_ranges(), kRegexSpace);
        set(data::py_space_ranges(), kPySpace);
        set(data::py_decimal_ranges(), kPyDecimal);
        set(data::py_word_ranges(), kPyWord);
        set(data::case_ignorable_ranges(), kCaseIgnorable);
        set(data::cased_ranges(), kCased);
        // kOther: everything the three classes miss, except what the pattern drops (U+0345 under IGNORECASE).
        std::vector<uint8_t> dropped(p.size(), 0);
        for (const auto& r : data::pattern_dropped_ranges())
            for (char32_t c = r.first; c <= r.last; ++c) dropped[c] = 1;
        for (size_t c = 0; c < p.size(); ++c)
            if (!(p[c] & (kLetter | kNumber | kRegexSpace)) && !dropped[c]) p[c] |= kOther;
        for (const auto& m : data::lower_mappings()) p[m.cp] |= kHasLower;

        // NFC: decompositions, combining classes, compositions (pairs not excluded, non-starter firsts excluded).
        std::vector<uint8_t> classes(p.size(), 0);
        for (const auto& c : data::combining_classes()) {
            classes[c.cp] = c.ccc;
            p[c.cp] |= kNfcTrigger;
        }
        ccc = CodePointTable<uint8_t>(classes);
        std::vector<char32_t> excluded(data::composition_exclusions().begin(), data::composition_exclusions().end());
        std::sort(excluded.begin(), excluded.end());
        // NFC quick check (UAX #15): a string of characters that are NFC_QC=Yes with class 0 is already NFC.
        // No = the full composition exclusions: singleton decompositions and the listed exclusions (which
        // include the non-starter decompositions); Maybe = second characters of primary composites.
        for (const auto& d : data::decompositions()) {
            decomposition[d.cp] = {d.first, d.second};
            p[d.cp] |= kDecomposes;
            if (d.second == 0 || std::binary_search(excluded.begin(), excluded.end(), d.cp)) {
                p[d.cp] |= kNfcTrigger;
            } else {
                composition[(uint64_t(d.first) << 21) | d.second] = d.cp;
                p[d.second] |= kNfcTrigger;
            }
        }
        for (char32_t c = kVBase; c < kVBase + kVCount; ++c) p[c] |= kNfcTrigger;
        for (char32_t c = kTBase + 1; c < kTBase + kTCount; ++c) p[c] |= kNfcTrigger;

        // Characters some per-character ftfy fixer changes (ftfy.cpp): C1 controls (fix_c1_controls; U+0085 is
        // also a line break), ligatures, width forms, curly quotes, CR / U+2028 / U+2029, removed controls (ESC
        // among them: terminal escapes), and '&' (HTML entities).
        auto touch = [&](char32_t c) { p[c] |= kFtfyTouch; };
        for (char32_t c = 0x80; c <= 0x9F; ++c) touch(c);
        for (const auto& m : data::ligatures()) touch(m.cp);
        for (const auto& m : data::width_map()) touch(m.cp);
        touch(0x2BC);
        for (char32_t c = 0x2018; c <= 0x201F; ++c) touch(c);
        touch(U'\r');
        touch(0x2028);
        touch(0x2029);
        for (const auto& r : data::removed_controls())
            for (char32_t c = r.first; c <= r.last; ++c) touch(c);
        touch(U'&');

        std::vector<uint32_t> f(p.size(), 0);
        for (const auto& m : data::ftfy_masks()) {
            f[m.cp] = m.mask;
            if (m.mask) p[m.cp] |= kFtfyClass;
        }
        ftfy = CodePointTable<uint32_t>(f);
        props = CodePointTable<uint16_t>(p);

        for (const auto& l : data::literal_folds())
            for (const char32_t* m = l.matches; *m; ++m) literal_matches[l.literal].push_back(*m);
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

const data::CaseMapping* find_mapping(std::span<const data::CaseMapping> table, char32_t cp) {
    auto it = std::lower_bound(table.begin(), table.end(), cp,
                               [](const data::CaseMapping& m, char32_t c) { return m.cp < c; });
    return (it != table.end() && it->cp == cp) ? &*it : nullptr;
}

}  // namespace

const CodePointTable<uint16_t>& detail::prop_table() { return tables().props; }
uint32_t ftfy_mask(char32_t cp) { return tables().ftfy(cp); }

bool matches_literal(char32_t literal, char32_t cp) {
    if (literal >= 128) return literal == cp;
    const auto& m = tables().literal_matches[literal];
    if (m.empty()) return literal == cp;
    return std::find(m.begin(), m.end(), cp) != m.end();
}

// ---------------------------------------------------------------- UTF-8

// CPython's decoder reports each maximal invalid subpart (Unicode 3.9, "U+FFFD substitution of maximal
// subparts") as one error, and errors="replace" writes one U+FFFD per error: a lead byte followed by some valid
// continuation bytes and then a bad byte or the end is ONE U+FFFD; a stray or impossible byte is one U+FFFD.
bool decode_utf8(std::string_view bytes, std::u32string& out) {
    bool valid = true;
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    out.reserve(out.size() + n);
    size_t i = 0;
    while (i < n) {
        const unsigned char b0 = s[i];
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        }
        int need;
        char32_t cp;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 1;
            cp = b0 & 0x1F;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            cp = b0 & 0x0F;
            if (b0 == 0xE0) lo = 0xA0;  // no overlongs
            if (b0 == 0xED) hi = 0x9F;  // no surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            cp = b0 & 0x07;
            if (b0 == 0xF0) lo = 0x90;  // no overlongs
            if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
        } else {
            out.push_back(0xFFFD);  // 0x80..0xC1, 0xF5..0xFF never start a sequence
            valid = false;
            ++i;
            continue;
        }
        size_t j = i + 1;
        bool ok = true;
        for (int k = 0; k < need; ++k, ++j) {
            const unsigned char lo_k = k == 0 ? lo : 0x80, hi_k = k == 0 ? hi : 0xBF;
            if (j >= n || s[j] < lo_k || s[j] > hi_k) {
                ok = false;
                break;
            }
            cp = (cp << 6) | (s[j] & 0x3F);
        }
        out.push_back(ok ? cp : 0xFFFD);
        valid = valid && ok;
        i = j;  // on error: skip the lead byte and the valid continuation bytes seen
    }
    return valid;
}

std::u32string decode_utf8(std::string_view bytes) {
    std::u32string out;
    decode_utf8(bytes, out);
    return out;
}

void append_utf8(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(c, out);
    return out;
}

// ---------------------------------------------------------------- str.lower

// CPython's lower(): each character's full lowercase (SpecialCasing's unconditional mappings included), except
// U+03A3, which becomes final U+03C2 when preceded by a cased letter and not followed by one (case-ignorable
// characters skipped in both directions), else U+03C3. The context is read from the INPUT string.
void to_lower(std::u32string_view in, std::u32string& out) {
    const Tables& t = tables();
    out.clear();
    out.reserve(in.size());
    const size_t n = in.size();
    for (size_t i = 0; i < n; ++i) {
        const char32_t c = in[i];
        if (c < 0x80) {
            out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
            continue;
        }
        if (c == 0x3A3) {
            size_t j = i;
            char32_t before = 0;
            bool found = false;
            while (j > 0) {
                before = in[--j];
                if (!(t.props(before) & kCaseIgnorable)) {
                    found = true;
                    break;
                }
            }
            bool final_sigma = found && (t.props(before) & kCased);
            if (final_sigma) {
                size_t k = i + 1;
                while (k < n && (t.props(in[k]) & kCaseIgnorable)) ++k;
                final_sigma = k == n || !(t.props(in[k]) & kCased);
            }
            out.push_back(final_sigma ? 0x3C2 : 0x3C3);
            continue;
        }
        if (t.props(c) & kHasLower) {
            const data::CaseMapping* m = find_mapping(data::lower_mappings(), c);
            for (int k = 0; k < 3 && m->to[k]; ++k) out.push_back(m->to[k]);
        } else {
            out.push_back(c);
        }
    }
}

// ---------------------------------------------------------------- NFC

namespace {

void decompose(const Tables& t, char32_t c, std::u32string& out) {
    // Hangul syllables are left composed (compose_pair joins LV + T directly), which gives the same result as
    // decomposing and recomposing them.
    if (!(t.props(c) & kDecomposes)) {
        out.push_back(c);
        return;
    }
    if (c >= kSBase && c < kSBase + kSCount) {  // Hangul syllable: algorithmic
        const int s = static_cast<int>(c - kSBase);
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount) out.push_back(kTBase + s % kTCount);
        return;
    }
    auto it = t.decomposition.find(c);
    if (it == t.decomposition.end()) {
        out.push_back(c);
        return;
    }
    decompose(t, it->second.first, out);
    if (it->second.second) decompose(t, it->second.second, out);
}

char32_t compose_pair(const Tables& t, char32_t a, char32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    auto it = t.composition.find((uint64_t(a) << 21) | b);
    return it == t.composition.end() ? 0 : it->second;
}

}  // namespace

// UAX #15: full canonical decomposition, canonical ordering (stable by combining class within runs of non-zero
// classes), then canonical composition (a character composes with the last starter unless blocked). Strings
// with no character that can change (kNfcTrigger) are returned as they are, like CPython's quick check.
void nfc(std::u32string_view in, std::u32string& out) {
    const Tables& t = tables();
    out.clear();
    bool any = false;
    for (char32_t c : in)
        if (t.props(c) & kNfcTrigger) {
            any = true;
            break;
        }
    if (!any) {
        out.assign(in);
        return;
    }
    std::u32string d;
    d.reserve(in.size() + 8);
    for (char32_t c : in) decompose(t, c, d);
    // Canonical ordering: insertion sort of each run of non-starters by class (stable).
    for (size_t i = 1; i < d.size(); ++i) {
        const uint8_t ci = t.ccc(d[i]);
        if (ci == 0) continue;
        size_t j = i;
        while (j > 0) {
            const uint8_t cj = t.ccc(d[j - 1]);
            if (cj == 0 || cj <= ci) break;
            std::swap(d[j], d[j - 1]);
            --j;
        }
    }
    // Composition.
    out.reserve(d.size());
    if (d.empty()) return;
    size_t starter = 0;
    out.push_back(d[0]);
    int last_class = t.ccc(d[0]) ? 256 : 0;  // a leading non-starter blocks everything after it
    for (size_t i = 1; i < d.size(); ++i) {
        const char32_t c = d[i];
        const int cc = t.ccc(c);
        const char32_t composite = compose_pair(t, out[starter], c);
        if (composite && (last_class < cc || last_class == 0)) {
            out[starter] = composite;
            continue;
        }
        if (cc == 0) starter = out.size();
        last_class = cc;
        out.push_back(c);
    }
}

std::u32string_view strip(std::u32string_view text) {
    const Tables& t = tables();
    size_t b = 0, e = text.size();
    while (b < e && (t.props(text[b]) & kPySpace)) ++b;
    while (e > b && (t.props(text[e - 1]) & kPySpace)) --e;
    return text.substr(b, e - b);
}

}  // namespace wsdol::tok
