#!/usr/bin/env python3
"""clims_synth_table.py — the tables of bench/clims_synth_seeds.sh: seed mIoU of the stage-0 CAM and of CLIMS
(eval_cam.py's threshold 0.15, and the best of the evaluated thresholds as a diagnostic) and, per class, the
home-background fraction (`wsdol eval --home-background`: GT-background pixels labelled as the class in the images
with the class on its home background; "away": on the other backgrounds), mean ± std (sample std) over the seeds.

    python3 bench/clims_synth_table.py OUT 0 1 2
"""
import glob
import json
import os
import re
import statistics
import sys

out, seeds = sys.argv[1], sys.argv[2:]
STAGES = (("cam_seeds", "CAM (stage 0)"), ("seeds", "CLIMS"))


def load(seed, stage, t):
    with open(os.path.join(out, f"seed{seed}", f"{stage}_eval_{t}.json")) as f:
        return json.load(f)


def ms(values, digits=2):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


thresholds = sorted({re.search(r"_eval_([0-9.]+)\.json$", p).group(1)
                     for p in glob.glob(os.path.join(out, f"seed{seeds[0]}", "seeds_eval_*.json"))}, key=float)
print(f"seeds {' '.join(seeds)}; thresholds {' '.join(thresholds)}\n")
print("| seeds from | mIoU at t 0.15 | per seed | best t's mIoU (diagnostic) | best t per seed |")
print("|---|---:|---|---:|---|")
for stage, label in STAGES:
    at = [load(s, stage, "0.15")["mIoU"] for s in seeds]
    best = [max((load(s, stage, t)["mIoU"], t) for t in thresholds) for s in seeds]
    print(f"| {label} | {ms(at)} | {', '.join(f'{v:.2f}' for v in at)} | {ms([b[0] for b in best])} "
          f"| {', '.join(b[1] for b in best)} |")

# a class whose normalized maps never exceed the lowest threshold has no pixel of it in any seed: "collapsed"
low = thresholds[0]
for stage, label in STAGES:
    dead = [[c for c, v in enumerate(load(s, stage, low)["per_class_IoU"][1:], 1) if v == 0] for s in seeds]
    print(f"{label}: classes with IoU 0 already at t {low} (maps collapsed) per seed: "
          f"{'; '.join(','.join(map(str, d)) or '-' for d in dead)}")

first = load(seeds[0], "seeds", "0.15")
names = first.get("class_names", [])
print("\nPer class at t 0.15: home-background fraction (percent of the GT-background pixels of the images with the "
      "class on its home background that the seeds label as the class), away fraction, IoU.\n")
print("| class | home | home images | CAM home % | CLIMS home % | CAM away % | CLIMS away % | CAM IoU | CLIMS IoU |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")


def pct(v):
    return None if v is None else 100.0 * v


for k, c in enumerate(first["home_background"]):
    row = {}
    for stage, _ in STAGES:
        evals = [load(s, stage, "0.15") for s in seeds]
        row[stage] = {
            "home": [pct(e["home_background"][k]["home_fraction"]) for e in evals],
            "away": [pct(e["home_background"][k]["away_fraction"]) for e in evals],
            "iou": [e["per_class_IoU"][k + 1] for e in evals],
        }
    name = c.get("name", str(c["class"]))
    print(f"| {name} | {c['home_background']} | {c['home_images']} | {ms(row['cam_seeds']['home'])} "
          f"| {ms(row['seeds']['home'])} | {ms(row['cam_seeds']['away'])} | {ms(row['seeds']['away'])} "
          f"| {ms(row['cam_seeds']['iou'])} | {ms(row['seeds']['iou'])} |")


def cpu_seconds(log):
    try:
        text = open(log).read()
    except OSError:
        return None
    u = re.findall(r"User time \(seconds\): ([0-9.]+)", text)
    s = re.findall(r"System time \(seconds\): ([0-9.]+)", text)
    return sum(map(float, u)) + sum(map(float, s)) if u else None


cpu = [cpu_seconds(os.path.join(out, f"seed{s}.log")) for s in seeds]
pre = cpu_seconds(os.path.join(out, "pretrain.log"))
print(f"\nCPU seconds: pretraining {pre if pre is None else round(pre)}, chain per seed "
      f"{', '.join('?' if c is None else str(round(c)) for c in cpu)}")
