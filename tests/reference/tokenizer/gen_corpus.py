#!/usr/bin/env python3
"""gen_corpus.py — the tokenizer agreement corpus and its expected token ids (seeded, run by hand).

    python3 tests/reference/tokenizer/gen_corpus.py        # writes the files next to this script

Writes, next to this script:
  corpus.txt      one input per line (raw bytes, '\\n'-separated; a few lines are deliberately invalid UTF-8)
  expected.txt    per line the reference row: 49406 ... 49407, truncated to 77 with 49407 last (no padding)
  cleaned.jsonl   per line the text the pre-tokenizer sees (JSON string), for diagnosing mismatches
  multiline.jsonl inputs that contain '\\n' (ftfy's per-line rules), as JSON objects {"text", "ids"}
  unicode.jsonl   random strings with Python's NFC and str.lower of them: {"text", "nfc", "lower"}

Reference: openai/CLIP clip/simple_tokenizer.py, loaded by path (the `clip` package itself needs
pkg_resources), with ftfy 6.3.1, regex, CPython 3.11; the row is clip.tokenize(text, truncate=True) without
padding. Invalid UTF-8 lines are given to the reference as bytes.decode("utf-8", errors="replace"), the
behaviour the C++ tokenizer documents for them.
"""
import importlib.util
import json
import os
import random
import sys
import unicodedata

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-*)

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))
REF = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip/simple_tokenizer.py"
VOCAB = os.path.join(HERE, "../../../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz")


def load_reference():
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.SimpleTokenizer(bpe_path=VOCAB)


R = random.Random(SEED)

NOUNS = ("cat dog bird car truck airplane boat horse sheep cow elephant bear zebra giraffe person bicycle "
         "motorcycle bus train traffic light fire hydrant stop sign bench umbrella handbag tie suitcase frisbee "
         "skis snowboard kite bottle cup fork knife spoon bowl banana apple sandwich orange broccoli carrot pizza "
         "donut cake chair couch bed table toilet laptop mouse remote keyboard phone microwave oven toaster sink "
         "refrigerator book clock vase scissors teddy toothbrush tench goldfish shark hen ostrich frog turtle "
         "lizard snake spider scorpion peacock flamingo pelican penguin whale seal hound terrier retriever "
         "spaniel husky poodle wolf fox lion tiger cheetah leopard jaguar lynx panda koala kangaroo").split()
ADJ = ("small large red blue green yellow black white old new wet dry fluffy shiny rusty wooden metal glass "
       "blurry bright dark cute tiny huge striped spotted furry smooth rough broken vintage modern").split()
TEMPLATES = [
    "a photo of a {a} {n}.", "a photo of the {n}", "A PHOTO OF A {N}", "an image of {a} {n}s",
    "a bad photo of a {n}.", "a cropped photo of the {n}.", "a close-up photo of a {a} {n}.",
    "a rendering of a {n}.", "art of the {n}.", "a {n} in the wild", "itap of a {n}.",
    "a black and white photo of the {a} {n}.", "a sculpture of a {n}.", "a tattoo of the {n}.",
    "{N} sitting on a {n2}", "there is a {a} {n} next to the {n2}!", "is that a {n}???",
    "The {n}'s {n2} isn't {a}, it's {a2}.", "two {n}s and a {n2}; one {a}, one {a2}",
    "{a}-{n} #{n2} @{n}", "\"{n}\" vs. '{n2}'", "({a} {n}) [{n2}] {{{a2}}}", "{n}/{n2}\\{a}",
]
WORDS = ("the of and to in is was he for it with as his on be at by had are but from or have an they which one "
         "you were all we her she there would their will when who him been has more if no out so said what up "
         "its about than into them can only other time new some could these two may first then do any like my "
         "now over such our man me even most made after also did many before must through back years where much "
         "your way well down should because each just those people how too little state good very make world "
         "still own see men work long get here between both life being under never day same another know while "
         "last might us great old year off come since against go came right used take three").split()

