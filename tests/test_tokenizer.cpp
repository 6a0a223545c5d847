// test_tokenizer.cpp — the CLIP tokenizer against the test vectors of ../shared/docs/formats.md §1.11 (all of
// them), the vocabulary facts of §1.4/§1.5, rows and truncation (§1.7), decoding (§1.8), and the edge cases the
// spec lists: invalid UTF-8, U+FFFD, very long words, CRLF, '<' across lines, special tokens, round trips.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "error_matchers.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

using wsdol::tok::ClipTokenizer;
using Ids = std::vector<int32_t>;

const std::string kVocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";

ClipTokenizer& tokenizer() {
    static ClipTokenizer t = ClipTokenizer::from_file(kVocab);
    return t;
}

Ids encode(const std::string& s) { return tokenizer().encode(s); }

struct Vector {
    std::string input;
    Ids ids;
};

// formats.md §1.11, in table order. \uXXXX in the table is written as the UTF-8 bytes of that code point.
const std::vector<Vector>& vectors() {
    static const std::vector<Vector> v = {
        {"a photo of a cat.", {320, 1125, 539, 320, 2368, 269}},
        {"a diagram", {320, 22697}},
        {"a dog", {320, 1929}},
        {"a cat", {320, 2368}},
        {"", {}},
        {"   ", {}},
        {"Hello, World!", {3306, 267, 1002, 256}},
        {"A PHOTO OF A DOG", {320, 1125, 539, 320, 1929}},
        {"it's a dog's life; they're sure we've I'm you'll he'd",
         {585, 568, 320, 1929, 568, 970, 282, 889, 982, 1650, 649, 1200, 328, 880, 592, 1342, 797, 1896}},
        {"don't", {847, 713}},
        {"'sup 'll", {568, 705, 1342}},
        {"''s", {8445, 338}},
        {"rock'n'roll o'clock", {2172, 262, 333, 262, 3341, 334, 262, 6716}},
        {"it\xe2\x80\x99s", {585, 568}},
        {"\xe2\x80\x99s", {568}},
        {"caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9", {15304, 1097, 35689, 563, 29106, 7054, 4166}},
        {"cafe\xcc\x81", {15304}},
        {"caf\xc3\x83\xc2\xa9", {15304}},
        {"\xc3\x89""COLE", {3459, 8166}},
        {"Stra\xc3\x9f""e", {1894, 127, 253, 324}},
        {"\xc4\xb0", {328, 16384}},
        {"\xc4\xb0stanbul \xce\x9f\xce\x94\xce\x9f\xce\xa3 STRASSE \xe1\xba\x9e",
         {328, 16384, 11231, 138, 123, 138, 112, 138, 123, 139, 480, 1894, 8938, 127, 509}},
        {"\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc", {48338, 21078, 105, 34941, 2429, 107, 30391}},
        {"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", {15197, 250, 31871, 255, 31625, 368}},
        {"\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
         {29446, 26721, 26090, 19389, 29552, 25751}},
        {"\xe0\xb9\x84\xe0\xb8\x97\xe0\xb8\xa2", {31718, 245, 33091}},
        {"12345", {272, 273, 274, 275, 276}},
        {"3.14 1,000,000", {274, 269, 272, 275, 272, 267, 271, 271, 271, 267, 271, 271, 271}},
        {"\xc2\xbd \xc2\xb2 \xe2\x85\xa7", {33613, 41175, 158, 227, 371}},
        {"x\xc2\xb2+y\xc2\xb2", {343, 41175, 266, 344, 41175}},
        {"\xf0\x9f\x90\xb6\xf0\x9f\x90\xb1", {14466, 22979}},
        {"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", {43722}},
        {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", {25023, 26304, 964, 356}},
        {"hello    world\n\tfoo\r\nbar", {3306, 1002, 23435, 2411}},
        {"tab\tsep\xe3\x80\x80ideographic", {14724, 10434, 1909, 78, 4245}},
        {"a\xe2\x80\x8b""b a\xc2\xa0""b", {320, 9844, 321, 320, 321}},
        {"\xc2\xad", {22618}},
        {std::string("a\0b", 3), {3937}},
        {"&amp; &lt;b&gt; &amp;amp;amp;", {261, 283, 321, 285, 261}},
        {"&amp;lt;", {283}},
        {"x < y &amp; z", {343, 283, 344, 261, 345}},
        {"it&#8217;s", {585, 568}},
        {"a < b it&#8217;s", {320, 283, 321, 585, 728, 503, 338}},
        {"fish &amp chips", {2759, 261, 8855}},
        {"caf&eacute;", {15304}},
        {"&nbsp;x&nbsp;", {343}},
        {"x &#0; y", {343, 39802, 344}},
        {"\xef\xac\x81sh \xef\xbc\xac\xef\xbc\xaf\xef\xbc\xb5\xef\xbc\xa4", {2759, 7464}},
        {"<|startoftext|>hi<|endoftext|>", {49406, 1883, 49407}},
        {"<|ENDOFTEXT|>", {49407}},
        {"HELLO<|endoftext|>world", {3306, 49407, 1002}},
        {"supercalifragilisticexpialidocious", {1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 38466}},
        {std::string(40, 'a'), {23126, 23126, 23126, 23126, 6727, 19336}},
        {"hello_world foo-bar e-mail@x.com #hashtag",
         {3306, 318, 1002, 23435, 268, 2411, 324, 268, 2614, 287, 343, 269, 2464, 258, 9238}},
        {"!!!??? ... --", {11194, 3824, 678, 2432}},
    };
    return v;
}

TEST(Tokenizer, AllSpecTestVectors) {
    size_t ok = 0;
    for (const Vector& v : vectors()) {
        const Ids got = encode(v.input);
        EXPECT_EQ(got, v.ids) << "input: " << v.input;
        ok += got == v.ids;
    }
    std::printf("[ vectors  ] %zu/%zu formats.md §1.11 vectors\n", ok, vectors().size());
}

TEST(Tokenizer, CleanedTextOfSpecVectors) {
    EXPECT_EQ(ClipTokenizer::clean("\xc4\xb0stanbul \xce\x9f\xce\x94\xce\x9f\xce\xa3 STRASSE \xe1\xba\x9e"),
              "i\xcc\x87stanbul \xce\xbf\xce\xb4\xce\xbf\xcf\x82 strasse \xc3\x9f");  // final sigma, İ -> i + U+0307
    EXPECT_EQ(ClipTokenizer::clean("a < b it&#8217;s"), "a < b it\xe2\x80\x99s");  // curly quote survives
    EXPECT_EQ(ClipTokenizer::clean("x &#0; y"), "x \xef\xbf\xbd y");
    EXPECT_EQ(ClipTokenizer::clean("hello    world\n\tfoo\r\nbar"), "hello world foo bar");
    EXPECT_EQ(ClipTokenizer::clean("a\xe2\x80\x8b""b a\xc2\xa0""b"), "a\xe2\x80\x8b""b a b");
    EXPECT_EQ(ClipTokenizer::clean("caf\xc3\x83\xc2\xa9"), "caf\xc3\xa9");
}

TEST(Tokenizer, ByteTableAndVocabularyFacts) {
    ClipTokenizer& t = tokenizer();
    EXPECT_EQ(t.vocab_size(), 49408u);
    EXPECT_EQ(t.num_merges(), 48894u);
    EXPECT_EQ(t.sot(), 49406);
    EXPECT_EQ(t.eot(), 49407);
    EXPECT_EQ(t.token(0), "!");
    EXPECT_EQ(t.token(64), "a");
    EXPECT_EQ(t.token(255), "\xc5\x83");  // 'Ń' U+0143 stands for byte 0xAD
    EXPECT_EQ(t.token(256), "!</w>");
    EXPECT_EQ(t.token(512), "in");
    EXPECT_EQ(t.token(513), "th");
    EXPECT_EQ(t.token(49405), "jekyll</w>");
    EXPECT_EQ(t.token(49406), "<|startoftext|>");
    EXPECT_EQ(t.token(49407), "<|endoftext|>");
    EXPECT_EQ(t.id_of("ï¿½</w>"), 39802);
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0x00), U'\u0100');
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0x0A), U'\u010A');
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0x20), U'\u0120');
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0x7F), U'\u0121');
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0xA0), U'\u0142');
    EXPECT_EQ(wsdol::tok::byte_to_unicode(0xAD), U'\u0143');
    EXPECT_EQ(wsdol::tok::byte_to_unicode('a'), U'a');
    const uint8_t* order = wsdol::tok::byte_vocab_order();
    EXPECT_EQ(order[0], '!');
    EXPECT_EQ(order[93], '~');
    EXPECT_EQ(order[94], 0xA1);
    EXPECT_EQ(order[188], 0x00);
    EXPECT_EQ(order[255], 0xAD);
}

