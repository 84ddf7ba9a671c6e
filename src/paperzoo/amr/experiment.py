"""`paperzoo run amr`: blind RF modulation recognition with and without parameter estimation, vs an IQ CNN.

Recipe: draw blind RF captures (or read a RadioML file) -> train the LSTM on PE frames, the same LSTM on no-PE
frames and the IQ CNN -> score them per SNR, per capture and per frame length -> estimator errors, complexity
-> claims, figures, tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from paperzoo.amr import evaluate as E
from paperzoo.amr import figures
from paperzoo.amr.claims import ClaimsConfig, evaluate_claims
from paperzoo.amr.dataset import DataConfig, Dataset, Frames, frame_samples, real_dataset, synthetic_dataset
from paperzoo.amr.model import IQCNN, AmpPhaseLSTM, CNNConfig, LSTMConfig, save_lstm
from paperzoo.amr.train import History, TrainConfig, train_classifier
from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.core import metrics as M


@dataclass
class CNNSection:
    """The IQ CNN baseline: its shape and its own optimiser settings."""

    model: CNNConfig = field(default_factory=CNNConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=3e-3, epochs=8, batch_size=64, warmup=0.2,
                                                                   augment=False))


@dataclass
class AMRConfig:
    data: DataConfig = field(default_factory=DataConfig)
    lstm: LSTMConfig = field(default_factory=LSTMConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cnn: CNNSection = field(default_factory=CNNSection)
    threads: int = param(1, ge=0, le=2, doc="torch threads (0 = torch's default); small LSTM steps lose to "
                         "OpenMP spin-waits on shared cores")
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)

    def __post_init__(self):
        lengths = sorted({self.data.frame_len, *self.data.frame_lens})
        bad = [n for n in lengths if n % self.lstm.step_samples]
        if bad:
            raise ValueError(f"data.frame_len / data.frame_lens {bad} are not multiples of lstm.step_samples = "
                             f"{self.lstm.step_samples}")
        d = self.data
        need, room = frame_samples(d), int(d.rf.nominal_rate * d.rf.capture_len)
        if d.source == "synthetic" and need > room:
            raise ValueError(f"data.test_frames_per_capture x data.frame_len (or the longest of data.frame_lens) + "
                             f"2 x data.margin = {need} samples, more than a converted capture of "
                             f"data.rf.capture_len = {d.rf.capture_len} holds without estimation ({room})")


def run(cfg: AMRConfig, ctx: RunContext) -> Outcome:
    data = load_data(cfg, ctx)
    models = build_models(cfg, data)
    histories = train_models(models, data, cfg, ctx)
    scores = {name: E.score(model, data.test["nope" if name == "nope" else "pe"], data.test_snr,
                            cfg.data.test_frames_per_capture if data.blind else 1, ctx.device)
              for name, model in models.items()}
    m = accuracy_metrics(scores, data, ctx)
    lengths = frame_len_curve(models, data, cfg, ctx, m)
    timings = E.complexity(models, data, m)
    errors = E.estimator_metrics(data, m)
    if ctx.writer:
        save_lstm(models["pe"], ctx.out, model_meta(cfg, ctx, data))
    tables = record_tables(ctx, scores, data, lengths, errors, histories, m)
    draw_figures(ctx, scores, data, lengths, errors, histories, cfg)
    examples = {k: s.correct(10) for k, s in scores.items()}
    return Outcome(metrics=m, claims=evaluate_claims(m, cfg.claims, examples, timings), sections=tables)


def load_data(cfg: AMRConfig, ctx: RunContext) -> Dataset:
    rng = np.random.default_rng(ctx.seed)
    if cfg.data.source == "synthetic":
        return synthetic_dataset(cfg.data, rng, ctx.progress, ctx.log)
    return real_dataset(cfg.data, rng, ctx.log)


def build_models(cfg: AMRConfig, data: Dataset) -> dict:
    n_cls, length = len(data.classes), data.train["pe"].frame_len
    models = {"pe": AmpPhaseLSTM(cfg.lstm, n_cls, data.sps)}
    if data.blind:
        models["nope"] = AmpPhaseLSTM(cfg.lstm, n_cls, data.sps)
    models["cnn"] = IQCNN(cfg.cnn.model, n_cls, length)
    return models


def train_models(models: dict, data: Dataset, cfg: AMRConfig, ctx: RunContext) -> dict[str, History]:
    """Each model on its pipeline's frames; the LSTMs with the same settings, the CNN with its own."""
    out = {}
    for name, model in models.items():
        frames = data.train["nope" if name == "nope" else "pe"]
        train_cfg = cfg.cnn.train if name == "cnn" else cfg.train
        out[name] = train_classifier(model, frames, train_cfg, dist=ctx.dist,
                                     rng=np.random.default_rng([ctx.seed, len(out)]), progress=ctx.progress,
                                     log=ctx.log, device=ctx.device,
                                     offsets=None if name == "nope" else data.offsets, name=name)
    return out


