// bpe_train.cpp — BPE vocabulary training (see bpe_train.h for the rules and the cost). Pair counts are kept
// incrementally over linked symbol lists: merging a pair visits only the positions where it occurs, and a lazy
// max-heap (stale entries skipped on pop) finds the next pair.
#include "tokenizer/bpe_train.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <fstream>
#include <queue>
#include <unordered_map>

#include "engine/core/error.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/gzip.h"
#include "tokenizer/unicode.h"

namespace wsdol::tok {
namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

// The pre-tokens of a line, exactly as the encoder sees them. Pre-tokenization needs no vocabulary, but it is a
// member of ClipTokenizer (special-token ids); a minimal tokenizer with a one-merge vocabulary provides it.
const ClipTokenizer& pre_tokenizer() {
    static const ClipTokenizer t = ClipTokenizer::from_merges("#version: 0.2\ni n\n", 1, "pre-tokenizer");
    return t;
}

}  // namespace

std::string BpeTrainResult::file_text() const {
    std::string out = "#version: 0.2 (wsdol tokenize --train: " + std::to_string(merges.size()) + " merges)\n";
    for (const auto& [a, b] : merges) out += a + " " + b + "\n";
    return out;
}

BpeTrainResult train_bpe(std::string_view corpus, const BpeTrainOptions& options) {
    WSDOL_CHECK(options.vocab_size >= 515, "bpe train: vocab size ", options.vocab_size,
                " is too small (512 byte symbols + 2 special tokens + at least 1 merge = 515)");
    WSDOL_CHECK(options.min_pair_count >= 1, "bpe train: min pair count must be at least 1");
    const size_t target_merges = options.vocab_size - 514;
    BpeTrainResult result;
    auto report = [&](const char* phase, size_t done, size_t total) {
        if (options.progress) options.progress(phase, done, total);
    };

    // 1. Word counts.
    std::unordered_map<std::string, int64_t> counts;
    std::u32string cleaned;
    std::string word;
    size_t pos = 0, next_report = 0;
    while (pos < corpus.size()) {
        size_t end = corpus.find('\n', pos);
        if (end == std::string_view::npos) end = corpus.size();
        ClipTokenizer::clean(corpus.substr(pos, end - pos), cleaned);
        for (const PreToken& p : pre_tokenizer().pre_tokenize(cleaned)) {
            if (p.special >= 0) continue;
            word.clear();
            for (size_t k = p.begin; k < p.end; ++k) append_utf8(cleaned[k], word);
            ++counts[word];
            ++result.occurrences;
        }
        pos = end + 1;
        if (pos >= next_report) {
            report("reading", std::min(pos, corpus.size()), corpus.size());
            next_report = pos + (1u << 20);
        }
    }
    report("reading", corpus.size(), corpus.size());
    result.words = counts.size();

    // 2. Symbols: ids 0..511 are the byte symbols and byte symbols + "</w>" (vocabulary order); new symbols get
    // the next ids. Words in a fixed order (sorted) so that nothing depends on hash-map iteration.
    std::vector<std::string> symbol;  // id -> vocabulary string
    std::unordered_map<std::string, int32_t> symbol_id;
    const uint8_t* order = byte_vocab_order();
    int32_t byte_symbol[256], byte_symbol_end[256];
    for (int k = 0; k < 256; ++k) {
        std::string s;
        append_utf8(byte_to_unicode(order[k]), s);
        symbol.push_back(s);
        byte_symbol[order[k]] = k;
    }
    for (int k = 0; k < 256; ++k) {
        symbol.push_back(symbol[k] + "</w>");
        byte_symbol_end[order[k]] = 256 + k;
    }
    for (size_t id = 0; id < symbol.size(); ++id) symbol_id[symbol[id]] = static_cast<int32_t>(id);

    // Every symbol of every distinct word is a node of one array (words one after another); a node's index never
    // changes, so index order is left-to-right order within a word. A merge keeps the left node (its symbol
    // becomes the merged one) and unlinks the right one (symbol -1).
    std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
    counts = {};
    std::sort(sorted.begin(), sorted.end());
    size_t total_nodes = 0;
    for (const auto& w : sorted) total_nodes += w.first.size();
    WSDOL_CHECK(total_nodes < size_t(INT32_MAX), "bpe train: the corpus has ", total_nodes,
                " bytes in distinct words; at most ", INT32_MAX, " are supported");
    std::vector<int32_t> sym(total_nodes), prev(total_nodes), next(total_nodes);
    std::vector<int64_t> freq(total_nodes);  // the count of the node's word
    {
        size_t n = 0;
        for (const auto& [s, c] : sorted) {
            for (size_t k = 0; k < s.size(); ++k, ++n) {
                sym[n] = k + 1 == s.size() ? byte_symbol_end[uint8_t(s[k])] : byte_symbol[uint8_t(s[k])];
                prev[n] = k == 0 ? -1 : int32_t(n - 1);
                next[n] = k + 1 == s.size() ? -1 : int32_t(n + 1);
                freq[n] = c;
            }
        }
    }
    sorted = {};

    // 3. Pair counts (over word occurrences; overlapping occurrences such as the two (a, a) of "aaa" both count,
    // as a recount of the words would) and the nodes where each pair starts. A position list may hold stale
    // entries (the pair no longer starts there); every current occurrence is in it.
    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::vector<int32_t>> pair_where;
    for (size_t n = 0; n < total_nodes; ++n)
        if (next[n] >= 0) {
            const uint64_t key = pair_key(sym[n], sym[next[n]]);
            pair_count[key] += freq[n];
            pair_where[key].push_back(int32_t(n));
        }

    struct Candidate {
        int64_t count;
        int32_t a, b;
    };
    // "Less" = lower priority: fewer occurrences, or equal occurrences and larger strings.
    auto lower = [&](const Candidate& x, const Candidate& y) {
        if (x.count != y.count) return x.count < y.count;
        if (symbol[x.a] != symbol[y.a]) return symbol[x.a] > symbol[y.a];
        return symbol[x.b] > symbol[y.b];
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> heap(lower);
    for (const auto& [key, c] : pair_count) heap.push({c, int32_t(key >> 32), int32_t(key & 0xFFFFFFFFu)});

    // Count changes of one merge step; the heap gets one entry per changed pair at the end of the step (stale
    // entries are skipped when popped).
    std::vector<uint64_t> changed;
    auto add = [&](int32_t a, int32_t b, int64_t delta, int32_t at) {
        const uint64_t key = pair_key(a, b);
        auto it = pair_count.try_emplace(key, 0).first;
        it->second += delta;
        if (it->second == 0) {
            pair_count.erase(it);
            pair_where.erase(key);  // only stale positions are left
        } else if (delta > 0) {
            pair_where[key].push_back(at);
        }
        changed.push_back(key);
    };

    // 4. Merge loop.
    while (result.merges.size() < target_merges && !heap.empty()) {
        const Candidate top = heap.top();
        heap.pop();
        const uint64_t key = pair_key(top.a, top.b);
        auto it = pair_count.find(key);
        if (it == pair_count.end() || it->second != top.count) continue;  // stale
        if (top.count < int64_t(options.min_pair_count)) break;
        const std::string joined = symbol[top.a] + symbol[top.b];
        int32_t c;
        if (auto s = symbol_id.find(joined); s != symbol_id.end()) {
            c = s->second;
        } else {
            c = static_cast<int32_t>(symbol.size());
            symbol.push_back(joined);
            symbol_id.emplace(joined, c);
        }
        result.merges.emplace_back(symbol[top.a], symbol[top.b]);

        // Left to right without overlaps: in a run "a a a" of the pair (a, a) the first two merge and the third
        // position is then stale. The merged symbol is longer than a and b, so no new (a, b) appears.
        std::vector<int32_t> where = std::move(pair_where[key]);
        pair_where.erase(key);
        std::sort(where.begin(), where.end());
        where.erase(std::unique(where.begin(), where.end()), where.end());
        changed.clear();
        for (const int32_t i : where) {
            if (sym[i] != top.a) continue;
            const int32_t j = next[i];
            if (j < 0 || sym[j] != top.b) continue;
            const int64_t f = freq[i];
            const int32_t p = prev[i], n = next[j];
            if (p >= 0) add(sym[p], top.a, -f, p);
            add(top.a, top.b, -f, i);
            if (n >= 0) add(top.b, sym[n], -f, j);
            sym[i] = c;
            sym[j] = -1;
            next[i] = n;
            if (n >= 0) prev[n] = i;
            if (p >= 0) add(sym[p], c, f, p);
            if (n >= 0) add(c, sym[n], f, i);
        }
        std::sort(changed.begin(), changed.end());
        changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
        for (const uint64_t k : changed)
            if (auto pc = pair_count.find(k); pc != pair_count.end())
                heap.push({pc->second, int32_t(k >> 32), int32_t(k & 0xFFFFFFFFu)});
        if ((result.merges.size() & 255) == 0) report("merging", result.merges.size(), target_merges);
    }
    report("merging", result.merges.size(), target_merges);
    return result;
}

void write_bpe_file(const BpeTrainResult& result, const std::string& path) {
    const std::string text = result.file_text();
    const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    const std::string bytes = gz ? gzip_stored(text) : text;
    std::ofstream f(path, std::ios::binary);
    WSDOL_CHECK(f.good(), "bpe train: cannot create ", path);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    WSDOL_CHECK(f.good(), "bpe train: error writing ", path);
}

}  // namespace wsdol::tok
