"""FedGA: gradient alignment by label calibration, and the error-asymmetry metric.

Per local mini-batch (B samples, C classes), n_c = count of class c in the batch, p = stopgrad(softmax(z)):

    M[c, j] = (n_c - n_j) / n_c                       (rows only for classes present in the batch)
    t_i     = onehot(y_i) + p_i * M[y_i, :]           (calibrated target; does not sum to one)

mode="paper"   (the authors' code): L = mean_i -sum_j t_ij log softmax(z_i)_j,
               so dL/dz_ij = (S_i p_ij - t_ij) / B with S_i = sum_j t_ij.
mode="aligned" (the intended gradient): dL/dz_ij = (p_ij - t_ij) / B, i.e.
               g_ij = p_ij n_j / n_{y_i} for j != y_i (zero for classes missing from the batch), p - 1 at y_i;
               the batch's summed logit gradient for class j vanishes exactly when its batch EA equals 1.

Tensors carry a leading client axis K: logits (K, B, C), labels (K, B), mask (K, B) with 1 for real samples
(padding rows have 0 and count for nothing). The loss returned is per client, shape (K,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def batch_counts(labels: Tensor, mask: Tensor, n_classes: int) -> Tensor:
    """n[k, c] = number of real samples of class c in client k's batch."""
    return (F.one_hot(labels, n_classes).to(mask.dtype) * mask.unsqueeze(-1)).sum(dim=1)


def calibrated_target(logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
    """t = onehot(y) + stopgrad(softmax(z)) * M[y, :] with M[c, j] = (n_c - n_j) / n_c."""
    n_classes = logits.shape[-1]
    n = batch_counts(labels, mask, n_classes)
    present = n > 0
    ratio = (n.unsqueeze(-1) - n.unsqueeze(-2)) / torch.where(present, n, torch.ones_like(n)).unsqueeze(-1)
    ratio = ratio * present.unsqueeze(-1)  # rows of absent classes are never gathered, keep them finite
    m_of_y = torch.gather(ratio, 1, labels.unsqueeze(-1).expand(-1, -1, n_classes))
    p = logits.detach().softmax(dim=-1)
    return F.one_hot(labels, n_classes).to(logits.dtype) + p * m_of_y


class _AlignedCE(torch.autograd.Function):
    """Value: soft-target CE summed over rows with row weights w; gradient: w_i (softmax(z_i) - t_i)."""

    @staticmethod
    def forward(ctx, logits: Tensor, target: Tensor, row_weight: Tensor) -> Tensor:
        # softmax (not exp(log_softmax)): the same bits as the target's p, so a missing class gets exactly 0
        ctx.save_for_backward(logits.softmax(dim=-1), target, row_weight)
        return -(target * logits.log_softmax(dim=-1)).sum(-1).mul(row_weight).sum(-1)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        p, target, row_weight = ctx.saved_tensors
        g = (p - target) * row_weight.unsqueeze(-1) * grad_out.unsqueeze(-1).unsqueeze(-1)
        return g, None, None


class FedGALoss:
    """Per-client FedGA loss on (K, B, C) logits; ``mode`` is "paper" or "aligned" (see module docstring)."""

    def __init__(self, mode: str = "paper"):
        if mode not in ("paper", "aligned"):
            raise ValueError(f"FedGALoss mode must be 'paper' or 'aligned', got {mode!r}")
        self.mode = mode

    def __call__(self, logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
        target = calibrated_target(logits, labels, mask)
        row_weight = mask / mask.sum(dim=1, keepdim=True).clamp_min(1.0)
        if self.mode == "aligned":
            return _AlignedCE.apply(logits, target, row_weight)
        return -(target * logits.log_softmax(dim=-1)).sum(-1).mul(row_weight).sum(-1)


def error_asymmetry(probs: Tensor, labels: Tensor, n_classes: int, double_softmax: bool = False) -> Tensor:
    """EA_c = (1 - pi[c, c]) / (sum_k pi[k, c] - pi[c, c]), pi[c, j] = mean over samples of class c of P(j).

    ``probs`` are softmax probabilities (N, C). ``double_softmax=True`` reproduces the authors' code, which
    applies softmax a second time to the probabilities. The sum over k runs over the classes present in
    ``labels``; a class absent from ``labels`` gets NaN, and only it.
    """
    p = probs.softmax(dim=-1) if double_softmax else probs
    onehot = F.one_hot(labels, n_classes).to(p.dtype)
    support = onehot.sum(0)
    present = support > 0
    pi = (onehot.T @ p) / support.clamp_min(1).unsqueeze(-1)  # rows of absent classes are 0, not NaN
    diag = pi.diagonal()
    ea = (1 - diag) / (pi.sum(dim=0) - diag)
    return torch.where(present, ea, torch.full_like(ea, float("nan")))