def accuracy_metrics(scores: dict[str, E.Scores], data: Dataset, ctx: RunContext) -> dict[str, float]:
    m: dict[str, float] = {"n_classes": len(data.classes), "blind_rf": float(data.blind)}
    for name, s in scores.items():
        m[f"acc_snr_ge10_{name}"], m[f"acc_snr_ge0_{name}"] = s.accuracy(10), s.accuracy(0)
        if data.blind:
            m[f"acc_snr_ge10_{name}_per_capture"] = s.accuracy(10, per_capture=True)
        hits = s.correct(10)
        if len(hits) and M.near_chance(m[f"acc_snr_ge10_{name}"], len(data.classes), len(hits)):
            ctx.warn(f"the {name} model ended near chance level: accuracy {m[f'acc_snr_ge10_{name}']:.3f} at "
                     f"SNR >= 10 dB over {len(hits)} frames, chance {1 / len(data.classes):.3f}")
    hits = scores["pe"].correct(10)
    m["n_test_snr_ge10"] = len(hits)
    if len(hits):
        m["acc_snr_ge10_pe_lo"], m["acc_snr_ge10_pe_hi"] = M.binomial_ci(int(hits.sum()), len(hits))
    for key in ("acc_snr_ge10_nope", "acc_snr_ge0_nope"):
        m.setdefault(key, float("nan"))
    ctx.log("accuracy at SNR >= 10 dB: " + ", ".join(f"{k} {m[f'acc_snr_ge10_{k}']:.3f}" for k in scores))
    return m


def frame_len_curve(models: dict, data: Dataset, cfg: AMRConfig, ctx: RunContext, m: dict) -> dict:
    """Accuracy at SNR >= 10 dB of the LSTMs on one centre test frame of each length (blind RF only): the
    models trained at data.frame_len, or (data.frame_len_curve=retrain) an LSTM trained at each length with the
    same settings, on frames of that length cut from the same captures."""
    if not data.blind:
        return {}
    curves: dict[str, dict[int, float]] = {"pe": {}, "nope": {}}
    for name, curve in curves.items():
        for length in cfg.data.frame_lens:
            model = models[name]
            if cfg.data.frame_len_curve == "retrain" and length != data.train[name].frame_len:
                model = lstm_at_length(name, length, data, cfg, ctx)
            curve |= E.accuracy_vs_frame_len(model, data.test[name], data.test_snr, [length], device=ctx.device)
        m.update({f"acc_frame_len.{n}.{name}": v for n, v in curve.items()})
    return curves


def lstm_at_length(name: str, length: int, data: Dataset, cfg: AMRConfig, ctx: RunContext) -> AmpPhaseLSTM:
    """A fresh LSTM trained like the main one, on random frames of `length` samples of the same captures."""
    train = data.train[name]
    model = AmpPhaseLSTM(cfg.lstm, len(data.classes), data.sps)
    train_classifier(model, Frames(train.signals, train.labels, length, train.margin), cfg.train, dist=ctx.dist,
                     rng=np.random.default_rng([ctx.seed, length, name == "nope"]), progress=ctx.progress,
                     log=ctx.log, device=ctx.device, offsets=None if name == "nope" else data.offsets,
                     name=f"{name} at {length} samples")
    return model


def model_meta(cfg: AMRConfig, ctx: RunContext, data: Dataset) -> dict:
    est = cfg.data.rf.estimator
    return {"classes": list(data.classes), "frame_len": data.train["pe"].frame_len, "margin": cfg.data.margin,
            "estimator": {"sps": est.sps, "resample": est.resample}, "source": cfg.data.source,
            "preset": ctx.preset, "seed": ctx.seed, "run": str(ctx.out)}


