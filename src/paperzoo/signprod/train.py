"""One training loop for every network of the system (production models and the back-translation evaluator).

Every rank draws the same global batches (same generator), builds the global batch, keeps its contiguous slice
(`dist.local_batch`) and scales its mean per-example loss by n_r W / B, so the averaged gradient is the
single-process gradient of the batch (contract: data-parallel training). Batches are drawn from pools of
8 batches sorted by length (less padding). Learning rate: linear warm-up, then cosine decay to 10 %.

    history = fit(model, lengths, make_batch, loss_terms, cfg, dist=dp, rng=rng, progress=..., log=...)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from paperzoo.core import param
from paperzoo.core.distributed import Distributed
from paperzoo.core.schedules import warmup_decay

POOL = 8  # batches per length-sorted pool


@dataclass
class TrainConfig:
    """Optimisation of one network (Adam)."""

    epochs: int = param(20, ge=1, doc="passes over the training set")
    batch_size: int = param(32, ge=1, doc="sequences per optimiser step (global, over all processes)")
    lr: float = param(3e-3, gt=0, doc="peak Adam learning rate")
    warmup: int = param(50, ge=0, doc="linear warm-up steps")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay")
    clip_norm: float = param(1.0, ge=0, doc="gradient-norm clip; 0 = off")


@dataclass
class History:
    """Per-epoch means of every loss term over the training set, and the dev loss."""

    epoch: list[int] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    dev: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "terms": {k: list(v) for k, v in self.terms.items()}, "dev": list(self.dev)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(list(d["epoch"]), {k: list(v) for k, v in d["terms"].items()}, list(d["dev"]))


@dataclass
class Slice:
    """This rank's rows of a global batch: global positions, loss scale, and every rank's slice size."""

    rows: np.ndarray
    scale: float
    sizes: list[int]


def split_batch(batch: np.ndarray, dist: Distributed) -> Slice:
    """`dist.local_batch` as positions within the global batch, with the per-rank sizes (0 for an empty slice)."""
    positions = np.arange(len(batch))
    rows, scale = dist.local_batch(positions)
    sizes = [len(p) for p in np.array_split(positions, dist.world_size)]
    return Slice(rows, scale, sizes)


def gather_rows(dist: Distributed, sizes: list[int]) -> Callable[[Tensor], Tensor] | None:
    """A differentiable all_gather of per-row features (n_r, k) into the global batch's rows (B, k)."""
    if not dist.enabled:
        return None
    from torch.distributed.nn.functional import all_gather

    width = max(sizes)

    def gather(x: Tensor) -> Tensor:
        padded = torch.cat([x, x.new_zeros(width - len(x), *x.shape[1:])]) if len(x) < width else x
        parts = all_gather(padded.contiguous())
        return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])

    return gather


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Global batches of one epoch: a random permutation cut into pools, each pool sorted by length."""
    perm = rng.permutation(len(lengths))
    out = []
    for start in range(0, len(perm), batch_size * POOL):
        pool = perm[start:start + batch_size * POOL]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        out += [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, total_steps: int):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, betas=(0.9, 0.98),
                           weight_decay=cfg.weight_decay)
    factor = warmup_decay(total_steps, cfg.warmup, "cosine", floor=0.1)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def fit(model: torch.nn.Module, lengths: np.ndarray, make_batch: Callable[[np.ndarray, Slice, int], Any],
        loss_terms: Callable[[Any, Any], dict[str, Tensor]], cfg: TrainConfig, *, dist: Distributed,
        rng: np.random.Generator, progress: Callable = lambda it, **_: it, log: Callable = lambda _: None,
        desc: str = "train", dev_loss: Callable[[], float] | None = None) -> History:
    """Train `model` for cfg.epochs; returns per-epoch loss terms (means over the training set) and dev loss.

    make_batch(global_indices, slice, step) builds this rank's rows; loss_terms(wrapped_model, batch) returns
    per-example loss terms (name -> (n_local,)) whose sum is minimised.
    """
    wrapped = dist.wrap(model)
    steps_per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    opt, sched = make_optimizer(model, cfg, cfg.epochs * steps_per_epoch)
    history = History()
    step = 0
    for epoch in progress(range(cfg.epochs), total=cfg.epochs, desc=desc):
        model.train()
        sums: dict[str, float] = {}
        for batch_idx in batches(lengths, cfg.batch_size, rng):
            part = split_batch(batch_idx, dist)
            batch = make_batch(batch_idx, part, step)
            terms = loss_terms(wrapped, batch)
            per_example = sum(terms.values())
            loss = part.scale * per_example.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            opt.step()
            sched.step()
            step += 1
            if part.scale > 0:
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + float(value.detach().sum())
        history.epoch.append(epoch + 1)
        for name in sorted(sums) if not dist.enabled else sorted(dist.broadcast(sorted(sums))):
            history.terms.setdefault(name, []).append(dist.sum(sums.get(name, 0.0)) / len(lengths))
        if dev_loss is not None:
            model.eval()
            history.dev.append(dev_loss())
        if epoch + 1 in (1, cfg.epochs) or (epoch + 1) % max(1, cfg.epochs // 4) == 0:
            parts = ", ".join(f"{k} {v[-1]:.4f}" for k, v in history.terms.items())
            dev = f", dev {history.dev[-1]:.4f}" if history.dev else ""
            log(f"{desc} epoch {epoch + 1}/{cfg.epochs}: {parts}{dev}")
    model.eval()
    return history