ACCENTED = ("café naïve résumé façade déjà vu crème brûlée piñata jalapeño São Paulo Zürich Straße Größe "
            "Übermut Ärger Öl señor año niño coração ação não português Kraków łódź żółć gęślą jaźń Dvořák "
            "Škoda čeština příliš žluťoučký kůň İstanbul ıslak Şişli çiçek göğüs Ελλάδα ΟΔΟΣ Σίσυφος ΣΟΦΟΣ "
            "Tiếng Việt Hà Nội phở bánh mì Ærøskøbing Ålesund smørrebrød Þórsmörk Reykjavík fjörður "
            "Ḿ ǅemal ǈubljana Ǌegoš ĳsselmeer Ĳssel ŉ ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ ẞ ß ΐ ΰ ǰ ẖ ẗ ẘ ẙ ẚ ﬓ ﬔ ﬕ ﬖ ﬗ").split()
SCRIPTS = [
    "東京タワー", "日本語のテキスト", "漢字とひらがなとカタカナ", "北京欢迎你", "中文字符测试", "我爱自然语言处理",
    "한국어", "안녕하세요 세계", "서울특별시", "ᄒᆞᆫ글", "ㄱㄴㄷㄹ", "ไทย", "ภาษาไทย สวัสดีครับ",
    "हिन्दी", "नमस्ते दुनिया", "संस्कृतम्", "العربية", "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "עברית", "שָׁלוֹם",
    "русский язык", "Привет, МИР!", "ЁЖИК В ТУМАНЕ", "українська мова", "ქართული", "Հայերեն", "ελληνικά",
    "ΑΒΓΔ ΟΔΥΣΣΕΥΣ", "ΣΑΣ ΣΑΣ. Σ", "ἈΛΦΑ ὈΔΥΣΣΕΎΣ", "ᾼ ῌ ῼ ᾈ", "አማርኛ", "தமிழ்", "ಕನ್ನಡ", "తెలుగు",
    "മലയാളം", "বাংলা", "ਪੰਜਾਬੀ", "ગુજરાતી", "ଓଡ଼ିଆ", "සිංහල", "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာ", "བོད་ཡིག",
    "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ", "ᐃᓄᒃᑎᑐᑦ", "𐌰𐌱𐌲", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐎𝐋𝐃 𝑖𝑡𝑎𝑙𝑖𝑐", "Ⓐⓑⓒ ⓐⓑⓒ", "ǅǈǋǲ", "ᾈᾉ",
]
EMOJI = ["🐶", "🐱", "🐶🐱", "👍", "👍🏽", "👍🏿", "👨‍👩‍👧", "👩‍💻", "🏳️‍🌈", "❤️", "❤", "☺️", "🇫🇷", "🇯🇵🇺🇸",
         "1️⃣", "#️⃣", "🤷‍♀️", "🧑🏾‍🚀", "😀😃😄", "🎉🎊", "🔥", "💯", "✨", "🙏🏼", "👋🏻", "🫠", "🥹", "🪿", "©️", "™️"]
QUOTES = ["‘", "’", "“", "”", "‚", "„", "‛", "‟", "ʼ", "′", "″", "«", "»", "‹", "›", "`", "´"]
ENTITIES_NAMED = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;", "&eacute;", "&Eacute;", "&EACUTE;",
                  "&copy;", "&copy", "&amp", "&lt", "&gt", "&reg", "&eacutex", "&hellip;", "&mdash;", "&ndash;",
                  "&rsquo;", "&lsquo;", "&ldquo;", "&rdquo;", "&trade;", "&euro;", "&pound;", "&yen;", "&sect;",
                  "&para;", "&micro;", "&deg;", "&plusmn;", "&frac12;", "&sup2;", "&times;", "&divide;",
                  "&alpha;", "&Omega;", "&Sigma;", "&hearts;", "&check;", "&checkmark;", "&Jscr;", "&HilbertSpace;",
                  "&NTILDE;", "&nTILDE;", "&SZLIG;", "&AElig;", "&aelig;", "&AELIG;", "&fflig;", "&FFLIG;",
                  "&ffilig;", "&FFILIG;", "&NewLine;", "&Tab;", "&zwj;", "&zwnj;", "&shy;", "&notin;", "&not",
                  "&noti", "&notit;", "&ampamp;", "&amp;amp;", "&amp;amp;amp;", "&amp;lt;", "&amp;#39;",
                  "&unknownentity;", "&;", "&", "& ", "&&", "&#;", "&#x;", "&bogus", "&AMP;", "&LT;", "&Amp;",
                  "&acE;", "&NotEqualTilde;", "&nGt;", "&fjlig;", "&ThickSpace;", "&bne;", "&lesg;"]
