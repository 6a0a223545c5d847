#!/usr/bin/env python3
"""toco_compare.py — ToCo / DIAL training-step time and peak memory: wsdol (bench_toco) vs the PyTorch restatement
of the official code (tests/reference/toco/gen_toco_step.py: rulixiang/ToCo e13514d9 + DIAL §3.8), same reduced
configuration, same threads, CPU f32.

    python3 bench/toco_compare.py --bench build/bench/bench_toco [--method toco|dial] [--rounds 3] [--threads 1]

Configuration (both sides; the synthetic benchmark's, bench/toco_synth.sh): 64 x 64 crops, ViT patch 8 / embed 96 /
depth 4 / heads 3, 6 classes + background, LargeFOV width 64, CTC head hidden 256 / bottleneck 32 / out 128,
10 crops (8 local crops of 16 px), batch 4, every term active (past the seg/reg switch), the dense-energy loss with
the exact Gaussian filter on both sides (the restatement's); DIAL: text width 64, joint space 512. One step = the
no-grad multi-scale CAMs, labels, PAR, local crops, forward, every loss, backward (no optimizer update on either
side). A round runs each side once, in a random order, each in its own process; the table gives the median over
rounds of ms per step and each process's peak RSS.
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


def torch_worker(method, threads, iters):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference", "toco"))
    import gen_toco_step as g
    L, LS = g.L, g.LS
    S, B, K, D = 64, 4, 7, 96
    dial = method == "dial"
    torch.manual_seed(0)
    model = g.Network(num_classes=K, dim=D, dial=dial, text_dim=64, joint=512)
    model.encoder = g.ViT(img=S, p=8, dim=D, depth=4, heads=3)
    model.proj_head = g.CTCHead(D, 128, 256, 32)
    model.proj_head_t = g.CTCHead(D, 128, 256, 32)
    for p, pt in zip(model.proj_head.parameters(), model.proj_head_t.parameters()):
        pt.data.copy_(p.data)
        pt.requires_grad = False
    model.decoder = g.LargeFOV(D, K, width=64)
    model.train()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    x = (torch.rand(B, 3, S, S) * 255 - mean) / std
    y = torch.zeros(B, K - 1)
    for i in range(B):
        y[i, i % (K - 1)] = y[i, (i + 2) % (K - 1)] = 1
    box = torch.tensor([[0, S, 0, S - 8 * (i % 2)] for i in range(B)])
    glob, local_view = torch.randn(B, 3, S, S), torch.randn(B, 3, S, S)
    tfg, tbg = torch.randn(K - 1, 64), torch.randn(1, 64)
    gen = torch.Generator().manual_seed(1)
    crop, ncrops = 16, 10

    def step():
        model.zero_grad(set_to_none=True)
        cams, cams_aux = g.multi_scale_cam(model, x, (1.0, 0.5, 1.5))
        roi = L.roi_mask(cams_aux, y)
        m = crop // 2
        perms = []
        for i in range(B):
            n = int((roi[i, m:S - m, m:S - m] <= 1).sum())
            n = n if n >= ncrops - 2 else (S - 2 * m) ** 2
            perms.append(torch.randperm(n, generator=gen))
        local, flags = L.crop_from_roi(local_view, roi, ncrops - 2, crop, perms)
        cls, segs, fmap, cls_aux, out_t, out_s, cls_tok = model(x, crops=[x, glob] + local)
        total = F.multilabel_soft_margin_loss(cls, y) + F.multilabel_soft_margin_loss(cls_aux, y)
        total = total + 0.5 * LS.ctc(out_s, out_t, flags, ncrops, 0.5)
        valid, _ = L.cam_to_label(cams.clone(), y, img_box=box, ignore_mid=True)
        refined = L.refine_v2(L.Par(), L.denorm01(x), valid, y, box)
        segs_up = F.interpolate(segs, size=refined.shape[1:], mode="bilinear", align_corners=False)
        total = total + 0.1 * LS.seg(segs_up, refined) + 0.05 * LS.energy(x, segs_up, refined, box).reshape(())
        small = F.interpolate(cams_aux, size=fmap.shape[2:], mode="bilinear", align_corners=False)
        _, plab = L.cam_to_label(small.clone(), y, img_box=box, ignore_mid=True)
        total = total + 0.2 * LS.ptc(fmap, L.aff_mask(plab))
        if dial:
            tf, tb = model.proj_text(tfg), model.proj_text(tbg)
            total = total + LS.gia(model.proj_visual(cls_tok), tf, tb, y)
            obj = ((small * y[:, :, None, None]).max(1)[0] > 0.5).float().reshape(B, -1)
            total = total + LS.lea(model.proj_visual(fmap.flatten(2).transpose(1, 2)), obj, tf, tb, y)
        total.backward()
        return float(total.detach())

    step()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(iters):
        step()
    ms = (time.perf_counter() - t0) / iters * 1e3
    cpu_ms = (time.process_time() - c0) / iters * 1e3
    print(json.dumps({"ms": ms, "cpu_ms": cpu_ms,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--method", default="toco")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--torch-worker", action="store_true")
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.method, a.threads, a.iters)
        return
    ours, theirs, cpu_o, cpu_t, rss_o, rss_t = [], [], [], [], [], []
    for _ in range(a.rounds):
        order = ["ours", "torch"]
        random.shuffle(order)
        for side in order:
            if side == "ours":
                p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", a.bench, "--benchmark_format=json",
                                    "--benchmark_min_time=2"], capture_output=True, text=True,
                                   env={"WSDOL_BENCH_THREADS": str(a.threads), "WSDOL_BENCH_METHOD": a.method,
                                        "OMP_WAIT_POLICY": "passive", "PATH": "/usr/bin:/bin"})
                if p.returncode != 0:
                    sys.exit(p.stderr)
                rss, user, sys_s = p.stderr.strip().splitlines()[-1].split()
                rss_o.append(float(rss) / 1024.0)
                bm = json.loads(p.stdout)["benchmarks"][0]
                ours.append(bm["real_time"])
                cpu_o.append(bm["cpu_time"])
            else:
                p = subprocess.run([sys.executable, __file__, "--torch-worker", "--method", a.method, "--threads",
                                    str(a.threads), "--iters", str(a.iters)], capture_output=True, text=True,
                                   check=True)
                d = json.loads(p.stdout.strip().splitlines()[-1])
                theirs.append(d["ms"])
                cpu_t.append(d["cpu_ms"])
                rss_t.append(d["rss_mb"])
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"{a.method}: threads {a.threads}, rounds {a.rounds}, load average {os.getloadavg()[0]:.1f}; "
          "training step, batch 4, 64x64, small ViT")
    print("| side | ms / step (wall) | CPU ms / step | img/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    print(f"| wsdol | {o:.0f} | {statistics.median(cpu_o):.0f} | {4000 / o:.1f} | {statistics.median(rss_o):.0f} |")
    print(f"| PyTorch {__import__('torch').__version__} | {t:.0f} | {statistics.median(cpu_t):.0f} | {4000 / t:.1f} | "
          f"{statistics.median(rss_t):.0f} |")
    print(f"speed-up (PyTorch / wsdol): {t / o:.2f}x wall")


if __name__ == "__main__":
    main()
