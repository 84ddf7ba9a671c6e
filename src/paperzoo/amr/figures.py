"""Figures of `paperzoo run amr`, one function each, drawn in core's house style inside `ctx.figure`."""

from __future__ import annotations

import numpy as np

from paperzoo.core import RunContext
from paperzoo.core.figures import curves, heatmap, integer_axis, legend

LABELS = {"pe": "LSTM + parameter estimation", "pe_capture": "LSTM + PE, per capture",
          "nope": "LSTM, no estimation", "cnn": "IQ CNN (+ estimation)"}


def accuracy_vs_snr(ctx: RunContext, acc: dict[str, dict[float, float]], target: float | None) -> None:
    with ctx.figure("accuracy_vs_snr", "Accuracy vs in-band SNR for every model (per frame; PE also per capture)"
                    ) as (_fig, ax):
        for name, curve in acc.items():
            ax.plot(list(curve), list(curve.values()), marker="o", label=LABELS.get(name, name))
        if target is not None:
            ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:.0%}")
        ax.set(xlabel="SNR (dB)", ylabel="accuracy", ylim=(0, 1.02), title="Accuracy vs SNR")
        legend(ax)


def confusion(ctx: RunContext, cm: np.ndarray, classes: tuple[str, ...], title: str) -> None:
    with ctx.figure("confusion_snr_ge10", f"Row-normalised confusion matrix at SNR >= 10 dB ({title})",
                    figsize=(6.5, 5.5)) as (_fig, ax):
        heatmap(ax, cm, title=f"{title}, SNR >= 10 dB", xlabels=classes, ylabels=classes, xlabel="predicted",
                ylabel="true", cbar_label="fraction of the true class", vmin=0, vmax=1, cmap="Blues")


def estimator_errors(ctx: RunContext, rows: dict[str, list[tuple[float, float, float, float]]]) -> None:
    """rows[name] = [(snr, q25, median, q75), ...] for each estimator error."""
    titles = {"fc_err": "|fc error| / Rs (PSK/QAM/PAM/FSK)", "bw_err": "|bandwidth / Rs - 1| (RRC classes)",
              "rs_err": "|Rs estimate / Rs - 1| (RRC classes)"}
    with ctx.figure("estimator_error_vs_snr", "Blind carrier, bandwidth and symbol-rate errors vs SNR (median and "
                    "interquartile range)", ncols=len(rows)) as (_fig, axes):
        for ax, (name, table) in zip(np.atleast_1d(axes), rows.items(), strict=True):
            snr, q25, q50, q75 = (np.array(v, dtype=float) for v in zip(*table, strict=True))
            floor = 1e-6  # zero errors (exact symbol-rate lines) on a log axis
            ax.semilogy(snr, np.maximum(q50, floor), marker="o", label="median")
            ax.fill_between(snr, np.maximum(q25, floor), np.maximum(q75, floor), alpha=0.3, label="interquartile")
            ax.set(xlabel="SNR (dB)", title=titles.get(name, name))
            legend(ax)


def accuracy_vs_frame_len(ctx: RunContext, acc: dict[str, dict[int, float]], retrained: bool) -> None:
    how = "an LSTM trained at each length" if retrained else "the same trained models"
    with ctx.figure("accuracy_vs_frame_len", "Accuracy at SNR >= 10 dB vs frame length, with and without "
                    f"parameter estimation ({how})") as (_fig, ax):
        lengths = sorted({n for curve in acc.values() for n in curve})
        curves(ax, lengths, {LABELS.get(k, k): [v.get(n, np.nan) for n in lengths] for k, v in acc.items()},
               title="Accuracy vs frame length (SNR >= 10 dB)", xlabel="frame length (samples)",
               ylabel="accuracy")
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.set_ylim(0, 1.02)


def training_loss(ctx: RunContext, losses: dict[str, list[float]]) -> None:
    with ctx.figure("training_loss", "Mean training loss per epoch of every classifier") as (_fig, ax):
        for name, values in losses.items():
            ax.plot(range(1, len(values) + 1), values, marker="o", label=LABELS.get(name, name))
        ax.set(xlabel="epoch", ylabel="cross-entropy", title="Training loss")
        integer_axis(ax, "x")
        legend(ax)
