// clip_tokenizer.cpp — vocabulary loading, cleaning, pre-tokenization, BPE, rows and decoding of the CLIP
// tokenizer (see clip_tokenizer.h for the pipeline and the decisions).
#include "tokenizer/clip_tokenizer.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <queue>

#include <omp.h>

#include "engine/core/error.h"
#include "tokenizer/ftfy.h"
#include "tokenizer/gzip.h"
#include "tokenizer/html_unescape.h"
#include "tokenizer/unicode.h"

namespace wsdol::tok {

// ---------------------------------------------------------------- byte <-> unicode table

namespace {

struct ByteTable {
    char32_t to_unicode[256];
    uint8_t order[256];  // vocabulary id -> byte
    ByteTable() {
        int k = 0;
        auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
        for (int b = 0; b < 256; ++b)
            if (printable(b)) {
                to_unicode[b] = static_cast<char32_t>(b);
                order[k++] = static_cast<uint8_t>(b);
            }
        int extra = 0;
        for (int b = 0; b < 256; ++b)
            if (!printable(b)) {
                to_unicode[b] = static_cast<char32_t>(256 + extra++);
                order[k++] = static_cast<uint8_t>(b);
            }
    }
};

const ByteTable& byte_table() {
    static const ByteTable t;
    return t;
}

// Inverse of the byte table: the byte a symbol code point stands for, or -1.
int unicode_to_byte(char32_t c) {
    if (c < 256) {
        const bool printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE);
        return printable ? static_cast<int>(c) : -1;
    }
    if (c < 256 + 68) return byte_table().order[188 + (c - 256)];
    return -1;
}

const char* const kSotText = "<|startoftext|>";
const char* const kEotText = "<|endoftext|>";

}  // namespace

char32_t byte_to_unicode(uint8_t byte) { return byte_table().to_unicode[byte]; }
const uint8_t* byte_vocab_order() { return byte_table().order; }

// ---------------------------------------------------------------- loading

ClipTokenizer ClipTokenizer::from_file(const std::string& path, size_t max_merges) {
    return from_merges(read_maybe_gzip_file(path), max_merges, path);
}

