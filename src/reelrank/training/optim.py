"""A minimal AdamW with gradient clipping.

torch.optim's optimizers import torch._dynamo on construction (seconds of start-up on a small
machine, for features we do not use); this is the same update rule (Loshchilov & Hutter) in a
dozen lines of plain tensor ops.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


class AdamW:
    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, clip_norm: float = 5.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.wd, self.betas, self.eps, self.clip = lr, weight_decay, betas, eps, clip_norm
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        norm = torch.sqrt(torch.stack([(g * g).sum() for g in grads]).sum())  # global L2 norm
        scale = min(1.0, self.clip / (float(norm) + 1e-6)) if self.clip > 0 else 1.0
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            g = g * scale
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            if self.wd and p.ndim > 1:  # no decay on biases, norms, the temperature
                p.mul_(1 - self.lr * self.wd)
            p.addcdiv_(m / c1, (v / c2).sqrt_().add_(self.eps), value=-self.lr)
