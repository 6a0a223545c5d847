#!/usr/bin/env python3
"""deform_compare.py — wsdol deform_conv2d vs torchvision.ops.deform_conv2d on the CPU, same shapes, same threads.

    python3 bench/deform_compare.py --bench build/bench/bench_deform [--rounds 3] [--threads 2]

Rows (batch, channels, size): CDTR's SKI shape C -> C 3x3 pad 1 on 14x14 maps with C = 200 (CUB), batch 16; and a
wider map, 64 channels on 56x56, batch 4. Offsets U[-2, 2), float32. "fwd" = forward only (wsdol under
NoGradGuard, torchvision under torch.no_grad), "fwd+bwd" = forward + backward of sum(y) for the input, offsets and
weight. A round runs bench_deform once (Google Benchmark, its own timing) and the torchvision loop once, in a random
order; the table gives the median over rounds of the mean ms per call, and the peak RSS of each process.
"""
import argparse
import json
import random
import resource
import statistics
import subprocess
import time

ROWS = [(16, 200, 14), (4, 64, 56)]


def torch_times(threads, iters):
    import torch
    from torchvision.ops import deform_conv2d
    torch.set_num_threads(threads)
    out = {}
    for (b, c, s) in ROWS:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(b, c, s, s, generator=g)
        off = (torch.rand(b, 18, s, s, generator=g) - 0.5) * 4
        w = (torch.rand(c, c, 3, 3, generator=g) - 0.5) * 0.1
        with torch.no_grad():
            deform_conv2d(x, off, w, padding=(1, 1))
            t0 = time.perf_counter()
            for _ in range(iters):
                deform_conv2d(x, off, w, padding=(1, 1))
            fwd = (time.perf_counter() - t0) / iters * 1e3
        xs, os_, ws = (t.clone().requires_grad_() for t in (x, off, w))
        deform_conv2d(xs, os_, ws, padding=(1, 1)).sum().backward()
        t0 = time.perf_counter()
        for _ in range(iters):
            for t in (xs, os_, ws):
                t.grad = None
            deform_conv2d(xs, os_, ws, padding=(1, 1)).sum().backward()
        fb = (time.perf_counter() - t0) / iters * 1e3
        out[(b, c, s)] = (fwd, fb)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--torch-worker", action="store_true")
    a = ap.parse_args()
    if a.torch_worker:
        t = torch_times(a.threads, a.iters)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps({"rows": {f"{k[0]}:{k[1]}:{k[2]}": v for k, v in t.items()}, "rss_mb": rss}))
        return
    ours, theirs, rss_ours, rss_theirs = {}, {}, [], []
    for r in range(a.rounds):
        order = ["ours", "torch"]
        random.shuffle(order)
        for side in order:
            if side == "ours":
                p = subprocess.run(["/usr/bin/time", "-f", "%M", a.bench, "--benchmark_format=json",
                                    "--benchmark_min_time=0.5"], capture_output=True, text=True,
                                   env={"WSDOL_BENCH_THREADS": str(a.threads), "PATH": "/usr/bin:/bin"})
                rss_ours.append(float(p.stderr.strip().splitlines()[-1]) / 1024.0)
                for bm in json.loads(p.stdout)["benchmarks"]:
                    name = bm["name"]  # BM_deform_forward/batch:16/channels:200/size:14/real_time
                    parts = dict(kv.split(":") for kv in name.split("/")[1:4])
                    key = f"{parts['batch']}:{parts['channels']}:{parts['size']}"
                    kind = "fb" if "backward" in name else "fwd"
                    ours.setdefault((key, kind), []).append(bm["real_time"])
            else:
                p = subprocess.run(["python3", __file__, "--bench", a.bench, "--torch-worker", "--threads",
                                    str(a.threads), "--iters", str(a.iters)], capture_output=True, text=True, check=True)
                d = json.loads(p.stdout)
                rss_theirs.append(d["rss_mb"])
                for key, (fwd, fb) in d["rows"].items():
                    theirs.setdefault((key, "fwd"), []).append(fwd)
                    theirs.setdefault((key, "fb"), []).append(fb)
    print(f"threads {a.threads}, rounds {a.rounds}; median ms per call; speed-up = torchvision / wsdol")
    print("| batch:channels:size | pass | wsdol ms | torchvision ms | speed-up |")
    print("|---|---|---|---|---|")
    for (b, c, s) in ROWS:
        key = f"{b}:{c}:{s}"
        for kind, label in (("fwd", "forward"), ("fb", "forward+backward")):
            o, t = statistics.median(ours[(key, kind)]), statistics.median(theirs[(key, kind)])
            print(f"| {key} | {label} | {o:.2f} | {t:.2f} | {t / o:.2f}x |")
    print(f"peak RSS (whole process, median): wsdol {statistics.median(rss_ours):.0f} MB, "
          f"torchvision {statistics.median(rss_theirs):.0f} MB (includes the torch runtime)")


if __name__ == "__main__":
    main()