ClipTokenizer ClipTokenizer::from_merges(std::string_view text, size_t max_merges, const std::string& what) {
    ClipTokenizer t;
    const ByteTable& bt = byte_table();

    // Lines 2.. of the file, at most max_merges of them (Python: text.split('\n')[1 : 1 + max_merges]).
    std::vector<std::pair<std::string, std::string>> merges;
    size_t pos = text.find('\n');
    WSDOL_CHECK(pos != std::string_view::npos || text.empty(), "tokenizer: ", what,
                ": no merges (the file is a single header line)");
    pos = pos == std::string_view::npos ? text.size() : pos + 1;
    size_t line_no = 1;
    while (merges.size() < max_merges && pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        ++line_no;
        pos = end + 1;
        // Symbols never contain ASCII whitespace (space, tab, CR are all byte-mapped), so split on it.
        std::vector<std::string_view> parts;
        size_t k = 0;
        while (k < line.size()) {
            while (k < line.size() && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) ++k;
            const size_t b = k;
            while (k < line.size() && !(line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) ++k;
            if (k > b) parts.push_back(line.substr(b, k - b));
        }
        WSDOL_CHECK(parts.size() == 2, "tokenizer: ", what, ": line ", line_no,
                    " is not a merge (expected two symbols separated by a space, got '", std::string(line), "')");
        merges.emplace_back(std::string(parts[0]), std::string(parts[1]));
    }
    WSDOL_CHECK(!merges.empty(), "tokenizer: ", what, ": no merges after the header line");
    t.num_merges_ = merges.size();

    // Vocabulary in the reference's order; the encoder keeps the LAST id of a repeated string (Python dict).
    for (int k = 0; k < 256; ++k) {
        std::string s;
        append_utf8(bt.to_unicode[bt.order[k]], s);
        t.vocab_.push_back(s);
    }
    for (int k = 0; k < 256; ++k) t.vocab_.push_back(t.vocab_[k] + "</w>");
    for (const auto& m : merges) t.vocab_.push_back(m.first + m.second);
    t.vocab_.push_back(kSotText);
    t.vocab_.push_back(kEotText);
    for (size_t id = 0; id < t.vocab_.size(); ++id) t.encoder_[t.vocab_[id]] = static_cast<int32_t>(id);
    t.sot_ = t.encoder_.at(kSotText);
    t.eot_ = t.encoder_.at(kEotText);

    // The bytes each id stands for (decoding). Every symbol character must be one of the 256 byte symbols.
    t.decoded_.resize(t.vocab_.size());
    for (size_t id = 0; id < t.vocab_.size(); ++id) {
        const std::u32string cps = decode_utf8(t.vocab_[id]);
        std::string& bytes = t.decoded_[id];
        for (char32_t c : cps) {
            const int b = unicode_to_byte(c);
            WSDOL_CHECK(b >= 0, "tokenizer: ", what, ": merge line ", id - 512 + 2, " has a symbol with U+",
                        std::hex, static_cast<uint32_t>(c), std::dec,
                        ", which is not one of the 256 byte symbols (is this a CLIP/GPT-2 style merges file?)");
            bytes.push_back(static_cast<char>(b));
        }
    }
    for (int b = 0; b < 256; ++b) {
        std::string s;
        append_utf8(bt.to_unicode[b], s);
        t.byte_symbol_[b] = t.encoder_.at(s);
        t.byte_symbol_end_[b] = t.encoder_.at(s + "</w>");
    }

    // Merge table (rank, result) keyed by the symbol ids; a repeated pair keeps its LAST rank (Python dict).
    // A pair whose symbols are not in the vocabulary can never occur in a word, so it is left out.
    size_t cap = 16;
    while (cap < 2 * merges.size()) cap <<= 1;
    t.merge_keys_.assign(cap, ~uint64_t(0));
    t.merge_values_.assign(cap, Merge{0, 0});
    t.merge_mask_ = cap - 1;
    t.rank_pair_.assign(merges.size(), {-1, -1});
    for (size_t r = 0; r < merges.size(); ++r) {
        auto a = t.encoder_.find(merges[r].first), b = t.encoder_.find(merges[r].second);
        if (a == t.encoder_.end() || b == t.encoder_.end()) continue;
        const int32_t result = t.encoder_.at(merges[r].first + merges[r].second);
        const uint64_t key = (uint64_t(uint32_t(a->second)) << 32) | uint32_t(b->second);
        uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 20;
        while (true) {
            const size_t slot = h & t.merge_mask_;
            if (t.merge_keys_[slot] == ~uint64_t(0) || t.merge_keys_[slot] == key) {
                t.merge_keys_[slot] = key;
                t.merge_values_[slot] = Merge{static_cast<int32_t>(r), result};
                break;
            }
            ++h;
        }
        t.rank_pair_[r] = {a->second, b->second};
    }
    t.cache_.reserve(1024);
    return t;
}

const std::string& ClipTokenizer::token(int32_t id) const {
    WSDOL_CHECK(id >= 0 && size_t(id) < vocab_.size(), "tokenizer: id ", id, " out of range for a vocabulary of ",
                vocab_.size());
    return vocab_[id];
}

int32_t ClipTokenizer::id_of(std::string_view token) const {
    auto it = encoder_.find(std::string(token));
    return it == encoder_.end() ? -1 : it->second;
}

const ClipTokenizer::Merge* ClipTokenizer::find_merge(int32_t left, int32_t right) const {
    const uint64_t key = (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 20;
    while (true) {
        const size_t slot = h & merge_mask_;
        if (merge_keys_[slot] == key) return &merge_values_[slot];
        if (merge_keys_[slot] == ~uint64_t(0)) return nullptr;
        ++h;
    }
}

// ---------------------------------------------------------------- cleaning

void ClipTokenizer::clean(std::string_view utf8, std::u32string& out) {
    // basic_clean: ftfy.fix_text, html.unescape twice, strip. Plain printable ASCII with tab / LF / FF and no
    // '&' is a fixed point of all of it (nothing for ftfy to change, no entity), so it skips to whitespace_clean.
    bool plain = true;
    for (unsigned char c : utf8)
        if (!((c >= 0x20 && c <= 0x7E && c != '&') || c == '\t' || c == '\n' || c == '\f')) {
            plain = false;
            break;
        }
    std::u32string a, b;
    if (plain) {
        a.assign(utf8.begin(), utf8.end());
    } else {
        decode_utf8(utf8, b);
        fix_text(b, a);
        python_html_unescape(a, b);
        python_html_unescape(b, a);
    }
    // whitespace_clean: every run of regex \s -> ' ', then strip; then lower().
    const std::u32string_view stripped = strip(a);
    b.clear();
    b.reserve(stripped.size());
    bool in_space = false;
    for (char32_t c : stripped) {
        const bool space = c < 0x80 ? (c == ' ' || (c >= '\t' && c <= '\r')) : (props(c) & kRegexSpace) != 0;
        if (space) {
            if (!in_space) b.push_back(' ');
            in_space = true;
        } else {
            b.push_back(c);
            in_space = false;
        }
    }
    to_lower(strip(b), out);
}

std::string ClipTokenizer::clean(std::string_view utf8) {
    std::u32string out;
    clean(utf8, out);
    return encode_utf8(out);
}

// ---------------------------------------------------------------- pre-tokenization

namespace {

// The characters of a literal under IGNORECASE.
bool literal_at(std::u32string_view t, size_t i, const char* lit) {
    for (size_t k = 0; lit[k]; ++k)
        if (i + k >= t.size() || !matches_literal(static_cast<unsigned char>(lit[k]), t[i + k])) return false;
    return true;
}

bool exactly_at(std::u32string_view t, size_t i, const char* lit) {
    for (size_t k = 0; lit[k]; ++k)
        if (i + k >= t.size() || t[i + k] != static_cast<unsigned char>(lit[k])) return false;
    return true;
}

struct AsciiClasses {
    uint16_t p[128];
    AsciiClasses() {
        for (int c = 0; c < 128; ++c) p[c] = props(static_cast<char32_t>(c));
    }
};

inline uint16_t class_of(char32_t c) {
    static const AsciiClasses ascii;
    return c < 128 ? ascii.p[c] : props(c);
}

}  // namespace

std::vector<PreToken> ClipTokenizer::pre_tokenize(std::u32string_view t) const {
    std::vector<PreToken> out;
    const size_t n = t.size();
    size_t i = 0;
    while (i < n) {
        const char32_t c = t[i];
        if (c == '<') {  // <\|startoftext\|>|<\|endoftext\|>
            bool matched = false;
            for (const char* lit : {kSotText, kEotText}) {
                if (literal_at(t, i, lit)) {
                    const size_t len = std::char_traits<char>::length(lit);
                    const int32_t id = exactly_at(t, i, lit) ? (lit == kSotText ? sot_ : eot_) : -1;
                    out.push_back({i, i + len, id});
                    i += len;
                    matched = true;
                    break;
                }
            }
            if (matched) continue;
        }
        if (c == '\'') {  // 's|'t|'re|'ve|'m|'ll|'d
            bool matched = false;
            for (const char* lit : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}) {
                if (literal_at(t, i, lit)) {
                    const size_t len = std::char_traits<char>::length(lit);
                    out.push_back({i, i + len, -1});
                    i += len;
                    matched = true;
                    break;
                }
            }
            if (matched) continue;
        }
        const uint16_t p = class_of(c);
        if (p & kLetter) {  // [\p{L}]+
            size_t j = i + 1;
            while (j < n && (class_of(t[j]) & kLetter)) ++j;
            out.push_back({i, j, -1});
            i = j;
        } else if (p & kNumber) {  // [\p{N}]
            out.push_back({i, i + 1, -1});
            ++i;
        } else if (p & kOther) {  // [^\s\p{L}\p{N}]+
            size_t j = i + 1;
            while (j < n && (class_of(t[j]) & kOther)) ++j;
            out.push_back({i, j, -1});
            i = j;
        } else {
            ++i;  // whitespace, or a character no alternative matches (U+0345): skipped by findall
        }
    }
    return out;
}

// ---------------------------------------------------------------- BPE

// Reference loop, for short words: find the lowest-ranked adjacent pair, rewrite the word in one
// left-to-right pass merging each non-overlapping occurrence of that pair, repeat.
void ClipTokenizer::bpe_linear(std::vector<int32_t>& s) const {
    size_t n = s.size();
    std::vector<int32_t> ranks(n);
    auto rank_at = [&](size_t k) {
        const Merge* m = find_merge(s[k], s[k + 1]);
        return m ? m->rank : INT_MAX;
    };
    for (size_t k = 0; k + 1 < n; ++k) ranks[k] = rank_at(k);
    while (n > 1) {
        int32_t best = INT_MAX;
        for (size_t k = 0; k + 1 < n; ++k) best = std::min(best, ranks[k]);
        if (best == INT_MAX) break;
        const auto [a, b] = rank_pair_[best];
        const int32_t result = find_merge(a, b)->result;
        size_t j = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[j++] = result;
                i += 2;
            } else {
                s[j++] = s[i++];
            }
        }
        n = j;
        for (size_t k = 0; k + 1 < n; ++k) ranks[k] = rank_at(k);
    }
    s.resize(n);
}

