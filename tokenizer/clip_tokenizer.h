// clip_tokenizer.h — an exact C++ port of OpenAI CLIP's BPE tokenizer (openai/CLIP clip/simple_tokenizer.py and
// clip.tokenize), reference environment: CPython 3.11, ftfy 6.3.1, regex, html. See ../shared/docs/formats.md §1.
//
// encode(text) runs, like simple_tokenizer.encode:
//   1. cleaning: ftfy.fix_text (ftfy.h), html.unescape twice (html_unescape.h), str.strip, every run of regex
//      \s (White_Space) -> one space, str.strip, str.lower (unicode.h);
//   2. pre-tokenization: the pattern
//        <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//      (IGNORECASE, leftmost match, first alternative wins) as a hand-written scanner;
//   3. each pre-token's UTF-8 bytes -> the GPT-2 byte-to-unicode symbols, last one with "</w>";
//   4. BPE: repeatedly merge every occurrence (one left-to-right pass) of the adjacent pair of lowest rank;
//   5. symbol -> id.
// Decisions (also in the README decisions table):
//   * Invalid UTF-8 input is decoded like Python's bytes.decode("utf-8", errors="replace"): one U+FFFD per
//     maximal invalid subpart. U+FFFD then tokenizes like any character (ftfy keeps it unless it completes
//     mojibake). Lone surrogates cannot occur (they are invalid UTF-8).
//   * Special tokens typed in the text are recognised, as in openai/CLIP: "<|startoftext|>" -> 49406,
//     "<|endoftext|>" -> 49407 (after lower-casing, so "<|ENDOFTEXT|>" too). open_clip uses other names.
//   * Rows: [sot] + ids + [eot], truncated to the context (77) with eot kept last (clip.tokenize(truncate=True));
//     with truncate=false a too-long text is an error (clip.tokenize's default). Padding is with id 0.
//   * Long inputs: BPE is O(n log n) per word (a heap over pair ranks that keeps the reference's merge order),
//     and rows stop pre-tokenizing once the context is full, so a megabyte without spaces is fine.
//   * The BPE cache holds at most kCacheLimit words and is cleared when full (results never depend on it).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wsdol::tok {

inline constexpr size_t kClipMerges = 48894;  // merges used by CLIP: lines 2..48895 of the vocab file
inline constexpr int kClipContext = 77;

// One pre-token of the cleaned text: code points [begin, end); special = exactly a special-token string.
struct PreToken {
    size_t begin, end;
    int32_t special;  // -1, or the id of <|startoftext|> / <|endoftext|>
};

class ClipTokenizer {
public:
    static constexpr size_t kCacheLimit = 1 << 16;

    // Loads a merges file: an optional gzip layer (detected by its magic bytes), a header line, then one merge
    // "left right" per line. Uses the first max_merges merges (CLIP: 48894 of the 262144 lines); a file with
    // fewer merges uses all of them. Vocabulary: 256 byte symbols, the same with "</w>", one symbol per merge,
    // then <|startoftext|> and <|endoftext|>.
    static ClipTokenizer from_file(const std::string& path, size_t max_merges = kClipMerges);
    static ClipTokenizer from_merges(std::string_view file_text, size_t max_merges = kClipMerges,
                                     const std::string& what = "merges");

    size_t vocab_size() const { return vocab_.size(); }
    size_t num_merges() const { return num_merges_; }
    int32_t sot() const { return sot_; }
    int32_t eot() const { return eot_; }
    // The vocabulary string of an id (byte-mapped symbols, "</w>" suffix), e.g. token(512) == "in".
    const std::string& token(int32_t id) const;
    // The id of a vocabulary string, or -1.
    int32_t id_of(std::string_view token) const;

    // Cleaning only: the UTF-8 text the pre-tokenizer sees.
    static std::string clean(std::string_view utf8);
    static void clean(std::string_view utf8, std::u32string& out);
    // Pre-tokenization of cleaned text (code points) into pre-tokens.
    std::vector<PreToken> pre_tokenize(std::u32string_view cleaned) const;
    // BPE of one pre-token given as UTF-8 bytes (no cache): the ids of its symbols.
    std::vector<int32_t> bpe(std::string_view word_utf8) const;

    // simple_tokenizer.encode: the ids of the text, without sot/eot. max_ids > 0 stops after that many ids.
    std::vector<int32_t> encode(std::string_view utf8, size_t max_ids = 0);
    // clip.tokenize for one text: [sot] + ids + [eot]; longer than context -> the first context ids with eot
    // last (truncate) or a wsdol::Error (!truncate); pad -> zeros up to the context.
    std::vector<int32_t> encode_row(std::string_view utf8, int context = kClipContext, bool truncate = true,
                                    bool pad = false);
    // encode_row for many texts on `threads` OpenMP threads (0: the OpenMP default), each thread with its own BPE
    // cache; the rows are the same as one encode_row call per text, for any thread count.
    std::vector<std::vector<int32_t>> encode_rows(const std::vector<std::string>& texts, int context = kClipContext,
                                                  bool truncate = true, bool pad = false, int threads = 0) const;
    // simple_tokenizer.decode: symbols concatenated, mapped back to bytes, decoded as UTF-8 with replacement,
    // "</w>" -> " ". Special tokens decode to their text. Unknown ids are an error.
    std::string decode(std::span<const int32_t> ids) const;

    // Testing hook: force the heap-based BPE for every word (normally used only for long words).
    void set_always_heap_bpe(bool on) { always_heap_ = on; }
    void clear_cache() { cache_.clear(); }

private:
    using Cache = std::unordered_map<std::string, std::vector<int32_t>>;
    struct Merge {
        int32_t rank, result;
    };
    const Merge* find_merge(int32_t left, int32_t right) const;
    void bpe_ids(std::string_view word_utf8, std::vector<int32_t>& out) const;
    void bpe_linear(std::vector<int32_t>& symbols) const;
    void bpe_heap(std::vector<int32_t>& symbols) const;
    void encode_cleaned(std::u32string_view cleaned, size_t max_ids, Cache& cache, std::vector<int32_t>& out) const;
    std::vector<int32_t> row_of(std::string_view utf8, int context, bool truncate, bool pad, Cache& cache) const;

    std::vector<std::string> vocab_;         // id -> symbol string (UTF-8)
    std::vector<std::string> decoded_;       // id -> bytes it stands for ("</w>" kept as text)
    std::unordered_map<std::string, int32_t> encoder_;
    // Merge table: open addressing on the key (left << 32 | right).
    std::vector<uint64_t> merge_keys_;
    std::vector<Merge> merge_values_;
    uint64_t merge_mask_ = 0;
    std::vector<std::pair<int32_t, int32_t>> rank_pair_;  // rank -> (left, right), for the heap BPE
    int32_t byte_symbol_[256] = {};                       // byte -> id of its symbol (ids 0..255)
    int32_t byte_symbol_end_[256] = {};                   // byte -> id of its symbol + "</w>" (ids 256..511)
    size_t num_merges_ = 0;
    int32_t sot_ = -1, eot_ = -1;
    bool always_heap_ = false;
    Cache cache_;
};

// GPT-2's byte-to-unicode table: the code point standing for each byte, and the vocabulary order of the bytes
// (printable bytes 0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF first, then the others mapped to U+0100.. in byte order).
char32_t byte_to_unicode(uint8_t byte);
const uint8_t* byte_vocab_order();  // 256 bytes: the byte of vocabulary ids 0..255

}  // namespace wsdol::tok