ENTITIES_NUMERIC = ["&#0;", "&#1;", "&#9;", "&#10;", "&#11;", "&#12;", "&#13;", "&#27;", "&#31;", "&#32;",
                    "&#39;", "&#65;", "&#x41;", "&#X41;", "&#x41", "&#65", "&#8217;", "&#x2019;", "&#x27;",
                    "&#127;", "&#128;", "&#x80;", "&#129;", "&#x8d;", "&#133;", "&#145;", "&#146;", "&#150;",
                    "&#151;", "&#153;", "&#157;", "&#159;", "&#160;", "&#173;", "&#xD800;", "&#xDFFF;", "&#55296;",
                    "&#x10FFFF;", "&#x110000;", "&#1114112;", "&#99999999999999999999;", "&#xFFFE;", "&#xFFFF;",
                    "&#x1FFFE;", "&#xFDD0;", "&#xFDEF;", "&#x1F600;", "&#128512;", "&#x00e9;", "&#233;",
                    "&#x0301;", "&#769;", "&#xFEFF;", "&#x200B;", "&#x3000;", "&#x2028;", "&#x85;", "&#65a;",
                    "&#x41g;", "&#xZZ;", "&#12345678901234567890123;", "&#0065;", "&#x0000041;"]
CONTROLS = [chr(c) for c in list(range(0, 9)) + [0x0B, 0x0C, 0x0D] + list(range(0x0E, 0x20)) + [0x7F]]
C1 = [chr(c) for c in range(0x80, 0xA0)]
WHITESPACE = ["\t", "\x0b", "\x0c", "\r", "\r\n"[0], " ", "\x85", "\xa0", "\u1680", "\u2000", "\u2001", "\u2002",
              "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u3000", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\x1c",
              "\x1d", "\x1e", "\x1f", "\u00ad"]
DIGITS = ["0", "7", "12345", "3.14", "1,000,000", "½", "¼", "¾", "²", "³", "¹", "Ⅷ", "ⅻ", "Ⅻ", "Ⅸ", "٣", "٤٥",
          "३४", "৩", "๓", "௫", "３", "１２３", "⑩", "⒈", "㊿", "𝟙𝟚", "൰", "፲", "〇", "一二三", "x²+y²", "H₂O",
          "10³", "⅓", "↉", "Ⅰ", "ⅰ", "𐄇", "🄁", "¹²³"]


def pick(seq):
    return R.choice(seq)


def caption():
    t = pick(TEMPLATES)
    n, n2, a, a2 = pick(NOUNS), pick(NOUNS), pick(ADJ), pick(ADJ)
    return t.format(n=n, n2=n2, a=a, a2=a2, N=n.upper())


def prose(k=None):
    k = k or R.randint(3, 25)
    words = [pick(WORDS) for _ in range(k)]
    if R.random() < 0.5:
        words[0] = words[0].capitalize()
    s = " ".join(words)
    return s + pick([".", "!", "?", "", "...", " :)", ";"])


def mix(*parts):
    return R.choice([" ", "", "  ", ", "]).join(parts)


def line_accented():
    return " ".join(pick(ACCENTED) for _ in range(R.randint(1, 6))) + pick(["", ".", "!"])


def line_script():
    parts = [pick(SCRIPTS) for _ in range(R.randint(1, 3))]
    if R.random() < 0.4:
        parts.append(caption())
    R.shuffle(parts)
    return pick([" ", "", "・", "、", " - "]).join(parts)


def line_emoji():
    parts = [pick(EMOJI) for _ in range(R.randint(1, 4))]
    if R.random() < 0.6:
        parts.insert(R.randint(0, len(parts)), caption())
    return pick([" ", ""]).join(parts)


