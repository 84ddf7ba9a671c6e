"""Figures of the distill experiments, drawn in core's house style inside `ctx.figure` (a failure never costs
the run its metrics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from paperzoo.core.context import RunContext
from paperzoo.core.figures import bars, curves, integer_axis, legend


def smooth(y: Sequence[float], points: int = 50) -> np.ndarray:
    """Moving average over about len(y)/points steps (a training-loss curve readable at any length)."""
    y = np.asarray(y, dtype=float)
    k = max(1, len(y) // points)
    return np.convolve(y, np.ones(k) / k, mode="valid") if len(y) >= k else y


def method_bars(ctx: RunContext, name: str, caption: str, summary: Mapping[str, tuple[float, float, float]], *,
                title: str, ylabel: str, reference: float | None = None, reference_label: str = "",
                logy: bool = False) -> None:
    """One bar per method at its mean over seeds with the 95 % interval as error bar; the teacher as a line."""
    with ctx.figure(name, caption, figsize=(max(4.5, 0.7 * len(summary) + 2), 3.6)) as (_, ax):
        means = {k: v[0] for k, v in summary.items()}
        errors = {k: (max(v[0] - v[1], 0.0), max(v[2] - v[0], 0.0)) for k, v in summary.items()}
        finite = [x for v in summary.values() for x in v if np.isfinite(x)] + ([reference] if reference else [])
        lo, hi = min(finite), max(finite)
        pad = 0.15 * (hi - lo) if hi > lo else 0.05 * abs(hi) + 1e-3
        bars(ax, means, title=title, ylabel=ylabel, errors=errors, reference=reference,
             reference_label=reference_label, ylim=None if logy else (lo - pad, hi + pad))
        if logy:
            ax.set_yscale("log")


def loss_curves(ctx: RunContext, name: str, caption: str, histories: Mapping[str, Sequence[float]], *,
                title: str) -> None:
    """Smoothed training loss of each student against the optimiser step."""
    with ctx.figure(name, caption, figsize=(6.5, 3.8)) as (_, ax):
        ys = {k: smooth(v) for k, v in histories.items() if len(v)}
        n = min(len(v) for v in ys.values())
        offset = (max(len(v) for v in histories.values()) - n) // 2
        x = np.arange(n) + offset
        curves(ax, x, {k: v[:n] for k, v in ys.items()}, title=title, xlabel="optimiser step",
               ylabel="training loss (moving average)", integer_x=True, logy=True, marker="")


def block_influence(ctx: RunContext, influence: Sequence[float], keep: Sequence[int]) -> None:
    """ShortGPT block influence of every teacher block, the blocks the student keeps highlighted."""
    with ctx.figure("block_influence", "block influence 1 − cos(h_in, h_out) of each teacher block; the student "
                    "keeps the filled bars", figsize=(7, 3.4)) as (_, ax):
        bi = np.asarray(influence, dtype=float)
        kept = np.isin(np.arange(len(bi)), list(keep))
        ax.bar(np.flatnonzero(kept), bi[kept], color="C0", label="kept by the student")
        ax.bar(np.flatnonzero(~kept), bi[~kept], color="C7", alpha=0.6, label="removed")
        ax.set_yscale("log")
        ax.set(title="which teacher blocks the student keeps", xlabel="teacher block", ylabel="block influence")
        integer_axis(ax, "x")
        legend(ax)
