"""Reference numbers for tests/test_eval_reference.cpp: the wsolevaluation box and mask metrics and the TS-CAM
box, computed with numpy + cv2 following clovaai/wsolevaluation evaluation.py (compute_bboxes_from_scoremaps,
calculate_multiple_iou, BoxEvaluator, MaskEvaluator) and TS-CAM lib/cams_deit.py get_bboxes step by step
(re-implemented here from their documented behaviour, ../shared/docs/data-eval.md §3 and §5).

Run from the repository root:  python3 tests/reference/eval/gen_wsol_metrics.py
Writes tests/reference/eval/wsol_maps.npy (float64 (N, H, W) score maps in [0, 1]: smooth multi-blob maps, some
quantised to 0.05 steps so that thresholds create ties and equal-area components), wsol_masks.npy (uint8 (N, H, W)
GT labels 0/1/255) and wsol_metrics.txt. Seed 20240607.

wsol_metrics.txt lines:
    image <i> boxes <x0 y0 x1 y1 ...>                 GT boxes at map resolution
    v1 <i> <best IoU at tau_0> ... <tau_99>             largest contour (MaxBoxAcc), thresholds arange(0, 1, 0.01)
    v2 <i> <...>                                        all contours (multi_contour_eval)
    tscam <i> <theta> <x0 y0 x1 y1>                     get_bboxes on the float32 map
    maxboxacc <v1|v2> <delta> <value> <best tau index>
    pxap <value> piou <value>                           over all images, masks of wsol_masks.npy
"""
import os

import cv2
import numpy as np

SEED = 20240607
HERE = os.path.dirname(os.path.abspath(__file__))
N, H, W = 16, 32, 40


def make_map(rng, quantise):
    yy, xx = np.mgrid[:H, :W].astype(np.float64)
    m = np.zeros((H, W))
    for _ in range(rng.integers(1, 5)):
        cy, cx = rng.uniform(-3, H + 3), rng.uniform(-3, W + 3)
        sy, sx = rng.uniform(1.0, 8.0), rng.uniform(1.0, 8.0)
        m += rng.uniform(0.2, 1.0) * np.exp(-((yy - cy) ** 2 / (2 * sy ** 2) + (xx - cx) ** 2 / (2 * sx ** 2)))
    m += rng.uniform(0, 0.05, size=(H, W))
    m -= m.min()
    m /= m.max()
    if quantise:
        m = np.round(m * 20) / 20
    return m


def boxes_at_thresholds(scoremap, thresholds, multi_contour):
    height, width = scoremap.shape
    image = np.expand_dims((scoremap * 255).astype(np.uint8), 2)
    out = []
    for t in thresholds:
        _, thr = cv2.threshold(src=image, thresh=int(t * np.max(image)), maxval=255, type=cv2.THRESH_BINARY)
        contours = cv2.findContours(image=thr, mode=cv2.RETR_TREE, method=cv2.CHAIN_APPROX_SIMPLE)[0]
        if len(contours) == 0:
            out.append(np.asarray([[0, 0, 0, 0]]))
            continue
        if not multi_contour:
            contours = [max(contours, key=cv2.contourArea)]
        boxes = []
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            boxes.append([x, y, min(x + w, width - 1), min(y + h, height - 1)])
        out.append(np.asarray(boxes))
    return out


def multiple_iou(a, b):
    a = a[:, None, :].astype(np.int64)
    b = b[None, :, :].astype(np.int64)
    iw = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1)
    ih = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    den = area_a + area_b - inter
    bad = den <= 0
    den = np.where(bad, 1, den)
    iou = inter / den
    iou[bad] = 0
    return iou


def tscam_box(cam, theta):
    cam = (cam * 255.).astype(np.uint8)
    _, thr = cv2.threshold(cam, int(theta * np.max(cam)), 255, cv2.THRESH_TOZERO)
    contours, _ = cv2.findContours(thr, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) == 0:
        return [0, 0, 1, 1]
    c = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(c)
    return [x, y, x + w, y + h]