def line_entities():
    parts = []
    for _ in range(R.randint(1, 5)):
        r = R.random()
        if r < 0.45:
            parts.append(pick(ENTITIES_NAMED))
        elif r < 0.8:
            parts.append(pick(ENTITIES_NUMERIC))
        else:
            parts.append(pick(NOUNS))
    s = pick(["", " ", "x"]).join(parts)
    r = R.random()
    if r < 0.25:
        s = "<b>" + s + "</b>"
    elif r < 0.4:
        s = s + " a < b"
    elif r < 0.5:
        s = "x > y " + s
    elif r < 0.6:
        s = caption().replace(" ", "&nbsp;", 2) + " " + s
    return s


def mojibake_of(text, how):
    b = text.encode("utf-8")
    if how == "latin-1":
        return b.decode("latin-1")
    if how == "cp1252":
        return b.decode("sloppy-windows-1252")
    if how == "cp1252-replace":  # undefined bytes lost as U+FFFD
        return b.decode("windows-1252", errors="replace")
    if how == "cp1252-nbsp-lost":
        return b.decode("sloppy-windows-1252").replace("\xa0", " ")
    if how in ("cp1251", "cp1250", "cp1253", "cp1254", "cp1257"):
        return b.decode("sloppy-windows-" + how[2:])
    if how == "macroman":
        return b.decode("macroman")
    if how == "cp437":
        return b.decode("cp437")
    if how == "iso-8859-2":
        return b.decode("iso-8859-2")
    if how == "double":
        return mojibake_of(mojibake_of(text, "cp1252"), "cp1252")
    raise ValueError(how)


MOJI_SOURCES = ACCENTED + ["it’s", "“quoted”", "—", "–", "…", "•", "€5", "™", "🐶", "👍🏽", "👨‍👩‍👧", "à la mode",
                           "à", "às vezes", "fácil", "Ελλάδα", "русский", "日本", "한국어", "ไทย", "½", "°C", "×",
                           "¿qué?", "¡hola!", "© 2020", "naïve café", "São Paulo", "Zürich", "x\u00a0y", "ℵ", "→",
                           "Ø", "Ù", "ž", "ſ", "ǅ", "ﬁ", "Ａ", "\u200b", "\u00ad", "Σ"]
MOJI_HOW = ["latin-1", "cp1252", "cp1252", "cp1252", "cp1252-replace", "cp1252-nbsp-lost", "cp1251", "cp1250",
            "cp1253", "cp1254", "cp1257", "macroman", "cp437", "iso-8859-2", "double"]


def line_mojibake():
    how = pick(MOJI_HOW)
    src = [pick(MOJI_SOURCES) for _ in range(R.randint(1, 4))]
    r = R.random()
    try:
        if r < 0.4:  # whole line
            return mojibake_of(" ".join(src), how)
        if r < 0.8:  # partial: some words mojibaked, others clean
            out = []
            for w in src + [pick(NOUNS)]:
                out.append(mojibake_of(w, how) if R.random() < 0.6 else w)
            return " ".join(out)
        # mojibake inside a caption
        c = caption().split(" ")
        c.insert(R.randint(0, len(c)), mojibake_of(pick(src), how))
        return " ".join(c)
    except UnicodeDecodeError:
        return mojibake_of(" ".join(src), "cp1252")


def high_chars():
    """Every character a byte 0x80..0xFF decodes to in ftfy's single-byte encodings (mojibake material)."""
    out = set()
    for e in ["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250", "sloppy-windows-1253",
              "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"]:
        out.update(bytes(range(0x80, 0x100)).decode(e))
    return sorted(out)


HIGH = high_chars()


