"""The experiment's figures, one function each, drawn in core's house style inside ``ctx.figure``."""

from __future__ import annotations

import warnings

import numpy as np

from paperzoo.core import metrics as M
from paperzoo.core.figures import integer_axis, legend


def _colors(algorithms: tuple[str, ...]) -> dict[str, tuple]:
    from paperzoo.core.figures import pyplot

    cmap = pyplot().get_cmap("tab10")
    return {a: cmap(i % 10) for i, a in enumerate(algorithms)}


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Mean over seeds (axis 0) ignoring NaN; a class absent from the test set stays NaN, silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=0)


def client_histograms(ctx, hist: np.ndarray, title: str, name: str, max_clients: int = 100) -> None:
    """Stacked bars of the per-client label counts (the first ``max_clients`` clients)."""
    hist = hist[:max_clients]
    with ctx.figure(name, f"Per-client label histograms: {title}", figsize=(10, 3.2)) as (fig, ax):
        from paperzoo.core.figures import pyplot

        cmap = pyplot().get_cmap("tab10" if hist.shape[1] <= 10 else "tab20")
        bottom = np.zeros(len(hist))
        for c in range(hist.shape[1]):
            ax.bar(np.arange(len(hist)), hist[:, c], bottom=bottom, color=cmap(c % cmap.N), width=1.0, label=str(c))
            bottom += hist[:, c]
        ax.set(xlabel="client", ylabel="samples", title=title)
        integer_axis(ax, "both")
        if hist.shape[1] <= 10:
            legend(ax, outside=True, title="class")


def curves(ctx, results: dict, algorithms: tuple[str, ...], alphas: tuple[float, ...], seeds: list[int]) -> None:
    """Accuracy and macro-F1 vs round (seed mean), one column per alpha."""
    colors = _colors(algorithms)
    with ctx.figure("curves", "Global test accuracy and macro-F1 vs round (mean over seeds), one panel per alpha",
                    nrows=2, ncols=len(alphas), figsize=(3.4 * len(alphas) + 1.5, 5.8), squeeze=False,
                    sharey="row") as (fig, axes):
        for j, alpha in enumerate(alphas):
            for algo in algorithms:
                runs = [results[(algo, alpha, s)]["history"] for s in seeds]
                rounds = [h["round"] for h in runs[0]]
                for i, m in enumerate(("acc", "f1")):
                    mean = np.mean([[h[m] for h in run] for run in runs], axis=0)
                    axes[i, j].plot(rounds, mean, color=colors[algo], lw=2.2 if algo == "fedga" else 1.0,
                                    marker="o", ms=2.5, label=algo)
            axes[0, j].set_title(f"accuracy, alpha = {alpha:g}")
            axes[1, j].set_title(f"macro-F1, alpha = {alpha:g}")
            axes[1, j].set_xlabel("round")
            for i in range(2):
                integer_axis(axes[i, j], "x")
        axes[0, 0].set_ylabel("accuracy")
        axes[1, 0].set_ylabel("macro-F1")
        legend(axes[0, -1], outside=True)


def per_class(ctx, table: dict, algorithms: tuple[str, ...], alphas: tuple[float, ...]) -> None:
    """Final per-class accuracy and log EA of FedAvg and FedGA, one column per alpha."""
    shown = [a for a in ("fedavg", "fedga") if a in algorithms]
    if len(shown) < 2:
        return
    colors = _colors(algorithms)
    with ctx.figure("per_class", "Final per-class accuracy and log error asymmetry (0 = balanced), FedAvg vs FedGA "
                    "(mean over seeds)", nrows=2, ncols=len(alphas), figsize=(3.4 * len(alphas) + 1.5, 5.8),
                    squeeze=False) as (fig, axes):
        width = 0.8 / len(shown)
        for j, alpha in enumerate(alphas):
            for i, m in enumerate(("per_class_acc", "ea")):
                for t, algo in enumerate(shown):
                    vals = _nanmean(table[(algo, alpha)][m])
                    vals = np.log(vals) if m == "ea" else vals
                    axes[i, j].bar(np.arange(len(vals)) + t * width, vals, width, color=colors[algo], label=algo)
                integer_axis(axes[i, j], "x")
            axes[0, j].set_title(f"per-class accuracy, alpha = {alpha:g}")
            axes[1, j].set_title(f"log EA, alpha = {alpha:g}")
            axes[1, j].axhline(0, color="k", lw=0.5)
            axes[1, j].set_xlabel("class")
        axes[0, 0].set_ylabel("accuracy")
        axes[1, 0].set_ylabel("log EA")
        legend(axes[0, -1], outside=True)


def margin(ctx, table: dict, alphas: tuple[float, ...]) -> None:
    """FedGA - FedAvg (paired by seed) vs alpha, mean with its 95 % t-interval."""
    if ("fedga", alphas[0]) not in table or ("fedavg", alphas[0]) not in table:
        return
    order = sorted(alphas)
    with ctx.figure("margin", "FedGA's margin over FedAvg vs alpha (mean over seeds, paired, with 95 % t-interval)",
                    figsize=(5.5, 3.6)) as (fig, ax):
        xs = np.arange(len(order))
        for m, marker in (("f1", "o"), ("acc", "s")):
            stats = [M.seed_summary(table[("fedga", a)][m] - table[("fedavg", a)][m]) for a in order]
            mean = np.array([s.mean for s in stats])
            err = np.array([[s.mean - s.lo for s in stats], [s.hi - s.mean for s in stats]])
            ax.errorbar(xs, mean, yerr=err, marker=marker, capsize=3, label=f"{m} margin")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xticks(xs, [f"{a:g}" for a in order])
        ax.set(xlabel="Dirichlet alpha", ylabel="FedGA - FedAvg", title="FedGA's margin over FedAvg")
        legend(ax)


def draw_all(ctx, results: dict, table: dict, algorithms: tuple[str, ...], alphas: tuple[float, ...],
             seeds: list[int]) -> None:
    curves(ctx, results, algorithms, alphas, seeds)
    per_class(ctx, table, algorithms, alphas)
    margin(ctx, table, alphas)
