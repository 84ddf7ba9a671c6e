"""Training, evaluation and timing of the frame classifiers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class TrainConfig:
    """Optimiser settings shared by every classifier (Adam, cosine-decayed learning rate)."""

    epochs: int = 3
    batch: int = 64
    lr: float = 1e-2
    weight_decay: float = 0.0
    clip: float = 1.0
    augment: bool = True  # residual carrier offset drawn from the estimator's measured error + random phase

    def __post_init__(self):
        if self.epochs < 1 or self.batch < 1 or self.lr <= 0:
            raise ValueError("train.epochs and train.batch must be >= 1 and train.lr > 0")


def residual_offset_augment(frames: np.ndarray, offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate each frame by a random phase and a residual carrier offset drawn from `offsets` (cycles/sample)."""
    n, length = frames.shape
    df = rng.choice(offsets, size=n) * rng.choice([-1.0, 1.0], size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    rot = np.exp(1j * (2 * np.pi * df[:, None] * np.arange(length)[None, :] + phase[:, None]))
    return (frames * rot).astype(np.complex64)


def train_classifier(model: nn.Module, frames: np.ndarray, labels: np.ndarray, cfg: TrainConfig,
                     rng: np.random.Generator, device: str = "cpu", offsets: np.ndarray | None = None,
                     progress: Callable | None = None, log: Callable[[str], None] | None = None) -> list[float]:
    """Train on complex frames (N, L) with model.features; returns the mean loss of each epoch."""
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(frames) / cfg.batch)
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))))
    y_all = torch.as_tensor(labels, dtype=torch.long)
    losses = []
    epochs = range(cfg.epochs)
    for epoch in progress(epochs, total=cfg.epochs, desc=type(model).__name__) if progress else epochs:
        order = rng.permutation(len(frames))
        running = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * cfg.batch:(s + 1) * cfg.batch]
            batch = frames[idx]
            if cfg.augment and offsets is not None and len(offsets):
                batch = residual_offset_augment(batch, offsets, rng)
            x = torch.as_tensor(model.features(batch), device=device)
            loss = nn.functional.cross_entropy(model(x), y_all[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            sched.step()
            running += loss.item()
        losses.append(running / steps_per_epoch)
        if log:
            log(f"{type(model).__name__} epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f}")
    return losses


@torch.no_grad()
def predict_proba(model: nn.Module, frames: np.ndarray, device: str = "cpu", batch: int = 1024) -> np.ndarray:
    """Class probabilities (N, C) for complex frames (N, L)."""
    model.to(device).eval()
    out = []
    for s in range(0, len(frames), batch):
        x = torch.as_tensor(model.features(frames[s:s + batch]), device=device)
        out.append(torch.softmax(model(x), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def accuracy_by_snr(pred: np.ndarray, labels: np.ndarray, snr: np.ndarray) -> dict[float, float]:
    """Accuracy at each distinct SNR."""
    return {float(s): float(np.mean(pred[snr == s] == labels[snr == s])) for s in np.unique(snr)}


def confusion(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Row-normalised confusion matrix: row = true class, column = predicted."""
    m = np.zeros((n_classes, n_classes))
    np.add.at(m, (labels, pred), 1)
    return m / np.maximum(m.sum(axis=1, keepdims=True), 1)


@torch.no_grad()
def time_inference(model: nn.Module, example: np.ndarray, device: str = "cpu", batch: int = 256, repeats: int = 3
                   ) -> tuple[float, float]:
    """(frames per second at `batch`, latency in ms of a single frame), best of `repeats`, features included."""
    model.to(device).eval()
    frames = np.resize(example, (batch, example.shape[-1]))
    best_batch = best_single = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        model(torch.as_tensor(model.features(frames), device=device))
        best_batch = min(best_batch, time.perf_counter() - t)
        t = time.perf_counter()
        model(torch.as_tensor(model.features(frames[:1]), device=device))
        best_single = min(best_single, time.perf_counter() - t)
    return batch / best_batch, 1e3 * best_single
