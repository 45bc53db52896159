"""The multi-task ranker's torch networks (training/ranker.py trains them; ranking/ranker_model.py runs
their exported weights with numpy or onnxruntime).

- `SharedBottom`: one MLP shared by every task, one logit per task on top (all heads as one matrix).
- `MMoE` (Ma et al. 2018, "Modeling Task Relationships in Multi-task Learning with Multi-gate
  Mixture-of-Experts"): `experts` MLPs of the same shape as the shared bottom; per task a softmax gate
  (a linear map of the input) weighs the experts' outputs; a linear head per task reads its mixture.
  The experts run as batched matmuls ((E, B, D) @ (E, D, D')), the shape serving uses too.

Both take standardised features (B, F) and return (B, T) logits, and both export to the numpy rankers
with `to_numpy(mean, std)`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from reelrank.ranking.ranker_model import MMoERanker, MultiTaskRanker, Ranker


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32).copy()


class SharedBottom(nn.Module):
    def __init__(self, n_features: int, hidden: tuple[int, ...], n_tasks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = n_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.bottom = nn.Sequential(*layers)
        self.heads = nn.Linear(d, n_tasks)  # one logit per task, all heads as one matrix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.bottom(x))  # (B, F) -> (B, T) logits

    @property
    def head_bias(self) -> torch.Tensor:
        return self.heads.bias

    def to_numpy(self, mean: np.ndarray, std: np.ndarray) -> Ranker:
        linears = [m for m in self.bottom if isinstance(m, nn.Linear)]
        layers = [(_np(m.weight.T), _np(m.bias)) for m in linears]
        return MultiTaskRanker(mean, std, layers, _np(self.heads.weight.T), _np(self.heads.bias))


class MMoE(nn.Module):
    def __init__(self, n_features: int, hidden: tuple[int, ...], n_tasks: int, n_experts: int = 4) -> None:
        super().__init__()
        self.n_tasks, self.n_experts = n_tasks, n_experts
        self.expert_w = nn.ParameterList()
        self.expert_b = nn.ParameterList()
        d = n_features
        for h in hidden:  # nn.Linear's default init, one independent draw per expert
            bound = 1.0 / math.sqrt(d)
            self.expert_w.append(nn.Parameter(torch.empty(n_experts, d, h).uniform_(-bound, bound)))
            self.expert_b.append(nn.Parameter(torch.empty(n_experts, h).uniform_(-bound, bound)))
            d = h
        self.gates = nn.Linear(n_features, n_tasks * n_experts)
        nn.init.zeros_(self.gates.weight)  # every gate starts as the plain average of the experts
        nn.init.zeros_(self.gates.bias)
        bound = 1.0 / math.sqrt(d)
        self.head_w = nn.Parameter(torch.empty(n_tasks, d).uniform_(-bound, bound))
        self.head_b = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0)  # (1, B, F)
        for w, b in zip(self.expert_w, self.expert_b, strict=True):
            h = torch.relu(torch.matmul(h, w) + b.unsqueeze(1))  # (E, B, D)
        gate = torch.softmax(self.gates(x).view(len(x), self.n_tasks, self.n_experts), dim=2)  # (B, T, E)
        mix = torch.matmul(gate, h.transpose(0, 1))  # (B, T, E) @ (B, E, H) -> (B, T, H)
        return (mix * self.head_w).sum(dim=2) + self.head_b  # (B, T) logits

    @property
    def head_bias(self) -> torch.Tensor:
        return self.head_b

    def to_numpy(self, mean: np.ndarray, std: np.ndarray) -> Ranker:
        experts = [(_np(w), _np(b)) for w, b in zip(self.expert_w, self.expert_b, strict=True)]
        return MMoERanker(mean, std, experts, _np(self.gates.weight.T), _np(self.gates.bias), _np(self.head_w),
                          _np(self.head_b))


def build_net(arch: str, n_features: int, hidden: tuple[int, ...], n_tasks: int,
              n_experts: int = 4) -> SharedBottom | MMoE:
    if arch == "shared_bottom":
        return SharedBottom(n_features, hidden, n_tasks)
    if arch == "mmoe":
        return MMoE(n_features, hidden, n_tasks, n_experts)
    raise ValueError(f"unknown ranker arch {arch!r} (shared_bottom or mmoe)")
