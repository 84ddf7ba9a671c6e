"""LVMCN (arXiv 2412.16944): the Progressive Transformer plus a Cross-modal Semantic Aligner (CSA) and a
Multimodal Semantic Comparator (MSC).

CSA. Normalised gloss features t_n = W_t m_n / |W_t m_n| (encoder memory) and pose features
v_m = W_v h_m / |W_v h_m| (decoder states) give the cosine association matrix and its alignment

    S[n, m] = t_n^T v_m,        A[:, m] = softmax_n(S[:, m] / tau)                (padding glosses masked)

The aligned gloss context c_m = sum_n A[n, m] W_c m_n joins the decoder state before the output layer,
y_hat_m = W_out (h_m + c_m), so the production loss trains the association as well (our reading: the paper
gives no formula). The monotonic constraint L_ali, per sequence (N glosses, M frames), one of:

    "diagonal"  sum_{n,m} A[n, m] W[n, m] / M,  W[n, m] = 1 - exp(-((n + 1/2)/N - (m + 1/2)/M)^2 / (2 g^2))
                (guided-attention prior: mass far from the diagonal costs)
    "order"     e_m = sum_n n A[n, m] / (N - 1),  L = sum_m relu(e_m - e_{m+1}) + e_1^2 + (1 - e_M)^2
                (the expected aligned gloss never moves backwards -- the first term is its total backward
                movement, as a fraction of the sentence -- and runs from the first to the last gloss)

Both are 0 for the identity alignment of N = M and positive for the reversed one.

MSC. Pooled, normalised features g_i = norm(W_g mean_n m_in) (sentence) and p_i = norm(W_p mean_m h_im)
(pose sequence), s_ij = g_i^T p_j over the (global) batch. Pairs (i, j) whose gloss sequences are identical
are not negatives. VSE hinge with margin alpha, per anchor i:

    "sum"      L_i = sum_{j != i} [alpha - s_ii + s_ij]_+ + [alpha - s_ii + s_ji]_+
    "hardest"  L_i = max_{j != i} [alpha - s_ii + s_ij]_+ + max_{j != i} [alpha - s_ii + s_ji]_+   (VSE++)

Total: L = L_acc + w_ali L_ali + w_com L_com. Under a launcher g and p are gathered from every rank with a
differentiable all_gather, so each anchor sees the whole global batch as in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paperzoo.core import param

from .model import ModelConfig, Output, ProgressiveTransformer


@dataclass
class LVMCNConfig:
    """The two LVMCN modules, their readings where the paper is silent, and the loss weights."""

    csa_loss: Literal["diagonal", "order"] = param("diagonal", doc="monotonic constraint on the CSA alignment")
    tau: float = param(0.1, gt=0, doc="softmax temperature of the association matrix")
    diag_width: float = param(0.2, gt=0, doc="g of the diagonal prior (fraction of the sequence)")
    csa_context: bool = param(True, doc="feed the aligned gloss context into the output layer")
    w_ali: float = param(1.0, ge=0, doc="weight of L_ali")
    msc_mode: Literal["sum", "hardest"] = param("sum", doc="VSE hinge over all negatives or the hardest")
    margin: float = param(0.2, ge=0, doc="hinge margin alpha of the comparator")
    w_com: float = param(0.1, ge=0, doc="weight of L_com")
    feature_dim: int = param(64, ge=4, doc="width of the CSA and MSC projections")


def association(t: Tensor, v: Tensor, src_pad: Tensor, tau: float) -> tuple[Tensor, Tensor]:
    """(S, A): cosine association (B, N, M) of gloss features t (B, N, k), pose features v (B, M, k), and its
    softmax over glosses A[:, :, m] (padding glosses get 0)."""
    s = torch.einsum("bnk,bmk->bnm", F.normalize(t, dim=-1), F.normalize(v, dim=-1))
    logits = (s / tau).masked_fill(src_pad[:, :, None], float("-inf"))
    return s, logits.softmax(dim=1)


def diagonal_loss(a: Tensor, src_pad: Tensor, trg_pad: Tensor, width: float) -> Tensor:
    """Guided-attention prior: sum_{n,m} A W / M per sequence (B,)."""
    n_len = (~src_pad).sum(1).float()[:, None, None]
    m_len = (~trg_pad).sum(1).float()[:, None, None]
    n = torch.arange(a.shape[1], device=a.device, dtype=a.dtype)[None, :, None]
    m = torch.arange(a.shape[2], device=a.device, dtype=a.dtype)[None, None, :]
    w = 1 - torch.exp(-(((n + 0.5) / n_len - (m + 0.5) / m_len) ** 2) / (2 * width**2))
    valid = (~src_pad)[:, :, None] & (~trg_pad)[:, None, :]
    return (a * w * valid).sum((1, 2)) / m_len[:, 0, 0]


def order_loss(a: Tensor, src_pad: Tensor, trg_pad: Tensor) -> Tensor:
    """Monotonic order penalty on the expected aligned gloss position, per sequence (B,)."""
    n_len = (~src_pad).sum(1).float()
    pos = torch.arange(a.shape[1], device=a.device, dtype=a.dtype)
    e = torch.einsum("bnm,n->bm", a, pos) / (n_len[:, None] - 1).clamp_min(1.0)
    valid = (~trg_pad).float()
    steps = valid[:, 1:] * valid[:, :-1]
    backwards = (F.relu(e[:, :-1] - e[:, 1:]) * steps).sum(1)
    last = (valid.sum(1).long() - 1).clamp_min(0)
    end = e.gather(1, last[:, None])[:, 0]
    goal = (n_len > 1).to(a.dtype)  # a one-gloss sentence has nowhere to go
    return backwards + e[:, 0] ** 2 + (goal - end) ** 2


def comparator_loss(g_local: Tensor, p_local: Tensor, g_all: Tensor, p_all: Tensor, same: Tensor, margin: float,
                    mode: str) -> Tensor:
    """VSE hinge per local anchor (n,): local features (n, k), those of the global batch (B, k), `same` (n, B)
    True where the two gloss sequences are identical (never negatives; this includes the anchor itself)."""
    g_local, p_local = F.normalize(g_local, dim=-1), F.normalize(p_local, dim=-1)
    g_all, p_all = F.normalize(g_all, dim=-1), F.normalize(p_all, dim=-1)
    pos = (g_local * p_local).sum(-1, keepdim=True)
    neg = (~same).float()
    c_pose = F.relu(margin - pos + g_local @ p_all.T) * neg  # sentence i against other pose sequences
    c_text = F.relu(margin - pos + p_local @ g_all.T) * neg  # pose sequence i against other sentences
    if mode == "hardest":
        return c_pose.max(1).values + c_text.max(1).values
    return c_pose.sum(1) + c_text.sum(1)


def masked_mean(x: Tensor, pad: Tensor) -> Tensor:
    keep = (~pad).float()[..., None]
    return (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)


class LVMCN(ProgressiveTransformer):
    """PT + CSA (`csa=True`) + MSC (`msc=True`); the ablations switch one module off."""

    def __init__(self, n_src: int, cfg: ModelConfig, lv: LVMCNConfig, csa: bool = True, msc: bool = True) -> None:
        super().__init__(n_src, cfg)
        d, k = cfg.d_model, lv.feature_dim
        self.lv, self.csa, self.msc = lv, csa, msc
        if csa:
            self.proj_t, self.proj_v = nn.Linear(d, k), nn.Linear(d, k)
            self.context = nn.Linear(d, d) if lv.csa_context else None
        if msc:
            self.proj_g, self.proj_p = nn.Linear(d, k), nn.Linear(d, k)

    def head(self, states: Tensor, memory: Tensor, src_pad: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if not self.csa:
            return super().head(states, memory, src_pad)
        s, a = association(self.proj_t(memory), self.proj_v(states), src_pad, self.lv.tau)
        if self.context is not None:
            states = states + torch.einsum("bnm,bnd->bmd", a, self.context(memory))
        return self.frame_out(states), {"sim": s, "assoc": a}

    def auxiliary_losses(self, out: Output, batch: object) -> dict[str, Tensor]:
        terms: dict[str, Tensor] = {}
        if self.csa:
            a = out.extras["assoc"]
            if self.lv.csa_loss == "diagonal":
                terms["ali"] = self.lv.w_ali * diagonal_loss(a, out.src_pad, out.trg_pad, self.lv.diag_width)
            else:
                terms["ali"] = self.lv.w_ali * order_loss(a, out.src_pad, out.trg_pad)
        if self.msc:
            g = self.proj_g(masked_mean(out.memory, out.src_pad))
            p = self.proj_p(masked_mean(out.states, out.trg_pad))
            gather = getattr(batch, "gather", None) or (lambda x: x)
            terms["com"] = self.lv.w_com * comparator_loss(g, p, gather(g), gather(p), batch.same, self.lv.margin,
                                                           self.lv.msc_mode)
        return terms