def line_mojibake_soup():
    """Random mixes of mojibake characters, ASCII and spaces: stresses ftfy's badness rules and encodings."""
    r = R.random()
    if r < 0.5:
        pool = HIGH + list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,?!'") + ["\ufffd", "?", "\xa0"]
        return "".join(pick(pool) for _ in range(R.randint(2, 24)))
    if r < 0.7:  # random bytes that happen to be UTF-8 lead/continuation bytes, read in one encoding
        enc = pick(["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250", "macroman",
                    "cp437", "iso-8859-2", "sloppy-windows-1253"])
        bs = bytearray()
        for _ in range(R.randint(1, 8)):
            k = R.random()
            if k < 0.3:
                bs += bytes([R.randint(0xC2, 0xDF), R.randint(0x80, 0xBF)])
            elif k < 0.55:
                bs += bytes([R.randint(0xE0, 0xEF), R.randint(0x80, 0xBF), R.randint(0x80, 0xBF)])
            elif k < 0.7:
                bs += bytes([0xF0, R.randint(0x90, 0xBF), R.randint(0x80, 0xBF), R.randint(0x80, 0xBF)])
            elif k < 0.85:
                bs += pick([b" ", b"a", b"?", b"\x1a", b"e ", b"\xa0", b"\xed", b"\xc0\x80", b"\xc3 "])
            else:
                bs += bytes([R.randint(0x80, 0xFF)])
        return bs.decode(enc)
    if r < 0.8:  # CESU-8 (surrogate pairs encoded separately) and Java's 0xC0 0x80, read as latin-1 / cp1252
        emo = pick(EMOJI[:10]) + pick(["", " ok", "\x00"])
        b = bytearray()
        for ch in emo:
            if ord(ch) >= 0x10000:
                v = ord(ch) - 0x10000
                for u in (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)):
                    b += chr(u).encode("utf-8", errors="surrogatepass")
            elif ch == "\x00":
                b += b"\xc0\x80"
            else:
                b += ch.encode("utf-8")
        return b.decode(pick(["latin-1", "sloppy-windows-1252"]))
    if r < 0.9:  # lossy: undefined cp1252 bytes lost as U+FFFD or '?'
        t = pick(MOJI_SOURCES) + " " + pick(MOJI_SOURCES)
        b = t.encode("utf-8")
        s = b.decode("windows-1252", errors="replace")
        return s if R.random() < 0.5 else s.replace("\ufffd", "?")
    # a-grave / NBSP-as-space cases around restore_byte_a0
    return pick(["Ã quele", "Ã quela coisa", "Ã quilo", "Ã s vezes", "Ã  la", "fÃ cil", "Ã la", "Ã© Ã ",
                 "Â bientôt", "cafÃ\xa0", "Ã\xa0", "â€ ", "â€ œ", "ð Ÿ˜€", "ðŸ ˜€", "ðŸ˜ ", "Ã", "Â", "Ã ",
                 "x Ã", "Ã  ", " Ã "]) + pick(["", " ok", ".", " " + pick(NOUNS)])


def line_long():
    k = R.randint(60, 140)
    r = R.random()
    if r < 0.3:
        return "a photo of a " + "very " * k + "big cat"
    if r < 0.5:
        return " ".join(caption() for _ in range(R.randint(6, 14)))
    if r < 0.65:
        return pick(["a", "ab", "xyz", "lol", "ha", "🐶", "中", "é", "!", "1"]) * R.randint(40, 400)
    if r < 0.8:
        return prose(k)
    return " ".join(line_script() for _ in range(R.randint(4, 10)))


def line_whitespace():
    parts = caption().split(" ")
    out = parts[0]
    for p in parts[1:]:
        out += "".join(pick(WHITESPACE) for _ in range(R.randint(1, 3))) + p
    if R.random() < 0.5:
        out = pick(WHITESPACE) * R.randint(1, 3) + out
    if R.random() < 0.5:
        out = out + pick(WHITESPACE) * R.randint(1, 3)
    return out


def line_controls():
    c = caption()
    pos = R.randint(0, len(c))
    r = R.random()
    if r < 0.4:
        ins = "".join(pick(CONTROLS) for _ in range(R.randint(1, 3)))
    elif r < 0.6:
        ins = "".join(pick(C1) for _ in range(R.randint(1, 3)))
    elif r < 0.8:
        ins = pick(["\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x1b[", "\x1b[12", "\x1b[٣m", "\x1b[;;H", "\x1bX"])
    else:
        ins = pick(["\ufeff", "\u206a", "\u206f", "\ufff9", "\ufffc", "\ufffd", "\u200e", "\u202e", "\U000e0041"])
    return c[:pos] + ins + c[pos:]


