"""Figures in one house style: headless backend, integer ticks for counts, colorbars on heatmaps, legends
that do not cover data, titles on every panel.

Experiments draw inside `ctx.figure(name, caption)` (see RunContext): the figure is saved atomically when the
block ends, and an exception inside the block is logged and listed in the report instead of costing the run
its metrics. The helpers below are plain functions over matplotlib axes, usable outside a run too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.framealpha": 0.85,
    "lines.markersize": 3,
    "image.cmap": "viridis",
}


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend with the house style applied."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None, **kw: Any):
    """`plt.subplots` in house style; figsize defaults to 4.5 x 3.5 inches per panel."""
    plt = pyplot()
    if figsize is None:
        figsize = (4.5 * ncols, 3.5 * nrows)
    return plt.subplots(nrows, ncols, figsize=figsize, **kw)


def integer_axis(ax: Any, axis: str = "x") -> None:
    """Only integer ticks on `axis` ('x', 'y' or 'both'): for counts, rounds, steps, epochs."""
    from matplotlib.ticker import MaxNLocator

    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(integer=True))


def legend(ax: Any, outside: bool = False, **kw: Any) -> None:
    """A legend where it covers least data ('best'), or to the right of the axes when `outside`."""
    handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return
    if outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kw)
    else:
        ax.legend(loc="best", **kw)


def curves(ax: Any, x: Sequence[float], ys: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
           ylabel: str, integer_x: bool = False, bands: Mapping[str, tuple[Sequence[float], Sequence[float]]]
           | None = None, logy: bool = False, marker: str = "o") -> None:
    """One line per named series over shared x, with optional (lo, hi) bands; labelled, titled, legend placed."""
    for name, y in ys.items():
        (line,) = ax.plot(x, y, marker=marker, label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if integer_x:
        integer_axis(ax, "x")
    legend(ax, outside=len(ys) > 6)


def heatmap(ax: Any, data: np.ndarray, *, title: str, xlabels: Sequence[Any] | None = None,
            ylabels: Sequence[Any] | None = None, xlabel: str = "", ylabel: str = "", cbar_label: str = "",
            vmin: float | None = None, vmax: float | None = None, cmap: str = "viridis",
            annotate: bool | None = None, fmt: str = ".2f") -> Any:
    """An image of a 2-D array with a colorbar, tick labels and (for small grids) the values written in."""
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D array, got shape {data.shape}")
    im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.grid(False)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), [str(v) for v in xlabels], rotation=90 if len(xlabels) > 8 else 0)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), [str(v) for v in ylabels])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    bar = ax.figure.colorbar(im, ax=ax)
    if cbar_label:
        bar.set_label(cbar_label)
    if annotate if annotate is not None else data.size <= 64:
        finite = data[np.isfinite(data)]
        mid = (np.nanmin(finite) + np.nanmax(finite)) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                        color="white" if v < mid else "black")
    return im


def bars(ax: Any, values: Mapping[str, float], *, title: str, ylabel: str,
         errors: Mapping[str, float | tuple[float, float]] | None = None, ylim: tuple[float, float] | None = None,
         reference: float | None = None, reference_label: str = "") -> None:
    """Bars per named method with optional error bars (symmetric, or (lo, hi) distances) and a reference line."""
    names = list(values)
    err = None
    if errors:
        lo = [(errors[n][0] if isinstance(errors[n], tuple) else errors[n]) if n in errors else 0 for n in names]
        hi = [(errors[n][1] if isinstance(errors[n], tuple) else errors[n]) if n in errors else 0 for n in names]
        err = np.array([lo, hi], dtype=float)
    ax.bar(range(len(names)), [values[n] for n in names], yerr=err, capsize=3, color="C0", alpha=0.85)
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4
                  else "center")
    if reference is not None:
        ax.axhline(reference, color="C3", linestyle="--", linewidth=1, label=reference_label or None)
        legend(ax)
    ax.set(title=title, ylabel=ylabel)
    if ylim:
        ax.set_ylim(*ylim)
