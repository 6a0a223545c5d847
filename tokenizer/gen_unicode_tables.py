#!/usr/bin/env python3
"""gen_unicode_tables.py — writes tokenizer/unicode_tables.inc, the Unicode and ftfy data of the CLIP tokenizer.

Run by hand (never by the build):   python3 tokenizer/gen_unicode_tables.py > tokenizer/unicode_tables.inc

Every table is DERIVED FROM THE REFERENCE ITSELF, so the C++ port sees characters exactly as the reference
pipeline (openai/CLIP simple_tokenizer.py + ftfy 6.3.1 + html + regex, CPython 3.11) does:
  * pre-tokenizer classes \\p{L}, \\p{N}, \\s: by asking the `regex` module, with the IGNORECASE flag the CLIP
    pattern is compiled with, about every code point (regex carries its own, newer Unicode database; under
    IGNORECASE U+0345 matches none of the classes and is dropped like whitespace);
  * the letters that match the pattern's literals under IGNORECASE ('s' also matches U+017F LONG S);
  * str.isspace (str.strip), re's \\d and \\w (ftfy's terminal-escape and badness regexes): by asking `re`;
  * str.lower: the full lowercase of every code point (SpecialCasing included, e.g. U+0130 -> i + U+0307) and
    the Cased / Case_Ignorable properties that drive the final-sigma rule, recovered by probing str.lower on
    'X' + SIGMA contexts (Python does not expose them directly);
  * NFC: unicodedata canonical decompositions, combining classes and the composition exclusions (the
    two-character decompositions whose composite NFC does not restore);
  * ftfy: the byte tables of its ten single-byte encodings (latin-1, sloppy-windows-125x, iso-8859-2, macroman,
    cp437), the character sets of its badness heuristic and UTF-8 clue classes, the ligature and width maps;
  * html.entities.html5 (Python's html.unescape) and ftfy's extra upper-case entity names.
The C++ side (tokenizer/unicode.cpp, tokenizer/ftfy*.cpp) implements the algorithms; this file is data only.
"""
import codecs
import html
import html.entities
import re
import sys
import unicodedata

import ftfy
import ftfy.bad_codecs  # registers the sloppy-* codecs
import ftfy.badness
import ftfy.chardata
import regex

MAX_CP = 0x110000
SIGMA = "\u03a3"


def chars():
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates never reach the tokenizer (UTF-8 input, see unicode.h)
        yield cp, chr(cp)


def ranges(cps):
    """Sorted code points -> [(first, last)] runs."""
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def emit_ranges(name, comment, rs):
    print(f"// {comment} ({len(rs)} ranges)")
    print(f"static const CodeRange {name}[] = {{")
    line = "   "
    for a, b in rs:
        item = f" {{0x{a:X}, 0x{b:X}}},"
        if len(line) + len(item) > 118:
            print(line)
            line = "   "
        line += item
    print(line)
    print("};")
    print()


def emit_wrapped(items):
    line = "   "
    for item in items:
        if len(line) + len(item) > 118:
            print(line)
            line = "   "
        line += item
    print(line)


def cps_literal(s, width=3):
    v = [f"0x{ord(c):X}" for c in s] + ["0"] * (width - len(s))
    assert len(v) == width, s
    return ", ".join(v)