def line_width():
    r = R.random()
    if r < 0.3:
        return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" for ch in caption())
    if r < 0.5:
        return pick(["ｶﾀｶﾅ", "ﾊﾝｶｸ ｶﾀｶﾅ", "Ｕﾀｰﾝ", "ｶﾞｷﾞｸﾞ", "ﾊﾟﾋﾟﾌﾟ", "ￂￃￄ", "ﾡﾢﾣ", "￠￡￢￣￤￥￦", "￨￩￪￫￬￭￮"]) + " " + caption()
    if r < 0.75:
        return mix(caption(), "".join(pick(["ﬁ", "ﬂ", "ﬀ", "ﬃ", "ﬄ", "ﬅ", "ﬆ", "Ĳ", "ĳ", "ŉ", "Ǳ", "ǲ", "ǳ", "Ǆ",
                                                "ǅ", "ǆ", "Ǉ", "ǈ", "ǉ", "Ǌ", "ǋ", "ǌ"]) for _ in range(2)) + "sh")
    q = [pick(QUOTES) for _ in range(4)]
    return f"{q[0]}{pick(NOUNS)}{q[1]} and {q[2]}{pick(NOUNS)}{q[3]} it{pick(QUOTES)}s I{pick(QUOTES)}m"


def line_digits():
    return mix(*[pick(DIGITS) for _ in range(R.randint(1, 5))], pick(NOUNS))


def line_special():
    sp = pick(["<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "<|EndOfText|>", "<|endoftext", "<|endoftext|",
               "<endoftext>", "<start_of_text>", "<|ſtartoftext|>", "<|startoftext|><|endoftext|>", "!!<|endoftext|>",
               "a<|endoftext|>b", "<|endoftext|>'s", "< |endoftext| >", "<<|endoftext|>>", "＜|endoftext|＞"])
    c = caption()
    r = R.random()
    return sp + c if r < 0.3 else c + sp if r < 0.6 else c.replace(" ", " " + sp + " ", 1)


def line_contractions():
    ws = ["it's", "don't", "I'm", "you'll", "he'd", "we've", "they're", "'sup", "''s", "rock'n'roll", "o'clock",
          "'S", "IT'S", "DON'T", "'LL", "'Re", "ʼs", "it`s", "it´s", "'ſ", "'ſup", "'", "''", "'''", "'d'd'd",
          "can't've", "y'all'd've", "'tis", "'twas", "'m'", "rock ' n ' roll"]
    return " ".join(pick(ws) for _ in range(R.randint(1, 6))) + " " + pick(NOUNS)


def random_char(blocks):
    while True:
        lo, hi = pick(blocks)
        c = chr(R.randint(lo, hi))
        if not (0xD800 <= ord(c) <= 0xDFFF) and c != "\n":
            return c


UNI_BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x36F), (0x370, 0x3FF), (0x400, 0x52F), (0x530, 0x58F),
              (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x206F),
              (0x2070, 0x218F), (0x2190, 0x23FF), (0x2460, 0x24FF), (0x2500, 0x27BF), (0x2C00, 0x2DFF),
              (0x3000, 0x30FF), (0x3130, 0x318F), (0x4E00, 0x4E80), (0xA640, 0xA6FF), (0xAC00, 0xAC80),
              (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF),
              (0x10000, 0x1017F), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x20000, 0x20100), (0xE0000, 0xE007F),
              (0x0300, 0x036F), (0x0345, 0x0345), (0x03A3, 0x03A3), (0x0130, 0x0130), (0x1E9E, 0x1E9E),
              (0x1F80, 0x1FAF), (0x10400, 0x1044F), (0x1E900, 0x1E94F), (0x16E40, 0x16E9F), (0x80, 0x9F)]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0323", "\u0302", "\u0303", "\u030c", "\u0345", "\u0307",
             "\u031b", "\u0328", "\u0338", "\u20dd", "\u05b4", "\u0e48", "\u093c", "\u094d", "\u302a", "\u3099"]


