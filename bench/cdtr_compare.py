#!/usr/bin/env python3
"""cdtr_compare.py — CDTR training-step time and peak memory: wsdol (bench_cdtr) vs the PyTorch restatement of the
official code (tests/reference/cdtr/gen_cdtr.py), same reduced configuration, same threads, CPU f32.

    python3 bench/cdtr_compare.py --bench build/bench/bench_cdtr [--rounds 3] [--threads 2] [--iters 3]

Configuration (both sides): D 192, 12 blocks, 3 heads (DeiT-Tiny widths), 128 x 128 input, patch 16, C = 10,
CSM c_base 2, OCM K = 9, SKI on, batch 8, no drop-path; one step = forward, the five AWL losses (no SBA: no CLIP
on either side), backward. A round runs each side once, in a random order, each in its own process; the table
gives the median over rounds of ms per step and each process's peak RSS.
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time


def torch_worker(threads, iters):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference", "cdtr"))
    import gen_cdtr as g
    g.IMAGE, g.PATCH, g.D, g.DEPTH, g.HEADS, g.C, g.B = 128, 16, 192, 12, 3, 10, 8
    torch.manual_seed(0)
    model = g.CDTR().train()
    images = torch.randn(8, 3, 128, 128)
    labels = torch.arange(8) % 10

    def step():
        model.zero_grad(set_to_none=True)
        x_logits, attn_logits, _ = model(images, labels)
        awl, _ = model.get_loss(x_logits, attn_logits, labels)
        awl.backward()

    step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    ms = (time.perf_counter() - t0) / iters * 1e3
    print(json.dumps({"ms": ms, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--torch-worker", action="store_true")
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.threads, a.iters)
        return
    ours, theirs, rss_o, rss_t = [], [], [], []
    for _ in range(a.rounds):
        order = ["ours", "torch"]
        random.shuffle(order)
        for side in order:
            if side == "ours":
                p = subprocess.run(["/usr/bin/time", "-f", "%M", a.bench, "--benchmark_format=json",
                                    "--benchmark_min_time=2"], capture_output=True, text=True,
                                   env={"WSDOL_BENCH_THREADS": str(a.threads), "PATH": "/usr/bin:/bin"})
                rss_o.append(float(p.stderr.strip().splitlines()[-1]) / 1024.0)
                ours.append(json.loads(p.stdout)["benchmarks"][0]["real_time"])
            else:
                p = subprocess.run([sys.executable, __file__, "--torch-worker", "--threads", str(a.threads),
                                    "--iters", str(a.iters)], capture_output=True, text=True, check=True)
                d = json.loads(p.stdout.strip().splitlines()[-1])
                theirs.append(d["ms"])
                rss_t.append(d["rss_mb"])
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"threads {a.threads}, rounds {a.rounds}; CDTR training step, batch 8, 128x128, DeiT-Tiny widths")
    print("| | ms / step | img/s | peak RSS MB |")
    print("|---|---|---|---|")
    print(f"| wsdol | {o:.0f} | {8000 / o:.1f} | {statistics.median(rss_o):.0f} |")
    print(f"| PyTorch {__import__('torch').__version__} | {t:.0f} | {8000 / t:.1f} | {statistics.median(rss_t):.0f} |")
    print(f"speed-up (PyTorch / wsdol): {t / o:.2f}x")


if __name__ == "__main__":
    main()
