// unicode_tables.cpp — holds the generated tables (unicode_tables.inc, written by gen_unicode_tables.py) and hands
// them out as spans. No logic here.
#include "tokenizer/unicode_data.h"

namespace wsdol::tok::data {
namespace {
#include "tokenizer/unicode_tables.inc"
}  // namespace

std::span<const CodeRange> letter_ranges() { return kLetterRanges; }
std::span<const CodeRange> number_ranges() { return kNumberRanges; }
std::span<const CodeRange> regex_space_ranges() { return kRegexSpaceRanges; }
std::span<const CodeRange> pattern_dropped_ranges() { return kPatternDropped; }
std::span<const CodeRange> py_space_ranges() { return kPySpaceRanges; }
std::span<const CodeRange> py_decimal_ranges() { return kPyDecimalRanges; }
std::span<const CodeRange> py_word_ranges() { return kPyWordRanges; }
std::span<const CodeRange> case_ignorable_ranges() { return kCaseIgnorableRanges; }
std::span<const CodeRange> cased_ranges() { return kCasedRanges; }
std::span<const LiteralFold> literal_folds() { return kLiteralFolds; }
std::span<const CaseMapping> lower_mappings() { return kLowerMappings; }
std::span<const Decomposition> decompositions() { return kDecompositions; }
std::span<const CombiningClass> combining_classes() { return kCombiningClasses; }
std::span<const char32_t> composition_exclusions() { return kCompositionExclusions; }
std::span<const Charmap> charmaps() { return kCharmaps; }
std::span<const CharMask> ftfy_masks() { return kFtfyMasks; }
std::span<const CaseMapping> ligatures() { return kLigatures; }
std::span<const CaseMapping> width_map() { return kWidthMap; }
std::span<const CodeRange> removed_controls() { return kRemovedControls; }
std::span<const Entity> html5_entities() { return kHtml5Entities; }
std::span<const Entity> ftfy_upper_entities() { return kFtfyUpperEntities; }

}  // namespace wsdol::tok::data
