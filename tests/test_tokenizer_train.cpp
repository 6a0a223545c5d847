// test_tokenizer_train.cpp — BPE training (tokenizer/bpe_train.h) and the gzip reader/writer (tokenizer/gzip.h):
// a vocabulary trained on captions loads back and round-trips, training is deterministic with the documented
// tie rule, `wsdol tokenize --train` works end to end, and corrupt gzip files are reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "error_matchers.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/gzip.h"
#include "tokenizer/unicode.h"

namespace {

using wsdol::tok::ClipTokenizer;
using Ids = std::vector<int32_t>;

std::string captions(int n) {
    const char* nouns[] = {"cat", "dog", "bird", "car", "tree", "house", "boat", "horse", "person", "chair"};
    const char* adjs[] = {"small", "large", "red", "blue", "green", "old", "new", "striped", "wooden", "shiny"};
    std::string s;
    uint32_t x = 12345;
    auto next = [&] {
        x = x * 1664525u + 1013904223u;
        return (x >> 16) % 10;
    };
    for (int i = 0; i < n; ++i)
        s += std::string("A photo of a ") + adjs[next()] + " " + nouns[next()] + " next to the " + nouns[next()] +
             ".\n";
    return s;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

TEST(TokenizerTrain, TrainedVocabLoadsAndRoundTrips) {
    const std::string corpus = captions(500);
    wsdol::tok::BpeTrainOptions o;
    o.vocab_size = 600;
    const auto r = wsdol::tok::train_bpe(corpus, o);
    EXPECT_EQ(r.occurrences, 500u * 11);  // 10 words and "." per caption
    EXPECT_LE(r.merges.size(), 600u - 514);
    EXPECT_GT(r.merges.size(), 20u);
    for (const std::string& path : {testing::TempDir() + "wsdol_bpe.txt", testing::TempDir() + "wsdol_bpe.txt.gz"}) {
        wsdol::tok::write_bpe_file(r, path);
        ClipTokenizer t = ClipTokenizer::from_file(path);
        EXPECT_EQ(t.num_merges(), r.merges.size());
        EXPECT_EQ(t.vocab_size(), 514 + r.merges.size());
        EXPECT_EQ(t.eot(), static_cast<int32_t>(t.vocab_size()) - 1);
        // Frequent words of the corpus become single tokens.
        for (const char* w : {"photo", "next", "the"}) {
            const Ids ids = t.encode(w);
            EXPECT_EQ(ids.size(), 1u) << w;
            EXPECT_EQ(t.token(ids[0]), std::string(w) + "</w>");
        }
        // decode(encode(x)) = the pre-tokens, each followed by a space; unseen text still encodes (bytes).
        EXPECT_EQ(t.decode(t.encode("A photo of a red cat.")), "a photo of a red cat . ");
        EXPECT_EQ(t.decode(t.encode("Zebra \xf0\x9f\xa6\x93 caf\xc3\xa9")), "zebra \xf0\x9f\xa6\x93 caf\xc3\xa9 ");
        const Ids row = t.encode_row("a photo of a dog", 8, true, true);
        EXPECT_EQ(row.size(), 8u);
        EXPECT_EQ(row.front(), t.sot());
        std::remove(path.c_str());
    }
}

TEST(TokenizerTrain, DeterministicWithTheTieRule) {
    // (a, b</w>) and (c, d</w>) both occur twice: the smaller left symbol ("a") is merged first.
    wsdol::tok::BpeTrainOptions o;
    o.vocab_size = 516;
    const auto r = wsdol::tok::train_bpe("cd ab\ncd ab\n", o);
    ASSERT_EQ(r.merges.size(), 2u);
    EXPECT_EQ(r.merges[0], (std::pair<std::string, std::string>{"a", "b</w>"}));
    EXPECT_EQ(r.merges[1], (std::pair<std::string, std::string>{"c", "d</w>"}));
    // Same corpus, same file; pairs below min_pair_count are not merged.
    const std::string corpus = captions(200);
    o.vocab_size = 700;
    EXPECT_EQ(wsdol::tok::train_bpe(corpus, o).file_text(), wsdol::tok::train_bpe(corpus, o).file_text());
    o.min_pair_count = 1000000;
    EXPECT_EQ(wsdol::tok::train_bpe(corpus, o).merges.size(), 0u);
    // Counting is over occurrences: "aa" twice in one word ("aaaa") merges once per occurrence, no overlaps.
    o.min_pair_count = 2;
    o.vocab_size = 515;
    const auto r2 = wsdol::tok::train_bpe("aaaaa\n", o);
    ASSERT_EQ(r2.merges.size(), 1u);
    EXPECT_EQ(r2.merges[0], (std::pair<std::string, std::string>{"a", "a"}));
}

// A plain reference for the training rule (bpe_train.h), for corpora of ASCII letters and spaces (each letter run
// is one pre-token; a letter's byte symbol is the letter itself): after every merge, all adjacent pairs of all
// words are counted again from scratch.
std::vector<std::pair<std::string, std::string>> reference_bpe(const std::string& corpus, size_t max_merges,
                                                               int64_t min_count) {
    std::map<std::string, int64_t> counts;
    std::string w;
    for (char ch : corpus + "\n") {
        if (ch >= 'a' && ch <= 'z') {
            w.push_back(ch);
        } else if (!w.empty()) {
            ++counts[w];
            w.clear();
        }
    }
    std::vector<std::vector<std::string>> words;
    std::vector<int64_t> freq;
    for (const auto& [s, c] : counts) {
        std::vector<std::string> symbols;
        for (char ch : s) symbols.emplace_back(1, ch);
        symbols.back() += "</w>";
        words.push_back(symbols);
        freq.push_back(c);
    }
    std::vector<std::pair<std::string, std::string>> merges;
    while (merges.size() < max_merges) {
        std::map<std::pair<std::string, std::string>, int64_t> pairs;
        for (size_t i = 0; i < words.size(); ++i)
            for (size_t k = 0; k + 1 < words[i].size(); ++k) pairs[{words[i][k], words[i][k + 1]}] += freq[i];
        const std::pair<std::string, std::string>* best = nullptr;
        int64_t best_count = 0;
        for (const auto& [p, c] : pairs)  // map order: smaller left, then smaller right, wins a tie
            if (c > best_count) best = &p, best_count = c;
        if (!best || best_count < min_count) break;
        const auto [a, b] = *best;
        merges.emplace_back(a, b);
        for (auto& s : words) {
            std::vector<std::string> out;
            for (size_t k = 0; k < s.size();) {
                if (k + 1 < s.size() && s[k] == a && s[k + 1] == b) {
                    out.push_back(a + b);
                    k += 2;
                } else {
                    out.push_back(s[k++]);
                }
            }
            s = out;
        }
    }
    return merges;
}

TEST(TokenizerTrain, EqualsAPlainReferenceOnRandomCorpora) {
    // Small alphabets give long runs of one letter (overlapping pairs), many ties and merged symbols that meet
    // again; some corpora hold one long word.
    uint64_t x = 99;
    auto next = [&](uint64_t n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return (x >> 33) % n;
    };
    for (int trial = 0; trial < 60; ++trial) {
        const int letters = 1 + int(next(4));
        const int max_len = trial % 10 == 9 ? 400 : 1 + int(next(12));
        const int n_words = trial % 10 == 9 ? 1 + int(next(3)) : 1 + int(next(80));
        std::string corpus;
        for (int i = 0; i < n_words; ++i) {
            const int len = 1 + int(next(uint64_t(max_len)));
            for (int k = 0; k < len; ++k) corpus.push_back(char('a' + next(uint64_t(letters))));
            corpus.push_back(next(5) == 0 ? '\n' : ' ');
        }
        wsdol::tok::BpeTrainOptions o;
        o.min_pair_count = 1 + next(3);
        o.vocab_size = 514 + 1 + next(80);
        const auto got = wsdol::tok::train_bpe(corpus, o);
        const auto want = reference_bpe(corpus, o.vocab_size - 514, int64_t(o.min_pair_count));
        ASSERT_EQ(got.merges, want) << "trial " << trial << ", corpus '" << corpus << "'";
    }
}

TEST(TokenizerTrain, ProgressIsReportedPerPhase) {
    wsdol::tok::BpeTrainOptions o;
    o.vocab_size = 600;
    std::vector<std::string> phases;
    size_t last_merges = 0;
    o.progress = [&](const char* phase, size_t done, size_t total) {
        if (phases.empty() || phases.back() != phase) phases.push_back(phase);
        EXPECT_LE(done, total) << phase;
        if (std::string(phase) == "merging") last_merges = done;
    };
    const auto r = wsdol::tok::train_bpe(captions(100), o);
    EXPECT_EQ(phases, (std::vector<std::string>{"reading", "merging"}));
    EXPECT_EQ(last_merges, r.merges.size());
}

TEST(TokenizerTrain, BadOptionsAreErrors) {
    wsdol::tok::BpeTrainOptions o;
    o.vocab_size = 514;
    wsdol::test::expect_error([&] { wsdol::tok::train_bpe("x", o); }, {"vocab size 514", "515"});
}

TEST(TokenizerTrain, CommandLineTrainEncodeDecode) {
    const std::string dir = testing::TempDir();
    const std::string corpus = dir + "wsdol_train_corpus.txt", vocab = dir + "wsdol_train_vocab.txt.gz";
    {
        std::ofstream f(corpus, std::ios::binary);
        f << captions(300);
    }
    const std::string bin = WSDOL_BINARY;
    ASSERT_EQ(std::system((bin + " tokenize --train --vocab-size 560 --out " + vocab + " < " + corpus +
                           " 2>/dev/null").c_str()), 0);
    const std::string ids = dir + "wsdol_train_ids.txt", text = dir + "wsdol_train_text.txt";
    ASSERT_EQ(std::system(("printf 'a photo of a cat\\n' | " + bin + " tokenize --vocab " + vocab + " --context 12 --pad > " +
                           ids).c_str()), 0);
    ASSERT_EQ(std::system((bin + " tokenize --decode --vocab " + vocab + " < " + ids + " > " + text).c_str()), 0);
    ClipTokenizer t = ClipTokenizer::from_file(vocab);
    std::string want_ids;
    for (int32_t id : t.encode_row("a photo of a cat", 12, true, true)) want_ids += std::to_string(id) + " ";
    want_ids.back() = '\n';
    EXPECT_EQ(read_file(ids), want_ids);
    EXPECT_EQ(read_file(text), "<|startoftext|>a photo of a cat <|endoftext|>\n");  // padding dropped
    // Errors: a missing --out, a missing vocab file.
    EXPECT_NE(std::system((bin + " tokenize --train < " + corpus + " 2>/dev/null").c_str()), 0);
    EXPECT_NE(std::system(("echo x | " + bin + " tokenize --vocab /nonexistent.gz 2>/dev/null").c_str()), 0);
    for (const auto& p : {corpus, vocab, ids, text}) std::remove(p.c_str());
}

TEST(TokenizerTrain, CommandLineVocabSearchErrorNamesThePlaces) {
    // A copy of the binary outside the repository, run from '/', finds no vocab and lists where it looked.
    const std::string dir = testing::TempDir() + "wsdol_vocab_search/bin";
    const std::string out = testing::TempDir() + "wsdol_vocab_err.txt";
    ASSERT_EQ(std::system(("mkdir -p " + dir + " && cp " + std::string(WSDOL_BINARY) + " " + dir + "/wsdol").c_str()), 0);
    const std::string cmd = "cd / && echo x | WSDOL_CLIP_VOCAB=/nonexistent/v.gz " + dir + "/wsdol tokenize > /dev/null 2> " + out;
    EXPECT_NE(std::system(cmd.c_str()), 0);
    const std::string err = read_file(out);
    EXPECT_NE(err.find("/nonexistent/v.gz ($WSDOL_CLIP_VOCAB)"), std::string::npos) << err;
    EXPECT_NE(err.find("../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"), std::string::npos) << err;
    EXPECT_NE(err.find("--vocab"), std::string::npos) << err;
    std::remove(out.c_str());
    std::system(("rm -rf " + testing::TempDir() + "wsdol_vocab_search").c_str());
}

TEST(TokenizerGzip, StoredRoundTrip) {
    std::string big;
    for (int i = 0; i < 200000; ++i) big.push_back(static_cast<char>(i * 7 + (i >> 9)));
    for (const std::string& s : {std::string(), std::string("hello\n"), big}) {
        EXPECT_EQ(wsdol::tok::gunzip(wsdol::tok::gzip_stored(s), "test"), s);
    }
}

TEST(TokenizerGzip, TheClipVocabDecompressesToTheDocumentedSize) {
    const std::string z = read_file(WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz");
    ASSERT_EQ(z.size(), 1356917u);
    const std::string text = wsdol::tok::gunzip(z, "vocab");
    EXPECT_EQ(text.size(), 3194984u);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 262145);
    EXPECT_EQ(text.rfind("\"bpe_simple_vocab_16e6.txt#version: 0.2\n", 0), 0u);
}

TEST(TokenizerGzip, CorruptFilesAreErrors) {
    const std::string good = wsdol::tok::gzip_stored("some text");
    std::string bad_crc = good;
    bad_crc[bad_crc.size() - 8] ^= 1;
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(bad_crc, "f.gz"); }, {"f.gz", "CRC-32 mismatch"});
    std::string bad_size = good;
    bad_size[bad_size.size() - 1] ^= 1;
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(bad_size, "f.gz"); }, {"f.gz", "size mismatch"});
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(good.substr(0, 12), "f.gz"); }, {"f.gz", "too short"});
    std::string bad_magic = good;
    bad_magic[0] = 'x';
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(bad_magic, "f.gz"); }, {"f.gz", "not a gzip file"});
    std::string bad_method = good;
    bad_method[2] = 7;
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(bad_method, "f.gz"); }, {"f.gz", "not deflate"});
    std::string bad_block = good;
    bad_block[10] = 0x07;  // BTYPE = 11 (reserved)
    wsdol::test::expect_error([&] { wsdol::tok::gunzip(bad_block, "f.gz"); }, {"f.gz", "corrupt deflate"});
}

}  // namespace
