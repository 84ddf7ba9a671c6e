"""`paperzoo run amr`: blind RF modulation recognition with and without parameter estimation, vs an IQ CNN."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch

from paperzoo.amr.dataset import Batch, RFDataConfig, balanced_design, make_batch
from paperzoo.amr.formats import FrameSet, load_rml2016, load_rml2018
from paperzoo.amr.model import IQCNN, AmpPhaseLSTM, n_params
from paperzoo.amr.signals import CLASSES, LINEAR, generate_baseband
from paperzoo.amr.train import (
    TrainConfig,
    accuracy_by_snr,
    confusion,
    predict_proba,
    time_inference,
    train_classifier,
)
from paperzoo.core import Claim, Experiment, Outcome, RunContext, register
from paperzoo.core.io import atomic_write_bytes, atomic_write_json
from paperzoo.core.report import md_table
from paperzoo.core.threads import torch_threads

CARRIER_CLASSES = tuple(CLASSES.index(c) for c in (*LINEAR, "CPFSK", "GFSK"))  # a well-defined carrier
RRC_CLASSES = tuple(CLASSES.index(c) for c in LINEAR)  # -3 dB bandwidth == symbol rate


@dataclass
class DataConfig:
    """Which frames: blind synthetic RF captures (default) or a real RadioML file (baseband, no estimation)."""

    source: Literal["synthetic", "rml2016", "rml2018"] = "synthetic"
    path: str | None = None
    max_frames: int = 200_000  # real data: cap on frames read
    train_per_cell: int = 40  # synthetic: captures per (class, training SNR)
    train_snr_min: float = -4.0
    train_snr_step: float = 2.0
    test_per_cell: int = 8  # synthetic: captures per (class, test SNR)
    test_snr_step: float = 2.0
    frames_per_capture: int = 4
    test_frames_per_capture: int = 2
    rf: RFDataConfig = field(default_factory=RFDataConfig)

    def __post_init__(self):
        if self.source != "synthetic" and not self.path:
            raise ValueError(f"data.source={self.source} needs data.path pointing at the RadioML file")
        if min(self.train_per_cell, self.test_per_cell, self.frames_per_capture, self.test_frames_per_capture) < 1:
            raise ValueError("data.*_per_cell and data.*frames_per_capture must be >= 1")
        if not -20 <= self.train_snr_min <= 18 or self.train_snr_step <= 0 or self.test_snr_step <= 0:
            raise ValueError("data.train_snr_min must be in [-20, 18] and the SNR steps > 0")


@dataclass
class AMRConfig:
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hidden: int = 64  # quick preset; the paper-sized LSTM(128) x 2 (~200k parameters) is in `full`
    readout: Literal["mean", "last"] = "mean"  # LSTM readout: mean over time, or the last step (Rajendran)
    cnn_channels: tuple[int, int] = (64, 32)  # O'Shea CNN2 is (256, 80) + dense 256: the `full` preset
    cnn_dense: int = 128
    cnn_dropout: float = 0.2  # O'Shea used 0.5; with a few hundred steps 0.5 stays on the loss plateau
    cnn_lr: float = 3e-3  # the CNN diverges at the LSTM's 1e-2
    claim_accuracy: float = 0.90
    claim_fc_err: float = 0.05  # "small fraction of the symbol rate"
    torch_threads: int = 1  # the LSTM's small per-step matmuls gain little from 2 threads and lose a lot when
    # the cores are shared (OpenMP spin-waits); 0 leaves torch's default

    def __post_init__(self):
        if not 0 <= self.cnn_dropout < 1 or self.cnn_lr <= 0:
            raise ValueError("cnn_dropout must be in [0, 1) and cnn_lr > 0")
        if self.hidden < 1 or min(self.cnn_channels) < 1 or self.cnn_dense < 1:
            raise ValueError("hidden, cnn_channels and cnn_dense must be >= 1")
        if not 0 <= self.torch_threads <= 2:
            raise ValueError(f"torch_threads must be 0 (torch default), 1 or 2, got {self.torch_threads}")


def evaluate_claims(m: dict[str, float], acc_target: float = 0.90, fc_target: float = 0.05) -> list[Claim]:
    """The paper's claims, evaluated from measured metrics (NaN -> not evaluated)."""

    def known(*keys: str) -> bool:
        return all(k in m and not math.isnan(m[k]) for k in keys)

    claims = []
    if known("acc_snr_ge10_pe"):
        claims.append(Claim(f"LSTM with parameter estimation exceeds {acc_target:.0%} accuracy at SNR >= 10 dB "
                            "on blind RF inputs", m["acc_snr_ge10_pe"] >= acc_target,
                            f"{m['acc_snr_ge10_pe']:.3f} vs target {acc_target:.2f}"))
    else:
        claims.append(Claim("LSTM with PE exceeds the accuracy target at SNR >= 10 dB", None,
                            "not evaluated: no blind-RF (parameter estimation) run in this data source"))
    if known("acc_snr_ge10_pe", "acc_snr_ge10_nope"):
        claims.append(Claim("parameter estimation improves accuracy over the same LSTM without it (SNR >= 10 dB)",
                            m["acc_snr_ge10_pe"] > m["acc_snr_ge10_nope"],
                            f"{m['acc_snr_ge10_pe']:.3f} (PE) vs {m['acc_snr_ge10_nope']:.3f} (no PE)"))
    else:
        claims.append(Claim("PE improves accuracy over no PE", None, "not evaluated: no blind-RF captures"))
    if known("fc_err_over_rs_median_snr_ge10"):
        v = m["fc_err_over_rs_median_snr_ge10"]
        claims.append(Claim(f"carrier error is a small fraction (<= {fc_target}) of the symbol rate at SNR >= 10 dB",
                            v <= fc_target, f"median |fc_hat - fc| / Rs = {v:.4f}"))
    else:
        claims.append(Claim("carrier error small vs symbol rate", None, "not evaluated: no blind-RF captures"))
    if known("params_lstm", "params_cnn"):
        claims.append(Claim("the LSTM is low complexity: fewer parameters than the IQ CNN",
                            m["params_lstm"] < m["params_cnn"],
                            f"{int(m['params_lstm']):,} vs {int(m['params_cnn']):,} parameters"))
    if known("latency_ms_lstm", "latency_ms_cnn"):
        claims.append(Claim("the LSTM is low complexity: lower single-frame latency than the IQ CNN (this CPU)",
                            m["latency_ms_lstm"] < m["latency_ms_cnn"],
                            f"{m['latency_ms_lstm']:.2f} ms vs {m['latency_ms_cnn']:.2f} ms per frame"))
    return claims