def line_random_unicode():
    r = R.random()
    if r < 0.5:
        return "".join(random_char(UNI_BLOCKS) for _ in range(R.randint(1, 20)))
    if r < 0.75:  # decomposed / reorderable sequences (NFC)
        base = pick(["a", "e", "o", "u", "A", "E", "I", "n", "c", "s", "z", "α", "ω", "Ω", "ι", "у", "и", "ᄀ", "가",
                     "ᄒ", "あ", "か", "ㄱ", "e\u0301", "Å", "Å", "K", "\u212b", "\u2126", "ḍ", "q"])
        marks = "".join(pick(COMBINING) for _ in range(R.randint(1, 4)))
        jamo = pick(["", "\u1161", "\u11a8", "\u1161\u11a8", "\u1175\u11c2"])
        return mix(base + jamo + marks, pick(NOUNS))
    if r < 0.9:  # casing edge cases
        w = pick(["ΟΔΟΣ", "ΣΑΣ", "Σ", "ΑΣ.", "ΑΣ'Β", "ΑΣ\u0345", "A\u0345Σ", "ΣΑ", "İ", "İstanbul", "İİ",
                  "ΆΣΣΟΣ", "ΣΣ", "Σ\u0301", "AΣ\u0301B", "aΣ-", "ǅ", "ẞ", "Ω", "K", "Å", "ᾼ", "ᾈ", "ΐ", "Ϊ́",
                  "Ꭰ", "ꭰ", "Ⰰ", "𐐀", "𞤀", "ʼΣ", "ΑΣ\u00ad", "ΑΣ\u200d", "A\u2019Σ"])
        return mix(w, pick(ACCENTED))
    # random printable ASCII soup
    return "".join(chr(R.randint(0x20, 0x7E)) for _ in range(R.randint(1, 60)))


