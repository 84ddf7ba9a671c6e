"""Figures of the signprod experiment: the anchors' table as bars, training curves, skeletons of one test
sentence (ground truth beside every model), its animation (GIF), the alignment maps, predicted lengths."""

from __future__ import annotations

import os
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from paperzoo.core.context import RunContext
from paperzoo.core.figures import bars, curves, heatmap, legend

from .skeleton import BONES, L_HAND, N_JOINTS, N_VALUES, R_HAND

LABELS = {"gt": "ground truth", "pt": "PT", "lvmcn": "LVMCN", "lvmcn_minus_csa": "LVMCN - CSA",
          "lvmcn_minus_msc": "LVMCN - MSC"}


def bone_colour(child: int) -> str:
    if child >= R_HAND:
        return "C3"
    if child >= L_HAND:
        return "C0"
    return "0.25"


COLOURS = [bone_colour(b) for _, b in BONES]
WIDTHS = [1.2 if b < L_HAND else 0.7 for _, b in BONES]


def segments(frame: np.ndarray) -> np.ndarray:
    """The 49 bones of one frame as line segments (49, 2, 2) in the image plane."""
    p = np.asarray(frame[:N_VALUES], dtype=float).reshape(N_JOINTS, 3)[:, :2]
    return np.stack([p[[a for a, _ in BONES]], p[[b for _, b in BONES]]], axis=1)


def draw_skeleton(ax: Any, frame: np.ndarray, alpha: float = 1.0) -> Any:
    """The 50-joint skeleton of one frame (150+ values), x right, y down: one LineCollection (fast to redraw)."""
    from matplotlib.collections import LineCollection

    bones = LineCollection(segments(frame), colors=COLOURS, linewidths=WIDTHS, alpha=alpha)
    ax.add_collection(bones)
    return bones


def _frame_box(ax: Any, frames: list[np.ndarray]) -> None:
    pts = np.concatenate([np.asarray(f)[:, :N_VALUES].reshape(-1, N_JOINTS, 3)[..., :2].reshape(-1, 2)
                          for f in frames])
    lo, hi = pts.min(0) - 0.03, pts.max(0) + 0.03
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(hi[1], lo[1])  # y down
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def skeletons(ctx: RunContext, sequences: dict[str, np.ndarray], glosses: str, n_times: int = 5) -> None:
    """Rows: ground truth and each model (predicted length); columns: equally spaced moments of the sentence."""
    names = list(sequences)
    with ctx.figure("skeletons", f"test sentence '{glosses}': ground truth and every model (predicted length, "
                                 "seed 0), at equally spaced moments", nrows=len(names), ncols=n_times,
                    figsize=(1.7 * n_times, 1.9 * len(names))) as (fig, axes):
        axes = np.atleast_2d(axes)
        for r, name in enumerate(names):
            seq = sequences[name]
            for c, t in enumerate(np.linspace(0, len(seq) - 1, n_times).round().astype(int)):
                ax = axes[r, c]
                draw_skeleton(ax, seq[t])
                _frame_box(ax, list(sequences.values()))
                ax.set_title(f"{LABELS.get(name, name)}  t={t}" if c == 0 else f"t={t}", fontsize=7)
        fig.tight_layout()


def animation(ctx: RunContext, sequences: dict[str, np.ndarray], glosses: str, fps: int = 12) -> None:
    """sentence.gif: the sequences side by side, frame by frame (matplotlib's PillowWriter)."""
    if not ctx.writer:
        return
    from matplotlib.animation import FuncAnimation, PillowWriter

    from paperzoo.core.figures import pyplot, subplots

    name = "sentence.gif"
    fig = None
    try:
        fig, axes = subplots(1, len(sequences), figsize=(2.2 * len(sequences), 2.6))
        axes = np.atleast_1d(axes)
        longest = max(len(s) for s in sequences.values())
        artists = []
        for ax, (label, seq) in zip(axes, sequences.items(), strict=True):
            artists.append(draw_skeleton(ax, seq[0]))
            _frame_box(ax, list(sequences.values()))
            ax.set_title(LABELS.get(label, label), fontsize=8)
        fig.suptitle(glosses, fontsize=8)

        def update(t: int) -> list[Any]:
            for bones, seq in zip(artists, sequences.values(), strict=True):
                bones.set_segments(segments(seq[min(t, len(seq) - 1)]))
            return artists

        anim = FuncAnimation(fig, update, frames=longest, blit=False)
        fd, tmp = tempfile.mkstemp(prefix=".sentence.", suffix=".gif", dir=ctx.out)
        os.close(fd)
        anim.save(tmp, writer=PillowWriter(fps=fps))
        os.chmod(tmp, 0o644)
        os.replace(tmp, ctx.out / name)
        ctx.figures.append({"file": name, "caption": f"animation of '{glosses}': ground truth beside the models"})
    except Exception as exc:  # noqa: BLE001 - a figure never costs the run its metrics
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        ctx.failed_figures.append({"file": name, "error": error})
        ctx.log(f"figure {name} failed: {error}")
    finally:
        if fig is not None:
            pyplot().close(fig)


