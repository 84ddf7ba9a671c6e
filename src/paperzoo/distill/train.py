"""Training loops: several students distilled in lockstep from one teacher forward pass per batch.

Runs single-process on CPU/GPU, and data-parallel under ``accelerate launch`` or ``torchrun`` (each rank takes
every world_size-th batch; gradients are averaged by DistributedDataParallel through ``accelerate``).
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

from .losses import Features, LossWeights, Projections, joint_loss
from .models import forward_features

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # input_ids, attention_mask, target


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
    w = max(1, int(warmup * total))
    return (step + 1) / w if step < w else max(0.0, (total - step) / max(1, total - w))


def _autocast(device: str, bf16: bool):
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if bf16 else nullcontext()


def teacher_features(teacher: nn.Module, backbone: nn.Module, ids, mask, trainees: list[Trainee],
                     n_heads: int, causal: bool) -> tuple[Features, dict[int, int], dict[int, int]]:
    """One no-grad teacher pass capturing the union of what the trainees need; returns the features and
    index maps teacher-layer -> position in the captured lists."""
    hid = sorted({t for tr in trainees if tr.weights.feat > 0 for _, t in tr.hidden_pairs})
    att = sorted({t for tr in trainees if tr.weights.att > 0 for _, t in tr.att_pairs})
    with torch.no_grad():
        f = forward_features(teacher, backbone, ids, mask, hid, att, n_heads, causal, detach=True)
    return f, {t: i for i, t in enumerate(hid)}, {t: i for i, t in enumerate(att)}


def distill_step(tr: Trainee, ids, mask, target, tf: Features | None, hix: dict[int, int], aix: dict[int, int],
                 w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one trainee on one batch against the captured teacher features."""
    hp = tr.hidden_pairs if w.feat > 0 else []
    ap = tr.att_pairs if w.att > 0 else []
    sf = forward_features(tr.model, tr.backbone, ids, mask, [s for s, _ in hp], [s for s, _ in ap],
                          tr.n_heads, tr.causal)
    if tf is None:
        t = Features(logits=sf.logits.detach(), mask=mask)
    else:
        t = Features(logits=tf.logits, mask=mask, hidden=[tf.hidden[hix[j]] for _, j in hp],
                     qkv=[tf.qkv[aix[j]] for _, j in ap], n_heads=tf.n_heads, causal=tf.causal)
    return joint_loss(w, sf, t, tr.projections, target)


def fit(trainees: list[Trainee], batches: Callable[[int], list[Batch]], epochs: int,
        teacher: nn.Module | None = None, teacher_backbone: nn.Module | None = None, teacher_heads: int = 1,
        device: str = "cpu", bf16: bool = False, weight_decay: float = 0.01, grad_clip: float = 1.0,
        two_stage: float = 0.0, tau_final: float | None = None,
        progress: Callable[[Iterable, int, str], Iterable] | None = None,
        log: Callable[[str], None] | None = None) -> dict[str, float]:
    """Train all ``trainees`` for ``epochs``; ``batches(epoch)`` gives that epoch's batches. Returns seconds
    spent per trainee (the shared teacher pass is reported as 'teacher')."""
    from accelerate import Accelerator

    acc = Accelerator(cpu=device == "cpu")
    rank, world = acc.process_index, acc.num_processes
    if teacher is not None:
        teacher.to(acc.device)
    for tr in trainees:
        if tr.projections is not None:
            tr.projections.to(acc.device)
        tr.optimizer = torch.optim.AdamW(tr.params(), lr=tr.lr, weight_decay=weight_decay)
        wrapped, tr.optimizer = acc.prepare(tr.model, tr.optimizer)
        tr.model = wrapped
    n_per_epoch = len(batches(0)[rank::world])
    total = max(1, epochs * n_per_epoch)
    spent = {tr.name: 0.0 for tr in trainees} | {"teacher": 0.0}
    step, t_start = 0, time.perf_counter()
    need_teacher = [tr for tr in trainees if tr.needs_teacher()]
    if need_teacher and teacher is None:
        raise ValueError(f"trainees {[t.name for t in need_teacher]} need a teacher")
    for epoch in range(epochs):
        for tr in trainees:
            tr.model.train()
        it = batches(epoch)[rank::world]
        it = progress(it, len(it), f"epoch {epoch + 1}/{epochs}") if progress else it
        for ids, mask, target in it:
            ids, mask, target = ids.to(acc.device), mask.to(acc.device), target.to(acc.device)
            frac = step / total
            tf, hix, aix = None, {}, {}
            if need_teacher:
                t0 = time.perf_counter()
                with _autocast(device, bf16):
                    tf, hix, aix = teacher_features(teacher, teacher_backbone, ids, mask, need_teacher,
                                                    teacher_heads, need_teacher[0].causal)
                spent["teacher"] += time.perf_counter() - t0
            for tr in trainees:
                t0 = time.perf_counter()
                w = scheduled(tr.weights, frac, two_stage, tau_final)
                with _autocast(device, bf16):
                    loss, terms = distill_step(tr, ids, mask, target, tf, hix, aix, w)
                if not math.isfinite(loss.item()):
                    raise FloatingPointError(f"{tr.name}: non-finite loss at step {step}: {terms}")
                for g in tr.optimizer.param_groups:
                    g["lr"] = tr.lr * lr_factor(step, total)
                tr.optimizer.zero_grad(set_to_none=True)
                acc.backward(loss)
                if world > 1 and tr.projections is not None:  # not inside the DDP wrapper: average by hand
                    for p in tr.projections.parameters():
                        if p.grad is not None:
                            torch.distributed.all_reduce(p.grad)
                            p.grad /= world
                if grad_clip > 0:
                    acc.clip_grad_norm_(tr.params(), grad_clip)
                tr.optimizer.step()
                tr.history.append({"step": step, "loss": loss.item()} | terms)
                spent[tr.name] += time.perf_counter() - t0
            step += 1
            if log and step % max(1, total // 10) == 0:
                log(f"step {step}/{total} ({time.perf_counter() - t_start:.0f} s)")
        if log:
            log(f"epoch {epoch + 1}: " + ", ".join(
                f"{tr.name}={np.mean([h['loss'] for h in tr.history[-n_per_epoch:]]):.3f}" for tr in trainees))
    for tr in trainees:
        tr.model = acc.unwrap_model(tr.model)
        tr.model.eval()
    return spent


@torch.no_grad()
def predict(model: nn.Module, batches: list[Batch], device: str = "cpu", bf16: bool = False) -> torch.Tensor:
    """Logits of a classifier over ``batches``, concatenated in batch order."""
    model.eval()
    dev = next(model.parameters()).device  # under accelerate each rank holds its model on its own device
    out = []
    for ids, mask, _ in batches:
        with _autocast(device, bf16):
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