def _acc(pred: np.ndarray, y: np.ndarray, snr: np.ndarray, lo: float) -> float:
    keep = snr >= lo
    return float(np.mean(pred[keep] == y[keep])) if keep.any() else float("nan")


def _synthetic(cfg: AMRConfig, ctx: RunContext, rng: np.random.Generator) -> tuple[Batch, Batch, float]:
    d = cfg.data
    train_snrs = np.arange(d.train_snr_min, 18 + 1e-9, d.train_snr_step)
    test_snrs = np.arange(-20, 18 + 1e-9, d.test_snr_step)
    t = time.perf_counter()
    lab, snr = balanced_design(d.train_per_cell, train_snrs, rng)
    train = _batched(d, lab, snr, d.frames_per_capture, rng, ctx, "train captures")
    lab, snr = balanced_design(d.test_per_cell, test_snrs, rng)
    test = _batched(d, lab, snr, d.test_frames_per_capture, rng, ctx, "test captures")
    frames = len(train.label) + len(test.label)
    rate = frames / (time.perf_counter() - t)
    ctx.log(f"blind RF data: {len(train.label)} train / {len(test.label)} test frames ({rate:.0f} frames/s "
            "generation + estimation + conversion)")
    return train, test, rate


def _batched(d: DataConfig, lab, snr, frames, rng, ctx, desc) -> Batch:
    step = 8 * d.rf.chunk
    parts = [make_batch(d.rf, lab[s:s + step], snr[s:s + step], frames, rng)
             for s in ctx.progress(range(0, len(lab), step), desc=desc)]
    return Batch(*(np.concatenate([getattr(p, k) for p in parts]) for k in Batch.__dataclass_fields__))


