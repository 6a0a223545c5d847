#!/usr/bin/env python3
"""differential.py — random differential testing of `wsdol tokenize` against openai/CLIP simple_tokenizer.

    python3 tests/reference/tokenizer/differential.py [--n 3000] [--seed 1] [--wsdol build/wsdol]

Generates random lines from weighted character pools (ASCII, mojibake material of ftfy's ten encodings, C1
controls, entities, combining marks, Hangul jamo, Greek sigma contexts, emoji, whitespace oddities, random
code points), tokenizes them with both, and prints every mismatch. Not part of the test suite (it needs
Python); run it after changing the tokenizer. Exit code 1 when a row differs.
"""
import argparse
import importlib.util
import os
import random
import subprocess
import sys

import ftfy.bad_codecs  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
REF = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip/simple_tokenizer.py"
VOCAB = os.path.join(ROOT, "../shared/data/clip/bpe_simple_vocab_16e6.txt.gz")


def pools():
    high = set()
    for e in ["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250", "sloppy-windows-1253",
              "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"]:
        high.update(bytes(range(0x80, 0x100)).decode(e))
    return {
        "ascii": [chr(c) for c in range(0x20, 0x7F)],
        "letters": list("abcdefghijklmnopqrstuvwxyz   ESTAÃÂ"),
        "high": sorted(high),
        "c1": [chr(c) for c in range(0x80, 0xA0)],
        "ctl": [chr(c) for c in list(range(0, 0x20)) + [0x7F] if c != 10],
        "ent": ["&amp;", "&lt;", "&#", "&#x", ";", "&", "&#8217;", "&eacute", "&EACUTE;", "&#128;", "&#0;", "&nbsp"],
        "marks": [chr(c) for c in range(0x300, 0x370)] + ["\u0345", "\u093c", "\u3099", "\u05b4", "\u0f71"],
        "jamo": [chr(c) for c in range(0x1100, 0x1200)] + ["가", "각", "\u11a8"],
        "greek": ["Σ", "Α", "ς", "σ", "\u00ad", "'", ".", "İ", "I", "ẞ", "Ω", "K"],
        "emoji": ["🐶", "👍", "🏽", "\u200d", "\ufe0f", "🇫", "🇷", "\U000e0041", "\ufffd"],
        "space": ["\t", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u2028", "\u2029", "\u3000", "\u200b", "\ufeff", "\x1b["],
        "any": None,
    }


def random_line(r, P):
    keys = list(P)
    weights = [r.random() for _ in keys]
    n = r.choice([1, 2, 5, 10, 30, 80, 200, 600])
    out = []
    for _ in range(n):
        k = r.choices(keys, weights)[0]
        if k == "any":
            while True:
                c = r.randint(0x20, 0x3FFFF)
                if not 0xD800 <= c <= 0xDFFF:
                    out.append(chr(c))
                    break
        else:
            out.append(r.choice(P[k]))
    return "".join(out).replace("\n", " ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wsdol", default=os.path.join(ROOT, "build/wsdol"))
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tok = mod.SimpleTokenizer(bpe_path=VOCAB)
    r = random.Random(a.seed)
    P = pools()
    lines = [random_line(r, P) for _ in range(a.n)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    out = subprocess.run([a.wsdol, "tokenize", "--vocab", VOCAB], input=data, capture_output=True, check=True).stdout
    got = out.decode().split("\n")[:-1]
    bad = 0
    for line, g in zip(lines, got):
        row = [49406] + tok.encode(line) + [49407]
        if len(row) > 77:
            row = row[:77]
            row[-1] = 49407
        if " ".join(map(str, row)) != g:
            bad += 1
            if bad <= 10:
                print("MISMATCH", ascii(line)[:300], "\n  want", row[:20], "\n  got ", g[:120])
    print(f"{len(lines) - bad}/{len(lines)} rows identical (seed {a.seed})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
