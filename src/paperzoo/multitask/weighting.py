"""Loss balancing for multi-task learning behind one interface (LibMTL-style).

A step gives the rule the tasks' losses L (T,) on their own batches and, when the rule asks for them
(`needs_grads`), the tasks' gradients on the *shared* parameters as rows of one flat buffer G (T, P) — never a
copy of the model per task. The rule returns the combined shared gradient g (P,) and the task weights w (T,)
(each task head's own gradient is scaled by its w). Rules without `needs_grads` only give weights, and the
trainer back-propagates sum_t w_t L_t once.

    fixed        w_t = c_t (given; default 1)                                   g = sum_t w_t g_t
    uncertainty  w_t = 1 / (2 exp(s_t)),  s_t = log sigma_t^2 learned by minimising
                 sum_t L_t / (2 exp(s_t)) + s_t / 2   (Kendall et al. 2018; optimum s_t = log L_t, init -0.5)
    dwa          w_t(k) = T softmax_t(r_t(k-1) / temp),  r_t(k-1) = Lbar_t(k-1) / Lbar_t(k-2)
                 (Liu et al. 2019; Lbar = mean loss over a window of steps, temp = 2; w = 1 for two windows)
    gradnorm     g = sum_t w_t g_t;  G_t = w_t ||g_t||,  Ltilde_t = L_t / L_t(0),  r_t = Ltilde_t / mean(Ltilde)
                 dL_grad/dw_t = sign(G_t - mean(G) r_t^alpha) ||g_t||  (targets constant), one SGD step on w,
                 then w <- T w / sum(w)   (Chen et al. 2018, alpha = 1.5)
    pcgrad       g_i' = g_i - (g_i'.g_j / ||g_j||^2) g_j for every j != i (random order) with g_i'.g_j < 0;
                 g = sum_i g_i'   (Yu et al. 2020)
    gradvac      phi_ij = cos(g_i, g_j); if phi_ij < phihat_ij:
                 g_i' += ||g_i'|| (phihat sqrt(1 - phi^2) - phi sqrt(1 - phihat^2)) / (||g_j|| sqrt(1 - phihat^2)) g_j;
                 phihat_ij <- (1 - beta) phihat_ij + beta phi_ij   (Wang et al. 2021, whole shared vector)

The paper's gradient-cosine rule lives in `cosine.py`. Losses are the *global* batch losses (the same on every
rank under torchrun), so every rank computes the same weights and the same combined gradient.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class Weighting:
    """Fixed weights, and the interface every rule follows."""

    name = "fixed"
    needs_grads = False

    def __init__(self, n_tasks: int, weights: list[float] | None = None) -> None:
        if n_tasks < 1:
            raise ValueError(f"a weighting rule needs at least one task, got {n_tasks}")
        if weights and len(weights) != n_tasks:
            raise ValueError(f"fixed weights: got {len(weights)} weights for {n_tasks} tasks")
        self.n_tasks = n_tasks
        self.fixed = torch.tensor(weights or [1.0] * n_tasks, dtype=torch.float64)

    def weights(self, losses: Tensor) -> Tensor:
        """w (T,) from the current losses (rules that need gradients override `combine` instead)."""
        return self.fixed.clone()

    def combine(self, losses: Tensor, grads: Tensor) -> tuple[Tensor, Tensor]:
        """(combined shared gradient (P,), task weights (T,)) from losses (T,) and per-task gradients (T, P)."""
        w = self.weights(losses)
        return w.to(grads.dtype) @ grads, w

    def update(self, losses: Tensor, grads: Tensor | None) -> None:
        """Adapt the rule's state after a step (learned weights, loss windows, moving targets)."""

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        for k, v in state.items():
            setattr(self, k, v.clone())


