# bpe_train_inputs.py — inputs for timing `wsdol tokenize --train` (bench/RESULTS.md, "BPE training"):
#   word<N>k.txt   one line holding one word of N thousand random lower-case letters (seed 0);
#   corpus<M>mb.txt  M MiB of caption-like lines: 8-16 words per line and a '.', the words drawn from 50,000
#                    random lower-case "words" of 2-12 letters with Zipf weights 1/r^1.1 (seed 0).
# usage: python3 bench/bpe_train_inputs.py OUT_DIR   (then see bench/RESULTS.md for the timed commands)
import os
import random
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bpe_bench"
os.makedirs(out, exist_ok=True)
random.seed(0)
for n in (20000, 50000, 200000):
    with open(f"{out}/word{n // 1000}k.txt", "w") as f:
        f.write("".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n)) + "\n")

for mib in (5, 20, 50):
    rng = np.random.default_rng(0)
    V = 50000
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    vocab = [bytes(letters[rng.integers(0, 26, n)]).decode() for n in rng.integers(2, 13, V)]
    p = 1.0 / np.arange(1, V + 1) ** 1.1
    p /= p.sum()
    target, size, chunks = mib * 1024 * 1024, 0, []
    while size < target:
        ids = rng.choice(V, size=200000, p=p)
        lines, k = [], 0
        for n in rng.integers(8, 17, 20000):
            if k + n > len(ids):
                break
            lines.append(" ".join(vocab[i] for i in ids[k:k + n]) + ".")
            k += n
        chunk = "\n".join(lines) + "\n"
        chunks.append(chunk)
        size += len(chunk)
    text = "".join(chunks)[:target]
    with open(f"{out}/corpus{mib}mb.txt", "w") as f:
        f.write(text[: text.rfind("\n") + 1])