def results(ctx: RunContext, m: dict[str, float], models: list[str]) -> None:
    """DTW-MJE and BLEU-4 per model under both protocols, with the 95 % interval over seeds."""
    with ctx.figure("results", "DTW-MJE (lower is better) and back-translation BLEU-4 per model, both protocols; "
                               "bars: mean over seeds, whiskers: 95 % t-interval", ncols=4,
                    figsize=(16, 3.6)) as (_fig, axes):
        for ax, (metric, protocol) in zip(axes, [("dtw", "predlen"), ("dtw", "gtlen"), ("bleu4", "predlen"),
                                                  ("bleu4", "gtlen")], strict=True):
            names = [n for n in ["gt", *models] if f"{metric}.{n}.{protocol}" in m]
            values = {LABELS[n]: m[f"{metric}.{n}.{protocol}"] for n in names}
            errors = {LABELS[n]: (m[f"{metric}.{n}.{protocol}"] - m.get(f"{metric}_lo.{n}.{protocol}",
                                                                          m[f"{metric}.{n}.{protocol}"]),
                                  m.get(f"{metric}_hi.{n}.{protocol}", m[f"{metric}.{n}.{protocol}"])
                                  - m[f"{metric}.{n}.{protocol}"]) for n in names}
            ref = m.get(f"{metric}.mean_pose.gtlen") if metric == "dtw" else None
            bars(ax, values, title=f"{metric.upper()} ({protocol})", ylabel=metric, errors=errors, reference=ref,
                 reference_label="mean pose" if ref is not None else "")


def training(ctx: RunContext, histories: dict[str, dict[str, Any]]) -> None:
    """Per-epoch L_acc (training) and dev reconstruction loss of every model at the first seed; evaluator loss."""
    with ctx.figure("training", "training curves (first seed): L_acc on the training set, reconstruction loss on "
                                "dev, and the evaluator's losses", ncols=3, figsize=(14, 3.6)) as (_fig, axes):
        prod = {k: v for k, v in histories.items() if k != "evaluator"}
        if prod:
            x = next(iter(prod.values()))["epoch"]
            curves(axes[0], x, {LABELS.get(k, k): v["terms"]["acc"] for k, v in prod.items()},
                   title="L_acc (train)", xlabel="epoch", ylabel="loss", integer_x=True, logy=True, marker="")
            curves(axes[1], x, {LABELS.get(k, k): v["dev"] for k, v in prod.items()}, title="L_acc (dev)",
                   xlabel="epoch", ylabel="loss", integer_x=True, logy=True, marker="")
        ev = histories.get("evaluator")
        if ev:
            curves(axes[2], ev["epoch"], {**{k: v for k, v in ev["terms"].items()}, "dev (total)": ev["dev"]},
                   title="evaluator", xlabel="epoch", ylabel="loss", integer_x=True, logy=True, marker="")


def alignment_maps(ctx: RunContext, maps: dict[str, np.ndarray], truth: np.ndarray | None, glosses: list[str]) -> None:
    """CSA's association (and the cross-attention of PT) for the example sentence, true alignment overlaid."""
    if not maps:
        return
    with ctx.figure("alignment", "frame-to-gloss alignment of the example test sentence (teacher forced on the true "
                                 "poses): CSA association softmax(S / tau) and the last cross-attention; white: the "
                                 "true alignment", ncols=len(maps), figsize=(5.4 * len(maps), 3.4)) as (_fig, axes):
        for k, (ax, (title, a)) in enumerate(zip(np.atleast_1d(axes), maps.items(), strict=True)):
            heatmap(ax, a, title=title, xlabel="frame", ylabel="gloss" if k == 0 else "", ylabels=glosses,
                    annotate=False, cbar_label="weight", vmin=0, vmax=1)
            if truth is not None:
                ax.plot(np.arange(len(truth)), truth, color="white", lw=1.2, label="true")
                legend(ax)


def lengths(ctx: RunContext, true: list[int], predicted: dict[str, list[int]]) -> None:
    """Predicted length against the true length under the predicted-length protocol."""
    with ctx.figure("lengths", "sequence length chosen by each model's counter vs the true length (test set, "
                               "first seed)") as (_fig, ax):
        for name, lens in predicted.items():
            ax.scatter(true, lens, s=8, alpha=0.6, label=LABELS.get(name, name))
        top = max([*true, *[max(v) for v in predicted.values()]])
        ax.plot([0, top], [0, top], color="0.5", lw=1, ls="--", label="equal")
        ax.set(title="predicted length", xlabel="true frames", ylabel="generated frames")
        legend(ax)
