#!/usr/bin/env python3
"""tokenizer_compare.py — times the Python/Rust CLIP tokenizers on wsdol's tokenizer corpus, for comparison with
bench_tokenizer (wsdol's C++ tokenizer, Google Benchmark) on the same lines.

    python3 bench/tokenizer_compare.py [--repeat 3] [--wsdol build/wsdol]

Peers (all offline; nothing is downloaded):
  * HF tokenizers CLIPTokenizerFast (Rust), built by transformers from a vocab.json + merges.txt written to a
    temporary directory from ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz. Timed through the Rust
    `encode_batch` with RAYON_NUM_THREADS=1 (one thread, like encode_row) and with the default thread pool,
    and through the Python `__call__` API with truncation to 77.
  * open_clip SimpleTokenizer (Python + ftfy), its __call__ on the list (rows of 77).
  * openai/CLIP simple_tokenizer (the reference), encode per line + row building.
  * optionally the `wsdol tokenize` CLI end to end (process start, vocab load, stdin/stdout included).
Reports lines/s and MB/s of input (CPU time of this process for the single-threaded peers; wall time for the
multi-threaded batch and the CLI), and how many rows equal the openai reference (HF fast has no ftfy and no
html.unescape, so it differs on some lines; open_clip differs on the special-token names).
"""
import argparse
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(ROOT, "tests/reference/tokenizer/corpus.txt")
EXPECTED = os.path.join(ROOT, "tests/reference/tokenizer/expected.txt")
VOCAB = os.path.join(ROOT, "../shared/data/clip/bpe_simple_vocab_16e6.txt.gz")
REF = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip/simple_tokenizer.py"


def load_lines():
    raw = open(CORPUS, "rb").read().split(b"\n")[:-1]
    lines = [b.decode("utf-8", errors="replace") for b in raw]
    expected = [list(map(int, l.split())) for l in open(EXPECTED).read().split("\n")[:-1]]
    return lines, sum(len(b) for b in raw), expected


def captions():
    """The 10,000 ASCII captions of bench_tokenizer.cpp (same LCG, same templates)."""
    nouns = ["cat", "dog", "bird", "car", "tree", "house", "boat", "horse", "person", "chair", "airplane", "truck",
             "giraffe", "pizza", "umbrella", "laptop"]
    adjs = ["small", "large", "red", "blue", "green", "old", "new", "striped", "wooden", "shiny", "blurry", "bright"]
    templates = ["a photo of a %s %s.", "a bad photo of the %s %s.", "itap of a %s %s.", "A close-up photo of a %s %s",
                 "a rendering of the %s %s."]
    x = 1
    out = []

    def nxt(n):
        nonlocal x
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        return (x >> 8) % n

    for _ in range(10000):
        t = templates[nxt(5)]
        a = adjs[nxt(12)]
        out.append(t % (a, nouns[nxt(16)]))
    return out