def invalid_utf8_line():
    good = caption().encode("utf-8")
    bad = pick([b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3", b"\xc3\x28", b"\xe2\x82", b"\xe2\x28\xa1", b"\xed\xa0\x80",
                b"\xed\xbf\xbf", b"\xf0\x90\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xfe\xff",
                b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xc1\xbf", b"\xe0\xa0", b"\xc3\xa9\xa9", b"\xef\xbf\xbd"])
    pos = R.randint(0, len(good))
    return good[:pos] + bad + good[pos:]


def multiline_inputs():
    return [
        "x &amp; y\na < b &amp; c\nd &amp; e",
        "a &lt; b\nc &amp;lt; d",
        "line one\r\nline two\rline three",
        "first\n\n\nsecond",
        "it&#8217;s\nx < y it&#8217;s\nit&#8217;s",
        "cafÃ©\ncafÃ© <b>",
        "\n\n",
        "trailing newline\n",
        "Ã\nÃ ",
        "é\u0301\ne\u0301",
        "&lt;\n&lt;",
        "ΣΑΣ\nΣ",
        "<|endoftext|>\nhello",
        "a\u2028b\u2029c\x85d",
        "cafÃ© À\n",
        "text\x1b[31m\nred\x1b[0m",
    ] + [random_multiline() for _ in range(200)]


def random_multiline():
    """Several lines joined by '\\n' (or CR / CRLF / U+2028 / U+0085, which ftfy does not split on)."""
    parts = []
    for _ in range(R.randint(2, 5)):
        parts.append(pick([line_entities, line_mojibake, caption, line_controls, line_whitespace,
                           line_mojibake_soup, line_random_unicode])().replace("\n", " "))
    seps = ["\n", "\n", "\n", "\r\n", "\r", "\u2028", "\x85", "\n\n"]
    return "".join(p + pick(seps) for p in parts[:-1]) + parts[-1]


def unicode_inputs():
    """Strings that stress NFC (marks in random order, jamo, exclusions, singletons) and str.lower (special
    casing, final sigma with case-ignorable characters around it)."""
    nfc_pool = (COMBINING + [chr(c) for c in range(0x300, 0x370)] + [chr(c) for c in range(0x1100, 0x1200)] +
                ["가", "각", "\u0958", "\u2126", "\u212b", "\u0344", "\u0f73", "\u1e9b", "\u0340", "\u0374",
                 "\u2adc", "\U0001d15e", "\u0b47", "\u0b3e", "\u0cc6", "\u0cd5", "\u0cc2", "\u1025", "\u102e",
                 "\u0627", "\u0653", "\u0654", "\u0655", "\u05d0", "\u05b7", "\u05bc", "\u3099", "\u309a"] +
                list("aeiouAEIOUnNcCsSzZyYwWhHtTxX") + ["ω", "Ω", "α", "ι", "υ", "ρ", "ε", "η", "ο", "і", "и", "у"])
    lower_pool = (["Σ", "Σ", "Σ", "Α", "ς", "\u0345", "\u00ad", "'", ".", "\u200d", "\u0301", " ", "İ", "I", "ẞ",
                   "Ω", "K", "Å", "ǅ", "ᾈ", "ᾼ", "Ϊ́", "\u1e9e", "Ꭰ", "ⓐ", "Ⓐ", "\U00010400", "\U0001e900",
                   "\U00016e40", "ʰ", "ᵃ", "\u2160", "\u24b6"] + list("AbCdE"))
    out = []
    for _ in range(400):
        out.append("".join(pick(nfc_pool) for _ in range(R.randint(1, 12))))
    for _ in range(300):
        out.append("".join(pick(lower_pool) for _ in range(R.randint(1, 10))))
    for _ in range(300):
        out.append("".join(random_char(UNI_BLOCKS) for _ in range(R.randint(1, 16))))
    return out


def main():
    mod, tok = load_reference()
    lines = []
    gens = [(caption, 800), (prose, 400), (line_accented, 300), (line_script, 500), (line_emoji, 300),
            (line_entities, 500), (line_mojibake, 700), (line_long, 200), (line_whitespace, 300),
            (line_controls, 300), (line_width, 300), (line_digits, 200), (line_special, 120),
            (line_contractions, 150), (line_random_unicode, 450), (line_mojibake_soup, 1200)]
    for fn, count in gens:
        for _ in range(count):
            s = fn()
            s = s.replace("\n", " ")  # one input per line
            lines.append(s.encode("utf-8", errors="surrogatepass"))
    for _ in range(100):
        lines.append(invalid_utf8_line().replace(b"\n", b" "))
    # Fixed hand-picked lines: the formats.md §1.11 vectors and a few more.
    fixed = ["a photo of a cat.", "", "   ", "Hello, World!", "cafÃ©", "cafe\u0301", "\u0130", "İstanbul ΟΔΟΣ STRASSE ẞ",
             "x &#0; y", "ﬁsh ＬＯＵＤ", "âœ” No problems", "&macr;\\_(ã\x83\x84)_/&macr;", "voilÃ le travail",
             "sÃ³", "schÃ¶n", "Ã la mode", "Ã quel point", "Ã s vezes", "â€œ like this â€\ufffd", "P&EACUTE;REZ",
             "BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;", "(╯°□°)╯︵ ┻━┻", "ГўВЂВ™ text",
             "Ã\xa0 la", "Ã¡", "aÂ ", "ÂÂ", "x Ã© y", "Ø¹Ø±Ø¨ÙŠ", "Ã¢â‚¬Å“", "â€™", "Ã¢â‚¬â„¢"]
    for s in fixed:
        lines.append(s.encode("utf-8"))
    R.shuffle(lines)

    expected, cleaned = [], []
    for b in lines:
        text = b.decode("utf-8", errors="replace")
        ids = tok.encode(text)
        row = [49406] + ids + [49407]
        if len(row) > 77:
            row = row[:77]
            row[-1] = 49407
        expected.append(" ".join(map(str, row)))
        cleaned.append(json.dumps(mod.whitespace_clean(mod.basic_clean(text)).lower()))

    with open(os.path.join(HERE, "corpus.txt"), "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(expected) + "\n")
    with open(os.path.join(HERE, "cleaned.jsonl"), "w") as f:
        f.write("\n".join(cleaned) + "\n")
    with open(os.path.join(HERE, "multiline.jsonl"), "w") as f:
        for s in multiline_inputs():
            f.write(json.dumps({"text": s, "ids": tok.encode(s)}) + "\n")
    with open(os.path.join(HERE, "unicode.jsonl"), "w") as f:
        for s in unicode_inputs():
            f.write(json.dumps({"text": s, "nfc": unicodedata.normalize("NFC", s), "lower": s.lower()}) + "\n")
    print(f"{len(lines)} lines; ftfy {ftfy.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
