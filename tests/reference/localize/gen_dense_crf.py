"""gen_dense_crf.py — fixtures for models/dense_crf.{h,cpp} (tests/test_dense_crf.cpp).

dense_crf.safetensors (seed 0):
  image             (H, W, 3) u8: three flat colour regions (left, right-top, right-bottom) + noise +- 12
  probs             (L, H, W) f32 noisy class probabilities (softmax of region evidence + N(0, 1.5) noise), L = 3
  labels            (H, W) i64 noisy labels (argmax of probs)
  exact.q           (L, H, W) exact mean-field with the dense O(N^2) Gaussian sums (the model densecrf
                    approximates with its lattice), psa parameters (10 iterations, Gaussian 3/3, bilateral 80/13/10)
  exact.filter.<k>.* for k = gauss ((x, y) / 3) and bilateral ((x, y) / 8, rgb / 13) on the image: features (N, d),
                    out = exact sums sum_j exp(-|f_i - f_j|^2 / 2) v_j of exact.filter.values (N, 2), density =
                    the same sums of 1
  pydensecrf.q      (L, H, W) pydensecrf crf_inference (psa defaults) when pydensecrf is importable
  pydensecrf.label  (H, W) IRNet crf_inference_label (unary_from_labels gt_prob 0.7, Gaussian 3/3, bilateral 50/5/10)
  seeds.maps        (4, H, W) class maps (GT classes 0 and 2; class 1 is a distractor)
  seeds.crf_alpha1/12  (5, H, W) psa/MCTformer _crf_with_alpha (alpha 1 "la", 12 "ha"), channel 0 background
  seeds.irn_conf    (H, W) u8 IRNet cam_to_ir_label confident labels (fg 0.30, bg 0.10: CLIMS)
Run: python tests/reference/localize/gen_dense_crf.py (numpy, torch, safetensors; pydensecrf2 for the pydensecrf keys).
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file

SEED = 0
H, W, L = 18, 22, 3
HERE = os.path.dirname(os.path.abspath(__file__))


def make_inputs(rng):
    region = np.zeros((H, W), dtype=np.int64)
    region[: H // 2, W // 2:] = 1
    region[H // 2:, W // 2:] = 2
    colours = np.array([[200, 40, 40], [40, 180, 60], [50, 60, 210]], dtype=np.int64)
    img = colours[region] + rng.integers(-12, 13, size=(H, W, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    logits = 1.0 * np.eye(L)[region].transpose(2, 0, 1) + rng.normal(0, 1.5, size=(L, H, W))
    probs = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
    return img, probs.astype(np.float32), region


def exact_kernel(features):
    d2 = ((features[:, None, :] - features[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * d2)


def exact_crf(img, unary, iters, gs, gc, bs, bsrgb, bc):
    """Mean field of densecrf's model with exact Gaussian sums (self term included, as the lattice does)."""
    ys, xs = np.mgrid[0:H, 0:W]
    pos = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    rgb = img.reshape(-1, 3).astype(np.float64)
    kernels = []
    for feat, w in ((pos / gs, gc), (np.concatenate([pos / bs, rgb / bsrgb], 1), bc)):
        k = exact_kernel(feat)
        norm = 1.0 / np.sqrt(k.sum(1))
        kernels.append((k, norm, w))
    u = unary.reshape(L, -1).T.astype(np.float64)  # (N, L)

    def softmax(e):
        e = e - e.max(1, keepdims=True)
        p = np.exp(e)
        return p / p.sum(1, keepdims=True)

    q = softmax(-u)
    for _ in range(iters):
        e = -u.copy()
        for k, norm, w in kernels:
            e += w * norm[:, None] * (k @ (norm[:, None] * q))
        q = softmax(e)
    return q.T.reshape(L, H, W)


