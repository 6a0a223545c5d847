"""Data-loader throughput: wsdol's threaded loader (bench_loader) against a PyTorch DataLoader (Pillow +
torchvision transforms) running the same ToCo training pipeline on the same VOC-like JPEGs, in the same run.

Pipeline (both sides): decode JPEG -> RGB; random rescale r ~ U(0.5, 2.0) with PIL BILINEAR to
(int(r*W), int(r*H)); horizontal flip p 0.5; 448 random crop with black padding (ToCo random_crop, img_box);
ColorJitter(0.4, 0.4, 0.2, 0.1) with p 0.8 (on the PIL image); ToTensor + Normalize(ImageNet); batches of 8
(3, 448, 448) f32. Both use 2 worker processes/threads (PyTorch: num_workers=2, torch threads 1 per worker).

Images: 64 JPEGs of 500x375 made in /tmp/wsdol_voc_like from the real VOC images (random crops, flips, PIL
resize, quality 90); nothing is committed.

    python3 bench/loader_compare.py --bench build-bench/bench/bench_loader [--epochs 6]
"""
import argparse
import os
import random
import re
import subprocess
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
VOC = os.path.join(HERE, "..", "..", "shared", "data", "real", "voc", "JPEGImages")
OUT = "/tmp/wsdol_voc_like"


def make_jpegs(n=64, seed=0):
    os.makedirs(OUT, exist_ok=True)
    if len([f for f in os.listdir(OUT) if f.endswith(".jpg")]) >= n:
        return
    rng = random.Random(seed)
    sources = [Image.open(os.path.join(VOC, f)).convert("RGB") for f in sorted(os.listdir(VOC)) if f.endswith(".jpg")]
    for i in range(n):
        img = sources[i % len(sources)]
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img2 = img.crop((x, y, x + cw, y + ch)).resize((500, 375), Image.BILINEAR)
        if rng.random() < 0.5:
            img2 = img2.transpose(Image.FLIP_LEFT_RIGHT)
        img2.save(os.path.join(OUT, f"voc_like_{i:03d}.jpg"), quality=90)


class TocoDataset(torch.utils.data.Dataset):
    def __init__(self, files, crop=448):
        self.files = files
        self.crop = crop
        self.jitter = T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8)
        self.post = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = Image.open(self.files[i]).convert("RGB")
        r = random.uniform(0.5, 2.0)
        w, h = img.size
        img = img.resize((int(r * w), int(r * h)), resample=Image.BILINEAR)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        arr = np.asarray(img)
        h, w = arr.shape[:2]
        H, W = max(self.crop, h), max(self.crop, w)
        pad = np.zeros((H, W, 3), dtype=np.uint8)
        hp, wp = np.random.randint(H - h + 1), np.random.randint(W - w + 1)
        pad[hp:hp + h, wp:wp + w] = arr
        hs, ws = random.randrange(0, H - self.crop + 1), random.randrange(0, W - self.crop + 1)
        crop = pad[hs:hs + self.crop, ws:ws + self.crop]
        box = torch.tensor([max(hp - hs, 0), min(self.crop, h + hp - hs), max(wp - ws, 0), min(self.crop, w + wp - ws)])
        img = self.jitter(Image.fromarray(crop))
        return self.post(img), box


def cpu_seconds(pids):
    """utime + stime of the given processes (from /proc), in seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def torch_rate(files, epochs, workers=2):
    """(images/s wall, images per CPU-second of the main process and its workers)."""
    loader = torch.utils.data.DataLoader(TocoDataset(files), batch_size=8, shuffle=True, num_workers=workers,
                                         persistent_workers=True, prefetch_factor=4)
    for _ in loader:  # warm-up epoch (worker start-up, file cache)
        pass
    pids = [os.getpid()] + [w.pid for w in loader._iterator._workers]
    n, t0, c0 = 0, time.perf_counter(), cpu_seconds(pids)
    for _ in range(epochs):
        for x, _ in loader:
            n += x.shape[0]
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pids) - c0
    return n / wall, n / cpu


def ours_rate(bench):
    out = subprocess.run([bench, "--benchmark_filter=BM_loader_toco448", "--benchmark_min_time=6"],
                         env=dict(os.environ, WSDOL_BENCH_JPEGS=OUT, WSDOL_BENCH_THREADS="2"),
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"img_per_cpu_s=([0-9.]+)([kM]?)/?s? .*items_per_second=([0-9.]+)([kM]?)/s", out)
    scale = {"": 1, "k": 1e3, "M": 1e6}
    return float(m.group(3)) * scale[m.group(4)], float(m.group(1)) * scale[m.group(2)], out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=os.path.join(HERE, "..", "build-bench", "bench", "bench_loader"))
    p.add_argument("--epochs", type=int, default=6)
    a = p.parse_args()
    make_jpegs()
    files = sorted(os.path.join(OUT, f) for f in os.listdir(OUT) if f.endswith(".jpg"))
    torch.set_num_threads(1)
    load0 = os.getloadavg()
    ours, ours_cpu, raw = ours_rate(a.bench)
    theirs, theirs_cpu = torch_rate(files, a.epochs)
    ours2, ours_cpu2, _ = ours_rate(a.bench)  # again, to see drift in machine load
    load1 = os.getloadavg()
    print(raw.strip().splitlines()[-1])
    print(f"images: {len(files)} JPEGs 500x375, crop 448, batch 8, 2 workers each")
    print(f"wsdol loader:        {ours:8.1f} img/s wall (repeat {ours2:.1f}); "
          f"{ours_cpu:.1f} img per CPU-s (repeat {ours_cpu2:.1f})")
    print(f"PyTorch DataLoader:  {theirs:8.1f} img/s wall; {theirs_cpu:.1f} img per CPU-s")
    print(f"ratio wall:          {min(ours, ours2) / theirs:8.2f}x (lower wsdol run)")
    print(f"ratio per CPU-s:     {min(ours_cpu, ours_cpu2) / theirs_cpu:8.2f}x (lower wsdol run)")
    print(f"load average before/after: {load0[0]:.2f} / {load1[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
