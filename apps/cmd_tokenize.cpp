// cmd_tokenize.cpp — `wsdol tokenize`: CLIP BPE token ids of stdin lines, decoding of id lines, and training of
// a new BPE vocabulary (--train). See tokenizer/clip_tokenizer.h for the tokenizer itself.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "apps/clip_vocab.h"
#include "apps/progress.h"
#include "engine/core/error.h"
#include "engine/io/output_dir.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/gzip.h"
#include "tokenizer/clip_tokenizer.h"

namespace {

bool read_line(std::string& line) {
    return static_cast<bool>(std::getline(std::cin, line));  // a last line without '\n' still counts
}

int run_tokenize(const std::vector<std::string>& args) {
    wsdol::cli::Args a("tokenize", args, {"vocab", "context", "vocab-size", "out", "min-count"},
                       {"pad", "decode", "no-truncate", "train", "force"});
    WSDOL_CHECK(a.positional().empty(), "tokenize: unexpected argument '", a.positional().front(),
                "' (text is read from stdin)");

    if (a.flag("train")) {
        WSDOL_CHECK(a.get("out"), "tokenize --train: --out FILE is required");
        wsdol::tok::BpeTrainOptions o;
        const long long vocab_size = a.get_int("vocab-size", 1024), min_count = a.get_int("min-count", 2);
        WSDOL_CHECK(vocab_size >= 515 && vocab_size <= 100000000, "tokenize --train: --vocab-size must be in ",
                    "515..100000000 (512 byte symbols + 2 special tokens + at least 1 merge), got ", vocab_size);
        WSDOL_CHECK(min_count >= 1, "tokenize --train: --min-count must be at least 1, got ", min_count);
        o.vocab_size = static_cast<size_t>(vocab_size);
        o.min_pair_count = static_cast<size_t>(min_count);
        // The corpus comes from stdin: a redirected file is an input too (`--out c.txt --force < c.txt` would
        // replace the corpus with the vocabulary).
        struct stat in_st {}, out_st {};
        WSDOL_CHECK(!(::fstat(0, &in_st) == 0 && S_ISREG(in_st.st_mode) && ::stat(a.get("out")->c_str(), &out_st) == 0 &&
                      in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino),
                    "tokenize --train: --out ", *a.get("out"), " is the standard input (the corpus); choose another file");
        // The options are valid: now the output file (engine/io/output_dir.h), before the corpus is read; an
        // existing FILE is replaced only with --force; written atomically.
        const wsdol::io::OutputFile output(*a.get("out"), "tokenize --train",
                                           a.flag("force") ? wsdol::io::Reuse::force : wsdol::io::Reuse::refuse,
                                           {{"--vocab", a.get_or("vocab", "")}});
        // Progress on stderr: one bar for reading the corpus (bytes), one for the merges.
        std::unique_ptr<wsdol::cli::Progress> bar;
        std::string bar_phase;
        o.progress = [&](const char* phase, size_t done, size_t total) {
            if (bar_phase != phase) {
                bar_phase = phase;
                const bool reading = bar_phase == "reading";
                bar = std::make_unique<wsdol::cli::Progress>(std::string("tokenize --train: ") + phase,
                                                             int64_t(reading ? (total + 1023) / 1024 : total),
                                                             reading ? "KiB" : "merges");
            }
            bar->update(int64_t(bar_phase == "reading" ? (done + 1023) / 1024 : done));
        };
        std::string corpus;
        {
            char buffer[1 << 16];
            size_t got;
            while ((got = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) corpus.append(buffer, got);
            WSDOL_CHECK(!std::ferror(stdin), "tokenize --train: error reading the corpus from stdin");
        }
        const wsdol::tok::BpeTrainResult r = wsdol::tok::train_bpe(corpus, o);
        const std::string& path = output.path();
        const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
        output.write(gz ? wsdol::tok::gzip_stored(r.file_text()) : r.file_text());
        std::fprintf(stderr, "tokenize --train: %zu merges (vocab size %zu) from %zu words (%zu distinct) -> %s\n",
                     r.merges.size(), r.merges.size() + 514, r.occurrences, r.words, a.get("out")->c_str());
        return 0;
    }

    std::ios::sync_with_stdio(false);
    const std::string vocab = wsdol::cli::find_clip_vocab("tokenize", a.get("vocab"));
    wsdol::tok::ClipTokenizer tok = wsdol::tok::ClipTokenizer::from_file(vocab);
    const long long context = a.get_int("context", wsdol::tok::kClipContext);
    WSDOL_CHECK(context >= 1 && context <= 1000000, "tokenize: --context must be in 1..1000000, got ", context);
    const bool pad = a.flag("pad"), truncate = !a.flag("no-truncate");

    std::string line, out;
    size_t line_no = 0;
    while (read_line(line)) {
        ++line_no;
        out.clear();
        if (a.flag("decode")) {
            std::vector<int32_t> ids;
            size_t k = 0;
            while (k < line.size()) {
                while (k < line.size() && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) ++k;
                if (k >= line.size()) break;
                size_t used = 0;
                long long v = 0;
                try {
                    v = std::stoll(line.substr(k), &used);
                } catch (...) {
                    used = 0;
                }
                WSDOL_CHECK(used > 0, "tokenize --decode: line ", line_no, ": '", line.substr(k, 20),
                            "' is not a token id");
                ids.push_back(static_cast<int32_t>(v));
                k += used;
            }
            // Trailing zeros after an end-of-text are padding (as printed by --pad), not the token '!'.
            size_t n = ids.size();
            while (n > 0 && ids[n - 1] == 0) --n;
            if (n > 0 && n < ids.size() && ids[n - 1] == tok.eot()) ids.resize(n);
            out = tok.decode(ids);
        } else {
            const std::vector<int32_t> row = tok.encode_row(line, static_cast<int>(context), truncate, pad);
            for (size_t i = 0; i < row.size(); ++i) {
                if (i) out.push_back(' ');
                out += std::to_string(row[i]);
            }
        }
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "tokenize", "CLIP BPE token ids of text lines (stdin), decoding, or training a new BPE vocabulary",
    "usage: wsdol tokenize [--vocab FILE] [--context N] [--pad] [--no-truncate] < text\n"
    "       wsdol tokenize --decode [--vocab FILE] < ids\n"
    "       wsdol tokenize --train --vocab-size N --out FILE [--min-count C] [--force] < corpus\n\n"
    "Encodes each stdin line ('\\n'-separated; a '\\r' before it stays part of the line and is whitespace) with\n"
    "OpenAI CLIP's tokenizer (ftfy + html cleaning, lower-case, BPE) and prints the ids <|startoftext|> ...\n"
    "<|endoftext|> separated by spaces: at most N ids (default 77), the last one <|endoftext|> when the text is\n"
    "cut; --pad appends zeros up to N; --no-truncate makes a too-long line an error. Typed <|startoftext|> and\n"
    "<|endoftext|> are recognised as the special tokens. Invalid UTF-8 is read as Python's errors=\"replace\".\n"
    "--decode reads lines of ids and prints the text (trailing zero padding after <|endoftext|> is dropped;\n"
    "word ends become spaces, special tokens print as text).\n"
    "--train learns N - 514 merges from the corpus (same cleaning and pre-tokenization; ties: higher count, then\n"
    "smaller left symbol, then smaller right symbol in byte order) and writes FILE (gzip when it ends in .gz),\n"
    "which --vocab accepts; an existing FILE is replaced only with --force.\n\n"
    "Vocab: --vocab FILE, else $WSDOL_CLIP_VOCAB, else ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz from\n"
    "the current directory, else the same next to the repository holding the executable.\n"
    "\n"
    "examples (captions of a synth set `data`; see wsdol synth --help):\n"
    "  echo \"a photo of a cat.\" | wsdol tokenize\n"
    "  echo \"49406 320 1125 539 320 2368 269 49407\" | wsdol tokenize --decode\n"
    "  cut -f2 data/captions.txt | wsdol tokenize --train --vocab-size 600 --out vocab.txt.gz\n"
    "  echo \"a red circle on grass\" | wsdol tokenize --vocab vocab.txt.gz --context 16 --pad",
    run_tokenize});
