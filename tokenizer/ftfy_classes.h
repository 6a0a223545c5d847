// ftfy_classes.h — bit layout of ftfy_mask(cp) (unicode.h): the character categories of ftfy 6.3.1's badness
// heuristic (ftfy/badness.py MOJIBAKE_CATEGORIES) and its UTF-8 clue classes (ftfy/chardata.py UTF8_CLUES).
// The sets themselves are generated from ftfy by gen_unicode_tables.py (the bit order is the order there).
#pragma once
#include <cstdint>

namespace wsdol::tok::ftfy_class {

enum : uint32_t {
    kC1 = 1u << 0,              // U+0080..U+009F
    kBad = 1u << 1,             // characters nearly only seen in mojibake
    kCommon = 1u << 2,          // NBSP, soft hyphen, middle dot, dashes, ellipsis, ...
    kLaw = 1u << 3,             // pilcrow, section
    kCurrency = 1u << 4,
    kStartPunct = 1u << 5,
    kEndPunct = 1u << 6,
    kNumeric = 1u << 7,
    kKaomoji = 1u << 8,
    kUpperAccented = 1u << 9,
    kLowerAccented = 1u << 10,
    kUpperCommon = 1u << 11,
    kLowerCommon = 1u << 12,
    kBox = 1u << 13,
    kFirstOf2 = 1u << 16,       // decodes to a UTF-8 2-byte lead (0xC2..0xDF) in some single-byte encoding
    kFirstOf3 = 1u << 17,       // ... 3-byte lead (0xE0..0xEF)
    kFirstOf4 = 1u << 18,       // ... 4-byte lead (0xF0, 0xF3)
    kContinuation = 1u << 19,   // ... continuation byte (0x80..0xBF), space included (a lost 0xA0)
    kContinuationStrict = 1u << 20,  // continuation characters that rarely stand for themselves
};

}  // namespace wsdol::tok::ftfy_class
