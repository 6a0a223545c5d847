// bpe_train.cpp — BPE vocabulary training (see bpe_train.h for the rules). Pair counts are kept incrementally:
// merging a pair only revisits the distinct words that contain it, and a lazy max-heap (stale entries skipped
// on pop) finds the next pair.
#include "tokenizer/bpe_train.h"

#include <algorithm>
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

    // 1. Word counts.
    std::unordered_map<std::string, int64_t> counts;
    std::u32string cleaned;
    std::string word;
    size_t pos = 0;
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
    }
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

    std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::vector<int32_t>> words(sorted.size());
    std::vector<int64_t> freq(sorted.size());
    for (size_t w = 0; w < sorted.size(); ++w) {
        const std::string& s = sorted[w].first;
        freq[w] = sorted[w].second;
        for (size_t k = 0; k < s.size(); ++k)
            words[w].push_back(k + 1 == s.size() ? byte_symbol_end[uint8_t(s[k])] : byte_symbol[uint8_t(s[k])]);
    }

    // 3. Pair counts and where each pair occurs.
    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;  // may hold stale / repeated entries
    for (size_t w = 0; w < words.size(); ++w)
        for (size_t k = 0; k + 1 < words[w].size(); ++k) {
            const uint64_t key = pair_key(words[w][k], words[w][k + 1]);
            pair_count[key] += freq[w];
            pair_words[key].push_back(static_cast<int32_t>(w));
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

    // 4. Merge loop.
    std::vector<int32_t> merged;
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

        std::vector<int32_t> where = std::move(pair_words[key]);
        pair_words.erase(key);
        std::sort(where.begin(), where.end());
        where.erase(std::unique(where.begin(), where.end()), where.end());
        for (int32_t w : where) {
            std::vector<int32_t>& s = words[w];
            bool present = false;
            for (size_t k = 0; k + 1 < s.size(); ++k)
                if (s[k] == top.a && s[k + 1] == top.b) present = true;
            if (!present) continue;
            for (size_t k = 0; k + 1 < s.size(); ++k) {
                const uint64_t pk = pair_key(s[k], s[k + 1]);
                pair_count[pk] -= freq[w];
                if (pair_count[pk] == 0)
                    pair_count.erase(pk);
                else
                    heap.push({pair_count[pk], s[k], s[k + 1]});
            }
            merged.clear();
            for (size_t k = 0; k < s.size();) {
                if (k + 1 < s.size() && s[k] == top.a && s[k + 1] == top.b) {
                    merged.push_back(c);
                    k += 2;
                } else {
                    merged.push_back(s[k++]);
                }
            }
            s = merged;
            for (size_t k = 0; k + 1 < s.size(); ++k) {
                const uint64_t pk = pair_key(s[k], s[k + 1]);
                const int64_t n = pair_count[pk] += freq[w];
                heap.push({n, s[k], s[k + 1]});
                pair_words[pk].push_back(w);
            }
        }
    }
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
