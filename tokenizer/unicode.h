// unicode.h — the Unicode primitives of the CLIP tokenizer, matching CPython 3.11 + the `regex` module exactly:
// UTF-8 decoding with Python's errors="replace", per-code-point properties, Python's str.lower (full mappings and
// the final-sigma rule), NFC, and str.strip's whitespace.
//
// Text is handled as std::u32string (one element per code point, like a Python str). Surrogates never occur:
// input is UTF-8, and invalid UTF-8 (including encoded surrogates) decodes to U+FFFD exactly as
// bytes.decode("utf-8", errors="replace") does (one U+FFFD per maximal invalid subpart).
//
// Unicode versions: str.lower / NFC / str.isspace follow Python 3.11's unicodedata (Unicode 14.0.0); the
// pre-tokenizer classes follow the `regex` module's own, newer database (regex 2026.5.9), as the reference does.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/codepoint_table.h"

namespace wsdol::tok {

// Property bits of one code point (props()).
enum Prop : uint16_t {
    kLetter = 1 << 0,         // regex [\p{L}] under IGNORECASE (the CLIP pattern's flag)
    kNumber = 1 << 1,         // regex [\p{N}] under IGNORECASE
    kRegexSpace = 1 << 2,     // regex \s = White_Space (whitespace_clean, and skipped by the pre-tokenizer)
    kOther = 1 << 3,          // regex [^\s\p{L}\p{N}] under IGNORECASE (U+0345 is none of the four: dropped)
    kPySpace = 1 << 4,        // Python str.isspace (str.strip; Python re's \s)
    kPyDecimal = 1 << 5,      // Python re \d
    kPyWord = 1 << 6,         // Python re \w
    kCaseIgnorable = 1 << 7,  // Case_Ignorable (final-sigma rule)
    kCased = 1 << 8,          // Cased (final-sigma rule)
    kHasLower = 1 << 9,       // str.lower changes it (U+03A3 excluded: context rule)
    kNfcTrigger = 1 << 10,    // fails NFC's quick check: NFC_QC No (singleton, excluded or non-starter decomposition)
                              // or Maybe (composes with a predecessor), or combining class != 0
    kFtfyTouch = 1 << 11,     // changed by one of ftfy's per-character fixers (C1, ligature, width, quotes, line
                              // breaks, ESC, removed controls) or '&' (HTML unescape)
    kFtfyClass = 1 << 12,     // in one of ftfy's badness categories or UTF-8 clue classes (ftfy_mask() != 0)
    kDecomposes = 1 << 13,    // has a canonical decomposition (Hangul syllables excluded: algorithmic)
};

namespace detail {
const CodePointTable<uint16_t>& prop_table();
}
inline uint16_t props(char32_t cp) {
    static const CodePointTable<uint16_t>& table = detail::prop_table();
    return table(cp);
}
uint32_t ftfy_mask(char32_t cp);  // ftfy badness / UTF-8 clue class bits (ftfy_classes.h), 0 outside them

// Does `cp` match the literal character `literal` of the CLIP pattern under IGNORECASE? ('s' also matches U+017F.)
bool matches_literal(char32_t literal, char32_t cp);

// UTF-8 -> code points with Python's errors="replace" semantics (appends to out). Returns true when the input
// was valid UTF-8 (no replacement made), i.e. when Python's strict decoder would have accepted it.
bool decode_utf8(std::string_view bytes, std::u32string& out);
std::u32string decode_utf8(std::string_view bytes);
void append_utf8(char32_t cp, std::string& out);
std::string encode_utf8(std::u32string_view text);

// Python str.lower(): full lowercase mappings (U+0130 -> "i\u0307") and U+03A3's final-sigma context.
void to_lower(std::u32string_view in, std::u32string& out);
// Python unicodedata.normalize("NFC", ...) of Unicode 14.0.0.
void nfc(std::u32string_view in, std::u32string& out);
// Python str.strip() (whitespace = str.isspace).
std::u32string_view strip(std::u32string_view text);

}  // namespace wsdol::tok