def hf_files(tmp):
    text = gzip.open(VOCAB).read().decode("utf-8").split("\n")
    merges = text[1:49152 - 256 - 2 + 1]
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = [chr(c) for c in cs]
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(tmp, "vocab.json"), "w") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f)
    with open(os.path.join(tmp, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    return os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt")


def timed(fn, repeat, clock):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out


def report(name, seconds, n_lines, n_bytes, rows, expected):
    agree = sum(1 for r, e in zip(rows, expected) if r == e) if rows is not None else None
    a = f"{agree}/{len(expected)} rows = openai" if agree is not None else ""
    print(f"{name:44s} {n_lines / seconds:12,.0f} lines/s {n_bytes / seconds / 1e6:8.2f} MB/s   {a}")


def strip_pad(row):
    row = list(row)
    while row and row[-1] == 0:
        row.pop()
    return row


def hf_row(ids):
    ids = list(ids)
    if len(ids) > 77:
        ids = ids[:76] + [49407]
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wsdol", default=os.path.join(ROOT, "build/wsdol"))
    args = ap.parse_args()
    lines, n_bytes, expected = load_lines()
    n = len(lines)
    print(f"corpus: {n} lines, {n_bytes / 1e6:.3f} MB; best of {args.repeat}; CPU {os.cpu_count()} cores")

    # HF fast, single thread: the env var must be set before the Rust thread pool starts.
    cmd = [sys.executable, __file__, "--hf-only", str(args.repeat)]
    subprocess.run(cmd, env=dict(os.environ, RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="true",
                                 WSDOL_HF_LABEL="1 thread"), check=True)
    subprocess.run(cmd, env=dict(os.environ, TOKENIZERS_PARALLELISM="true",
                                 WSDOL_HF_LABEL=f"default pool"), check=True)

    # open_clip
    import open_clip.tokenizer as oct
    oc = oct.SimpleTokenizer()
    s, rows = timed(lambda: oc(lines), args.repeat, time.process_time)
    report("open_clip SimpleTokenizer (Python)", s, n, n_bytes, [strip_pad(r.tolist()) for r in rows], expected)
    caps = captions()
    s, _ = timed(lambda: oc(caps), args.repeat, time.process_time)
    report("  same, 10k ASCII captions", s, len(caps), sum(map(len, caps)), None, None)

    # openai reference
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ref = mod.SimpleTokenizer(bpe_path=VOCAB)

    def run_ref():
        out = []
        for t in lines:
            r = [49406] + ref.encode(t) + [49407]
            if len(r) > 77:
                r = r[:77]
                r[-1] = 49407
            out.append(r)
        return out

    s, rows = timed(run_ref, args.repeat, time.process_time)
    report("openai simple_tokenizer (Python, reference)", s, n, n_bytes, rows, expected)

    if os.path.exists(args.wsdol):
        def run_cli():
            with open(CORPUS, "rb") as f:
                return subprocess.run([args.wsdol, "tokenize", "--vocab", VOCAB], stdin=f, capture_output=True,
                                      check=True).stdout
        s, out = timed(run_cli, args.repeat, time.perf_counter)
        rows = [list(map(int, l.split())) for l in out.decode().split("\n")[:-1]]
        report("wsdol tokenize CLI (wall, incl. load + I/O)", s, n, n_bytes, rows, expected)


def hf_only(repeat):
    from transformers import CLIPTokenizerFast
    lines, n_bytes, expected = load_lines()
    label = os.environ.get("WSDOL_HF_LABEL", "")
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = hf_files(tmp)
        try:  # transformers >= 5: vocab dict and merge pairs
            vocab_dict = json.load(open(vocab))
            pairs = [tuple(l.split()) for l in open(merges).read().split("\n")[1:] if l]
            fast = CLIPTokenizerFast(vocab=vocab_dict, merges=pairs)
        except TypeError:  # transformers 4: files
            fast = CLIPTokenizerFast(vocab_file=vocab, merges_file=merges)
    assert fast("a photo of a cat.")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 269, 49407], "HF vocab"
    rust = fast.backend_tokenizer
    clock = time.process_time if label == "1 thread" else time.perf_counter
    s, enc = timed(lambda: rust.encode_batch(lines), repeat, clock)
    report(f"HF tokenizers encode_batch (Rust, {label})", s, len(lines), n_bytes, [hf_row(e.ids) for e in enc],
           expected)
    caps = captions()
    s, _ = timed(lambda: rust.encode_batch(caps), repeat, clock)
    report(f"  same, 10k ASCII captions", s, len(caps), sum(map(len, caps)), None, None)
    if label == "1 thread":
        s, out = timed(lambda: fast(lines, truncation=True, max_length=77)["input_ids"], repeat, clock)
        report("HF CLIPTokenizerFast __call__ (Python API)", s, len(lines), n_bytes, out, expected)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--hf-only":
        hf_only(int(sys.argv[2]))
    else:
        main()
