"""Figures of a `wsss` run: the same validation images under every localisation method, scores, losses."""

from __future__ import annotations

import numpy as np

from paperzoo.core import RunContext
from paperzoo.core.figures import bars, curves, heatmap

from .claims import NAMES
from .formats import voc_palette

SHOWN = ("cam", "lam", "lam_gcr", "lam_lir", "lam_more")


def colour_mask(mask: np.ndarray) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) VOC palette colours."""
    return voc_palette()[mask]


def side_by_side(ctx: RunContext, results, val, cfg) -> None:
    seed = cfg.seeds[0]
    methods = [m for m in SHOWN if m in cfg.methods and "ex_map" in results[(m, seed)]]
    if not methods:
        return
    n = len(results[(methods[0], seed)]["ex_map"])
    images, masks, _ = val.batch(np.arange(n))
    cols = 2 + len(methods) + 1
    with ctx.figure("maps", "validation images: ground truth, then each method's localisation map (max over the "
                    "image's classes, 0..1) and the segmentation of the last method; artifacts are activation away "
                    "from the objects", nrows=n, ncols=cols, figsize=(1.9 * cols, 1.9 * n), squeeze=False) as (_f, ax):
        for i in range(n):
            ax[i, 0].imshow(images[i])
            ax[i, 1].imshow(colour_mask(masks[i]))
            for j, m in enumerate(methods):
                ax[i, 2 + j].imshow(images[i].mean(-1), cmap="gray", alpha=1.0)
                ax[i, 2 + j].imshow(results[(m, seed)]["ex_map"][i].numpy(), cmap="jet", vmin=0, vmax=1, alpha=0.55)
            ax[i, -1].imshow(colour_mask(results[(methods[-1], seed)]["ex_seg"][i].numpy().astype(np.uint8)))
            for a in ax[i]:
                a.set_xticks([])
                a.set_yticks([])
                a.grid(False)
        for a, title in zip(ax[0], ["image", "ground truth", *[NAMES[m] for m in methods],
                                    f"seg ({NAMES[methods[-1]]})"], strict=True):
            a.set_title(title, fontsize=8)


def scores(ctx: RunContext, m: dict[str, float], cfg) -> None:
    panels = [("pseudo_miou", "pseudo-label mIoU (train)"), ("seg_miou", "segmentation mIoU (val)"),
              ("artifact_rate", "background false activation"), ("far_activation", "activation far from objects")]
    with ctx.figure("scores", "per method: pseudo-label and segmentation mIoU (higher is better), artifact "
                    "measures (lower is better); bars = std over seeds when there are several", nrows=2, ncols=2,
                    figsize=(10, 7)) as (_f, ax):
        for a, (key, title) in zip(ax.ravel(), panels, strict=True):
            values = {NAMES[n]: m[f"{key}.{n}"] for n in cfg.methods if f"{key}.{n}" in m}
            errors = {NAMES[n]: m[f"{key}_std.{n}"] for n in cfg.methods if f"{key}_std.{n}" in m}
            bars(a, values, title=title, ylabel=key, errors=errors or None)


def losses(ctx: RunContext, results, cfg) -> None:
    seed = cfg.seeds[0]
    with ctx.figure("losses", f"training loss of every method (seed {seed}) and the terms of the last one",
                    ncols=2, figsize=(11, 4)) as (_f, ax):
        first = results[(cfg.methods[0], seed)]
        curves(ax[0], first["steps"], {NAMES[n]: results[(n, seed)]["terms"]["total"] for n in cfg.methods},
               title="total loss", xlabel="step", ylabel="loss", integer_x=True, marker="")
        last = results[(cfg.methods[-1], seed)]
        curves(ax[1], last["steps"], {k: v for k, v in last["terms"].items() if k != "total"},
               title=f"loss terms, {NAMES[cfg.methods[-1]]}", xlabel="step", ylabel="weighted loss",
               integer_x=True, marker="")


def per_class(ctx: RunContext, m: dict[str, float], cfg, class_names) -> None:
    names = ["background", *class_names]
    grid = np.array([[m.get(f"pseudo_iou.{c}.{n}", np.nan) for c in names] for n in cfg.methods])
    with ctx.figure("per_class_iou", "pseudo-label IoU per class and method (train)",
                    figsize=(1 + 0.9 * len(names), 1 + 0.5 * len(cfg.methods))) as (_f, ax):
        heatmap(ax, grid, title="pseudo-label IoU", xlabels=names, ylabels=[NAMES[n] for n in cfg.methods],
                vmin=0, vmax=1, cbar_label="IoU")


def draw_figures(ctx: RunContext, results, val, cfg, m: dict[str, float]) -> None:
    side_by_side(ctx, results, val, cfg)
    scores(ctx, m, cfg)
    losses(ctx, results, cfg)
    per_class(ctx, m, cfg, val.class_names)