class Uncertainty(Weighting):
    """Homoscedastic-uncertainty weights (Kendall et al. 2018) with s_t = log sigma_t^2, updated by Adam."""

    name = "uncertainty"

    def __init__(self, n_tasks: int, init: float = -0.5, lr: float = 1e-2) -> None:
        super().__init__(n_tasks)
        self.s = torch.full((n_tasks,), float(init), dtype=torch.float64, requires_grad=True)
        self.opt = torch.optim.Adam([self.s], lr=lr)

    def weights(self, losses: Tensor) -> Tensor:
        return (0.5 * torch.exp(-self.s)).detach()

    def objective(self, losses: Tensor) -> Tensor:
        """sum_t L_t / (2 exp(s_t)) + s_t / 2 (the losses held constant: only s learns from it)."""
        return (losses.detach().to(self.s.dtype) * 0.5 * torch.exp(-self.s) + 0.5 * self.s).sum()

    def update(self, losses: Tensor, grads: Tensor | None) -> None:
        self.opt.zero_grad()
        self.objective(losses).backward()
        self.opt.step()

    def state_dict(self) -> dict[str, Tensor]:
        return {"s": self.s.detach().clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        with torch.no_grad():
            self.s.copy_(state["s"])


class DWA(Weighting):
    """Dynamic weight average (Liu et al. 2019) over windows of `window` steps."""

    name = "dwa"

    def __init__(self, n_tasks: int, temperature: float = 2.0, window: int = 10) -> None:
        super().__init__(n_tasks)
        if temperature <= 0 or window < 1:
            raise ValueError(f"DWA needs temperature > 0 and window >= 1, got {temperature}, {window}")
        self.temperature, self.window = temperature, window
        self.means = torch.zeros(0, n_tasks, dtype=torch.float64)  # completed windows' mean losses
        self.acc = torch.zeros(n_tasks, dtype=torch.float64)
        self.count = torch.zeros((), dtype=torch.float64)

    def weights(self, losses: Tensor) -> Tensor:
        if self.means.shape[0] < 2:
            return torch.ones(self.n_tasks, dtype=torch.float64)
        ratio = self.means[-1] / self.means[-2].clamp_min(1e-12)
        return self.n_tasks * torch.softmax(ratio / self.temperature, dim=0)

    def update(self, losses: Tensor, grads: Tensor | None) -> None:
        self.acc += losses.detach().to(torch.float64)
        self.count += 1
        if int(self.count) == self.window:
            self.means = torch.cat([self.means, (self.acc / self.count)[None]])[-2:]
            self.acc.zero_()
            self.count.zero_()

    def state_dict(self) -> dict[str, Tensor]:
        return {"means": self.means.clone(), "acc": self.acc.clone(), "count": self.count.clone()}


class GradNorm(Weighting):
    """GradNorm (Chen et al. 2018) on the shared-parameter gradients, asymmetry alpha."""

    name = "gradnorm"
    needs_grads = True

    def __init__(self, n_tasks: int, alpha: float = 1.5, lr: float = 0.025) -> None:
        super().__init__(n_tasks)
        self.alpha, self.lr = alpha, lr
        self.w = torch.ones(n_tasks, dtype=torch.float64)
        self.initial = torch.zeros(0, dtype=torch.float64)

    def combine(self, losses: Tensor, grads: Tensor) -> tuple[Tensor, Tensor]:
        return self.w.to(grads.dtype) @ grads, self.w.clone()

    def weight_gradient(self, losses: Tensor, grads: Tensor) -> Tensor:
        """dL_grad/dw with L_grad = sum_t |w_t ||g_t|| - mean(G) r_t^alpha| and the targets held constant."""
        norms = grads.to(torch.float64).norm(dim=1)
        if self.initial.numel() == 0:
            self.initial = losses.detach().to(torch.float64).clamp_min(1e-12)
        ltilde = losses.detach().to(torch.float64) / self.initial
        r = ltilde / ltilde.mean()
        g_w = self.w * norms
        target = g_w.mean() * r.pow(self.alpha)
        return torch.sign(g_w - target) * norms

    def update(self, losses: Tensor, grads: Tensor | None) -> None:
        assert grads is not None
        w = (self.w - self.lr * self.weight_gradient(losses, grads)).clamp_min(1e-3)
        self.w = self.n_tasks * w / w.sum()

    def state_dict(self) -> dict[str, Tensor]:
        return {"w": self.w.clone(), "initial": self.initial.clone()}


class PCGrad(Weighting):
    """Projecting conflicting gradients (Yu et al. 2020); one working row at a time (memory: G + 2 rows)."""

    name = "pcgrad"
    needs_grads = True

    def __init__(self, n_tasks: int, seed: int = 0) -> None:
        super().__init__(n_tasks)
        self.gen = torch.Generator().manual_seed(seed)

    def combine(self, losses: Tensor, grads: Tensor) -> tuple[Tensor, Tensor]:
        T = grads.shape[0]
        sq = (grads * grads).sum(dim=1)
        out = torch.zeros_like(grads[0])
        row = torch.empty_like(grads[0])
        for i in range(T):
            row.copy_(grads[i])
            for j in torch.randperm(T, generator=self.gen).tolist():
                if j == i or sq[j] == 0:
                    continue
                dot = torch.dot(row, grads[j])
                if dot < 0:
                    row.sub_(grads[j], alpha=float(dot / sq[j]))
            out.add_(row)
        return out, torch.ones(T, dtype=torch.float64)


class GradVac(Weighting):
    """Gradient vaccine (Wang et al. 2021): raise pairwise cosines to their moving targets."""

    name = "gradvac"
    needs_grads = True

    def __init__(self, n_tasks: int, beta: float = 0.01, seed: int = 0) -> None:
        super().__init__(n_tasks)
        self.beta = beta
        self.target = torch.zeros(n_tasks, n_tasks, dtype=torch.float64)
        self.gen = torch.Generator().manual_seed(seed)

    def combine(self, losses: Tensor, grads: Tensor) -> tuple[Tensor, Tensor]:
        T = grads.shape[0]
        norms = grads.norm(dim=1)
        out = torch.zeros_like(grads[0])
        row = torch.empty_like(grads[0])
        seen = torch.zeros(T, T, dtype=torch.float64)
        for i in range(T):
            row.copy_(grads[i])
            for j in torch.randperm(T, generator=self.gen).tolist():
                if j == i or norms[j] == 0 or row.norm() == 0:
                    continue
                phi = float(torch.dot(row, grads[j]) / (row.norm() * norms[j]))
                seen[i, j] = phi
                hat = float(self.target[i, j])
                if phi < hat:
                    coef = row.norm() * (hat * math.sqrt(max(0.0, 1 - phi**2)) - phi * math.sqrt(1 - hat**2))
                    row.add_(grads[j], alpha=float(coef / (norms[j] * math.sqrt(1 - hat**2))))
            out.add_(row)
        self._seen = seen
        return out, torch.ones(T, dtype=torch.float64)

    def update(self, losses: Tensor, grads: Tensor | None) -> None:
        seen = getattr(self, "_seen", None)
        if seen is not None:
            off = ~torch.eye(self.n_tasks, dtype=torch.bool)
            self.target[off] = (1 - self.beta) * self.target[off] + self.beta * seen[off]

    def state_dict(self) -> dict[str, Tensor]:
        return {"target": self.target.clone()}


def cosine_matrix(grads: Tensor) -> Tensor:
    """C_ij = cos(g_i, g_j) of the rows of G (T, P), in float64; a zero row has cosine 0 with everything."""
    g = grads.to(torch.float64)
    n = g.norm(dim=1)
    c = (g @ g.T) / torch.outer(n, n).clamp_min(1e-30)
    c[n == 0] = 0
    c[:, n == 0] = 0
    return c
