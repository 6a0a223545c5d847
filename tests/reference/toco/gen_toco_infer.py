"""gen_toco_infer.py — ToCo's inference (tests/test_toco_step.cpp, TocoInfer): restates rulixiang/ToCo e13514d9
tools/infer_seg_voc.py (_validate: per scale the input resized bilinear to (int(h s), int(w s)), with its flip; the
segmentation logits resized to the image size; original + flipped-back summed; max over the scales (1.0, 1.5,
1.25)) and tools/infer_cam.py (the image resized to the CAM input size, multi_scale_cam2 with (1.0, 0.5, 1.5),
the CAMs resized to the image size), on the network of gen_toco_step.py (the ToCo fixture's weights, CAM input
size 32 for the reduced network instead of 448).

toco_infer.safetensors (seed 0): param.<name> (as toco_step.safetensors), input.image (1, 3, 36, 44),
output.seg_logits (1, 5, 36, 44), output.cams / output.cams_aux (1, 4, 36, 44).
Run: python tests/reference/toco/gen_toco_infer.py (after gen_toco_step.py; torch, safetensors).
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_toco_step as S  # noqa: E402

SEED = 0


def segment(model, x, scales=(1.0, 1.5, 1.25)):
    _, _, h, w = x.shape
    outs = []
    for sc in scales:
        xs = F.interpolate(x, size=[int(h * sc), int(w * sc)], mode="bilinear", align_corners=False)
        segs = model(torch.cat([xs, xs.flip(-1)], 0))[1]
        segs = F.interpolate(segs, size=(h, w), mode="bilinear", align_corners=False)
        outs.append(segs[:1] + segs[1:].flip(-1))
    return torch.max(torch.stack(outs, 0), 0)[0]


def main():
    torch.manual_seed(SEED)
    fx = load_file(os.path.join(HERE, "toco_step.safetensors"))
    model = S.Network(dial=False)
    model.load_state_dict({k[6:]: v for k, v in fx.items() if k.startswith("param.")})
    model.eval()
    x = torch.randn(1, 3, 36, 44)
    t = {"param." + k: v.clone() for k, v in model.state_dict().items()}
    t["input.image"] = x
    with torch.no_grad():
        t["output.seg_logits"] = segment(model, x)
        x32 = F.interpolate(x, size=[32, 32], mode="bilinear", align_corners=False)
        cams, aux = S.multi_scale_cam(model, x32, (1.0, 0.5, 1.5))
        t["output.cams"] = F.interpolate(cams, size=(36, 44), mode="bilinear", align_corners=False)
        t["output.cams_aux"] = F.interpolate(aux, size=(36, 44), mode="bilinear", align_corners=False)
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(HERE, "toco_infer.safetensors"),
              metadata={"seed": str(SEED), "source": "rulixiang/ToCo e13514d9 tools/infer_seg_voc.py, tools/infer_cam.py"})


if __name__ == "__main__":
    main()
