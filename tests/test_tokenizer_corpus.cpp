// test_tokenizer_corpus.cpp — 100% agreement of the C++ CLIP tokenizer with the reference (openai/CLIP
// simple_tokenizer.py + ftfy 6.3.1) on the generated corpus tests/reference/tokenizer/ (gen_corpus.py, seeded):
// every row SOT..EOT truncated to 77, the cleaned text, the multi-line inputs, and the same rows through the CLI.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/json.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

using wsdol::tok::ClipTokenizer;

const std::string kDir = WSDOL_SOURCE_DIR "/tests/reference/tokenizer/";
const std::string kVocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";

ClipTokenizer& tokenizer() {
    static ClipTokenizer t = ClipTokenizer::from_file(kVocab);
    return t;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(f, line)) lines.push_back(line);
    return lines;
}

std::string join(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s.push_back(' ');
        s += std::to_string(ids[i]);
    }
    return s;
}

std::string escaped(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

TEST(TokenizerCorpus, AllRowsMatchTheReference) {
    const auto corpus = read_lines(kDir + "corpus.txt");
    const auto expected = read_lines(kDir + "expected.txt");
    const auto cleaned = read_lines(kDir + "cleaned.jsonl");
    ASSERT_EQ(corpus.size(), expected.size());
    ASSERT_EQ(corpus.size(), cleaned.size());
    ASSERT_GE(corpus.size(), 5000u);
    size_t ok = 0, shown = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
        const std::string got = join(tokenizer().encode_row(corpus[i]));
        if (got == expected[i]) {
            ++ok;
            continue;
        }
        if (shown++ < 20) {
            const std::string want_clean = wsdol::json::parse(cleaned[i]).as_string();
            ADD_FAILURE() << "line " << i + 1 << ": " << escaped(corpus[i]) << "\n  cleaned  got: "
                          << escaped(ClipTokenizer::clean(corpus[i])) << "\n  cleaned want: " << escaped(want_clean)
                          << "\n  ids got:  " << got << "\n  ids want: " << expected[i];
        }
    }
    std::printf("[ corpus   ] %zu/%zu rows identical to openai/CLIP simple_tokenizer\n", ok, corpus.size());
    EXPECT_EQ(ok, corpus.size());
}

TEST(TokenizerCorpus, CleanedTextMatchesTheReference) {
    const auto corpus = read_lines(kDir + "corpus.txt");
    const auto cleaned = read_lines(kDir + "cleaned.jsonl");
    ASSERT_EQ(corpus.size(), cleaned.size());
    size_t ok = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
        if (ClipTokenizer::clean(corpus[i]) == wsdol::json::parse(cleaned[i]).as_string()) ++ok;
    }
    EXPECT_EQ(ok, corpus.size());
}

TEST(TokenizerCorpus, MultiLineInputsMatchTheReference) {
    const auto lines = read_lines(kDir + "multiline.jsonl");
    ASSERT_GE(lines.size(), 10u);
    for (const std::string& line : lines) {
        const wsdol::json::Value v = wsdol::json::parse(line);
        const std::string& text = v.at("text").as_string();
        std::vector<int32_t> want;
        for (const auto& x : v.at("ids").items()) want.push_back(static_cast<int32_t>(x.as_int64()));
        EXPECT_EQ(join(tokenizer().encode(text)), join(want)) << escaped(text);
    }
}

TEST(TokenizerCorpus, NfcAndLowerMatchPython) {
    // Python's unicodedata.normalize("NFC") and str.lower on 1000 stress strings (unicode.jsonl).
    const auto lines = read_lines(kDir + "unicode.jsonl");
    ASSERT_GE(lines.size(), 1000u);
    size_t ok = 0;
    for (const std::string& line : lines) {
        const wsdol::json::Value v = wsdol::json::parse(line);
        const std::u32string text = wsdol::tok::decode_utf8(v.at("text").as_string());
        std::u32string nfc, lower;
        wsdol::tok::nfc(text, nfc);
        wsdol::tok::to_lower(text, lower);
        const bool good = wsdol::tok::encode_utf8(nfc) == v.at("nfc").as_string() &&
                          wsdol::tok::encode_utf8(lower) == v.at("lower").as_string();
        EXPECT_TRUE(good) << escaped(v.at("text").as_string());
        ok += good;
    }
    std::printf("[ unicode  ] %zu/%zu NFC + lower() strings identical to Python 3.11\n", ok, lines.size());
}

TEST(TokenizerCorpus, CommandLineMatchesTheReference) {
    const std::string out = testing::TempDir() + "wsdol_tokenize_corpus.out";
    const std::string cmd = std::string(WSDOL_BINARY) + " tokenize --vocab " + kVocab + " < " + kDir +
                            "corpus.txt > " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto got = read_lines(out);
    const auto expected = read_lines(kDir + "expected.txt");
    ASSERT_EQ(got.size(), expected.size());
    size_t ok = 0;
    for (size_t i = 0; i < got.size(); ++i) ok += got[i] == expected[i];
    std::printf("[ corpus   ] wsdol tokenize: %zu/%zu rows identical\n", ok, got.size());
    EXPECT_EQ(ok, got.size());
    std::remove(out.c_str());
}

}  // namespace
