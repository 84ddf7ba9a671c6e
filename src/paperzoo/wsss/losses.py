"""MoRe's Localization-informed Regularisation (L_CLE, L_UNE) and the other training losses, as the authors'
code computes them (arXiv 2412.11076; github zwyang6/MoRe, model/losses.py).

Masks are patch-level pseudo-labels (B, h, w): 0 background, k + 1 for class k, 255 uncertain (ignore).
ĉ (B, K, d) are the (enhanced) class tokens, P (B, d, h, w) the final patch tokens, y (B, K) image labels.

    L_CLE (certain regions; gradient into ĉ only, P detached and not normalised, τ = 0.5):
        s_kj  = <ĉ_k / |ĉ_k|, P_j> / τ,  ℓ_kj = -log softmax_j(s_kj)           softmax over the patches j
        L     = mean_b sum_{k: y_bk = 1} mean_{j: mask_bj = k+1} ℓ_kj
    L_UNE (uncertain regions; gradient into P only, ĉ detached, both normalised):
        region code R = 0 background, 1 uncertain, 2 foreground; a patch (h0, w0) of the inner grid
        (margin m = window // 2) is a candidate if R[h0 + m, w0 + m] = 1 and mean(R[h0:h0+window, w0:w0+window])
        >= 1.2; 8 candidates are drawn (all if fewer, plus floor((8 - n) / 4) foreground patches); the token
        taken is P[h0, w0] (the authors' window corner; anchor="centre" takes P[h0 + m, w0 + m]). For token u:
        score(u) = 0.5 (1 - sum_{y_k=1} |cos(u, ĉ_k)| / (n_pos + 1)) + 0.5 sum_{y_k=0} |cos(u, ĉ_k)| / (n_neg + 1)
        L     = mean over all drawn tokens of the batch
    distinctness:  CE over the rows of cos(ĉ_i, ĉ_j) / 0.07 with target i             (class tokens apart)
    L_ptc (ToCo):  |cos| between patch pairs; 0.5 (1 - sum_pos / (n_pos + 1)) + 0.5 sum_neg / (n_neg + 1)
    L_seg:         0.5 (CE over background pixels / n_bg + CE over foreground pixels / n_fg), 255 ignored

Batch reduction goes through `Reduce`, which under data-parallel training normalises by the *global* batch
and the *global* pixel/token counts, so that the averaged gradient equals the single-process one exactly.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = 255


class Reduce:
    """Per-image means and count-normalised sums over the global batch (one process: plain mean / ratio).

    `mean(v)` = sum_local(v) · W / B and `ratio(num, count)` = num · W / (sum over ranks of count + plus); DDP
    averages gradients over the W ranks, so the result is the loss of the whole global batch of B images.
    `active=False` (a rank whose slice is empty holds one stand-in image) contributes nothing.
    """

    def __init__(self, dist=None, global_batch: int | None = None, active: bool = True) -> None:
        self.dist, self.global_batch, self.active = dist, global_batch, active

    @property
    def world(self) -> int:
        return self.dist.world_size if self.dist is not None else 1

    def mean(self, per_image: Tensor) -> Tensor:
        if not self.active:
            return per_image.sum() * 0
        b = self.global_batch or per_image.shape[0]
        return per_image.sum() * self.world / b

    def ratio(self, num: Tensor, count: Tensor | float, plus: float = 0.0) -> Tensor:
        count = float(count) if self.active else 0.0
        total = self.dist.sum(count) if self.dist is not None and self.dist.enabled else count
        if not self.active:
            return num * 0
        return num * self.world / (total + plus)


def cle_loss(tokens: Tensor, patches: Tensor, mask: Tensor, labels: Tensor, temp: float = 0.5,
             red: Reduce | None = None) -> Tensor:
    """L_CLE: present class tokens attract the patches labelled with their class (softmax over patches)."""
    red = red or Reduce()
    c = F.normalize(tokens, dim=-1, eps=1e-8)
    p = patches.detach().flatten(2)
    logp = torch.log_softmax(c @ p / temp, dim=-1)  # (B, K, N)
    k = tokens.shape[1]
    flags = (mask.flatten(1).unsqueeze(1) == torch.arange(1, k + 1, device=mask.device).view(1, k, 1)).float()
    per_class = -(flags * logp).sum(-1) / (flags.sum(-1) + 1e-4)
    return red.mean((per_class * labels).sum(-1))


def region_code(mask: Tensor) -> Tensor:
    """R (B, h, w): 0 background, 1 uncertain (255), 2 foreground."""
    code = torch.zeros_like(mask, dtype=torch.float32)
    code[mask == IGNORE] = 1
    code[(mask >= 1) & (mask != IGNORE)] = 2
    return code


def une_candidates(mask: Tensor, window: int = 6, threshold: float = 1.2) -> Tensor:
    """(B, h - 2m, w - 2m) bool: uncertain inner-grid patches whose window mean of R is >= threshold."""
    m = window // 2
    code = region_code(mask)
    h, w = code.shape[-2:]
    if h <= 2 * m or w <= 2 * m:
        raise ValueError(f"L_UNE needs a patch grid larger than 2·(window // 2) = {2 * m}, got {h}x{w}; "
                         "lower lir.window")
    means = F.avg_pool2d(code.unsqueeze(1), window, stride=1)[:, 0, :h - 2 * m, :w - 2 * m]
    centre = code[:, m:h - m, m:w - m]
    return (centre == 1) & (means >= threshold - 1e-6)


def une_select(mask: Tensor, priority: Tensor, n_select: int = 8, window: int = 6,
               threshold: float = 1.2) -> list[Tensor]:
    """Per image, the inner-grid (row, col) positions drawn for L_UNE (authors' rule; see module docstring).

    `priority` (B, h - 2m, w - 2m) are random keys: the highest keys win, so the draw is reproducible and
    identical however the batch is split over processes.
    """
    m = window // 2
    cand = une_candidates(mask, window, threshold)
    fg = region_code(mask)[:, m:mask.shape[1] - m, m:mask.shape[2] - m] == 2
    chosen = []
    for b in range(mask.shape[0]):
        keys = priority[b].flatten()
        c_idx = cand[b].flatten().nonzero()[:, 0]
        if len(c_idx) > n_select:
            pick = c_idx[keys[c_idx].topk(n_select).indices]
        else:
            add = (n_select - len(c_idx)) // 4
            pool = fg[b].flatten().nonzero()[:, 0]
            if len(pool) < add:
                pool = torch.arange(keys.numel(), device=keys.device)
            extra = pool[keys[pool].topk(min(add, len(pool))).indices] if add else pool[:0]
            pick = torch.cat([c_idx, extra])
        w_in = cand.shape[-1]
        chosen.append(torch.stack([pick // w_in, pick % w_in], dim=1))
    return chosen


def une_loss(tokens: Tensor, patches: Tensor, mask: Tensor, labels: Tensor, priority: Tensor, n_select: int = 8,
             window: int = 6, threshold: float = 1.2, anchor: Literal["corner", "centre"] = "corner",
             red: Reduce | None = None) -> Tensor:
    """L_UNE: drawn uncertain patches move towards the present classes and away from the absent ones."""
    red = red or Reduce()
    p = F.normalize(patches, dim=1, eps=1e-8)
    c = F.normalize(tokens, dim=-1, eps=1e-8).detach()
    shift = window // 2 if anchor == "centre" else 0
    total, count = p.new_zeros(()), 0
    for b, pos in enumerate(une_select(mask, priority, n_select, window, threshold)):
        if len(pos) == 0:
            continue
        u = p[b, :, pos[:, 0] + shift, pos[:, 1] + shift].T  # (n, d)
        cos = (u @ c[b].T).abs()  # (n, K)
        y = labels[b]
        score = 0.5 * (1 - (cos * y).sum(-1) / (y.sum() + 1)) + 0.5 * (cos * (1 - y)).sum(-1) / ((1 - y).sum() + 1)
        total = total + score.sum()
        count += len(pos)
    return red.ratio(total, count)


def distinct_loss(tokens: Tensor, temp: float = 0.07, red: Reduce | None = None) -> Tensor:
    """Class tokens kept apart: cross-entropy of cos(ĉ_i, ĉ_j)/temp over j with target i."""
    red = red or Reduce()
    c = F.normalize(tokens, dim=-1)
    logits = c @ c.transpose(1, 2) / temp
    target = torch.arange(c.shape[1], device=c.device).expand(c.shape[0], -1)
    return red.mean(F.cross_entropy(logits.transpose(1, 2), target, reduction="none").mean(-1))


def multilabel_loss(logits: Tensor, labels: Tensor, red: Reduce | None = None) -> Tensor:
    """Multi-label soft-margin loss (torch's), reduced per image."""
    red = red or Reduce()
    per = -(labels * F.logsigmoid(logits) + (1 - labels) * F.logsigmoid(-logits)).mean(-1)
    return red.mean(per)


def affinity_label(mask: Tensor) -> Tensor:
    """(B, N, N): 1 where two patches share a pseudo-label, 0 where they differ, 255 if either is uncertain or i = j."""
    flat = mask.flatten(1)
    aff = (flat.unsqueeze(2) == flat.unsqueeze(1)).long()
    unsure = (flat == IGNORE)
    aff[unsure.unsqueeze(2) | unsure.unsqueeze(1)] = IGNORE
    idx = torch.arange(flat.shape[1], device=mask.device)
    aff[:, idx, idx] = IGNORE
    return aff


def ptc_loss(patches: Tensor, aff: Tensor, red: Reduce | None = None) -> Tensor:
    """ToCo's patch-token contrast over |cos| of patch pairs (pos pulled to 1, neg pushed to 0)."""
    red = red or Reduce()
    x = F.normalize(patches.flatten(2), dim=1, eps=1e-8)
    cos = (x.transpose(1, 2) @ x).abs()
    pos, neg = (aff == 1).float(), (aff == 0).float()
    return (0.5 - 0.5 * red.ratio((pos * cos).sum(), pos.sum(), plus=1.0)
            + 0.5 * red.ratio((neg * cos).sum(), neg.sum(), plus=1.0))


def seg_loss(logits: Tensor, label: Tensor, red: Reduce | None = None) -> Tensor:
    """0.5 (mean CE over background pixels + mean CE over foreground pixels); 255 ignored."""
    red = red or Reduce()
    ce = F.cross_entropy(logits, label.clamp_max(logits.shape[1] - 1).long(), reduction="none")
    bg, fg = (label == 0).float(), ((label > 0) & (label != IGNORE)).float()
    return 0.5 * (red.ratio((ce * bg).sum(), bg.sum(), plus=1e-6) + red.ratio((ce * fg).sum(), fg.sum(), plus=1e-6))