def _real(cfg: AMRConfig, rng: np.random.Generator) -> tuple[FrameSet, np.ndarray, np.ndarray]:
    d = cfg.data
    if d.source == "rml2016":
        fs = load_rml2016(d.path)
    else:
        fs = load_rml2018(d.path, max_frames=d.max_frames)
    if len(fs.x) > d.max_frames:
        keep = rng.choice(len(fs.x), d.max_frames, replace=False)
        fs = FrameSet(fs.x[keep], fs.label[keep], fs.snr[keep], fs.classes)
    order = rng.permutation(len(fs.x))
    half = len(order) // 2
    return fs, order[:half], order[half:]


def _estimator_errors(test: Batch, f: int) -> dict[str, np.ndarray]:
    first = slice(None, None, f)  # one entry per capture
    lab, snr = test.label[first], test.snr[first]
    fc_err = np.abs(test.fc_hat[first] - test.fc[first]) / test.rate[first]
    bw_err = np.abs(test.bw_hat[first] / test.rate[first] - 1)
    return {"snr": snr, "fc_err": fc_err, "bw_err": bw_err, "carrier": np.isin(lab, CARRIER_CLASSES),
            "rrc": np.isin(lab, RRC_CLASSES)}


def _gen_throughput(rng: np.random.Generator, n: int) -> float:
    t = time.perf_counter()
    per = max(n // len(CLASSES), 1)
    for mod in CLASSES:
        generate_baseband(mod, per, rng.uniform(-20, 18, per), rng)
    return per * len(CLASSES) / (time.perf_counter() - t)


def run(cfg: AMRConfig, ctx: RunContext) -> Outcome:
    with torch_threads(cfg.torch_threads):
        return _run(cfg, ctx)


def _run(cfg: AMRConfig, ctx: RunContext) -> Outcome:
    rng = np.random.default_rng(ctx.seed)
    torch.manual_seed(ctx.seed)
    m: dict[str, float] = {}
    sections: list[tuple[str, str]] = []
    synthetic = cfg.data.source == "synthetic"
    if synthetic:
        train, test, m["rf_pipeline_frames_per_s"] = _synthetic(cfg, ctx, rng)
        classes = CLASSES
        dig = np.isin(train.label, CARRIER_CLASSES) & (train.snr >= 0)
        out_rate = cfg.data.rf.estimator.sps * train.bw_hat[dig]
        offsets = np.abs(train.fc_hat[dig] - train.fc[dig]) / out_rate  # measured residual, cycles/sample
        inputs = {"pe": (train.pe, test.pe), "nope": (train.nope, test.nope)}
        y_tr, y_te, snr_te = train.label, test.label, test.snr
    else:
        fs, tr_idx, te_idx = _real(cfg, rng)
        classes = fs.classes
        offsets = None
        inputs = {"pe": (fs.x[tr_idx], fs.x[te_idx])}  # RadioML frames are already baseband
        y_tr, y_te, snr_te = fs.label[tr_idx], fs.label[te_idx], fs.snr[te_idx]
        ctx.log(f"{cfg.data.source}: {len(tr_idx)} train / {len(te_idx)} test frames, {len(classes)} classes")
    n_cls = len(classes)
    length = inputs["pe"][0].shape[-1]
    models = {"pe": AmpPhaseLSTM(n_cls, cfg.hidden, readout=cfg.readout)}
    if synthetic:
        models["nope"] = AmpPhaseLSTM(n_cls, cfg.hidden, readout=cfg.readout)
    models["cnn"] = IQCNN(n_cls, length, *cfg.cnn_channels, dense=cfg.cnn_dense, dropout=cfg.cnn_dropout)
    preds, curves, losses = {}, {}, {}
    for name, model in models.items():
        tr_x, te_x = inputs["nope" if name == "nope" else "pe"]
        t = time.perf_counter()
        train_cfg = replace(cfg.train, lr=cfg.cnn_lr) if name == "cnn" else cfg.train
        losses[name] = train_classifier(model, tr_x, y_tr, train_cfg, rng, ctx.device,
                                        offsets=None if name == "nope" else offsets, progress=ctx.progress,
                                        log=ctx.log)
        proba = predict_proba(model, te_x, ctx.device)
        preds[name] = proba.argmax(1)
        curves[name] = accuracy_by_snr(preds[name], y_te, snr_te)
        m[f"acc_snr_ge10_{name}"] = _acc(preds[name], y_te, snr_te, 10)
        m[f"acc_snr_ge0_{name}"] = _acc(preds[name], y_te, snr_te, 0)
        m[f"train_s_{name}"] = time.perf_counter() - t
        if synthetic:  # a receiver sees a whole capture: average the probabilities of its frames
            f = cfg.data.test_frames_per_capture
            per_capture = proba.reshape(-1, f, n_cls).mean(axis=1).argmax(1)
            m[f"acc_snr_ge10_{name}_per_capture"] = _acc(per_capture, y_te[::f], snr_te[::f], 10)
        ctx.log(f"{name}: acc >= 10 dB {m[f'acc_snr_ge10_{name}']:.3f}, >= 0 dB {m[f'acc_snr_ge0_{name}']:.3f}")
    for key in ("acc_snr_ge10_nope", "acc_snr_ge0_nope"):
        m.setdefault(key, float("nan"))
    m["params_lstm"] = n_params(models["pe"])
    m["params_cnn"] = n_params(models["cnn"])
    example = inputs["pe"][1][:256]
    m["infer_frames_per_s"], m["latency_ms_lstm"] = time_inference(models["pe"], example, ctx.device)
    m["infer_frames_per_s_cnn"], m["latency_ms_cnn"] = time_inference(models["cnn"], example, ctx.device)
    m["gen_frames_per_s"] = _gen_throughput(rng, 2200 if ctx.preset == "smoke" else 11_000)
    if synthetic:
        err = _estimator_errors(test, cfg.data.test_frames_per_capture)
        hi = err["snr"] >= 10
        m["fc_err_over_rs_median_snr_ge10"] = float(np.median(err["fc_err"][hi & err["carrier"]]))
        m["bw_rel_err_median_snr_ge10"] = float(np.median(err["bw_err"][hi & err["rrc"]]))
        sections.append(("Estimator error vs SNR", _estimator_table(err)))
        _plot_estimator(ctx, err)
    else:
        m["fc_err_over_rs_median_snr_ge10"] = m["bw_rel_err_median_snr_ge10"] = float("nan")
    _save_model(ctx, models["pe"], classes, cfg, length)
    _plot_curves(ctx, curves)
    hi = snr_te >= 10
    cm = confusion(preds["pe"][hi], y_te[hi], n_cls)
    _plot_confusion(ctx, cm, classes)
    sections.append(("Accuracy vs SNR", md_table(["SNR (dB)", *curves],
                                                 [[s, *(curves[k][s] for k in curves)] for s in curves["pe"]])))
    sections.append(("Per-class accuracy at SNR >= 10 dB (LSTM + PE)",
                     md_table(["class", "accuracy", "most confused with"],
                              [[c, cm[i, i], _most_confused(cm, i, classes)] for i, c in enumerate(classes)])))
    sections.append(("Complexity", md_table(
        ["model", "parameters", "frames/s (batch 256)", "latency per frame (ms)"],
        [["amp/phase LSTM", m["params_lstm"], m["infer_frames_per_s"], m["latency_ms_lstm"]],
         ["IQ CNN (O'Shea)", m["params_cnn"], m["infer_frames_per_s_cnn"], m["latency_ms_cnn"]]])))
    claims = evaluate_claims(m, cfg.claim_accuracy, cfg.claim_fc_err)
    return Outcome(metrics=m, claims=claims, sections=sections)


def _most_confused(cm: np.ndarray, i: int, classes) -> str:
    off = np.where(np.arange(len(cm)) == i, -1.0, cm[i])
    return f"{classes[int(np.argmax(off))]} ({off.max():.2f})"


def _estimator_table(err: dict[str, np.ndarray]) -> str:
    rows = []
    for s in np.unique(err["snr"]):
        at = err["snr"] == s
        rows.append([s, np.median(err["fc_err"][at & err["carrier"]]),
                     np.quantile(err["fc_err"][at & err["carrier"]], 0.9),
                     np.median(err["bw_err"][at & err["rrc"]])])
    return md_table(["SNR (dB)", "median abs(fc err)/Rs", "90% abs(fc err)/Rs", "median rel. bandwidth err"], rows)


def _save_model(ctx: RunContext, model: torch.nn.Module, classes, cfg: AMRConfig, length: int) -> None:
    from safetensors.torch import save

    atomic_write_bytes(ctx.out / "lstm_pe.safetensors",
                       save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
    meta = {"classes": list(classes), "hidden": cfg.hidden, "readout": cfg.readout, "frame_len": length,
            "sps": cfg.data.rf.estimator.sps, "source": cfg.data.source}
    atomic_write_json(ctx.out / "lstm_pe.json", meta)


def _plot_curves(ctx: RunContext, curves: dict[str, dict[float, float]]) -> None:
    import matplotlib.pyplot as plt

    labels = {"pe": "LSTM + parameter estimation", "nope": "LSTM, no estimation", "cnn": "IQ CNN (+ estimation)"}
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(list(curve), list(curve.values()), marker="o", ms=3, label=labels[name])
    ax.set(xlabel="SNR (dB)", ylabel="accuracy", ylim=(0, 1.02), title="Accuracy vs SNR")
    ax.grid(alpha=0.3)
    ax.legend()
    ctx.savefig(fig, "accuracy_vs_snr", "Classification accuracy vs in-band SNR for every model")


def _plot_confusion(ctx: RunContext, cm: np.ndarray, classes) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title="LSTM + PE, SNR >= 10 dB")
    fig.colorbar(im, ax=ax)
    ctx.savefig(fig, "confusion_snr_ge10", "Row-normalised confusion matrix at SNR >= 10 dB (LSTM + PE)")


def _plot_estimator(ctx: RunContext, err: dict[str, np.ndarray]) -> None:
    import matplotlib.pyplot as plt

    snrs = np.unique(err["snr"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, mask, title in ((axes[0], "fc_err", "carrier", "|fc error| / Rs (PSK/QAM/PAM/FSK)"),
                                 (axes[1], "bw_err", "rrc", "|bandwidth / Rs - 1| (RRC classes)")):
        q = np.array([np.quantile(err[key][(err["snr"] == s) & err[mask]], [0.25, 0.5, 0.75]) for s in snrs])
        ax.semilogy(snrs, q[:, 1], marker="o", ms=3, label="median")
        ax.fill_between(snrs, q[:, 0], q[:, 2], alpha=0.3, label="interquartile")
        ax.set(xlabel="SNR (dB)", title=title)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    ctx.savefig(fig, "estimator_error_vs_snr", "Blind carrier and bandwidth estimation error vs SNR")


register(Experiment(
    name="amr",
    paper="2412.08251",
    title="Blind RF modulation recognition: power-spectrum carrier/bandwidth estimation + amplitude/phase LSTM",
    config=AMRConfig,
    presets={
        "smoke": {"data.train_per_cell": 2, "data.train_snr_step": 8.0, "data.test_per_cell": 1,
                  "data.test_snr_step": 10.0, "data.frames_per_capture": 2, "data.rf.capture_len": 4096,
                  "train.epochs": 1, "hidden": 16, "cnn_channels": [16, 8], "cnn_dense": 16},
        "quick": {},
        "full": {"data.train_per_cell": 400, "data.train_snr_min": -20.0, "data.test_per_cell": 100,
                 "train.epochs": 30, "train.lr": 1e-3, "data.max_frames": 2_000_000, "hidden": 128,
                 "cnn_channels": [256, 80], "cnn_dense": 256, "cnn_lr": 1e-3, "cnn_dropout": 0.5},
    },
    run=run,
))
