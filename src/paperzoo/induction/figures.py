"""The experiment's figures, one function each, drawn in core's house style inside ``ctx.figure``."""

from __future__ import annotations

import numpy as np

from paperzoo.core.figures import heatmap, integer_axis, legend


def training_curves(ctx, models: dict) -> None:
    with ctx.figure("training_curves", "training loss and ICL accuracy of every trained model", ncols=2,
                    figsize=(11, 3.8)) as (fig, axes):
        for name, (_, hist) in models.items():
            axes[0].plot(hist["step"], hist["loss"], label=name)
            axes[1].plot(hist["step"], hist["icl_acc"], label=name)
        axes[0].set(xlabel="step", ylabel="training loss", title="loss")
        axes[1].set(xlabel="step", ylabel="ICL accuracy", title="ICL accuracy (held-out batch)", ylim=(0, 1.02))
        for ax in axes:
            integer_axis(ax, "x")
        legend(axes[1], outside=len(models) > 4, fontsize=7)


def attention_maps(ctx, maps: list, seq_len: int) -> None:
    show = min(32, seq_len)
    with ctx.figure("attention_maps", "attention of both layers of the APE model on one sequence", ncols=2,
                    figsize=(10, 4)) as (fig, axes):
        for i, ax in enumerate(axes):
            heatmap(ax, maps[i][0, :show, :show].cpu().numpy(), title=f"layer {i + 1} attention",
                    xlabel="key position s", ylabel="query position t", cbar_label="attention weight",
                    annotate=False, vmin=0, vmax=1)
            integer_axis(ax, "both")


def count_sweep(ctx, sweeps: dict) -> None:
    with ctx.figure("count_sweep", "in-context successor vs global successor as the count grows (theory: the "
                    "extended closed form)", ncols=len(sweeps), figsize=(5.8 * len(sweeps), 4)) as (fig, axes):
        for ax, (title, sw) in zip(np.atleast_1d(axes), sweeps.items(), strict=True):
            n = sw["counts"]
            ax.plot(n, sw["pb"]["trained"], "o-", color="C0", label="P(b) in-context, trained")
            ax.plot(n, sw["pc"]["trained"], "s-", color="C3", label="P(c) global, trained")
            ax.plot(n, sw["pb"]["theory"], "o--", color="C0", alpha=0.6, label="P(b) theory")
            ax.plot(n, sw["pc"]["theory"], "s--", color="C3", alpha=0.6, label="P(c) theory")
            ax.set(xlabel="in-context count n of a -> b", ylabel="probability at the final a", title=title)
            integer_axis(ax, "x")
            legend(ax, fontsize=8)


def length_sweep(ctx, lengths: dict) -> None:
    with ctx.figure("length_sweep", "ICL accuracy vs prompt length: absolute vs relative encoding") as (fig, ax):
        for name, accs in lengths.items():
            ax.plot(list(accs), list(accs.values()), "o-", label=name)
        ax.set(xlabel="prompt length / training length", ylabel="ICL accuracy", ylim=(0, 1.02),
               title="length generalisation")
        integer_axis(ax, "x")
        legend(ax)


def formation_grid(ctx, rows: list[list]) -> None:
    """Heatmaps of ICL accuracy and previous-token attention: rows T, columns (N, K)."""
    seq_lens = sorted({r[0] for r in rows})
    cols = sorted({(r[1], r[2]) for r in rows})
    acc = np.full((len(seq_lens), len(cols)), np.nan)
    prev = acc.copy()
    for r in rows:
        i, j = seq_lens.index(r[0]), cols.index((r[1], r[2]))
        acc[i, j], prev[i, j] = r[4], r[5]
    with ctx.figure("formation_grid", "induction-head formation over the (T, N, K) grid", ncols=2,
                    figsize=(5 + 1.2 * len(cols), 3.8)) as (fig, axes):
        labels = [f"N={n}\nK={k}" for n, k in cols]
        heatmap(axes[0], acc, title="ICL accuracy", xlabels=labels, ylabels=seq_lens, ylabel="T", vmin=0,
                vmax=1, cbar_label="ICL accuracy", fmt=".3f")
        heatmap(axes[1], prev, title="layer-1 previous-token attention", xlabels=labels, ylabels=seq_lens,
                ylabel="T", vmin=0, vmax=1, cbar_label="attention on t-1", fmt=".2f")


def theory_ablation(ctx, terms: dict[str, float]) -> None:
    with ctx.figure("theory_ablation", "Pearson r of trained vs theory logits as the theory gains terms") \
            as (fig, ax):
        names = list(terms)
        ax.bar(range(len(names)), [terms[t] for t in names], color="C0", alpha=0.85)
        ax.set_xticks(range(len(names)), [f"+ {t}" if i else t for i, t in enumerate(names)])
        ax.axhline(0.9, color="k", ls="--", lw=1, label="target r = 0.9")
        ax.set(ylabel="Pearson r (centred logits)", ylim=(0, 1), title="theory ablation, designed prompts")
        legend(ax)