TEST(Tokenizer, RowsTruncationAndPadding) {
    ClipTokenizer& t = tokenizer();
    // formats.md §1.7: 88 ids with sot/eot; the truncated row keeps eot last.
    std::string text = "a photo of a ";
    for (int i = 0; i < 80; ++i) text += "very ";
    text += "big cat";
    EXPECT_EQ(t.encode(text).size(), 86u);
    const Ids row = t.encode_row(text);
    ASSERT_EQ(row.size(), 77u);
    EXPECT_EQ(Ids(row.begin(), row.begin() + 8), (Ids{49406, 320, 1125, 539, 320, 1070, 1070, 1070}));
    EXPECT_EQ(Ids(row.end() - 4, row.end()), (Ids{1070, 1070, 1070, 49407}));
    wsdol::test::expect_error([&] { t.encode_row(text, 77, /*truncate=*/false); }, {"too long", "77"});

    // Empty text: [sot, eot] (+ 75 zeros when padded).
    EXPECT_EQ(t.encode_row(""), (Ids{49406, 49407}));
    const Ids padded = t.encode_row("   ", 77, true, true);
    ASSERT_EQ(padded.size(), 77u);
    EXPECT_EQ(padded[0], 49406);
    EXPECT_EQ(padded[1], 49407);
    for (size_t i = 2; i < 77; ++i) EXPECT_EQ(padded[i], 0);

    // Exactly 75 content tokens: no truncation; 76: truncated, the 76th is lost.
    std::string t75, t76;
    for (int i = 0; i < 75; ++i) t75 += "1";
    t76 = t75 + "2";
    const Ids r75 = t.encode_row(t75, 77, /*truncate=*/false);
    ASSERT_EQ(r75.size(), 77u);
    EXPECT_EQ(r75[75], 272);
    EXPECT_EQ(r75[76], 49407);
    wsdol::test::expect_error([&] { t.encode_row(t76, 77, false); }, {"too long"});
    const Ids r76 = t.encode_row(t76);
    ASSERT_EQ(r76.size(), 77u);
    EXPECT_EQ(r76[75], 272);
    EXPECT_EQ(r76[76], 49407);

    // A literal <|endoftext|> stays where it is; the row still ends in eot.
    EXPECT_EQ(t.encode_row("a<|endoftext|>b"), (Ids{49406, 320, 49407, 321, 49407}));
    // Other context lengths (clip.tokenize semantics: keep the first N, then eot last).
    EXPECT_EQ(t.encode_row("a photo of a cat", 4), (Ids{49406, 320, 1125, 49407}));
    EXPECT_EQ(t.encode_row("a photo", 1), (Ids{49407}));
    wsdol::test::expect_error([&] { t.encode_row("a", 0); }, {"context length", "0"});
}

