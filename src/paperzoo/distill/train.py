"""Training loops: several students distilled in lockstep from one teacher forward pass per batch.

One process or data-parallel under `torchrun` (`paperzoo.core.distributed`): every rank draws the same global
batches, takes its slice with `dist.local_batch` and scales its mean loss by n_r·W/B, and the gradients of
each student (and its projections) are averaged over ranks in one all-reduce before the optimiser step, so the
update equals the single-process update of the whole batch up to float summation order. Every rank reaches
the same collectives in the same order: students in a fixed order each step, one reduction of the loss
(which also makes a non-finite loss stop every rank together).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from paperzoo.core import param
from paperzoo.core.distributed import Distributed
from paperzoo.core.schedules import warmup_decay

from .losses import Features, LossWeights, Projections, joint_loss
from .models import forward_features

Batch = tuple[torch.Tensor, ...]  # input_ids, attention_mask, target[, example indices (for Teacher.outputs)]


@dataclass
class TrainConfig:
    """How the students are optimised (AdamW, linear warm-up then linear decay)."""

    epochs: int = param(2, ge=1, doc="passes over the training set")
    lr: float = param(1e-3, gt=0, doc="peak AdamW learning rate of the students")
    batch_size: int = param(32, ge=1, doc="examples per optimiser step (global, over all processes)")
    weight_decay: float = param(0.01, ge=0, doc="AdamW weight decay")
    clip_norm: float = param(1.0, ge=0, doc="gradient-norm clip; 0 = off")
    warmup: float = param(0.1, ge=0, lt=1, doc="fraction of the steps with a linear learning-rate warm-up")
    bf16: bool = param(False, doc="bf16 autocast (GPUs; about 5x slower than fp32 on CPUs without AVX512-BF16)")


@dataclass
class Teacher:
    """The frozen model the students imitate, and where its blocks are."""

    model: nn.Module
    backbone: nn.Module
    n_heads: int
    causal: bool = False
    outputs: object | None = None  # precomputed per-example outputs (teacher_outputs.TeacherOutputs), or None


@dataclass
class Trainee:
    """One model being trained: what it imitates and with which weights."""

    name: str
    model: nn.Module
    backbone: nn.Module
    weights: LossWeights
    hidden_pairs: list[tuple[int, int]] = field(default_factory=list)  # (student, teacher), hidden_states numbering
    att_pairs: list[tuple[int, int]] = field(default_factory=list)  # (student, teacher) block indices
    projections: Projections | None = None
    n_heads: int = 1
    causal: bool = False
    lr: float = 1e-3
    special_ids: tuple[int, ...] = ()  # special-token ids, left out of L_att with att_tokens=content
    optimizer: torch.optim.Optimizer | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def needs_teacher(self) -> bool:
        w = self.weights
        return w.feat > 0 or w.att > 0 or w.dist > 0

    def params(self) -> list[nn.Parameter]:
        ps = list(self.model.parameters())
        if self.projections is not None:
            ps += list(self.projections.parameters())
        return [p for p in ps if p.requires_grad]


def scheduled(w: LossWeights, progress: float, two_stage: float = 0.0, tau_final: float | None = None
              ) -> LossWeights:
    """Weights at ``progress`` in [0, 1]: optional two-stage training (intermediate terms only until
    ``two_stage``, then prediction terms only, TinyBERT-style) and a linear temperature schedule."""
    out = dataclasses.replace(w)
    if two_stage > 0:
        if progress < two_stage:
            out.hard, out.dist = 0.0, 0.0
        else:
            out.feat, out.att = 0.0, 0.0
    if tau_final is not None:
        out.tau = w.tau + (tau_final - w.tau) * progress
    return out


def lr_factor(step: int, total: int, warmup: float = 0.1) -> float:
    """Linear warm-up then linear decay to 0."""
    return warmup_decay(total, max(1, int(warmup * total)), "linear")(step)


def autocast(device: str, bf16: bool):
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if bf16 else nullcontext()


def teacher_layers(trainees: list[Trainee]) -> tuple[list[int], list[int]]:
    """The union of what the trainees align: teacher hidden layers (hidden_states numbering) and blocks."""
    hid = sorted({t for tr in trainees if tr.weights.feat > 0 for _, t in tr.hidden_pairs})
    att = sorted({t for tr in trainees if tr.weights.att > 0 for _, t in tr.att_pairs})
    return hid, att


def teacher_features(teacher: Teacher, ids, mask, trainees: list[Trainee], index=None
                     ) -> tuple[Features, dict[int, int], dict[int, int]]:
    """One no-grad teacher pass capturing the union of what the trainees need (or, with `teacher.outputs`
    and the batch's example `index`, those outputs looked up); returns the features and index maps
    teacher-layer -> position in the captured lists."""
    hid, att = teacher_layers(trainees)
    if teacher.outputs is not None and index is not None:
        return (teacher.outputs.features(index, mask, hid, att), {t: i for i, t in enumerate(hid)},
                {t: i for i, t in enumerate(att)})
    with torch.no_grad():
        f = forward_features(teacher.model, teacher.backbone, ids, mask, hid, att, teacher.n_heads, teacher.causal,
                             detach=True)
    return f, {t: i for i, t in enumerate(hid)}, {t: i for i, t in enumerate(att)}


def distill_step(tr: Trainee, ids, mask, target, tf: Features | None, hix: dict[int, int], aix: dict[int, int],
                 w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one trainee on one batch against the captured teacher features."""
    hp = tr.hidden_pairs if w.feat > 0 else []
    ap = tr.att_pairs if w.att > 0 else []
    sf = forward_features(tr.model, tr.backbone, ids, mask, [s for s, _ in hp], [s for s, _ in ap],
                          tr.n_heads, tr.causal)
    if ap and w.att_tokens == "content" and tr.special_ids:
        sf.att_mask = mask.bool() & ~torch.isin(ids, torch.tensor(tr.special_ids, device=ids.device))
    if tf is None:
        t = Features(logits=sf.logits.detach(), mask=mask)
    else:
        t = Features(logits=tf.logits, mask=mask, hidden=[tf.hidden[hix[j]] for _, j in hp],
                     qkv=[tf.qkv[aix[j]] for _, j in ap], n_heads=tf.n_heads, causal=tf.causal)
    return joint_loss(w, sf, t, tr.projections, target)


def fit(trainees: list[Trainee], batches: Callable[[int], list[Batch]], cfg: TrainConfig,
        teacher: Teacher | None = None, *, dist: Distributed | None = None, device: str = "cpu",
        two_stage: float = 0.0, tau_final: float | None = None,
        progress: Callable[..., Iterable] | None = None, log: Callable[[str], None] | None = None
        ) -> dict[str, float]:
    """Train all ``trainees`` for ``cfg.epochs``; ``batches(epoch)`` gives that epoch's global batches (the same
    on every rank). Returns seconds spent per trainee (the shared teacher pass is reported as 'teacher')."""
    dist = dist or Distributed()
    need_teacher = [tr for tr in trainees if tr.needs_teacher()]
    if need_teacher and teacher is None:
        raise ValueError(f"trainees {[t.name for t in need_teacher]} need a teacher")
    for tr in trainees:
        tr.model.to(device)
        if tr.projections is not None:
            tr.projections.to(device)
        tr.optimizer = torch.optim.AdamW(tr.params(), lr=tr.lr, weight_decay=cfg.weight_decay)
    n_per_epoch = len(batches(0))
    total = max(1, cfg.epochs * n_per_epoch)
    spent = {tr.name: 0.0 for tr in trainees} | {"teacher": 0.0}
    step, t_start = 0, time.perf_counter()
    for epoch in range(cfg.epochs):
        for tr in trainees:
            tr.model.train()
        it = batches(epoch)
        it = progress(it, total=len(it), desc=f"epoch {epoch + 1}/{cfg.epochs}") if progress else it
        for batch in it:
            ids, mask, target = batch[:3]
            idx, scale = dist.local_batch(np.arange(len(ids)))
            index = batch[3][idx] if len(batch) > 3 else None
            ids, mask, target = ids[idx].to(device), mask[idx].to(device), target[idx].to(device)
            tf, hix, aix = None, {}, {}
            if need_teacher:
                t0 = time.perf_counter()
                with autocast(device, cfg.bf16):
                    tf, hix, aix = teacher_features(teacher, ids, mask, need_teacher, index)
                spent["teacher"] += time.perf_counter() - t0
            for tr in trainees:
                t0 = time.perf_counter()
                _step(tr, ids, mask, target, (tf, hix, aix), scheduled(tr.weights, step / total, two_stage, tau_final),
                      scale, tr.lr * lr_factor(step, total, cfg.warmup), cfg, dist, device, step)
                spent[tr.name] += time.perf_counter() - t0
            step += 1
        if log:
            log(f"epoch {epoch + 1}: " + ", ".join(
                f"{tr.name}={np.mean([h['loss'] for h in tr.history[-n_per_epoch:]]):.3f}" for tr in trainees)
                + f" ({time.perf_counter() - t_start:.0f} s)")
    for tr in trainees:
        tr.model.eval()
        tr.optimizer = None  # free the optimiser state (students are evaluated, not trained, from here on)
    return spent


def _step(tr: Trainee, ids, mask, target, teacher_out, w: LossWeights, scale: float, lr: float, cfg: TrainConfig,
          dist: Distributed, device: str, step: int) -> None:
    """One optimiser step of one trainee on this rank's slice of the global batch."""
    with autocast(device, cfg.bf16):
        loss, terms = distill_step(tr, ids, mask, target, *teacher_out, w)
    global_loss = dist.mean(scale * loss.item())  # the whole batch's loss; NaN on any rank reaches every rank
    if not math.isfinite(global_loss):
        raise FloatingPointError(f"{tr.name}: non-finite loss at step {step}: {terms}")
    for g in tr.optimizer.param_groups:
        g["lr"] = lr
    tr.optimizer.zero_grad(set_to_none=True)
    (loss * scale).backward()
    params = tr.params()
    dist.average_gradients(params)
    if cfg.clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm)
    tr.optimizer.step()
    tr.history.append({"step": step, "loss": global_loss} | terms)


@torch.no_grad()
def predict(model: nn.Module, batches: list[Batch], device: str = "cpu", bf16: bool = False) -> torch.Tensor:
    """Logits of a classifier over ``batches``, concatenated in batch order."""
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for ids, mask, *_ in batches:
        with autocast(device, bf16):
            out.append(model(ids.to(dev), mask.to(dev)).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def latency(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, repeats: int = 10) -> float:
    """Median seconds of one fp32 forward pass on (ids, mask), after one warm-up pass."""
    model.eval()
    model(ids, mask)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(ids, mask)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