def main():
    rng = np.random.default_rng(SEED)
    thresholds = list(np.arange(0, 1, 0.01))
    maps = np.stack([make_map(rng, quantise=(i % 3 == 2)) for i in range(N)])
    masks = np.zeros((N, H, W), np.uint8)
    lines = [f"# gen_wsol_metrics.py seed {SEED}, opencv {cv2.__version__}, numpy {np.__version__}"]
    correct = {v: {d: np.zeros(len(thresholds)) for d in (30, 50, 70)} for v in ("v1", "v2")}
    for i in range(N):
        # The first GT box follows the map (its region above a random level, jittered by up to 3 px), the others
        # are random, so that the accuracies are neither 0 nor 100.
        ys, xs = np.nonzero(maps[i] > rng.uniform(0.3, 0.7))
        j = rng.integers(-3, 4, size=4)
        gx0, gy0 = int(np.clip(xs.min() + j[0], 0, W - 1)), int(np.clip(ys.min() + j[1], 0, H - 1))
        gts = [[gx0, gy0, int(np.clip(xs.max() + j[2], gx0, W - 1)), int(np.clip(ys.max() + j[3], gy0, H - 1))]]
        for _ in range(rng.integers(0, 3)):
            x0, y0 = int(rng.integers(0, W - 4)), int(rng.integers(0, H - 4))
            gts.append([x0, y0, int(rng.integers(x0, W)), int(rng.integers(y0, H))])
        gts = np.asarray(gts)
        lines.append(f"image {i} boxes " + " ".join(str(int(v)) for v in gts.reshape(-1)))
        for variant, multi in (("v1", False), ("v2", True)):
            per_t = boxes_at_thresholds(maps[i], thresholds, multi)
            best = [float(multiple_iou(b, gts).max()) for b in per_t]
            lines.append(f"{variant} {i} " + " ".join(repr(v) for v in best))
            for d in (30, 50, 70):
                correct[variant][d][np.asarray(best) >= d / 100] += 1
        cam32 = maps[i].astype(np.float32)
        for theta in (0.1, 0.2, 0.35):
            lines.append(f"tscam {i} {theta!r} " + " ".join(str(v) for v in tscam_box(cam32, theta)))
        # GT mask: foreground inside the first GT box, a random ignore band, background elsewhere.
        x0, y0, x1, y1 = gts[0]
        masks[i, y0:y1 + 1, x0:x1 + 1] = 1
        masks[i][(rng.random((H, W)) < 0.1) & (masks[i] == 0)] = 255
    for variant in ("v1", "v2"):
        for d in (30, 50, 70):
            acc = correct[variant][d] * 100. / N
            lines.append(f"maxboxacc {variant} {d} {float(acc.max())!r} {int(np.argmax(acc))}")
    # MaskEvaluator
    edges = np.append(thresholds, [1.0, 2.0, 3.0])
    pos = np.zeros(len(thresholds) + 2)
    neg = np.zeros(len(thresholds) + 2)
    for i in range(N):
        pos += np.histogram(maps[i][masks[i] == 1], bins=edges)[0]
        neg += np.histogram(maps[i][masks[i] == 0], bins=edges)[0]
    tp = pos[::-1].cumsum()
    fn = pos.sum() - tp
    fp = neg[::-1].cumsum()
    nz = (tp + fp) != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    pxap = (precision[1:] * np.diff(recall))[nz[1:]].sum() * 100
    piou = (100 * tp / (tp + fp + fn)).max()
    lines.append(f"pxap {float(pxap)!r} piou {float(piou)!r}")
    np.save(os.path.join(HERE, "wsol_maps.npy"), maps)
    np.save(os.path.join(HERE, "wsol_masks.npy"), masks)
    with open(os.path.join(HERE, "wsol_metrics.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
