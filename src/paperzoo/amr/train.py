"""Training, prediction and timing of the frame classifiers (LSTM and CNN alike: each has `features(frames)`).

Adam with a linear warm-up and a cosine decay of the learning rate, gradient-norm clipping, and data-parallel
training through `core.distributed`: every rank draws the same global batch (same generator), takes its slice,
and scales its mean loss so that the averaged gradient is the single-process gradient of the whole batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from paperzoo.amr.dataset import Frames
from paperzoo.core import param
from paperzoo.core.distributed import Distributed, unwrap
from paperzoo.core.schedules import warmup_decay


@dataclass
class TrainConfig:
    """Optimiser settings of a classifier (Adam, warm-up then cosine-decayed learning rate)."""

    epochs: int = param(60, ge=1, doc="passes over the training captures (a new random frame of each every pass)")
    batch_size: int = param(64, ge=1, doc="frames per optimiser step (global, over all processes)")
    lr: float = param(1e-2, gt=0, doc="Adam peak learning rate")
    warmup: float = param(0.05, ge=0, lt=1, doc="fraction of the optimiser steps that warm the learning rate up")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay")
    clip_norm: float = param(1.0, ge=0, doc="gradient-norm clip; 0 = off")
    augment: bool = param(True, doc="residual carrier offset drawn from the estimator's measured error, random phase")


@dataclass
class History:
    """Mean training loss of each epoch, and the loss of every step."""

    epoch_loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def residual_offset_augment(frames: np.ndarray, offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate each frame by a random phase and a residual carrier offset drawn from `offsets` (cycles/sample)."""
    n, length = frames.shape
    df = rng.choice(offsets, size=n) * rng.choice([-1.0, 1.0], size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    rot = np.exp(1j * (2 * np.pi * df[:, None] * np.arange(length)[None, :] + phase[:, None]))
    return (frames * rot).astype(np.complex64)


def train_classifier(model: nn.Module, data: Frames, cfg: TrainConfig, *, dist: Distributed,
                     rng: np.random.Generator, progress: Callable = lambda it, **_: it,
                     log: Callable[[str], None] = lambda _: None, device: str = "cpu",
                     offsets: np.ndarray | None = None, name: str = "") -> History:
    """Train on random frames of `data` (model.features turns complex frames into the model's input)."""
    core = unwrap(model).to(device).train()
    model = dist.wrap(core)
    opt = torch.optim.Adam(core.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(data) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    warmup = round(cfg.warmup * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(total, warmup, "cosine"))
    labels = torch.as_tensor(data.labels, dtype=torch.long)
    hist, start = History(), time.process_time()
    name = name or type(core).__name__
    for epoch in progress(range(cfg.epochs), total=cfg.epochs, desc=f"training {name}"):
        order = rng.permutation(len(data))
        running = 0.0
        for s in range(steps_per_epoch):
            batch = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            frames = data.random(batch, rng)  # drawn for the whole batch on every rank: the same generator state
            if cfg.augment and offsets is not None and len(offsets):
                frames = residual_offset_augment(frames, offsets, rng)
            local, scale = dist.local_batch(np.arange(len(batch)))
            x = core.features(frames[local]).to(device)
            loss = nn.functional.cross_entropy(model(x), labels[batch[local]].to(device))
            opt.zero_grad(set_to_none=True)
            (loss * scale).backward()
            if cfg.clip_norm > 0:
                nn.utils.clip_grad_norm_(core.parameters(), cfg.clip_norm)
            opt.step()
            sched.step()
            value = dist.mean(loss.item() * scale) if dist.enabled else loss.item()
            hist.step_loss.append(value)
            running += value
        hist.epoch_loss.append(running / steps_per_epoch)
        log(f"{name} epoch {epoch + 1}/{cfg.epochs}: loss {hist.epoch_loss[-1]:.4f}")
    hist.seconds = time.process_time() - start
    core.eval()
    return hist


@torch.no_grad()
def predict_proba(model: nn.Module, frames: np.ndarray, device: str = "cpu", batch: int = 512) -> np.ndarray:
    """Class probabilities (N, C) for complex frames (N, L)."""
    core = unwrap(model).to(device).eval()
    out = [torch.softmax(core(core.features(frames[s:s + batch]).to(device)), dim=-1).cpu()
           for s in range(0, len(frames), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


@torch.no_grad()
def time_inference(model: nn.Module, example: np.ndarray, device: str = "cpu", batch: int = 256, repeats: int = 5
                   ) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds of this thread per batch of `batch` frames and per single frame, each of `repeats` runs
    (features included; call with one torch thread: the work then runs on this thread, and other load on the
    machine does not count)."""
    core = unwrap(model).to(device).eval()
    frames = np.resize(example, (batch, example.shape[-1]))
    core(core.features(frames).to(device))  # warm-up
    per_batch, per_frame = [], []
    for _ in range(repeats):
        t = time.thread_time()
        core(core.features(frames).to(device))
        per_batch.append(time.thread_time() - t)
        t = time.thread_time()
        core(core.features(frames[:1]).to(device))
        per_frame.append(time.thread_time() - t)
    return np.array(per_batch), np.array(per_frame)
