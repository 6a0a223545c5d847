#!/usr/bin/env python3
"""clims_compare.py — CLIMS stage-1 training step, wsdol vs PyTorch, same reduced configuration (bench_clims.cpp):
CLIMS network width 16, one Bottleneck per stage, 20 classes, train-mode BN, batch 8 of 128 x 128, 16 positive pairs;
frozen CLIP ViT image tower (input 64, patch 16, width 128, 2 blocks, 2 heads, embedding 64); random constant text
features; SGD (momentum 1e-4, weight decay 1e-4). One step = zero_grad, forward (maps, compositions, 2 CLIP passes,
every loss), backward, update. PyTorch uses the restatement in tests/reference/clims/gen_clims.py (CLIMS f9546d32)
and OpenAI's clip/model.py VisionTransformer.

    python3 bench/clims_compare.py --bench build/bench/bench_clims [--rounds 3] [--iters 5] [--threads 2]

Each measurement is its own process (peak memory is that process's VmHWM, reset after the build). Rounds alternate
the two sides in a random order; the table gives the median over rounds of the mean time per step (wall and
process CPU seconds, which a shared machine disturbs less) and the median peak.
Internal: clims_compare.py --torch-worker --iters N --threads T (JSON on stdout).
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def proc_status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    return -1.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def torch_worker(iters, threads):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference", "clims"))
    import gen_clims as g
    torch.manual_seed(0)
    net = g.CLIMS(20, 16, (1, 1, 1, 1))
    clip = g.clipm.VisionTransformer(input_resolution=64, patch_size=16, width=128, layers=2, heads=2, output_dim=64)
    clip.eval()
    for p in clip.parameters():
        p.requires_grad = False
    class_text = torch.randn(20, 64)
    bg_text = torch.randn(10, 64)
    images = torch.randn(8, 3, 128, 128)
    labels = torch.zeros(8, 20)
    for n in range(8):
        labels[n, (3 * n) % 20] = 1
        labels[n, (3 * n + 7) % 20] = 1
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, 2.5e-4, 1e-4, weight_decay=1e-4)  # momentum = 1e-4 (PolyOptimizer quirk)
    net.train()

    def step():
        opt.zero_grad()
        x = net(images)
        fg, bg, idx = g.compose(x, images, labels, 64)
        fgf, bgf = clip(fg), clip(bg)
        txt = class_text[idx[:, 1]]
        loss = (10 * g.sim_max(g.pair_sims(fgf, txt)) + 24 * g.sim_min(g.pair_sims(bgf, txt))
                + g.cbs_improved(fgf, bg_text) + 0.2 * torch.mean(x))
        loss.backward()
        opt.step()
        return float(loss)

    rss_base = proc_status_mb("VmRSS")
    reset = reset_peak_rss()
    step()
    time.sleep(0.2)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"ms": 1e3 * wall / iters, "cpu_ms": 1e3 * cpu / iters, "rss_base_MB": rss_base,
                      "peak_MB": proc_status_mb("VmHWM") if reset else -1.0, "torch": torch.__version__}))


def ours(bench, iters, threads):
    env = dict(os.environ, WSDOL_BENCH_ITERS=str(iters), WSDOL_BENCH_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_format=json"], env=env, capture_output=True, text=True, check=True)
    b = json.loads(out.stdout)["benchmarks"][0]
    return {"ms": b["real_time"], "cpu_ms": b["cpu_ms"], "rss_base_MB": b["rss_base_MB"], "peak_MB": b["peak_MB"]}


def theirs(iters, threads):
    out = subprocess.run([sys.executable, __file__, "--torch-worker", "--iters", str(iters), "--threads",
                          str(threads)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench_clims")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-worker", action="store_true")
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.iters, a.threads)
        return
    runs = {"wsdol": [], "pytorch": []}
    for _ in range(a.rounds):
        order = ["wsdol", "pytorch"]
        random.shuffle(order)
        for side in order:
            runs[side].append(ours(a.bench, a.iters, a.threads) if side == "wsdol" else theirs(a.iters, a.threads))
    med = {s: {k: statistics.median(r[k] for r in rs) for k in ("ms", "cpu_ms", "peak_MB", "rss_base_MB")}
           for s, rs in runs.items()}
    print(f"CLIMS stage-1 step, reduced (batch 8, 128x128, 16 pairs, CLIP ViT 64/16 w128 x2), {a.threads} threads, "
          f"{a.rounds} rounds x {a.iters} steps, torch {runs['pytorch'][0].get('torch')}")
    print("| side | ms/step (wall) | CPU ms/step | peak RSS MB | RSS after build MB |")
    print("|---|---|---|---|---|")
    for s in ("wsdol", "pytorch"):
        m = med[s]
        print(f"| {s} | {m['ms']:.0f} | {m['cpu_ms']:.0f} | {m['peak_MB']:.0f} | {m['rss_base_MB']:.0f} |")


if __name__ == "__main__":
    main()