// The same result in O(n log n) for long words: a min-heap of (rank, left node) over a linked list of symbols.
// All heap entries of the lowest rank are taken out first and applied in left-to-right order, skipping stale
// ones (a node consumed or changed), which is exactly the reference's single pass for that pair; pairs created
// by the pass carry a different rank (they contain the new, longer symbol) and wait in the heap.
void ClipTokenizer::bpe_heap(std::vector<int32_t>& s) const {
    const size_t n = s.size();
    std::vector<int32_t> prev(n), next(n);
    std::vector<char> alive(n, 1);
    for (size_t k = 0; k < n; ++k) {
        prev[k] = static_cast<int32_t>(k) - 1;
        next[k] = k + 1 < n ? static_cast<int32_t>(k + 1) : -1;
    }
    using Entry = uint64_t;  // rank << 32 | left node
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    auto push = [&](int32_t left) {
        if (left < 0 || next[left] < 0) return;
        if (const Merge* m = find_merge(s[left], s[next[left]])) heap.push((uint64_t(m->rank) << 32) | uint32_t(left));
    };
    for (size_t k = 0; k + 1 < n; ++k) push(static_cast<int32_t>(k));
    std::vector<int32_t> batch;
    while (!heap.empty()) {
        const uint32_t rank = static_cast<uint32_t>(heap.top() >> 32);
        batch.clear();
        while (!heap.empty() && static_cast<uint32_t>(heap.top() >> 32) == rank) {
            batch.push_back(static_cast<int32_t>(heap.top() & 0xFFFFFFFFu));
            heap.pop();
        }
        const auto [a, b] = rank_pair_[rank];
        const int32_t result = find_merge(a, b)->result;
        for (int32_t l : batch) {
            if (!alive[l] || next[l] < 0 || s[l] != a || s[next[l]] != b) continue;
            const int32_t r = next[l];
            s[l] = result;
            alive[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            push(prev[l]);
            push(l);
        }
    }
    std::vector<int32_t> out;
    for (int32_t k = 0; k >= 0; k = next[k]) out.push_back(s[k]);
    s.swap(out);
}

void ClipTokenizer::bpe_ids(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    std::vector<int32_t> s(word.size());
    for (size_t k = 0; k < word.size(); ++k) s[k] = byte_symbol_[static_cast<unsigned char>(word[k])];
    s.back() = byte_symbol_end_[static_cast<unsigned char>(word.back())];  // the last symbol carries "</w>"
    if (s.size() > 1) {
        if (s.size() <= 48 && !always_heap_)
            bpe_linear(s);
        else
            bpe_heap(s);
    }
    out.insert(out.end(), s.begin(), s.end());
}

std::vector<int32_t> ClipTokenizer::bpe(std::string_view word_utf8) const {
    std::vector<int32_t> out;
    bpe_ids(word_utf8, out);
    return out;
}

// ---------------------------------------------------------------- encoding

void ClipTokenizer::encode_cleaned(std::u32string_view cleaned, size_t max_ids, Cache& cache,
                                   std::vector<int32_t>& out) const {
    const std::vector<PreToken> pre = pre_tokenize(cleaned);
    std::string word;
    for (const PreToken& p : pre) {
        if (max_ids && out.size() >= max_ids) break;
        if (p.special >= 0) {
            out.push_back(p.special);
            continue;
        }
        word.clear();
        for (size_t k = p.begin; k < p.end; ++k) append_utf8(cleaned[k], word);
        auto it = cache.find(word);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            continue;
        }
        std::vector<int32_t> ids;
        bpe_ids(word, ids);
        out.insert(out.end(), ids.begin(), ids.end());
        if (cache.size() >= kCacheLimit) cache.clear();
        cache.emplace(word, std::move(ids));
    }
    if (max_ids && out.size() > max_ids) out.resize(max_ids);
}