TEST(Tokenizer, DecodeAndRoundTrip) {
    ClipTokenizer& t = tokenizer();
    const Ids ids{49406, 320, 1125, 539, 320, 2368, 269, 49407};
    EXPECT_EQ(t.decode(ids), "<|startoftext|>a photo of a cat . <|endoftext|>");
    // decode(encode(x)) = the cleaned text's pre-tokens, each followed by a space.
    for (const std::string& s : {std::string("Hello, World!"), std::string("caf\xc3\xa9 na\xc3\xafve"),
                                 std::string("\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc \xf0\x9f\x90\xb6"),
                                 std::string("it's 3.14!!"), std::string("\xc4\xb0stanbul")}) {
        std::u32string cleaned;
        ClipTokenizer::clean(s, cleaned);
        std::string want;
        for (const auto& p : t.pre_tokenize(cleaned))
            want += wsdol::tok::encode_utf8(std::u32string_view(cleaned).substr(p.begin, p.end - p.begin)) + " ";
        EXPECT_EQ(t.decode(t.encode(s)), want) << s;
    }
    // A partial UTF-8 sequence decodes with U+FFFD (errors="replace"): 'é' is one token 'Ã©'; its first byte
    // alone is the byte symbol of 0xC3.
    const int32_t c3 = t.id_of("\xc3\x83");
    ASSERT_GE(c3, 0);
    EXPECT_EQ(t.decode(Ids{c3}), "\xef\xbf\xbd");
    wsdol::test::expect_error([&] { t.decode(Ids{49408}); }, {"cannot decode id 49408"});
    wsdol::test::expect_error([&] { t.decode(Ids{-1}); }, {"cannot decode id -1"});
}

