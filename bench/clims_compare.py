#!/usr/bin/env python3
"""clims_compare.py — CLIMS stage-1 training step, wsdol vs PyTorch, same reduced configuration (bench_clims.cpp):
CLIMS network width 16, one Bottleneck per stage, 20 classes, train-mode BN, batch 8 of 128 x 128, 16 positive pairs;
frozen CLIP ViT image tower (input 64, patch 16, width 128, 2 blocks, 2 heads, embedding 64); random constant text
features; SGD (momentum 1e-4, weight decay 1e-4). One step = zero_grad, forward (maps, compositions, 2 CLIP passes,
every loss), backward, update. PyTorch uses the restatement in tests/reference/clims/gen_clims.py (CLIMS f9546d32)
and OpenAI's clip/model.py VisionTransformer.

    python3 bench/clims_compare.py --bench build/bench/bench_clims [--rounds 3] [--iters 5] [--threads 2]

Each measurement is its own process (peak memory is that process's VmHWM, reset after the build); the timing loop
and the interleaving are bench/compare_util.py's (models_compare.py's). Rounds run the two sides back to back in a
random order; the table gives the median over rounds of the mean time per step (wall and process CPU seconds, which
a shared machine disturbs less), the median peak, and the load average before and after.
Internal: clims_compare.py --torch-worker --iters N --threads T (JSON on stdout).
"""
import argparse
import json
import os
import subprocess
import sys

from compare_util import interleaved, loadavg, median, worker_report

HERE = os.path.dirname(os.path.abspath(__file__))


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

    worker_report(step, iters, extra={"torch": torch.__version__})


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
    ap.add_argument("--seed", type=int, default=0, help="the order of the sides in each round")
    ap.add_argument("--torch-worker", action="store_true")
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.iters, a.threads)
        return
    load_before = loadavg()

    def measure(row, side):
        return ours(a.bench, a.iters, a.threads) if side == "wsdol" else theirs(a.iters, a.threads)

    def log(r, row, side, res):
        print(f"round {r + 1}/{a.rounds} {side:7s} {res['ms']:8.1f} ms  cpu {res['cpu_ms']:8.1f} ms  load {loadavg()}",
              file=sys.stderr, flush=True)

    results = interleaved(a.rounds, ["step"], ["wsdol", "pytorch"], measure, seed=a.seed, log=log)
    print(f"CLIMS stage-1 step, reduced (batch 8, 128x128, 16 pairs, CLIP ViT 64/16 w128 x2), {a.threads} threads, "
          f"{a.rounds} rounds x {a.iters} steps, torch {results['step']['pytorch'][0].get('torch')}; "
          f"load average before {load_before}, after {loadavg()}")
    print("| side | ms/step (wall) | CPU ms/step | peak RSS MB | RSS after build MB |")
    print("|---|---|---|---|---|")
    for s in ("wsdol", "pytorch"):
        m = {k: median(results, "step", s, k) for k in ("ms", "cpu_ms", "peak_MB", "rss_base_MB")}
        print(f"| {s} | {m['ms']:.0f} | {m['cpu_ms']:.0f} | {m['peak_MB']:.0f} | {m['rss_base_MB']:.0f} |")
    o, t = median(results, "step", "wsdol", "cpu_ms"), median(results, "step", "pytorch", "cpu_ms")
    print(f"CPU-time speed ratio (PyTorch / wsdol): {t / o:.2f}")


if __name__ == "__main__":
    main()