std::vector<int32_t> ClipTokenizer::encode(std::string_view utf8, size_t max_ids) {
    std::u32string cleaned;
    clean(utf8, cleaned);
    std::vector<int32_t> out;
    encode_cleaned(cleaned, max_ids, cache_, out);
    return out;
}

std::vector<int32_t> ClipTokenizer::encode_row(std::string_view utf8, int context, bool truncate, bool pad) {
    return row_of(utf8, context, truncate, pad, cache_);
}

std::vector<std::vector<int32_t>> ClipTokenizer::encode_rows(const std::vector<std::string>& texts, int context,
                                                             bool truncate, bool pad, int threads) const {
    std::vector<std::vector<int32_t>> rows(texts.size());
    const int64_t n = static_cast<int64_t>(texts.size());
    const int team = threads > 0 ? threads : omp_get_max_threads();
    // Errors (a too-long text with truncate=false) are collected and rethrown for the first failing text.
    std::vector<std::string> errors(texts.size());
#pragma omp parallel num_threads(team)
    {
        Cache cache;
        cache.reserve(1024);
#pragma omp for schedule(dynamic, 64)
        for (int64_t i = 0; i < n; ++i) {
            try {
                rows[i] = row_of(texts[i], context, truncate, pad, cache);
            } catch (const Error& e) {
                errors[i] = e.what();
            }
        }
    }
    for (const std::string& e : errors) WSDOL_CHECK(e.empty(), e);
    return rows;
}

