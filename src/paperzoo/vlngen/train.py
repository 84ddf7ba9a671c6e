"""Imitation learning of the navigation agent, data-parallel under a launcher, and greedy evaluation.

Every rank builds the same decision set and draws the same global batches; each takes its slice
(`dist.local_batch`) and scales its mean loss by n_r W / B, so the DDP-averaged gradient equals the
single-process gradient of the whole batch. Evaluation runs the same rollouts on every rank (no collectives).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from paperzoo.core import param
from paperzoo.core.distributed import Distributed, unwrap

from .agent import NavAgent, NavEnv
from .episodes import Episode, tokenize
from .metrics import episode_metrics


@dataclass
class TrainConfig:
    steps: int = param(400, ge=1, doc="optimiser steps (the same for every augmentation: only the data differs)")
    batch_size: int = param(128, ge=1, doc="decisions per optimiser step (global, over all processes)")
    lr: float = param(3e-3, gt=0, doc="Adam learning rate")
    weight_decay: float = param(1e-4, ge=0, doc="Adam weight decay")
    clip_norm: float = param(1.0, ge=0, doc="gradient-norm clip; 0 = off")


@dataclass
class Decisions:
    """Teacher-forced decisions: tokens (N, L), candidates (N, C, Fc), mask (N, C+1), stop (N, Fs), label (N,)."""

    tokens: np.ndarray
    cand: np.ndarray
    mask: np.ndarray
    stop: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def tensors(self, idx: np.ndarray, device: str) -> tuple[torch.Tensor, ...]:
        return tuple(torch.as_tensor(a[idx], device=device) for a in (self.tokens, self.cand, self.mask, self.stop,
                                                                       self.label))


@dataclass
class History:
    loss: list[float] = field(default_factory=list)


def expert_decisions(pairs: list[tuple[NavEnv, list[Episode]]], max_c: int, max_tokens: int) -> Decisions:
    """Every step of every expert path: the next viewpoint's index among the candidates, or STOP at the goal."""
    toks, cands, masks, stops, labels = [], [], [], [], []
    for env, episodes in pairs:
        for ep in episodes:
            t = tokenize(ep.instruction, max_tokens)
            for step, node in enumerate(ep.path):
                c, nbrs = env.candidates(node, set(ep.path[:step]))
                pad = np.zeros((max_c, env.cand_dim), dtype=np.float32)
                pad[: len(c)] = c
                mask = np.zeros(max_c + 1, dtype=bool)
                mask[: len(c)] = True
                mask[-1] = True
                toks.append(t)
                cands.append(pad)
                masks.append(mask)
                stops.append(env.stop_feature(node))
                labels.append(max_c if step == len(ep.path) - 1 else nbrs.index(ep.path[step + 1]))
    return Decisions(np.array(toks), np.array(cands), np.array(masks), np.array(stops), np.array(labels))


def train_agent(model: NavAgent, data: Decisions, cfg: TrainConfig, *, dist: Distributed, rng: np.random.Generator,
                progress: Callable = lambda it, **_: it, log: Callable[[str], None] = lambda _: None,
                device: str = "cpu") -> History:
    """Adam on the cross-entropy of the expert's action; the same global batches on every rank.

    Batches are drawn with replacement from all decisions; the history holds the mean loss of every 20 steps.
    """
    net = dist.wrap(model.to(device))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    hist = History()
    total, seen = 0.0, 0.0
    for step in progress(range(cfg.steps), total=cfg.steps, desc="train agent"):
        batch = rng.integers(0, len(data), size=cfg.batch_size)
        idx, scale = dist.local_batch(batch)
        tokens, cand, mask, stop, label = data.tensors(idx, device)
        loss = F.cross_entropy(net(tokens, cand, mask, stop), label)
        opt.zero_grad()
        (loss * scale).backward()
        if cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip_norm)
        opt.step()
        weight = len(idx) if scale > 0 else 0
        total, seen = total + float(loss.detach()) * weight, seen + weight
        if (step + 1) % 20 == 0 or step + 1 == cfg.steps:
            hist.loss.append(dist.sum(total) / max(dist.sum(seen), 1.0))
            total, seen = 0.0, 0.0
    return hist


@torch.no_grad()
def rollout(model: NavAgent, env: NavEnv, ep: Episode, max_steps: int, max_c: int, max_tokens: int,
            device: str = "cpu") -> list[int]:
    """Greedy actions from the episode's start until STOP or `max_steps` moves; the visited viewpoints."""
    net = unwrap(model).eval()
    tokens = torch.as_tensor(tokenize(ep.instruction, max_tokens)[None], device=device)
    path = [ep.path[0]]
    for _ in range(max_steps):
        c, nbrs = env.candidates(path[-1], set(path))
        c, nbrs = c[:max_c], nbrs[:max_c]
        pad = np.zeros((1, max_c, env.cand_dim), dtype=np.float32)
        pad[0, : len(c)] = c
        mask = np.zeros((1, max_c + 1), dtype=bool)
        mask[0, : len(c)] = True
        mask[0, -1] = True
        logits = net(tokens, torch.as_tensor(pad, device=device), torch.as_tensor(mask, device=device),
                     torch.as_tensor(env.stop_feature(path[-1])[None], device=device))
        action = int(logits.argmax(dim=1))
        if action == max_c:
            break
        path.append(nbrs[action])
    return path


def evaluate(model: NavAgent, pairs: list[tuple[NavEnv, list[Episode]]], max_steps: int, max_c: int,
             max_tokens: int, device: str = "cpu") -> list[dict[str, float]]:
    """R2R metrics of every episode (greedy rollouts)."""
    out = []
    for env, episodes in pairs:
        for ep in episodes:
            path = rollout(model, env, ep, max_steps, max_c, max_tokens, device)
            out.append(episode_metrics(ep.path, path, env.dist))
    return out
