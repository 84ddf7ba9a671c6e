"""Graph Category Representation (GCR), MoRe's implicit regulariser of class-patch attention (arXiv 2412.11076).

The K class tokens C (B, K, d) and the patch tokens P (B, N, d) form a directed graph: every class token is
a head node, every token a possible tail. With X = [C; stopgrad(P)] (the graph never sends gradient into the
patches):

    h_i  = W_h c_i + b_h                       heads            (B, K, d)
    e_j  = W_t x_j + b_t                       tails            (B, K+N, d)
    A_ij = <h_i, e_j> / sqrt(d)                edge scores      (B, K, K+N)
    J_i  = top-k_j A_ij,  k = floor(ratio · K)                  the k strongest neighbours of class i
    p_ij = softmax_{j in J_i} A_ij
    r_ij = (1 - p_ij) h_i + p_ij e_j           relation-aware neighbour message
    g_ij = tanh(h_i + r_ij)                    gate
    a_ij = softmax_{j in J_i} <e_j, g_ij>      gated knowledge attention
    n_i  = sum_{j in J_i} a_ij e_j             aggregated neighbourhood
    ĉ_i  = LN( LeakyReLU(W_1 (0.1 (h_i + n_i) + c_i)) + LeakyReLU(W_2 (0.1 (h_i ⊙ n_i) + c_i)) )

ĉ are the enhanced class tokens: LAM_i = <ĉ_i, p> over the final patch tokens, and the LIR losses act on ĉ.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GraphCategoryRepresentation(nn.Module):
    """ĉ = GCR(C, P) as in the module docstring; `forward(cls, patches)` with cls (B, K, d), patches (B, N, d)."""

    def __init__(self, dim: int, ratio: float = 0.5, dropout: float = 0.0) -> None:
        super().__init__()
        if not 0 < ratio <= 1:
            raise ValueError(f"GCR ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.head = nn.Linear(dim, dim)
        self.tail = nn.Linear(dim, dim)
        self.w1 = nn.Linear(dim, dim)
        self.w2 = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(dim)

    def neighbours(self, cls: Tensor, patches: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """h (B, K, d), top-k tails e (B, K, k, d), their scores (B, K, k) and node indices (B, K, k)."""
        k = max(1, int(self.ratio * cls.shape[1]))
        nodes = torch.cat([cls, patches.detach()], dim=1)
        h, e = self.head(cls), self.tail(nodes)
        scores = (h * self.scale) @ e.transpose(1, 2)
        top, index = scores.topk(k, dim=-1)
        picked = torch.gather(e.unsqueeze(1).expand(-1, cls.shape[1], -1, -1), 2,
                              index.unsqueeze(-1).expand(-1, -1, -1, e.shape[-1]))
        return h, picked, top, index

    def forward(self, cls: Tensor, patches: Tensor) -> Tensor:
        h, e, top, _ = self.neighbours(cls, patches)
        p = top.softmax(dim=-1).unsqueeze(-1)
        r = (1 - p) * h.unsqueeze(2) + p * e
        gate = torch.tanh(h.unsqueeze(2) + r)
        a = (e * gate).sum(-1).softmax(dim=-1)
        n = (a.unsqueeze(-1) * e).sum(2)
        out = F.leaky_relu(self.w1(0.1 * (h + n) + cls)) + F.leaky_relu(self.w2(0.1 * (h * n) + cls))
        return self.norm(self.dropout(out))
