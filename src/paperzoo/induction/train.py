"""Training loop: next-token cross-entropy on bigram-with-triggers sequences, checkpointable and resumable.

    L = - mean_{(b,t) in S} log softmax(logits_{b,t})[z_{b,t+1}],

S = all positions (loss_on="all") or only second-and-later trigger occurrences (loss_on="icl");
loss_on="mixed" adds the two means, L_all + L_icl (global bigram and in-context signal both weigh in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from .data import BigramTriggerData, icl_mask
from .model import InductionTransformer
from .probes import icl_accuracy


@dataclass
class TrainConfig:
    steps: int = 800
    batch: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    optimizer: Literal["sgd", "adam"] = "adam"  # Bietti et al. use sgd (lr 0.2, momentum 0.9)
    loss_on: Literal["all", "icl", "mixed"] = "mixed"
    eval_every: int = 100
    eval_batch: int = 256
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "eval_every", "eval_batch", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"train.optimizer must be sgd or adam, got {self.optimizer!r}")
        if self.loss_on not in ("all", "icl", "mixed"):
            raise ValueError(f"train.loss_on must be all, icl or mixed, got {self.loss_on!r}")


def make_optimizer(model: InductionTransformer, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def sequence_loss(logits: torch.Tensor, tokens: torch.Tensor, triggers: torch.Tensor, loss_on: str) -> torch.Tensor:
    """Cross-entropy of logits[:, t] against tokens[:, t+1] over the selected positions."""
    losses = F.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none")
    if loss_on == "all":
        return losses.mean()
    mask = icl_mask(tokens, triggers).flatten()
    icl = losses[mask].mean() if mask.any() else losses.sum() * 0.0
    return icl if loss_on == "icl" else losses.mean() + icl


def train_step(model: InductionTransformer, opt: torch.optim.Optimizer, data: BigramTriggerData,
               cfg: TrainConfig, seq_len: int, gen: torch.Generator) -> float:
    """Sample one batch from `gen`, take one optimiser step, return the loss."""
    batch = data.sample(cfg.batch, seq_len, gen).to(model.emb.device)
    logits, _ = model(batch.tokens)
    loss = sequence_loss(logits, batch.tokens, batch.triggers, cfg.loss_on)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


@dataclass
class TrainState:
    """What a checkpoint holds for the model being trained."""

    step: int = 0
    loss_sum: float = 0.0  # losses since the last evaluation
    history: dict[str, list[float]] = field(default_factory=lambda: {"step": [], "loss": [], "icl_acc": []})


def train(model: InductionTransformer, data: BigramTriggerData, cfg: TrainConfig, seq_len: int,
          gen: torch.Generator, eval_seed: int, state: TrainState | None = None,
          opt: torch.optim.Optimizer | None = None,
          save: Callable[[TrainState, torch.optim.Optimizer], None] | None = None,
          progress: Callable | None = None) -> TrainState:
    """Train from `state.step` to `cfg.steps`; evaluates ICL accuracy every `eval_every` steps on a fixed batch.

    `save(state, opt)` is called every `checkpoint_every` steps (after the step); `gen` must already be in the
    state that matches `state.step`, which makes a resumed run identical to an uninterrupted one.
    """
    state = state or TrainState()
    opt = opt or make_optimizer(model, cfg)
    eval_batch = data.sample(cfg.eval_batch, seq_len, torch.Generator().manual_seed(eval_seed)).to(model.emb.device)
    steps = range(state.step, cfg.steps)
    if progress is not None:
        steps = progress(steps, total=cfg.steps - state.step)
    for step in steps:
        state.loss_sum += train_step(model, opt, data, cfg, seq_len, gen)
        state.step = step + 1
        if state.step % cfg.eval_every == 0 or state.step == cfg.steps:
            with torch.no_grad():
                logits, _ = model(eval_batch.tokens)
            since = (state.step - 1) % cfg.eval_every + 1
            state.history["step"].append(float(state.step))
            state.history["loss"].append(state.loss_sum / since)
            state.history["icl_acc"].append(icl_accuracy(logits, eval_batch))
            state.loss_sum = 0.0
        if save is not None and state.step % cfg.checkpoint_every == 0:
            save(state, opt)
    return state
