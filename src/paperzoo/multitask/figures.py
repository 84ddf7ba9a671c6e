"""Figures of a multitask run: loss curves per task, task weights and gradient cosines over training, the
method x task score map, and cost (parameters, throughput)."""

from __future__ import annotations

import math

import numpy as np

from paperzoo.core import RunContext
from paperzoo.core.figures import bars, curves, heatmap

from .metrics import normalised
from .pipeline import MethodResult


def smooth(y: list[float], k: int) -> np.ndarray:
    """Moving average over k steps (NaN steps ignored)."""
    a = np.asarray(y, dtype=float)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        w = a[max(0, i - k + 1): i + 1]
        if np.isfinite(w).any():
            out[i] = np.nanmean(w)
    return out


def _mtl(by: dict[str, MethodResult]) -> dict[str, dict]:
    return {m: r.history["all"] for m, r in by.items() if m.startswith("mtl_") and r.history.get("all")}


def loss_curves(ctx: RunContext, by: dict[str, MethodResult], tasks: list[str]) -> None:
    hists = _mtl(by)
    if not hists:
        return
    ncols = min(4, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    with ctx.figure("loss_curves", "training loss per task (moving average over 10% of the steps), multi-task "
                    "methods", nrows, ncols, squeeze=False) as (fig, axes):
        for k, t in enumerate(tasks):
            ax = axes[k // ncols][k % ncols]
            ys = {}
            for m, h in hists.items():
                col = np.asarray(h["loss"], float)[:, h["tasks"].index(t)]
                ys[m] = smooth(col.tolist(), max(1, len(col) // 10))
            n = len(next(iter(ys.values())))
            curves(ax, np.arange(1, n + 1), ys, title=t, xlabel="step", ylabel="loss", integer_x=True, marker="")
        for k in range(len(tasks), nrows * ncols):
            axes[k // ncols][k % ncols].axis("off")


def task_weights(ctx: RunContext, by: dict[str, MethodResult]) -> None:
    hists = {m: h for m, h in _mtl(by).items() if m not in ("mtl_fixed", "mtl_pcgrad", "mtl_gradvac")}
    if not hists:
        return
    with ctx.figure("task_weights", "task weights w_t over training (sum = number of tasks)", 1, len(hists),
                    squeeze=False) as (fig, axes):
        for ax, (m, h) in zip(axes[0], hists.items(), strict=True):
            w = np.asarray(h["weights"], float)
            curves(ax, np.arange(1, len(w) + 1), {t: w[:, i] for i, t in enumerate(h["tasks"])}, title=m,
                   xlabel="step", ylabel="weight", integer_x=True, marker="")


def gradient_cosine(ctx: RunContext, by: dict[str, MethodResult], method: str) -> None:
    hists = {m: h for m, h in _mtl(by).items() if h["cosine"] and len(h["tasks"]) > 1}
    if not hists:
        return
    with ctx.figure("gradient_cosine", "mean pairwise cosine between task gradients on the shared encoder over "
                    f"training (left) and its average matrix for {method} (right)", 1, 2) as (fig, axes):
        ys, x = {}, None
        for m, h in hists.items():
            cos = [np.asarray(c) for c in h["cosine"]]
            off = ~np.eye(cos[0].shape[0], dtype=bool)
            ys[m], x = [c[off].mean() for c in cos], [s + 1 for s in h["cos_steps"]]
        curves(axes[0], x, ys, title="gradient cosine between tasks", xlabel="step", ylabel="mean cos", marker=".")
        h = hists.get(method) or next(iter(hists.values()))
        mean = np.mean([np.asarray(c) for c in h["cosine"]], axis=0)
        heatmap(axes[1], mean, title="mean cos(g_i, g_j)", xlabels=h["tasks"], ylabels=h["tasks"], vmin=-1, vmax=1,
                cmap="coolwarm", cbar_label="cosine")


def score_map(ctx: RunContext, by: dict[str, MethodResult], tasks: list[str], metric: dict[str, tuple[str, int]],
              ) -> None:
    methods = [m for m in by if all(t in by[m].tasks for t in tasks)]
    if not methods:
        return
    grid = np.array([[normalised(metric[t][0], by[m].tasks[t].metrics[metric[t][0]], metric[t][1]) for t in tasks]
                     for m in methods])
    with ctx.figure("scores", "headline metric per task, normalised (0 = chance, 1 = perfect), first seed",
                    figsize=(1.1 * len(tasks) + 3, 0.45 * len(methods) + 2)) as (fig, ax):
        heatmap(ax, grid, title="normalised score", xlabels=[f"{t}\n{metric[t][0]}" for t in tasks],
                ylabels=methods, vmin=0, vmax=1, cbar_label="normalised")


def cost(ctx: RunContext, m: dict[str, float]) -> None:
    thr = {k.split(".", 1)[1]: v for k, v in m.items() if k.startswith("throughput.")}
    params = {name: m[key] / 1e6 for name, key in (("multi-task", "params.mtl"),
                                                   ("single-task total", "params.single_total"),
                                                   ("Bi-LSTM", "params.bilstm")) if key in m}
    if not thr and not params:
        return
    with ctx.figure("cost", "parameters (millions) and training throughput (examples per second)", 1, 2) as (fig, ax):
        bars(ax[0], params, title="parameters", ylabel="millions")
        bars(ax[1], thr, title="training throughput", ylabel="examples / s")
        ax[1].tick_params(axis="x", rotation=60)


def draw_figures(ctx: RunContext, by: dict[str, MethodResult], tasks: list[str], metric: dict, m: dict,
                 method: str) -> None:
    loss_curves(ctx, by, tasks)
    task_weights(ctx, by)
    gradient_cosine(ctx, by, method)
    score_map(ctx, by, tasks, metric)
    cost(ctx, m)
