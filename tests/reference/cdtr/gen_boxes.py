"""gen_boxes.py — fixture for the TS-CAM / CDTR box extraction (engine/eval/cam_boxes.h; tests/test_cam_boxes.cpp).

Restates CDTR @ 86ff62ff utils.resize_cam + get_bboxes + IoU (normalize, then cv2.resize INTER_LINEAR to 224,
uint8(x * 255), THRESH_TOZERO at int(0.2 max), largest contour's boundingRect [x, y, x + w, y + h], IoU without
"+1") and TS-CAM @ 25aece44 lib/cams_deit.py resize_cam + get_bboxes + cal_iou (resize, then normalize; CUB
threshold 0.1; IoU with "+1"), with opencv-python-headless 5.1.0 and numpy 2.4, on 60 float32 14 x 14 maps
(random powers, one or two Gaussian blobs, plateaus), seed 0. Stores per map i:
  map<i> (14, 14) f32, cdtr_u8<i> / tscam_u8<i> (224, 224) u8 heat maps (first 3 maps only), cdtr_box<i> / tscam_box<i> (4,) i64,
  gt<i> (4,) f64 a GT box, cdtr_iou<i> / tscam_iou<i> (1,) f64; num_maps.
Run: python tests/reference/cdtr/gen_boxes.py
"""
import os

import cv2
import numpy as np
import torch
from safetensors.torch import save_file


def cdtr_u8(cam):
    mn, mx = cam.min(), cam.max()
    cam = (cam - mn) / (mx - mn)
    cam = cv2.resize(cam, (224, 224))
    return (cam * 255.0).astype(np.uint8)


def tscam_u8(cam):
    cam = cv2.resize(cam, (224, 224))
    mn, mx = cam.min(), cam.max()
    cam = (cam - mn) / (mx - mn)
    return (cam * 255.0).astype(np.uint8)


def box(u8, thr):
    _, t = cv2.threshold(u8, int(thr * np.max(u8)), 255, cv2.THRESH_TOZERO)
    contours, _ = cv2.findContours(t, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) == 0:
        return [0, 0, 1, 1]
    c = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(c)
    return [x, y, x + w, y + h]


def iou_cdtr(a, b):  # CDTR utils.IoU: no +1
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1]) + max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) - inter
    return inter / ua


def iou_tscam(a, b):  # TS-CAM cal_iou: +1
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = ix * iy
    ua = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    return inter / ua


def make_map(rng, i):
    yy, xx = np.mgrid[0:14, 0:14].astype(np.float32)
    kind = i % 4
    if kind == 0:
        return (rng.random((14, 14), dtype=np.float32) ** 3).astype(np.float32)
    m = np.zeros((14, 14), np.float32)
    for _ in range(1 if kind == 1 else 2):
        cy, cx, s = rng.uniform(0, 13), rng.uniform(0, 13), rng.uniform(1, 4)
        m += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)).astype(np.float32) * rng.uniform(0.5, 2)
    if kind == 3:
        m = np.minimum(m, np.float32(0.6 * m.max()))  # plateaus: ties in the heat map
    return (m + 0.05 * rng.random((14, 14), dtype=np.float32)).astype(np.float32)


N_HEATMAPS = 3


def main():
    rng = np.random.default_rng(0)
    out = {}
    n = 60
    for i in range(n):
        m = make_map(rng, i)
        cu, tu = cdtr_u8(m), tscam_u8(m)
        cb, tb = box(cu, 0.2), box(tu, 0.1)
        x0, y0 = rng.uniform(0, 150), rng.uniform(0, 150)
        gt = [x0, y0, x0 + rng.uniform(20, 74), y0 + rng.uniform(20, 74)]
        out[f"map{i}"] = torch.from_numpy(m)
        if i < N_HEATMAPS:  # full heat maps for the first few only (the file stays small)
            out[f"cdtr_u8{i}"] = torch.from_numpy(cu)
            out[f"tscam_u8{i}"] = torch.from_numpy(tu)
        out[f"cdtr_box{i}"] = torch.tensor(cb, dtype=torch.int64)
        out[f"tscam_box{i}"] = torch.tensor(tb, dtype=torch.int64)
        out[f"gt{i}"] = torch.tensor(gt, dtype=torch.float64)
        out[f"cdtr_iou{i}"] = torch.tensor([iou_cdtr([float(v) for v in cb], gt)], dtype=torch.float64)
        out[f"tscam_iou{i}"] = torch.tensor([iou_tscam([float(v) for v in tb], gt)], dtype=torch.float64)
    out["num_maps"] = torch.tensor(n, dtype=torch.int64)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cam_boxes.safetensors")
    save_file(out, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
