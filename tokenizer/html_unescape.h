// html_unescape.h — the two HTML entity decoders of the CLIP cleaning pipeline:
//   * python_html_unescape: Python's html.unescape (applied twice by CLIP's basic_clean, after ftfy);
//   * ftfy_unescape_html:   ftfy 6.3.1's fixes.unescape_html (the first step of each ftfy pass).
#pragma once
#include <string>
#include <string_view>

namespace wsdol::tok {

// Python 3.11 html.unescape. Named references from the full HTML5 table (html.entities.html5), including the
// legacy names accepted without ';' ("&amp", "&copy") and the longest-prefix rule for them ("&ampx" -> "&x");
// decimal and hex references, where 0 and surrogates and values above U+10FFFF give U+FFFD, 0x80..0x9F give
// their windows-1252 characters (0x81, 0x8D, 0x8F, 0x90, 0x9D stay C1 controls), 0x0D gives CR, and the other
// "invalid" code points (most C0/C1 controls, noncharacters) give nothing.
void python_html_unescape(std::u32string_view in, std::u32string& out);

// ftfy's unescape_html: only "&name;" / "&#digits;" / "&#xhex;" with 1..24 ASCII letters or digits and a
// terminating ';' are considered. Names: the HTML5 names that end in ';', plus ftfy's upper-case variants of
// the all-lowercase ones ("&EACUTE;" -> "É") where the upper-case name is not itself an entity. Numeric
// references are decoded with html.unescape, and kept as written when that does not consume the ';'.
void ftfy_unescape_html(std::u32string_view in, std::u32string& out);

}  // namespace wsdol::tok
