// bpe_train.h — learning a new CLIP-style BPE vocabulary from a UTF-8 text corpus, written in the same file
// format as bpe_simple_vocab_16e6.txt(.gz) (a header line, then one merge "left right" per line), so that
// ClipTokenizer::from_file loads it. Used by `wsdol tokenize --train` (e.g. a tiny vocabulary for the synthetic
// demo's captions).
//
// Pipeline: each corpus line is cleaned and pre-tokenized exactly as the tokenizer does (ftfy, html.unescape,
// whitespace, lower-case, the CLIP pattern; typed special tokens are skipped); each pre-token's bytes become the
// 256 byte symbols with "</w>" on the last one; then, until the vocabulary is full, the most frequent adjacent
// pair (counted over all word occurrences) is merged everywhere, left to right without overlaps (the rule the
// encoder applies).
// Ties: the pair with the highest count wins; among equal counts, the pair whose left symbol is smallest in
// byte order of its vocabulary string, then the smallest right symbol. Training stops early (fewer merges than
// asked) when no pair occurs at least min_pair_count times. The result is deterministic: the same corpus and
// options give the same file on any machine.
// Cost: time and memory near-linear in the corpus size. Each distinct word is a linked list of symbols; every
// pair keeps the positions where it occurs, so a merge touches only its own occurrences and their two
// neighbours (O(1) count updates each), and a lazy max-heap picks the next pair (O(log) per changed pair).
// A single 200,000-character word costs what a corpus of 200,000 characters costs.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsdol::tok {

struct BpeTrainOptions {
    size_t vocab_size = 1024;    // 256 bytes + 256 bytes with </w> + merges + 2 specials; at least 515
    size_t min_pair_count = 2;   // pairs seen fewer times are not merged
    // Called now and then (and once at the end of each phase) with the phase ("reading" in corpus bytes,
    // "merging" in merges), the amount done and the total; may be empty.
    std::function<void(const char* phase, size_t done, size_t total)> progress;
};

struct BpeTrainResult {
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    size_t words = 0;         // distinct pre-tokens in the corpus
    size_t occurrences = 0;   // pre-token occurrences
    std::string file_text() const;  // header line + merges, '\n'-terminated
};

// corpus: UTF-8 text, one caption / document per line ('\n').
BpeTrainResult train_bpe(std::string_view corpus, const BpeTrainOptions& options);

// Writes result.file_text() to path, gzip-wrapped when the path ends in ".gz". Throws wsdol::Error.
void write_bpe_file(const BpeTrainResult& result, const std::string& path);

}  // namespace wsdol::tok
