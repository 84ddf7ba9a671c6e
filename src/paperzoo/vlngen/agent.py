"""A small panoramic navigation agent: at each viewpoint it scores every navigable neighbour and STOP.

    e   = mean_w E[w]                                   (bag-of-words instruction encoding, dim d)
    c_j = MLP_c([f_level(h_j), f_down(h_j), dist_j / 3, visited_j])   for the neighbour j at heading h_j
    s   = MLP_s([mean_k f_level(k), max_k f_level(k)])                (the STOP candidate, from the panorama)
    score(x) = w^T tanh(W [e * x, x] + b),   p(action) = softmax over {neighbours, STOP}

f_level(h) / f_down(h) are the features of the level / downward view nearest heading h (the 36-view
panorama, `episodes.view_features`). Trained by imitation of the shortest path (teacher forcing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from paperzoo.core import param

from .camera import N_HEADINGS, heading_of


@dataclass
class AgentConfig:
    hidden: int = param(64, ge=4, doc="width of the instruction, candidate and scoring layers")
    max_tokens: int = param(12, ge=4, doc="instruction length in tokens (longer ones are cut)")
    max_steps: int = param(12, ge=1, doc="moves before an episode is stopped by force at evaluation")


class NavEnv:
    """One scene as the agent sees it: view features (N, 36, F), positions, adjacency, geodesic distances."""

    def __init__(self, features: np.ndarray, positions: np.ndarray, adjacency: list[list[int]], dist: np.ndarray):
        self.features, self.positions, self.adjacency, self.dist = features, positions, adjacency, dist
        self.max_degree = max(len(a) for a in adjacency)

    @property
    def cand_dim(self) -> int:
        return 2 * self.features.shape[-1] + 2

    def candidates(self, node: int, visited: set[int]) -> tuple[np.ndarray, list[int]]:
        f = self.features[node]
        rows = []
        for j in self.adjacency[node]:
            d = self.positions[j] - self.positions[node]
            k = round(heading_of(d[0], d[1]) / (2 * np.pi / N_HEADINGS)) % N_HEADINGS
            rows.append(np.concatenate([f[N_HEADINGS + k], f[k], [np.linalg.norm(d[:2]) / 3.0, float(j in visited)]]))
        return np.array(rows, dtype=np.float32).reshape(-1, self.cand_dim), list(self.adjacency[node])

    def stop_feature(self, node: int) -> np.ndarray:
        level = self.features[node, N_HEADINGS:2 * N_HEADINGS]
        return np.concatenate([level.mean(0), level.max(0)]).astype(np.float32)


class NavAgent(nn.Module):
    """Scores neighbours and STOP (last column) given an instruction; see the module docstring."""

    def __init__(self, cfg: AgentConfig, vocab: int, cand_dim: int, stop_dim: int, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        d = cfg.hidden
        self.embed = nn.EmbeddingBag(vocab + 1, d, mode="mean", padding_idx=0)
        self.cand = nn.Sequential(nn.Linear(cand_dim, d), nn.ReLU(), nn.Linear(d, d))
        self.stop = nn.Sequential(nn.Linear(stop_dim, d), nn.ReLU(), nn.Linear(d, d))
        self.score = nn.Sequential(nn.Linear(2 * d, d), nn.Tanh(), nn.Linear(d, 1))
        self.score_stop = nn.Sequential(nn.Linear(2 * d, d), nn.Tanh(), nn.Linear(d, 1))

    def forward(self, tokens: torch.Tensor, cand: torch.Tensor, mask: torch.Tensor,
                stop: torch.Tensor) -> torch.Tensor:
        """tokens (B, L), cand (B, C, Fc), mask (B, C+1) True for real actions, stop (B, Fs) -> logits (B, C+1)."""
        e = self.embed(tokens)
        c = self.cand(cand)
        s = self.stop(stop)
        lc = self.score(torch.cat([e[:, None] * c, c], dim=-1)).squeeze(-1)
        ls = self.score_stop(torch.cat([e * s, s], dim=-1))
        logits = torch.cat([lc, ls], dim=1)
        return logits.masked_fill(~mask, -1e9)
