#!/usr/bin/env python3
"""models_compare.py — wsdol vs PyTorch forward latency and peak memory on full-size models (CPU), one command.

    python3 bench/models_compare.py --bench build/bench/bench_models [--rounds 5] [--iters 3] [--threads 2]

Rows: ViT-B/16 (timm vit_base_patch16_224) at batch 1 and 8, 224x224; the CLIP ViT-B/16 text tower (open_clip
"ViT-B-16", OpenAI architecture) encoding 20 prompts ("a photo of a {VOC class}."); torchvision resnet50 at batch 8.
Random-initialized weights on both sides, inference only (wsdol: NoGradGuard + eval(); PyTorch: inference_mode +
eval()), float32, `--threads` threads each (torch.set_num_threads; WSDOL_BENCH_THREADS for bench_models).

Every measurement is its own process (so peak memory is that model's alone): build the model, then the timing loop of
bench/compare_util.py (reset the peak-RSS counter, one warm-up forward, `--iters` timed forwards). A round runs every
row once on each side, ours and PyTorch back to back in a random order; the table gives the median over rounds of each
process's mean time per forward. "cpu" columns are process CPU seconds (all threads) per forward: on a shared machine
they are less disturbed by other jobs than wall time. Floor = multiply-adds x 2 / the FMA peak of `--threads` cores
(measured by bench_gemm's BM_fma_peak_threads when --fma-peak is not given), counted by PyTorch's FlopCounterMode
(matmuls, convolutions, attention) on the PyTorch model.

Internal mode (one PyTorch measurement, JSON on stdout): models_compare.py --torch-worker ROW --iters N --threads T
"""
import argparse
import json
import os
import subprocess
import sys
import time

from compare_util import interleaved, loadavg, median, proc_status_mb, worker_report

ROWS = {
    # row key: (bench_models benchmark name, label)
    "vit_b16_b1": ("vit_b16/batch:1", "ViT-B/16, batch 1, 224x224"),
    "vit_b16_b8": ("vit_b16/batch:8", "ViT-B/16, batch 8, 224x224"),
    "clip_text": ("clip_b16_text/prompts:20", "CLIP ViT-B/16 text, 20 prompts"),
    "resnet50_b8": ("resnet50/batch:8", "ResNet-50, batch 8, 224x224"),
}

VOC_CLASSES = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]


def build_torch(row):
    """The PyTorch model and a zero-argument forward for a row."""
    import torch
    torch.manual_seed(0)
    if row.startswith("vit_b16"):
        import timm
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        x = torch.randn(1 if row == "vit_b16_b1" else 8, 3, 224, 224)
        return model, lambda: model(x)
    if row == "clip_text":
        import open_clip
        model = open_clip.create_model("ViT-B-16", pretrained=None)  # the OpenAI ViT-B/16 architecture
        ids = open_clip.get_tokenizer("ViT-B-16")([f"a photo of a {c}." for c in VOC_CLASSES])
        return model, lambda: model.encode_text(ids)
    if row == "resnet50_b8":
        import torchvision
        model = torchvision.models.resnet50()
        x = torch.randn(8, 3, 224, 224)
        return model, lambda: model(x)
    raise SystemExit(f"models_compare: unknown row {row}")


def torch_worker(row, iters, threads):
    import torch
    torch.set_num_threads(threads)
    rss0 = proc_status_mb("VmRSS")
    model, forward = build_torch(row)
    model.eval()
    with torch.inference_mode():
        worker_report(forward, iters, rss_before_build=rss0)


