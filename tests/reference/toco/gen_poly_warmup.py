"""gen_poly_warmup.py — ToCo's PolyWarmupAdamW (rulixiang/ToCo e13514d9 utils/optimizer.py), restated: the lr
trace of its four parameter groups and the parameters it produces (tests/test_toco_step.cpp, TocoOptim).

PolyWarmupAdamW = torch.optim.AdamW(betas (0.9, 0.999), eps 1e-8, weight_decay per group) whose step() first sets
every group's lr from its initial lr b and the global step s (0 on the first step):
  s < warmup_iter:  b * (1 - (1 - s / warmup_iter) * (1 - warmup_ratio));  s < max_iter: b * (1 - s / max_iter)^power
(else unchanged), then updates and increments s. Groups as ToCo builds them: lr, lr, 10 lr, 10 lr, all with
weight decay 0.01. Here warmup_iter 3, max_iter 7, 9 steps (two past max_iter), lr 6e-3, ratio 1e-6, power 0.9.

poly_warmup.safetensors (seed 0): init.<g> (4, 3) the group's parameter, gradstep.<k>.<g> the gradient fed at step k,
lr (9, 4) the lr of each group used by step k, param.<k>.<g> the parameter after step k.
Run: python tests/reference/toco/gen_poly_warmup.py (torch, safetensors).
"""
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0


class PolyWarmupAdamW(torch.optim.AdamW):
    def __init__(self, params, lr, weight_decay, betas, warmup_iter, max_iter, warmup_ratio, power):
        super().__init__(params, lr=lr, betas=betas, weight_decay=weight_decay, eps=1e-8)
        self.global_step, self.warmup_iter, self.max_iter = 0, warmup_iter, max_iter
        self.warmup_ratio, self.power = warmup_ratio, power
        self.base = [g["lr"] for g in self.param_groups]

    def step(self, closure=None):
        s = self.global_step
        if s < self.warmup_iter:
            mult = 1 - (1 - s / self.warmup_iter) * (1 - self.warmup_ratio)
        elif s < self.max_iter:
            mult = (1 - s / self.max_iter) ** self.power
        else:
            mult = None
        if mult is not None:
            for g, b in zip(self.param_groups, self.base):
                g["lr"] = b * mult
        super().step(closure)
        self.global_step += 1


def main():
    torch.manual_seed(SEED)
    lr = 6e-3
    params = [torch.randn(4, 3, requires_grad=True) for _ in range(4)]
    t = {f"init.{g}": p.detach().clone() for g, p in enumerate(params)}
    opt = PolyWarmupAdamW([{"params": [params[0]], "lr": lr, "weight_decay": 0.01},
                           {"params": [params[1]], "lr": lr, "weight_decay": 0.01},
                           {"params": [params[2]], "lr": lr * 10, "weight_decay": 0.01},
                           {"params": [params[3]], "lr": lr * 10, "weight_decay": 0.01}],
                          lr=lr, weight_decay=0.01, betas=(0.9, 0.999), warmup_iter=3, max_iter=7,
                          warmup_ratio=1e-6, power=0.9)
    lrs = []
    for k in range(9):
        for g, p in enumerate(params):
            p.grad = torch.randn(4, 3)
            t[f"gradstep.{k}.{g}"] = p.grad.clone()
        opt.step()
        lrs.append([grp["lr"] for grp in opt.param_groups])
        for g, p in enumerate(params):
            t[f"param.{k}.{g}"] = p.detach().clone()
    t["lr"] = torch.tensor(lrs, dtype=torch.float64)
    save_file(t, os.path.join(HERE, "poly_warmup.safetensors"), metadata={"seed": str(SEED)})
    print(lrs)


if __name__ == "__main__":
    main()
