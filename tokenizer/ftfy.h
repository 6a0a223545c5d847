// ftfy.h — a C++ port of ftfy 6.3.1's fix_text with its default configuration: the first cleaning step of the
// CLIP tokenizer (openai/CLIP basic_clean). Written from reading ftfy's source; no code copied.
//
// fix_text processes the text in segments (each ending after a '\n', none longer than 1,000,000 code points)
// and repeats on each segment, until nothing changes, the pass:
//   unescape_html ("auto": off for this and all later segments once a segment contains a literal '<'),
//   fix_encoding (mojibake repair, ftfy_encoding.cpp), fix_c1_controls, fix_latin_ligatures,
//   fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates (a no-op here: decoded UTF-8 holds no
//   surrogates), remove_terminal_escapes, remove_control_chars, NFC.
#pragma once
#include <string>
#include <string_view>

namespace wsdol::tok {

// ftfy.fix_text(text).
void fix_text(std::u32string_view text, std::u32string& out);
std::u32string fix_text(std::u32string_view text);

// ftfy.fix_encoding(text): repeated single steps of mojibake repair until the text stops changing.
std::u32string fix_encoding(std::u32string_view text);
// ftfy.badness.is_bad(text): does the text contain a character sequence that looks like mojibake?
bool is_bad(std::u32string_view text);

}  // namespace wsdol::tok