def main():
    I = regex.IGNORECASE
    p_letter = regex.compile(r"[\p{L}]", I)
    p_number = regex.compile(r"[\p{N}]", I)
    p_space = regex.compile(r"\s", I)
    p_space_plain = regex.compile(r"\s")
    p_other = regex.compile(r"[^\s\p{L}\p{N}]", I)
    re_digit = re.compile(r"\d")
    re_word = re.compile(r"\w")

    letter, number, rspace, pyspace, pydecimal, pyword = [], [], [], [], [], []
    ignorable, cased = [], []
    dropped = []
    lower_exc = []
    for cp, c in chars():
        l = bool(p_letter.fullmatch(c))
        n = bool(p_number.fullmatch(c))
        s = bool(p_space.fullmatch(c))
        assert s == bool(p_space_plain.fullmatch(c)), hex(cp)  # whitespace_clean's \s has no flag
        o = bool(p_other.fullmatch(c))
        assert not (l and n) and not (l and s) and not (n and s), hex(cp)
        if not (l or n or s or o):
            dropped.append(cp)
        else:
            assert o == (not (l or n or s)), hex(cp)
        if l: letter.append(cp)
        if n: number.append(cp)
        if s: rspace.append(cp)
        if c.isspace(): pyspace.append(cp)
        if re_digit.fullmatch(c): pydecimal.append(cp)
        if re_word.fullmatch(c): pyword.append(cp)
        # Final sigma probes: 'c' + SIGMA lowers to final sigma iff c is Cased and not Case_Ignorable;
        # 'A' + SIGMA + c + 'B' lowers to final sigma iff c is neither (then c ends the word).
        # An ignorable character is always skipped, so its Cased bit never matters.
        p2 = (c + SIGMA).lower()[-1] == "\u03c2"
        p4 = ("A" + SIGMA + c + "B").lower()[1] == "\u03c2"
        if p2: cased.append(cp)
        if not p2 and not p4: ignorable.append(cp)
        if cp != 0x3A3 and c.lower() != c:
            lower_exc.append((cp, c.lower()))
    assert dropped == [0x345], dropped  # documented in tokenizer/unicode.h; a new regex version may add more

    # Literals of the CLIP pattern under IGNORECASE.
    literal_sets = {}
    for ch in sorted(set("<|startoftext|><|endoftext|>'s't're've'm'll'd")):
        m = [cp for cp, c in chars() if regex.fullmatch(regex.escape(ch), c, I)]
        literal_sets[ch] = m

    # NFC data.
    decomp = []
    ccc = []
    exclusions = []
    for cp, c in chars():
        k = unicodedata.combining(c)
        if k:
            ccc.append((cp, k))
        d = unicodedata.decomposition(c)
        if d and not d.startswith("<"):
            parts = [int(x, 16) for x in d.split()]
            assert 1 <= len(parts) <= 2
            decomp.append((cp, parts))
            if len(parts) == 2 and unicodedata.normalize("NFC", c) != c:
                exclusions.append(cp)

    # ftfy single-byte encodings: decode table for bytes 0x80..0xFF and the character of byte 0x1A.
    encodings = ftfy.chardata.CHARMAP_ENCODINGS
    enc_tables = []
    for e in encodings:
        dec = bytes(range(256)).decode(e)
        for b in range(0x80):
            assert b == 0x1A or dec[b] == chr(b), (e, b)
        hi = [ord(ch) for ch in dec[0x80:]]
        assert len(set(hi)) == 128, e  # injective, so encoding is the inverse table
        enc_tables.append((e, ord(dec[0x1A]), hi))
        # the character set ftfy's possible_encoding accepts must be exactly what the table encodes
        for cp in list(range(0x100)) + hi + [0xFFFD]:
            c = chr(cp)
            ok = ftfy.chardata.possible_encoding(c, e)
            assert ok == (cp in hi or (cp < 0x80 and cp != 0x1A) or cp == ord(dec[0x1A])), (e, hex(cp))

    # ftfy badness categories and UTF-8 clue classes, as bit masks.
    cat_names = ["c1", "bad", "common", "law", "currency", "start_punctuation", "end_punctuation", "numeric",
                 "kaomoji", "upper_accented", "lower_accented", "upper_common", "lower_common", "box"]
    clue_names = ["utf8_first_of_2", "utf8_first_of_3", "utf8_first_of_4", "utf8_continuation",
                  "utf8_continuation_strict"]
    masks = {}
    for bit, name in enumerate(cat_names):
        pat = re.compile("[" + ftfy.badness.MOJIBAKE_CATEGORIES[name] + "]")
        for cp in range(0x10000):
            if pat.fullmatch(chr(cp)):
                masks[cp] = masks.get(cp, 0) | (1 << bit)
    for j, name in enumerate(clue_names):
        pat = re.compile("[" + ftfy.chardata.UTF8_CLUES[name] + "]")
        for cp in range(0x10000):
            if pat.fullmatch(chr(cp)):
                masks[cp] = masks.get(cp, 0) | (1 << (16 + j))
    for cp in range(0x10000, MAX_CP):
        for name in cat_names:
            assert not re.fullmatch("[" + ftfy.badness.MOJIBAKE_CATEGORIES[name] + "]", chr(cp))

    ligatures = sorted(ftfy.chardata.LIGATURES.items())
    width = sorted(ftfy.chardata.WIDTH_MAP.items())
    control = sorted(ftfy.chardata.CONTROL_CHARS.keys())

    html5 = sorted(html.entities.html5.items())
    ftfy_extra = sorted((k[1:], v) for k, v in ftfy.chardata.HTML_ENTITIES.items()
                        if k[1:] not in html.entities.html5)
    for k, v in ftfy.chardata.HTML_ENTITIES.items():
        assert k.startswith("&") and k.endswith(";")
        if k[1:] in html.entities.html5:
            assert html.entities.html5[k[1:]] == v

    # ---------------------------------------------------------------- output
    print("// unicode_tables.inc — GENERATED by tokenizer/gen_unicode_tables.py; do not edit by hand.")
    print("//")
    print(f"// Python {sys.version.split()[0]}: unicodedata {unicodedata.unidata_version} (str.lower, NFC, str.isspace, re \\d \\w);")
    print(f"// regex {regex.__version__} (its own Unicode database; \\p{{L}}, \\p{{N}}, \\s of the CLIP pattern);")
    print(f"// ftfy {ftfy.__version__} (encodings, badness categories, UTF-8 clues, ligatures, width map, entities);")
    print("// html.entities.html5 of the same Python. Included once, by tokenizer/unicode_tables.cpp.")
    print()
    emit_ranges("kLetterRanges", "regex [\\p{L}] under IGNORECASE", ranges(letter))
    emit_ranges("kNumberRanges", "regex [\\p{N}] under IGNORECASE", ranges(number))
    emit_ranges("kRegexSpaceRanges", "regex \\s (White_Space)", ranges(rspace))
    emit_ranges("kPySpaceRanges", "Python str.isspace (str.strip, re \\s)", ranges(pyspace))
    emit_ranges("kPyDecimalRanges", "Python re \\d (str.isdecimal)", ranges(pydecimal))
    emit_ranges("kPyWordRanges", "Python re \\w (str.isalnum or '_')", ranges(pyword))
    emit_ranges("kCaseIgnorableRanges", "Case_Ignorable as str.lower sees it", ranges(ignorable))
    emit_ranges("kCasedRanges", "Cased as str.lower sees it (only meaningful where not Case_Ignorable)", ranges(cased))

    print("// Matched by none of [\\p{L}], [\\p{N}], \\s, [^\\s\\p{L}\\p{N}] under IGNORECASE: skipped like whitespace")
    print("static const CodeRange kPatternDropped[] = {")
    emit_wrapped([f" {{0x{a:X}, 0x{b:X}}}," for a, b in ranges(dropped)])
    print("};")
    print()
    print("// Characters that match each literal of the CLIP pattern under IGNORECASE (0-terminated).")
    print("static const LiteralFold kLiteralFolds[] = {")
    for ch, m in literal_sets.items():
        vals = ", ".join(f"0x{x:X}" for x in m) + ", 0"
        print(f"    {{0x{ord(ch):X}, {{{vals}}}}},")
    print("};")
    print()

    print(f"// str.lower of every code point whose lowercase differs (U+03A3 excluded: context rule) ({len(lower_exc)})")
    print("static const CaseMapping kLowerMappings[] = {")
    for cp, s in lower_exc:
        print(f"    {{0x{cp:X}, {{{cps_literal(s)}}}}},")
    print("};")
    print()

    print(f"// Canonical decompositions, one level (apply recursively) ({len(decomp)})")
    print("static const Decomposition kDecompositions[] = {")
    for cp, parts in decomp:
        p = parts + [0] * (2 - len(parts))
        print(f"    {{0x{cp:X}, 0x{p[0]:X}, 0x{p[1]:X}}},")
    print("};")
    print()
    print(f"// Canonical combining classes, non-zero only ({len(ccc)})")
    print("static const CombiningClass kCombiningClasses[] = {")
    line = "   "
    for cp, k in ccc:
        item = f" {{0x{cp:X}, {k}}},"
        if len(line) + len(item) > 118:
            print(line)
            line = "   "
        line += item
    print(line)
    print("};")
    print()
    print("// Two-character canonical decompositions that NFC does not recompose (composition exclusions)")
    print("static const char32_t kCompositionExclusions[] = {")
    emit_wrapped([f" 0x{cp:X}," for cp in exclusions])
    print("};")
    print()

    print("// ftfy single-byte encodings, in the order fix_encoding tries them: byte 0x1A's character and the")
    print("// characters of bytes 0x80..0xFF (bytes 0x00..0x7F other than 0x1A are ASCII in all of them).")
    print(f"static constexpr int kNumCharmaps = {len(enc_tables)};")
    print("static const Charmap kCharmaps[] = {")
    for e, sub, hi in enc_tables:
        print(f"    {{\"{e}\", 0x{sub:X}, {{")
        for r in range(0, 128, 12):
            print("        " + " ".join(f"0x{x:X}," for x in hi[r:r + 12]))
        print("    }},")
    print("};")
    print()

    print("// ftfy badness categories (bits 0..13) and UTF-8 clue classes (bits 16..20) of BMP characters")
    print("static const CharMask kFtfyMasks[] = {")
    line = "   "
    for cp in sorted(masks):
        item = f" {{0x{cp:X}, 0x{masks[cp]:X}}},"
        if len(line) + len(item) > 118:
            print(line)
            line = "   "
        line += item
    print(line)
    print("};")
    print()

    print("// ftfy fix_latin_ligatures")
    print("static const CaseMapping kLigatures[] = {")
    for cp, s in ligatures:
        print(f"    {{0x{cp:X}, {{{cps_literal(s)}}}}},")
    print("};")
    print("// ftfy fix_character_width (U+3000 and the NFKC forms of U+FF01..U+FFEF)")
    print("static const CaseMapping kWidthMap[] = {")
    for cp, s in width:
        print(f"    {{0x{cp:X}, {{{cps_literal(s)}}}}},")
    print("};")
    print("// ftfy remove_control_chars")
    print("static const CodeRange kRemovedControls[] = {")
    emit_wrapped([f" {{0x{a:X}, 0x{b:X}}}," for a, b in ranges(control)])
    print("};")
    print()

    def esc(name):
        return name.replace("\\", "\\\\").replace('"', '\\"')

    print(f"// html.entities.html5: name (with ';' when the name has one) -> 1 or 2 code points (3 for upper-cased ffi/ffl) ({len(html5)})")
    print("static const Entity kHtml5Entities[] = {")
    for k, v in html5:
        print(f"    {{\"{esc(k)}\", {{{cps_literal(v)}}}}},")
    print("};")
    print(f"// ftfy's extra upper-case entity names (HTML_ENTITIES minus html5) ({len(ftfy_extra)})")
    print("static const Entity kFtfyUpperEntities[] = {")
    for k, v in ftfy_extra:
        print(f"    {{\"{esc(k)}\", {{{cps_literal(v)}}}}},")
    print("};")


if __name__ == "__main__":
    main()