def count_macs(row):
    """Multiply-adds of one forward, from torch.utils.flop_counter (2 flops per multiply-add)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model, forward = build_torch(row)
    model.eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        forward()
    return counter.get_total_flops() / 2


def run_ours(bench, row, iters, threads):
    env = dict(os.environ, WSDOL_BENCH_ITERS=str(iters), WSDOL_BENCH_THREADS=str(threads))
    name = ROWS[row][0]
    out = subprocess.run([bench, f"--benchmark_filter=^{name}/", "--benchmark_format=json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    b = json.loads(out)["benchmarks"][0]
    assert b["time_unit"] == "ms", b
    return {"ms": b["real_time"], "cpu_ms": b["cpu_ms"], "weights_MB": b["weights_MB"],
            "rss_base_MB": b["rss_base_MB"], "peak_MB": b["peak_MB"], "act_peak_MB": b["act_peak_MB"],
            "alloc_act_peak_MB": b["alloc_act_peak_MB"]}


def run_torch(row, iters, threads):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", row, "--iters", str(iters),
                          "--threads", str(threads)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def fma_peak_gflops(bench, threads):
    gemm = os.path.join(os.path.dirname(bench), "bench_gemm")
    if not os.path.exists(gemm):
        return None
    env = dict(os.environ, WSDOL_BENCH_THREADS=str(threads))
    out = subprocess.run([gemm, "--benchmark_filter=fma_peak_threads", "--benchmark_format=json",
                          "--benchmark_repetitions=3"], env=env, capture_output=True, text=True, check=True).stdout
    rows = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    # GFLOPS_cpu: flops per CPU-second x threads = the peak of `threads` cores not shared with anyone
    return max(b["GFLOPS_cpu"] for b in rows) * threads


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/bench/bench_models")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ",".join(ROWS))
    ap.add_argument("--fma-peak", type=float, default=None, help="GFLOPS of --threads cores (else measured)")
    ap.add_argument("--torch-worker", default=None)
    ap.add_argument("--json", default=None, help="also write every measurement here")
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(args.torch_worker, args.iters, args.threads)
        return

    import torch
    rows = args.rows.split(",")
    load_before = loadavg()
    peak = args.fma_peak or fma_peak_gflops(args.bench, args.threads)
    macs = {row: count_macs(row) for row in rows}
    t_start = time.time()

    def measure(row, side):
        return run_ours(args.bench, row, args.iters, args.threads) if side == "ours" else \
            run_torch(row, args.iters, args.threads)

    def log(r, row, side, res):
        print(f"round {r + 1}/{args.rounds} {row:12s} {side:5s} {res['ms']:9.1f} ms  cpu {res['cpu_ms']:9.1f} ms"
              f"  load {loadavg()}", file=sys.stderr, flush=True)

    results = interleaved(args.rounds, rows, ["ours", "torch"], measure, seed=0, log=log)
    elapsed = time.time() - t_start
    load_after = loadavg()

    def med(row, side, key):
        return median(results, row, side, key)

    print(f"\nwsdol bench_models vs PyTorch {torch.__version__}, {args.threads} threads each, median of {args.rounds} "
          f"rounds x {args.iters} forwards; load average before {load_before}, after {load_after}; "
          f"{elapsed:.0f} s; FMA peak {peak:.0f} GFLOPS ({args.threads} cores)\n" if peak else "\n")
    print("| model | GMACs | ours ms | PyTorch ms | speed ratio (PyTorch / ours) | ours cpu ms | PyTorch cpu ms "
          "| cpu ratio | floor ms | ours / floor | PyTorch / floor | peak MB ours (act, alloc act) | "
          "peak MB PyTorch (act) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        o, t = med(row, "ours", "ms"), med(row, "torch", "ms")
        oc, tc = med(row, "ours", "cpu_ms"), med(row, "torch", "cpu_ms")
        alloc = med(row, "ours", "alloc_act_peak_MB")
        alloc_act = f"{alloc:.0f}" if alloc >= 0 else "n/a"
        floor = 2 * macs[row] / (peak * 1e9) * 1e3 if peak else float("nan")
        print(f"| {ROWS[row][1]} | {macs[row] / 1e9:.1f} | {o:.1f} | {t:.1f} | **{t / o:.2f}** | {oc:.1f} | {tc:.1f} "
              f"| {tc / oc:.2f} | {floor:.1f} | {o / floor:.2f} | {t / floor:.2f} "
              f"| {med(row, 'ours', 'peak_MB'):.0f} ({med(row, 'ours', 'act_peak_MB'):.0f}, {alloc_act}) "
              f"| {med(row, 'torch', 'peak_MB'):.0f} ({med(row, 'torch', 'act_peak_MB'):.0f}) |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"macs": macs, "fma_peak_gflops": peak, "results": results, "load_before": load_before,
                       "load_after": load_after}, f, indent=1)


if __name__ == "__main__":
    main()
