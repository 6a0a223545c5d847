"""Expected cv2.findContours / contourArea / boundingRect results on a seeded set of binary masks, for
tests/test_eval_contours.cpp (engine/eval/contours.cpp must reproduce OpenCV exactly, including the order of the
contour list, which decides max-area ties in the WSOL box metrics).

Run from the repository root:  python3 tests/reference/eval/gen_contour_boxes.py
Writes tests/reference/eval/contour_boxes.txt. Seed 20240606; opencv-python(-headless) as installed (the version is
recorded in the file header).

File format (text, one record per mask):
    mask <index> <kind> <H> <W>
    H lines of W characters '0'/'1'
    tree <n>                 cv2.RETR_TREE, CHAIN_APPROX_SIMPLE, contours in OpenCV's order, one line each:
    <parent> <area> <x> <y> <w> <h> <npoints> <x0> <y0> <x1> <y1> ...
                             parent = hierarchy[i][3]; area = cv2.contourArea; x y w h = cv2.boundingRect;
                             the CHAIN_APPROX_SIMPLE vertices
    external <m>             cv2.RETR_EXTERNAL, same line format
    largest <i>              index of max(contours, key=cv2.contourArea) in the RETR_TREE list (-1: none)
Mask kinds: blobs (unions of rectangles and ellipses), holes (rings, nested rings with islands, rectangles with
holes), border (shapes touching the image edges, all-ones), lines (horizontal, vertical, diagonal, L-shapes,
1-pixel chains), pixels (isolated single pixels), equal (several copies of one shape: max-area ties), noise
(random pixels at several densities, including 64x64 masks with hundreds of contours), checker (diagonal-only
connectivity), empty.
"""
import os

import cv2
import numpy as np

SEED = 20240606
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "contour_boxes.txt")


