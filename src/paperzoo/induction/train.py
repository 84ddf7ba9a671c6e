"""Training loop: next-token cross-entropy on bigram-with-triggers sequences, checkpointable and resumable.

    L = - mean_{(b,t) in S} log softmax(logits_{b,t})[z_{b,t+1}],

S = all positions (loss_on="all") or only second-and-later trigger occurrences (loss_on="icl");
loss_on="mixed" adds the two means, L_all + L_icl (global bigram and in-context signal both weigh in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F

from paperzoo.core import param

from .data import BigramTriggerData, icl_mask
from .model import InductionTransformer, ModelConfig
from .probes import icl_accuracy


@dataclass
class TrainConfig:
    steps: int = param(800, ge=1, doc="optimiser steps")
    batch_size: int = param(32, ge=1, doc="sequences per optimiser step")
    lr: float = param(0.01, gt=0, doc="learning rate")
    momentum: float = param(0.9, ge=0, lt=1, doc="SGD momentum (optimizer=sgd)")
    weight_decay: float = param(1e-4, ge=0, doc="L2 weight decay")
    optimizer: Literal["sgd", "adam"] = param("adam", choices=("sgd", "adam"),
                                              doc="adam, or sgd as Bietti et al. (lr 0.2, momentum 0.9)")
    loss_on: Literal["all", "icl", "mixed"] = param("mixed", choices=("all", "icl", "mixed"),
                                                    doc="positions of the loss: all, ICL positions, or both means")
    eval_every: int = param(100, ge=1, doc="steps between evaluations of the ICL accuracy (training curve)")
    eval_batch: int = param(256, ge=1, doc="sequences of the fixed evaluation batch")
    checkpoint_every: int = param(100, ge=1, doc="steps between checkpoints (--resume continues from the last)")


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
    batch = data.sample(cfg.batch_size, seq_len, gen).to(model.emb.device)
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


@dataclass
class Phase:
    """One model the run trains: its name, configs, data and training length."""

    name: str
    model: ModelConfig
    train: TrainConfig
    data: BigramTriggerData
    seq_len: int


def train_phases(phases: list[Phase], ctx) -> dict[str, tuple[InductionTransformer, dict[str, list[float]]]]:
    """Train every phase in order, checkpointing as it goes; resumes from ``ctx.load_checkpoint()``.

    Phase i starts from init seed ``100 seed + i`` and data seed ``1000 seed + 17 + i``; the checkpoint holds
    the finished phases and the model, optimiser, step, history and generator states of the current one, so a
    resumed run is bit-identical to an uninterrupted one.
    """
    from dataclasses import replace

    ckpt = ctx.load_checkpoint() or {}
    finished: dict[str, Any] = dict(ckpt.get("finished", {}))
    models: dict[str, tuple[InductionTransformer, dict[str, list[float]]]] = {}
    for index, ph in enumerate(phases):
        model = InductionTransformer(ph.data.vocab, replace(ph.model, init_seed=ctx.seed * 100 + index))
        model = model.to(ctx.device)
        if ph.name in finished:
            model.load_state_dict(finished[ph.name]["model"])
            models[ph.name] = (model, finished[ph.name]["history"])
            ctx.log(f"{ph.name}: restored from checkpoint")
            continue
        gen = torch.Generator().manual_seed(ctx.seed * 1000 + 17 + index)
        opt = make_optimizer(model, ph.train)
        state = TrainState()
        if ckpt.get("phase") == ph.name:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["opt"])
            gen.set_state(ckpt["data_rng"])
            torch.set_rng_state(ckpt["torch_rng"])
            state = TrainState(step=int(ckpt["step"]), loss_sum=float(ckpt["loss_sum"]),
                               history={k: list(v) for k, v in ckpt["history"].items()})
            ctx.log(f"{ph.name}: resuming at step {state.step}")

        def save(st: TrainState, optimizer, name: str = ph.name, model=model, gen=gen) -> None:
            ctx.save_checkpoint({"finished": finished, "phase": name, "model": model.state_dict(),
                                 "opt": optimizer.state_dict(), "step": st.step, "loss_sum": st.loss_sum,
                                 "history": st.history, "data_rng": gen.get_state(),
                                 "torch_rng": torch.get_rng_state()})

        ctx.log(f"{ph.name}: training {ph.train.steps} steps ({ph.model.n_layers} layers, pos={ph.model.pos}, "
                f"d = {ph.model.d_model}, N = {ph.data.vocab}, T = {ph.seq_len}, K = {ph.data.n_triggers})")
        state = train(model, ph.data, ph.train, ph.seq_len, gen, eval_seed=ctx.seed * 1000 + 7, state=state,
                      opt=opt, save=save, progress=lambda it, total, n=ph.name: ctx.progress(it, total, f"train {n}"))
        finished[ph.name] = {"model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                             "history": state.history}
        ctx.save_checkpoint({"finished": finished, "phase": ""})
        ctx.log(f"{ph.name}: final ICL accuracy {state.history['icl_acc'][-1]:.3f}")
        models[ph.name] = (model, state.history)
    return models
