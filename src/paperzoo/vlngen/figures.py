"""Figures of the vlngen run: panoramas per mode, a warp overlay, seam close-ups, SR/SPL bars, training loss."""

from __future__ import annotations

import numpy as np

from paperzoo.core import RunContext
from paperzoo.core.figures import bars, curves

MODE_NAMES = {"real": "real render", "wcgen": "WCGEN (ours)", "wcgen_authors": "authors' code",
              "independent": "per-view (PanoGen-style)"}


def draw_figures(ctx: RunContext, m: dict[str, float], images: dict[str, np.ndarray],
                 histories: dict[str, list[list[float]]]) -> None:
    panoramas(ctx, images)
    warp_overlay(ctx, images)
    seams(ctx, images)
    navigation_bars(ctx, m)
    loss_curves(ctx, histories)


def panoramas(ctx: RunContext, images: dict[str, np.ndarray]) -> None:
    names = [k for k in MODE_NAMES if f"pano.{k}" in images]
    if not names:
        return
    with ctx.figure("panoramas", "equirectangular panorama of one viewpoint, assembled from its 36 views, per mode",
                    nrows=len(names), figsize=(8, 2.2 * len(names))) as (fig, axes):
        for ax, name in zip(np.atleast_1d(axes), names, strict=True):
            ax.imshow(np.clip(images[f"pano.{name}"], 0, 1))
            ax.set(title=MODE_NAMES[name])
            ax.axis("off")


def warp_overlay(ctx: RunContext, images: dict[str, np.ndarray]) -> None:
    if "warp.image" not in images:
        return
    with ctx.figure("warp_overlay", "trajectory stage: the previous viewpoint's generated views warped into the "
                    "next pose (holes in red), the generated result, and the real view", ncols=3,
                    figsize=(10, 3.4)) as (fig, axes):
        warped = np.clip(images["warp.image"], 0, 1).copy()
        warped[images["warp.holes"]] = (1.0, 0.0, 0.0)
        for ax, img, title in zip(axes, (warped, images["warp.target"], images["warp.real"]),
                                  ("warped (holes red)", "generated (WCGEN)", "real render"), strict=True):
            ax.imshow(np.clip(img, 0, 1))
            ax.set(title=title)
            ax.axis("off")


def seams(ctx: RunContext, images: dict[str, np.ndarray]) -> None:
    names = [k for k in MODE_NAMES if f"seam.{k}" in images]
    if not names:
        return
    with ctx.figure("seams", "the wrap: last (left) and first (right) level views of the rotation, side by side",
                    ncols=len(names), figsize=(3.6 * len(names), 2.2)) as (fig, axes):
        for ax, name in zip(np.atleast_1d(axes), names, strict=True):
            ax.imshow(np.clip(images[f"seam.{name}"], 0, 1))
            ax.set(title=MODE_NAMES[name])
            ax.axis("off")


def navigation_bars(ctx: RunContext, m: dict[str, float]) -> None:
    augs = ("none", "wcgen", "independent")
    with ctx.figure("navigation", "SR and SPL on unseen scenes per augmentation (mean over seeds, 95 % t-interval)",
                    ncols=2, figsize=(9, 3.5)) as (fig, axes):
        for ax, key in zip(axes, ("sr", "spl"), strict=True):
            vals = {a: m[f"{key}.{a}"] for a in augs}
            errs = {a: (m[f"{key}.{a}"] - m[f"{key}_lo.{a}"], m[f"{key}_hi.{a}"] - m[f"{key}.{a}"]) for a in augs}
            bars(ax, vals, errors=errs, title=key.upper(), ylabel=key.upper(), ylim=(0, 1))


def loss_curves(ctx: RunContext, histories: dict[str, list[list[float]]]) -> None:
    rows = [[aug, seed, 20 * (k + 1), loss] for aug, runs in histories.items() for seed, h in enumerate(runs)
            for k, loss in enumerate(h)]
    ctx.table("train_loss", ["augmentation", "seed index", "step", "loss"], rows,
              title="agent training loss, mean of every 20 steps")
    with ctx.figure("train_loss", "agent training loss (cross-entropy of the expert action), mean over seeds") \
            as (fig, ax):
        steps = [20 * (k + 1) for k in range(len(next(iter(histories.values()))[0]))]
        curves(ax, steps, {a: np.mean(h, axis=0) for a, h in histories.items()}, title="imitation loss",
               xlabel="optimiser step", ylabel="loss", marker="")
