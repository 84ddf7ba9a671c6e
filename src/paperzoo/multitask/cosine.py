"""The paper's dynamic weight adjustment from the cosine between task gradients (arXiv 2412.06249).

The paper trains L = sum_t alpha_t L_t over a shared encoder theta and names the signal that adjusts the
weights, L_cos = 1 - cos(grad_theta L_t1, grad_theta L_t2), but not how it changes alpha_t. We read it as
follows (mode="softmax", the default) and keep two other readings switchable:

    C_ij      = cos(g_i, g_j),  g_t = grad_theta L_t on the shared parameters (rows of one flat buffer)
    cbar_t    = mean_{j != t} C_tj = 1 - mean_{j != t} L_cos(t, j)      (how much task t agrees with the others)
    chat_t   <- beta chat_t + (1 - beta) cbar_t                            (moving average, chat = cbar at step 1)
    alpha_t   = T softmax_t(chat_t / tau)                                  (sum_t alpha_t = T; tau -> inf: fixed)
    g         = sum_t alpha_t g_t                                          (heads: alpha_t times their gradient)

so a task whose gradient conflicts with the others (large L_cos) is down-weighted in the shared update and
tasks that agree are trusted more, which is what "collaborative learning between tasks" asks of the weights.

mode="gate":    alpha_t = T max(0, cos(g_t, sum_{j != t} g_j)) / sum_j max(0, ...)  (Du et al. 2018 generalised;
                all gates 0 -> fixed weights).
mode="penalty": the literal loss L = sum_t L_t + lam mean_{i<j} (1 - C_ij), which needs the gradient of a
                gradient (double backward through the shared encoder); the trainer calls `penalty()`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .weighting import Weighting, cosine_matrix

MODES = ("softmax", "gate", "penalty")


class GradientCosine(Weighting):
    """Task weights from the cosine between task gradients on the shared parameters (see module docstring)."""

    name = "cosine"
    needs_grads = True

    def __init__(self, n_tasks: int, mode: str = "softmax", temperature: float = 0.1, beta: float = 0.9,
                 penalty_weight: float = 0.1) -> None:
        super().__init__(n_tasks)
        if mode not in MODES:
            raise ValueError(f"cosine rule mode must be one of {', '.join(MODES)}, got {mode!r}")
        if temperature <= 0 or not 0 <= beta < 1:
            raise ValueError(f"cosine rule needs temperature > 0 and 0 <= beta < 1, got {temperature}, {beta}")
        self.mode, self.temperature, self.beta, self.penalty_weight = mode, temperature, beta, penalty_weight
        self.needs_graph = mode == "penalty"
        self.chat = torch.zeros(0, dtype=torch.float64)

    def agreement(self, grads: Tensor) -> Tensor:
        """cbar_t = mean over the other tasks of cos(g_t, g_j) (0 with a single task)."""
        T = grads.shape[0]
        if T == 1:
            return torch.zeros(1, dtype=torch.float64)
        c = cosine_matrix(grads)
        return (c.sum(dim=1) - c.diagonal()) / (T - 1)

    def combine(self, losses: Tensor, grads: Tensor) -> tuple[Tensor, Tensor]:
        if self.mode == "softmax":
            cbar = self.agreement(grads)
            self.chat = cbar if self.chat.numel() == 0 else self.beta * self.chat + (1 - self.beta) * cbar
            w = self.n_tasks * torch.softmax(self.chat / self.temperature, dim=0)
        elif self.mode == "gate":
            g = grads.to(torch.float64)
            rest = g.sum(dim=0, keepdim=True) - g
            gates = ((g * rest).sum(dim=1) / (g.norm(dim=1) * rest.norm(dim=1)).clamp_min(1e-30)).clamp_min(0)
            w = self.n_tasks * gates / gates.sum() if gates.sum() > 0 else torch.ones_like(gates)
        else:  # penalty: the gradient is formed by `penalty` + backward; the task losses keep weight 1
            w = torch.ones(self.n_tasks, dtype=torch.float64)
        return w.to(grads.dtype) @ grads, w

    def penalty(self, flat_grads: list[Tensor]) -> Tensor:
        """lam * mean_{i<j} (1 - cos(g_i, g_j)) over per-task gradients built with create_graph=True."""
        T = len(flat_grads)
        if T < 2:
            return flat_grads[0].sum() * 0
        terms = [1 - torch.nn.functional.cosine_similarity(flat_grads[i], flat_grads[j], dim=0, eps=1e-12)
                 for i in range(T) for j in range(i + 1, T)]
        return self.penalty_weight * torch.stack(terms).mean()

    def state_dict(self) -> dict[str, Tensor]:
        return {"chat": self.chat.clone()}