def blobs(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 5)):
        if rng.random() < 0.5:
            y0, x0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
            m[y0:y0 + rng.integers(1, h // 2), x0:x0 + rng.integers(1, w // 2)] = 1
        else:
            cy, cx = rng.integers(2, h - 2), rng.integers(2, w - 2)
            ry, rx = rng.integers(1, h // 3 + 1), rng.integers(1, w // 3 + 1)
            yy, xx = np.mgrid[:h, :w]
            m[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = 1
    return m


def holes(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    kind = rng.integers(0, 3)
    y0, x0 = rng.integers(0, 3), rng.integers(0, 3)
    y1, x1 = h - rng.integers(0, 3), w - rng.integers(0, 3)
    m[y0:y1, x0:x1] = 1
    if kind == 0:  # rectangle with several holes
        for _ in range(rng.integers(1, 4)):
            hy, hx = rng.integers(y0 + 1, y1 - 2), rng.integers(x0 + 1, x1 - 2)
            m[hy:hy + rng.integers(1, 4), hx:hx + rng.integers(1, 5)] = 0
    elif kind == 1:  # concentric rings
        t = int(rng.integers(1, 3))
        k = 0
        while y0 + t < y1 - t and x0 + t < x1 - t:
            y0, x0, y1, x1 = y0 + t, x0 + t, y1 - t, x1 - t
            m[y0:y1, x0:x1] = k % 2
            k += 1
    else:  # ring with an island and a hole in the island
        m[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = 0
        m[y0 + 4:y1 - 4, x0 + 4:x1 - 4] = 1
        m[y0 + 6:y1 - 6, x0 + 6:x1 - 6] = 0
    return m


def border(rng, h, w):
    if rng.random() < 0.15:
        return np.ones((h, w), np.uint8)
    m = blobs(rng, h, w)
    side = rng.integers(0, 4)
    if side == 0:
        m[:rng.integers(1, 4), :] = 1
    elif side == 1:
        m[:, -rng.integers(1, 4):] = 1
    elif side == 2:
        m[-1, rng.integers(0, w // 2):] = 1
    else:
        m[rng.integers(0, h // 2):, 0] = 1
    return m


def lines(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(0, 4)
        if k == 0:
            y = rng.integers(0, h)
            m[y, rng.integers(0, w // 2):rng.integers(w // 2, w)] = 1
        elif k == 1:
            x = rng.integers(0, w)
            m[rng.integers(0, h // 2):rng.integers(h // 2, h), x] = 1
        elif k == 2:
            y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
            for d in range(rng.integers(2, min(h, w) // 2)):
                if y + d < h and x + d < w:
                    m[y + d, x + d] = 1
        else:
            y, x = rng.integers(0, h - 5), rng.integers(0, w - 5)
            m[y:y + 5, x] = 1
            m[y + 4, x:x + 5] = 1
    return m


def pixels(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    n = rng.integers(1, 12)
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    m[ys, xs] = 1
    return m


def equal(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    shape = (rng.random((sh, sw)) < 0.8).astype(np.uint8)
    shape[0, 0] = 1
    placed = 0
    for _ in range(40):
        y, x = rng.integers(0, h - sh), rng.integers(0, w - sw)
        y0, x0 = max(0, y - 1), max(0, x - 1)
        if m[y0:y + sh + 1, x0:x + sw + 1].any():
            continue
        m[y:y + sh, x:x + sw] = shape
        placed += 1
        if placed >= 5:
            break
    return m


def noise(rng, h, w):
    return (rng.random((h, w)) < rng.choice([0.1, 0.3, 0.5, 0.7])).astype(np.uint8)


def checker(rng, h, w):
    yy, xx = np.mgrid[:h, :w]
    m = ((yy + xx) % 2 == 0).astype(np.uint8)
    m[rng.random((h, w)) < 0.2] = 0
    return m


def describe(contours, hierarchy):
    lines_ = []
    for i, c in enumerate(contours):
        parent = int(hierarchy[0][i][3]) if hierarchy is not None else -1
        area = cv2.contourArea(c)
        x, y, w, h = cv2.boundingRect(c)
        pts = c.reshape(-1, 2)
        coords = " ".join(f"{int(px)} {int(py)}" for px, py in pts)
        lines_.append(f"{parent} {area!r} {x} {y} {w} {h} {len(pts)} {coords}")
    return lines_


def main():
    rng = np.random.default_rng(SEED)
    makers = [("blobs", blobs), ("holes", holes), ("border", border), ("lines", lines), ("pixels", pixels),
              ("equal", equal), ("noise", noise), ("checker", checker)]
    masks = []
    for kind, fn in makers:
        for _ in range(14):
            h, w = int(rng.integers(12, 23)), int(rng.integers(12, 29))
            masks.append((kind, fn(rng, h, w)))
    for _ in range(3):
        masks.append(("noise", (rng.random((64, 64)) < 0.35).astype(np.uint8)))
    masks.append(("empty", np.zeros((7, 9), np.uint8)))
    masks.append(("pixels", np.ones((1, 1), np.uint8)))
    masks.append(("lines", np.ones((1, 6), np.uint8)))
    masks.append(("lines", np.ones((5, 1), np.uint8)))
    out = [f"# cv2.findContours fixtures: gen_contour_boxes.py seed {SEED}, opencv {cv2.__version__}, "
           f"numpy {np.__version__}"]
    for i, (kind, m) in enumerate(masks):
        img = (m * 255).astype(np.uint8)
        out.append(f"mask {i} {kind} {m.shape[0]} {m.shape[1]}")
        out += ["".join(str(int(v)) for v in row) for row in m]
        tree, th = cv2.findContours(img.copy(), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        ext, eh = cv2.findContours(img.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out.append(f"tree {len(tree)}")
        out += describe(tree, th)
        out.append(f"external {len(ext)}")
        out += describe(ext, eh)
        if len(tree):
            best = max(range(len(tree)), key=lambda k: cv2.contourArea(tree[k]))
        else:
            best = -1
        out.append(f"largest {best}")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
