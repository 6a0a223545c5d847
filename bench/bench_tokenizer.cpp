// bench_tokenizer.cpp — throughput of wsdol's CLIP tokenizer (tokenizer/clip_tokenizer.h) on the reference
// corpus tests/reference/tokenizer/corpus.txt (6853 varied lines: captions, prose, many scripts, emoji, HTML
// entities, mojibake, long lines) and on plain ASCII captions (the common case). Rates: lines/s ("items") and
// input MB/s ("bytes"). The peers (HF tokenizers CLIPTokenizerFast, open_clip, openai) are timed on the same
// corpus by bench/tokenizer_compare.py.
//
//   encode_row/corpus/warm   one thread, BPE cache warm (steady state of a long run)
//   encode_row/corpus/cold   one thread, BPE cache cleared before every pass over the corpus
//   encode/corpus/warm       one thread, full encode() of every line (no stop at the context: what HF's
//                            encode_batch does before truncating), cache warm
//   encode_rows/corpus/T     encode_rows on T OpenMP threads (per-thread caches)
//   encode_row/captions      one thread, 10,000 ASCII captions
//   clean/corpus             the cleaning step alone (ftfy port, html.unescape, whitespace, lower)
//   load_vocab               reading and building the 49408-entry vocabulary from the .gz
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/clip_tokenizer.h"

namespace {

const std::string kVocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";

wsdol::tok::ClipTokenizer& tokenizer() {
    static wsdol::tok::ClipTokenizer t = wsdol::tok::ClipTokenizer::from_file(kVocab);
    return t;
}

const std::vector<std::string>& corpus() {
    static const std::vector<std::string> lines = [] {
        std::ifstream f(WSDOL_SOURCE_DIR "/tests/reference/tokenizer/corpus.txt", std::ios::binary);
        std::vector<std::string> v;
        std::string line;
        while (std::getline(f, line)) v.push_back(line);
        return v;
    }();
    return lines;
}

const std::vector<std::string>& captions() {
    static const std::vector<std::string> lines = [] {
        const char* nouns[] = {"cat", "dog", "bird", "car", "tree", "house", "boat", "horse", "person", "chair",
                               "airplane", "truck", "giraffe", "pizza", "umbrella", "laptop"};
        const char* adjs[] = {"small", "large", "red", "blue", "green", "old", "new", "striped", "wooden", "shiny",
                              "blurry", "bright"};
        const char* templates[] = {"a photo of a %s %s.", "a bad photo of the %s %s.", "itap of a %s %s.",
                                   "A close-up photo of a %s %s", "a rendering of the %s %s."};
        std::vector<std::string> v;
        uint32_t x = 1;
        auto next = [&](uint32_t n) {
            x = x * 1664525u + 1013904223u;
            return (x >> 8) % n;
        };
        char buf[128];
        for (int i = 0; i < 10000; ++i) {
            std::snprintf(buf, sizeof buf, templates[next(5)], adjs[next(12)], nouns[next(16)]);
            v.push_back(buf);
        }
        return v;
    }();
    return lines;
}

int64_t total_bytes(const std::vector<std::string>& lines) {
    int64_t n = 0;
    for (const auto& l : lines) n += static_cast<int64_t>(l.size());
    return n;
}

void encode_all(benchmark::State& state, const std::vector<std::string>& lines, bool cold) {
    auto& t = tokenizer();
    for (const auto& l : lines) benchmark::DoNotOptimize(t.encode_row(l));  // warm up
    for (auto _ : state) {
        if (cold) t.clear_cache();
        for (const auto& l : lines) benchmark::DoNotOptimize(t.encode_row(l));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
    state.SetBytesProcessed(state.iterations() * total_bytes(lines));
}

void BM_encode_row_corpus_warm(benchmark::State& state) { encode_all(state, corpus(), false); }

void BM_encode_corpus_full(benchmark::State& state) {
    auto& t = tokenizer();
    for (const auto& l : corpus()) benchmark::DoNotOptimize(t.encode(l));
    for (auto _ : state)
        for (const auto& l : corpus()) benchmark::DoNotOptimize(t.encode(l));
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
    state.SetBytesProcessed(state.iterations() * total_bytes(corpus()));
}
void BM_encode_row_corpus_cold(benchmark::State& state) { encode_all(state, corpus(), true); }
void BM_encode_row_captions(benchmark::State& state) { encode_all(state, captions(), false); }

void BM_encode_rows_corpus(benchmark::State& state) {
    auto& t = tokenizer();
    const int threads = static_cast<int>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(t.encode_rows(corpus(), 77, true, false, threads));
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
    state.SetBytesProcessed(state.iterations() * total_bytes(corpus()));
}

void BM_clean_corpus(benchmark::State& state) {
    std::u32string out;
    for (auto _ : state)
        for (const auto& l : corpus()) {
            wsdol::tok::ClipTokenizer::clean(l, out);
            benchmark::DoNotOptimize(out.data());
        }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
    state.SetBytesProcessed(state.iterations() * total_bytes(corpus()));
}

void BM_load_vocab(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(wsdol::tok::ClipTokenizer::from_file(kVocab).vocab_size());
}

}  // namespace

BENCHMARK(BM_encode_row_corpus_warm)->Name("encode_row/corpus/warm")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_row_corpus_cold)->Name("encode_row/corpus/cold")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_corpus_full)->Name("encode/corpus/warm")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_rows_corpus)->Name("encode_rows/corpus")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_encode_row_captions)->Name("encode_row/captions")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_clean_corpus)->Name("clean/corpus")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_vocab)->Name("load_vocab")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