TEST(Tokenizer, InvalidUtf8IsReplacedLikePython) {
    // bytes.decode("utf-8", errors="replace"): one U+FFFD per maximal invalid subpart.
    using wsdol::tok::decode_utf8;
    EXPECT_EQ(decode_utf8("a\x80""b"), U"a\uFFFDb");
    EXPECT_EQ(decode_utf8("\xe2\x82"), U"\uFFFD");             // truncated 3-byte sequence: one
    EXPECT_EQ(decode_utf8("\xe2\x28\xa1"), U"\uFFFD(\uFFFD");  // bad continuation
    EXPECT_EQ(decode_utf8("\xed\xa0\x80"), U"\uFFFD\uFFFD\uFFFD");  // encoded surrogate: ED not followed by A0
    EXPECT_EQ(decode_utf8("\xf0\x80\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");  // overlong
    EXPECT_EQ(decode_utf8("\xf4\x90\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
    EXPECT_EQ(decode_utf8("\xc0\xaf"), U"\uFFFD\uFFFD");
    EXPECT_EQ(decode_utf8("\xf0\x9f\x90"), U"\uFFFD");
    EXPECT_EQ(decode_utf8("\xf0\x9f\x90\xb6"), U"\U0001F436");
    // Through the tokenizer: same ids as the text with U+FFFD typed in.
    EXPECT_EQ(encode("x \xff y"), encode("x \xef\xbf\xbd y"));
    EXPECT_EQ(encode("x \xff y"), (Ids{343, 39802, 344}));
    EXPECT_EQ(encode("\xef\xbf\xbd"), (Ids{39802}));
}

TEST(Tokenizer, FtfyPerLineHtmlRule) {
    // The line with '<' switches ftfy's entity decoding off for itself and all later lines; html.unescape
    // (after ftfy) still decodes every line, but its output is not uncurled.
    EXPECT_EQ(ClipTokenizer::clean("it&#8217;s\nx < y it&#8217;s\nit&#8217;s"),
              "it's x < y it\xe2\x80\x99s it\xe2\x80\x99s");
    EXPECT_EQ(ClipTokenizer::clean("line one\r\nline two\rline three"), "line one line two line three");
    EXPECT_EQ(encode("a\r\nb"), encode("a b"));
}

TEST(Tokenizer, SpecialTokensInText) {
    EXPECT_EQ(encode("<|startoftext|>"), (Ids{49406}));
    EXPECT_EQ(encode("<|EndOfText|>"), (Ids{49407}));
    // open_clip's names are plain text here.
    EXPECT_EQ(encode("<end_of_text>"), (Ids{283, 806, 318, 539, 318, 4160, 285}));
    // Matched by the pattern's special alternative (IGNORECASE: U+017F long s matches 's'), but not the exact
    // special string, so it is BPE-encoded like any pre-token (as the reference does).
    EXPECT_EQ(encode("<|\xc5\xbftartoftext|>"), (Ids{27, 91, 129, 123, 2002, 6659, 18169, 91, 285}));
    // A run of punctuation swallows the '<': no special token.
    EXPECT_EQ(encode("!!<|endoftext|>"), (Ids{1443, 27, 347, 40786, 4160, 91, 285}));
}

TEST(Tokenizer, VeryLongInputsAreFast) {
    ClipTokenizer& t = tokenizer();
    const auto start = std::chrono::steady_clock::now();
    // 1 MB without spaces: one pre-token of a million letters (full BPE, O(n log n)).
    const std::string word(1 << 20, 'a');
    const Ids ids = t.encode(word);
    EXPECT_EQ(Ids(ids.begin(), ids.begin() + 3), (Ids{23126, 23126, 23126}));
    // A row stops after the context.
    std::string many;
    for (int i = 0; i < 200000; ++i) many += "cat ";
    EXPECT_EQ(t.encode_row(many).size(), 77u);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(s, 10.0);
    // 200 x 'a' -> 26 tokens (formats.md §1.6).
    EXPECT_EQ(t.encode(std::string(200, 'a')).size(), 26u);
}

TEST(Tokenizer, HeapBpeEqualsReferenceLoop) {
    // Words long enough to exercise many merge rounds; the two BPE implementations must agree exactly.
    ClipTokenizer& t = tokenizer();
    const std::vector<std::string> words = {
        "supercalifragilisticexpialidocious", std::string(97, 'a'), "aaabaaabaaab", "abababababababababab",
        "ðŁĺ¶", "thethethethethe", "inininininininininininininininin", "antidisestablishmentarianism",
        "photographphotographphotograph", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    for (const std::string& w : words) {
        t.set_always_heap_bpe(false);
        const Ids linear = t.bpe(w);
        t.set_always_heap_bpe(true);
        const Ids heap = t.bpe(w);
        EXPECT_EQ(linear, heap) << w;
    }
    t.set_always_heap_bpe(false);
}

TEST(Tokenizer, NfcAndLowercase) {
    using wsdol::tok::nfc;
    using wsdol::tok::to_lower;
    std::u32string out;
    nfc(U"e\u0301", out);
    EXPECT_EQ(out, U"\u00e9");
    nfc(U"\u1100\u1161\u11a8", out);  // Hangul L V T -> one syllable
    EXPECT_EQ(out, U"\uac01");
    nfc(U"a\u0323\u0302", out);  // canonical reordering then composition
    EXPECT_EQ(out, U"\u1ead");
    nfc(U"\u0958", out);  // composition exclusion stays decomposed
    EXPECT_EQ(out, U"\u0915\u093c");
    nfc(U"\u212b", out);  // ANGSTROM SIGN -> Å
    EXPECT_EQ(out, U"\u00c5");
    to_lower(U"\u0130", out);
    EXPECT_EQ(out, U"i\u0307");
    to_lower(U"\u03a3\u0391\u03a3 \u03a3", out);  // final sigma only at a word end after a cased letter
    EXPECT_EQ(out, U"\u03c3\u03b1\u03c2 \u03c3");
    to_lower(U"A\u03a3\u00ad", out);  // soft hyphen is case-ignorable: still final
    EXPECT_EQ(out, U"a\u03c2\u00ad");
    to_lower(U"\u1e9e\u2126K", out);
    EXPECT_EQ(out, U"\u00df\u03c9k");
}

TEST(Tokenizer, BadVocabFilesAreErrors) {
    wsdol::test::expect_error([] { ClipTokenizer::from_file("/nonexistent/vocab.txt.gz"); },
                              {"cannot open", "/nonexistent/vocab.txt.gz"});
    wsdol::test::expect_error([] { ClipTokenizer::from_merges("#version: 0.2\n", 10, "v.txt"); },
                              {"v.txt", "no merges"});
    wsdol::test::expect_error([] { ClipTokenizer::from_merges("#version: 0.2\ni n\nabc\n", 10, "v.txt"); },
                              {"v.txt", "line 3", "two symbols"});
    wsdol::test::expect_error([] { ClipTokenizer::from_merges("#version: 0.2\ni n\n\xe2\x82\xac x\n", 10, "v.txt"); },
                              {"v.txt", "byte symbols"});
    // A file with fewer merges than asked uses all of them.
    ClipTokenizer small = ClipTokenizer::from_merges("#version: 0.2\ni n\nt h\nin g</w>\n", 48894, "small");
    EXPECT_EQ(small.num_merges(), 3u);
    EXPECT_EQ(small.vocab_size(), 517u);
    EXPECT_EQ(small.sot(), 515);
    EXPECT_EQ(small.eot(), 516);
    EXPECT_EQ(small.encode("thing"), (Ids{513, 514}));  // "th", "ing</w>"
}

}  // namespace

namespace {

TEST(Tokenizer, EncodeRowsIsIdenticalForAnyThreadCount) {
    ClipTokenizer& t = tokenizer();
    std::vector<std::string> texts;
    for (const Vector& v : vectors()) texts.push_back(v.input);
    for (int i = 0; i < 300; ++i) texts.push_back("a photo of " + std::to_string(i) + " caf\xc3\x83\xc2\xa9s &amp; dogs");
    std::vector<Ids> want;
    for (const std::string& s : texts) want.push_back(t.encode_row(s, 77, true, true));
    for (int threads : {1, 2, 3}) EXPECT_EQ(t.encode_rows(texts, 77, true, true, threads), want) << threads;
    std::string long_text;
    for (int i = 0; i < 100; ++i) long_text += "word ";
    wsdol::test::expect_error([&] { t.encode_rows({"short", long_text}, 77, false, false, 2); }, {"too long"});
}

}  // namespace