std::vector<int32_t> ClipTokenizer::row_of(std::string_view utf8, int context, bool truncate, bool pad,
                                           Cache& cache) const {
    WSDOL_CHECK(context >= 1, "tokenizer: context length must be at least 1, got ", context);
    // Content ids up to context - 1 are enough to know whether [sot] + ids + [eot] exceeds the context.
    std::vector<int32_t> row{sot_};
    std::u32string cleaned;
    clean(utf8, cleaned);
    std::vector<int32_t> ids;
    encode_cleaned(cleaned, static_cast<size_t>(context), cache, ids);
    row.insert(row.end(), ids.begin(), ids.end());
    row.push_back(eot_);
    if (row.size() > size_t(context)) {
        WSDOL_CHECK(truncate, "tokenizer: input is too long for context length ", context, " (",
                    std::string(utf8.substr(0, 60)), utf8.size() > 60 ? "..." : "", ")");
        row.resize(context);
        row.back() = eot_;
    }
    if (pad) row.resize(context, 0);
    return row;
}

std::string ClipTokenizer::decode(std::span<const int32_t> ids) const {
    std::string bytes;
    for (int32_t id : ids) {
        WSDOL_CHECK(id >= 0 && size_t(id) < decoded_.size(), "tokenizer: cannot decode id ", id,
                    " (vocabulary of ", decoded_.size(), ")");
        bytes += decoded_[id];
    }
    std::string text = encode_utf8(decode_utf8(bytes));
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, 4, "</w>") == 0) {
            out.push_back(' ');
            i += 4;
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

}  // namespace wsdol::tok