def record_tables(ctx: RunContext, scores: dict, data: Dataset, lengths: dict, errors, histories: dict,
                  m: dict) -> list[tuple[str, str]]:
    """Every curve and table as ctx.table (CSV export); returns the report sections."""
    acc = {k: s.by_snr() for k, s in scores.items()}
    if data.blind:
        acc["pe_capture"] = scores["pe"].by_snr(per_capture=True)
    snrs = list(acc["pe"])
    sections = [("Accuracy vs SNR", ctx.table("accuracy_vs_snr", ["snr_db", *acc],
                                              [[s, *(acc[k].get(s) for k in acc)] for s in snrs]))]
    if lengths:
        sections.append(("Accuracy vs frame length (SNR >= 10 dB)", ctx.table(
            "accuracy_vs_frame_len", ["frame_len", *lengths], [[n, *(lengths[k][n] for k in lengths)]
                                                               for n in lengths["pe"]])))
    cm = confusion_ge10(scores["pe"], data)
    sections.append(("Per-class accuracy at SNR >= 10 dB (LSTM + PE)", ctx.table(
        "per_class_snr_ge10", ["class", "accuracy", "most_confused_with", "fraction"],
        [[c, cm[i, i], *most_confused(cm, i, data.classes)] for i, c in enumerate(data.classes)])))
    ctx.table("confusion_snr_ge10", ["true", *data.classes], [[c, *cm[i]] for i, c in enumerate(data.classes)])
    sections.append(("Hard pairs at SNR >= 10 dB (LSTM + PE)", ctx.table(
        "hard_pairs_snr_ge10", ["pair", "acc_first", "acc_second", "first_called_second", "second_called_first"],
        E.hard_pairs(cm, data.classes))))
    if errors is not None:
        rows = [[s, *q, *E.error_quantiles(errors, "bw_err")[i][2:3], *E.error_quantiles(errors, "rs_err")[i][2:3]]
                for i, (s, *q) in enumerate(E.error_quantiles(errors, "fc_err"))]
        sections.append(("Estimator error vs SNR", ctx.table(
            "estimator_error_vs_snr", ["snr_db", "fc_err_q25", "fc_err_median", "fc_err_q75", "fc_err_q90",
                                       "bw_err_median", "rs_err_median"], rows)))
    width = max(len(h.epoch_loss) for h in histories.values())
    ctx.table("training_loss", ["epoch", *histories], [[e + 1, *(h.epoch_loss[e] if e < len(h.epoch_loss) else None
                                                                for h in histories.values())] for e in range(width)])
    sections.append(("Complexity", ctx.table(
        "complexity", ["model", "parameters", "frames_per_s_batch256_1core", "latency_ms_per_frame", "train_cpu_s"],
        [["amp/phase LSTM", m["params_lstm"], m["infer_frames_per_s_1core"], m["latency_ms_lstm"],
          histories["pe"].seconds], ["IQ CNN (O'Shea)", m["params_cnn"], m["infer_frames_per_s_1core_cnn"],
                                     m["latency_ms_cnn"], histories["cnn"].seconds]])))
    return sections


def confusion_ge10(s: E.Scores, data: Dataset) -> np.ndarray:
    keep = s.snr >= 10
    return M.confusion(s.label[keep], s.pred[keep], len(data.classes))


def most_confused(cm: np.ndarray, i: int, classes) -> list:
    off = np.where(np.arange(len(cm)) == i, -1.0, cm[i])
    return [classes[int(np.argmax(off))], float(off.max())]


def draw_figures(ctx: RunContext, scores: dict, data: Dataset, lengths: dict, errors, histories: dict,
                 cfg: AMRConfig) -> None:
    acc = {k: s.by_snr() for k, s in scores.items()}
    if data.blind:
        acc["pe_capture"] = scores["pe"].by_snr(per_capture=True)
    figures.accuracy_vs_snr(ctx, acc, cfg.claims.accuracy if data.blind else None)
    figures.confusion(ctx, confusion_ge10(scores["pe"], data), data.classes, "LSTM + PE")
    if errors is not None:
        figures.estimator_errors(ctx, {k: [(s, q25, q50, q75) for s, q25, q50, q75, _ in E.error_quantiles(errors, k)]
                                       for k in ("fc_err", "bw_err", "rs_err")})
    if lengths:
        figures.accuracy_vs_frame_len(ctx, lengths, cfg.data.frame_len_curve == "retrain")
    figures.training_loss(ctx, {k: h.epoch_loss for k, h in histories.items()})


register(Experiment(
    name="amr",
    paper="2412.08251",
    title="Blind RF modulation recognition: power-spectrum carrier/bandwidth estimation + amplitude/phase LSTM",
    config=AMRConfig,
    presets={
        "smoke": {"data.train_per_cell": 2, "data.train_snr_step": 8.0, "data.test_per_cell": 1,
                  "data.test_snr_step": 10.0, "data.rf.capture_len": 4096, "data.frame_len": 128,
                  "data.frame_lens": [64, 128], "train.epochs": 2, "lstm.hidden": 8, "cnn.model.channels": [8, 4],
                  "cnn.model.dense": 16, "cnn.model.dropout": 0.0, "cnn.train.epochs": 1},
        "quick": {},
        "full": {"data.train_per_cell": 400, "data.train_snr_min": -20.0, "data.test_per_cell": 100,
                 "train.epochs": 60, "train.lr": 2e-3, "data.max_frames": 2_000_000, "lstm.hidden": 128,
                 "cnn.model.channels": [256, 80], "cnn.model.dense": 256, "cnn.model.dropout": 0.5,
                 "cnn.train.epochs": 30},
    },
    run=run,
))