def main():
    rng = np.random.default_rng(SEED)
    img, probs, region = make_inputs(rng)
    labels = probs.argmax(0)
    unary = -np.log(np.clip(probs, 1e-5, 1.0))
    out = {
        "image": torch.from_numpy(img.copy()),
        "probs": torch.from_numpy(probs.copy()),
        "labels": torch.from_numpy(labels.astype(np.int64)),
        "region": torch.from_numpy(region.copy()),
        "exact.q": torch.from_numpy(exact_crf(img, unary, 10, 3, 3, 80, 13, 10).astype(np.float32)),
    }
    # Filter checks on the CRF's own kinds of features: the Gaussian kernel's (x, y) / 3 grid and the bilateral
    # kernel's (x / 8, y / 8, rgb / 13) on the image above.
    ys, xs = np.mgrid[0:H, 0:W]
    pos = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    vals = rng.normal(0, 1.0, size=(H * W, 2))
    for name, feats in (("gauss", pos / 3.0),
                        ("bilateral", np.concatenate([pos / 8.0, img.reshape(-1, 3) / 13.0], 1))):
        feats = feats.astype(np.float32)
        k = exact_kernel(feats.astype(np.float64))
        out[f"exact.filter.{name}.features"] = torch.from_numpy(feats)
        out[f"exact.filter.{name}.out"] = torch.from_numpy((k @ vals).astype(np.float32))
        out[f"exact.filter.{name}.density"] = torch.from_numpy(k.sum(1, keepdims=True).astype(np.float32))
    out["exact.filter.values"] = torch.from_numpy(vals.astype(np.float32))
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_labels, unary_from_softmax
    except ImportError:
        dcrf = None
        print("pydensecrf not importable: writing the exact references only")
    if dcrf is not None:
        # psa tool/imutils.crf_inference(img, probs, t=10, scale_factor=1, labels=L)
        d = dcrf.DenseCRF2D(W, H, L)
        d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
        d.addPairwiseGaussian(sxy=3, compat=3)
        d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.copy(img), compat=10)
        out["pydensecrf.q"] = torch.from_numpy(np.array(d.inference(10)).reshape(L, H, W).astype(np.float32))
        # IRNet misc/imutils.crf_inference_label(img, labels, t=10, n_labels=L, gt_prob=0.7)
        d = dcrf.DenseCRF2D(W, H, L)
        d.setUnaryEnergy(unary_from_labels(labels, L, gt_prob=0.7, zero_unsure=False))
        d.addPairwiseGaussian(sxy=3, compat=3)
        d.addPairwiseBilateral(sxy=50, srgb=5, rgbim=np.ascontiguousarray(np.copy(img)), compat=10)
        q = np.array(d.inference(10)).reshape(L, H, W)
        out["pydensecrf.label_q"] = torch.from_numpy(q.astype(np.float32))
        out["pydensecrf.label"] = torch.from_numpy(np.argmax(q, axis=0).astype(np.int64))
        # psa/MCTformer _crf_with_alpha and IRNet cam_to_ir_label on C = 4 class maps, GT classes [0, 2]
        maps = np.zeros((4, H, W), dtype=np.float32)
        maps[0] = np.clip(0.6 * probs[0] + 0.1 * rng.random((H, W)), 0, 1)
        maps[2] = np.clip(probs[2] * 0.9, 0, 1)
        maps[:, : H // 3, W // 2:] *= 0.15  # a confident-background corner
        maps[:, H // 3: H // 2, W // 2:] *= 0.4  # an unsure band
        maps[1] = 0.9  # not a GT class: must be ignored
        out["seeds.maps"] = torch.from_numpy(maps)
        v = maps[[0, 2]]
        for alpha in (1, 12):
            bg = np.power(1 - np.max(v, axis=0, keepdims=True), alpha)
            bgcam = np.concatenate((bg, v), axis=0)
            d = dcrf.DenseCRF2D(W, H, bgcam.shape[0])
            d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(bgcam)))
            d.addPairwiseGaussian(sxy=3, compat=3)
            d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.copy(img), compat=10)
            q = np.array(d.inference(10)).reshape(bgcam.shape[0], H, W)
            full = np.zeros((5, H, W), dtype=np.float32)
            full[0], full[1], full[3] = q[0], q[1], q[2]
            out[f"seeds.crf_alpha{alpha}"] = torch.from_numpy(full)
        keys = np.array([0, 1, 3])

        def label_pass(t):
            lab = np.argmax(np.pad(v, ((1, 0), (0, 0), (0, 0)), mode="constant", constant_values=t), axis=0)
            d = dcrf.DenseCRF2D(W, H, 3)
            d.setUnaryEnergy(unary_from_labels(lab, 3, gt_prob=0.7, zero_unsure=False))
            d.addPairwiseGaussian(sxy=3, compat=3)
            d.addPairwiseBilateral(sxy=50, srgb=5, rgbim=np.ascontiguousarray(np.copy(img)), compat=10)
            return keys[np.argmax(np.array(d.inference(10)).reshape(3, H, W), axis=0)]

        fg_conf, bg_conf = label_pass(0.30), label_pass(0.10)
        conf = fg_conf.copy()
        conf[fg_conf == 0] = 255
        conf[bg_conf + fg_conf == 0] = 0
        out["seeds.irn_conf"] = torch.from_numpy(conf.astype(np.uint8))
    path = os.path.join(HERE, "dense_crf.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata={"seed": str(SEED)})
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
