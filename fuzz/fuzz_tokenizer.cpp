// fuzz_tokenizer.cpp — libFuzzer harness for the CLIP tokenizer (tokenizer/): text cleaning (ftfy port, HTML
// unescaping, lower-case, NFC), pre-tokenization, BPE, rows, decoding, and the parsers that read files (gzip,
// merges). See fuzz/README.md for building and running. Reads the CLIP vocab from $WSDOL_CLIP_VOCAB (default
// ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz, relative to the working directory).
//
// The first byte picks what the rest of the input is:
//   0..199   UTF-8 text (any bytes): encode_row + invariants, decode, heap-vs-linear BPE, NFC idempotence;
//   200..227 a gzip file for gunzip (errors are fine, crashes / sanitizer reports are not);
//   228..255 a merges file for ClipTokenizer::from_merges, then a short encode with it.
// Invariants checked (abort on violation): a row has 2..77 ids, starts with <|startoftext|>, ends with
// <|endoftext|>, and every id is in the vocabulary; the two BPE implementations agree; nfc(nfc(x)) == nfc(x);
// decode() of any ids in range returns valid UTF-8.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "tokenizer/clip_tokenizer.h"
#include "tokenizer/gzip.h"
#include "tokenizer/unicode.h"

namespace {

wsdol::tok::ClipTokenizer& tokenizer() {
    static wsdol::tok::ClipTokenizer t = [] {
        const char* env = std::getenv("WSDOL_CLIP_VOCAB");
        const std::string path = env && *env ? env : "../shared/data/clip/bpe_simple_vocab_16e6.txt.gz";
        try {
            return wsdol::tok::ClipTokenizer::from_file(path);
        } catch (const wsdol::Error& e) {
            std::fprintf(stderr, "fuzz_tokenizer: %s (set WSDOL_CLIP_VOCAB)\n", e.what());
            std::abort();
        }
    }();
    return t;
}

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_tokenizer: invariant violated: %s\n", what);
        std::abort();
    }
}

void fuzz_text(std::string_view text) {
    auto& t = tokenizer();
    const std::vector<int32_t> row = t.encode_row(text);
    check(row.size() >= 2 && row.size() <= 77, "row length in 2..77");
    check(row.front() == t.sot() && row.back() == t.eot(), "row starts with sot and ends with eot");
    for (int32_t id : row) check(id >= 0 && size_t(id) < t.vocab_size(), "ids in the vocabulary");
    const std::string decoded = t.decode(row);
    std::u32string cps;
    check(wsdol::tok::decode_utf8(decoded, cps), "decode() returns valid UTF-8");

    // Pre-tokens: heap and linear BPE agree (linear only for the short words it normally handles).
    std::u32string cleaned;
    wsdol::tok::ClipTokenizer::clean(text, cleaned);
    int words = 0;
    for (const auto& p : t.pre_tokenize(cleaned)) {
        if (p.special >= 0 || ++words > 8) continue;
        const std::string w = wsdol::tok::encode_utf8(std::u32string_view(cleaned).substr(p.begin, p.end - p.begin));
        if (w.size() > 48) continue;
        t.set_always_heap_bpe(false);
        const std::vector<int32_t> linear = t.bpe(w);
        t.set_always_heap_bpe(true);
        const std::vector<int32_t> heap = t.bpe(w);
        t.set_always_heap_bpe(false);
        check(linear == heap, "heap BPE == linear BPE");
    }

    std::u32string once, twice;
    wsdol::tok::nfc(wsdol::tok::decode_utf8(text), once);
    wsdol::tok::nfc(once, twice);
    check(once == twice, "NFC is idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const uint8_t mode = data[0];
    if (mode < 200) {
        fuzz_text(rest);  // text never raises: an exception here is a finding
        return 0;
    }
    try {
        if (mode < 228) {
            (void)wsdol::tok::gunzip(rest, "fuzz");
        } else {
            auto t = wsdol::tok::ClipTokenizer::from_merges(rest, 64, "fuzz");
            const std::vector<int32_t> ids = t.encode("a photo of a cat, \xc3\xa9t\xc3\xa9!");
            for (int32_t id : ids) check(id >= 0 && size_t(id) < t.vocab_size(), "ids in the small vocabulary");
            (void)t.decode(ids);
        }
    } catch (const wsdol::Error&) {
        // Bad input reported as an error: fine.
    }
    return 0;
}
