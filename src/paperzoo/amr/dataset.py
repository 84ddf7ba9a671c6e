"""Blind-RF datasets: random-carrier, random-rate captures converted with and without parameter estimation,
and the frames cut from them (random crops for training, the centre for testing); or a RadioML file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np

from paperzoo.amr.estimate import EstimatorConfig, blind_convert, resample, to_baseband
from paperzoo.amr.formats import FrameSet, load_rml2016, load_rml2018
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, generate_rf
from paperzoo.core import param


@dataclass
class RFDataConfig:
    """How the blind RF captures are drawn (frequencies in cycles per sample, fs = 1)."""

    capture_len: int = param(8192, ge=256, doc="samples per real RF capture")
    fc_range: tuple[float, float] = param((0.1, 0.4), gt=0, lt=0.5, doc="carrier drawn uniformly in this range")
    rate_range: tuple[float, float] = param((1 / 40, 1 / 10), gt=0, le=0.25,
                                            doc="symbol rate (analog: nominal bandwidth) drawn uniformly in this range")
    chunk: int = param(128, ge=1, doc="captures generated at once (memory ~ chunk x capture_len x 100 bytes)")
    impairments: ImpairmentConfig = field(default_factory=ImpairmentConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)

    def __post_init__(self):
        lo, hi = self.fc_range
        rlo, rhi = self.rate_range
        if not lo < hi or not rlo <= rhi:
            raise ValueError(f"data.rf.fc_range and rate_range must be (low, high), got {self.fc_range}, "
                             f"{self.rate_range}")
        if lo - 0.75 * rhi <= 0 or hi + 0.75 * rhi >= 0.5:
            raise ValueError("data.rf.fc_range +- 0.75 * max rate must stay inside (0, 0.5): the signal would alias")

    @property
    def nominal_fc(self) -> float:
        return float(np.mean(self.fc_range))

    @property
    def nominal_rate(self) -> float:
        """No-estimation output rate: wide enough to keep every carrier in the search range."""
        return float(self.fc_range[1] - self.fc_range[0] + 1.5 * self.rate_range[1])


@dataclass
class Captures:
    """Captures converted by both pipelines, with the truth and the estimates, one entry per capture."""

    pe: list[np.ndarray]  # complex64, after blind estimation + conversion (sps samples per estimated symbol)
    nope: list[np.ndarray]  # complex64, fixed nominal carrier and output rate
    label: np.ndarray
    snr: np.ndarray
    fc: np.ndarray
    rate: np.ndarray
    fc_hat: np.ndarray
    bw_hat: np.ndarray
    rs_hat: np.ndarray
    rate_line: np.ndarray

    @staticmethod
    def concat(parts: list[Captures]) -> Captures:
        out = {}
        for f in fields(Captures):
            values = [getattr(p, f.name) for p in parts]
            out[f.name] = [z for v in values for z in v] if f.name in ("pe", "nope") else np.concatenate(values)
        return Captures(**out)

    def __len__(self) -> int:
        return len(self.label)


def make_captures(cfg: RFDataConfig, labels: np.ndarray, snr_db: np.ndarray, rng: np.random.Generator,
                  min_samples: int) -> Captures:
    """One capture per (label, snr) entry, converted blindly (PE) and at the nominal carrier and rate (no PE).

    Every converted capture holds at least `min_samples` samples (slow signals are then sampled faster).
    """
    parts: list[Captures] = []
    for start in range(0, len(labels), cfg.chunk):
        lab, snr = labels[start:start + cfg.chunk], snr_db[start:start + cfg.chunk]
        for c in np.unique(lab):
            idx = np.flatnonzero(lab == c)
            fc = rng.uniform(*cfg.fc_range, size=len(idx))
            rate = rng.uniform(*cfg.rate_range, size=len(idx))
            x, rate = generate_rf(CLASSES[c], cfg.capture_len, fc, rate, snr[idx], rng, cfg.impairments)
            pe, est = blind_convert(x, cfg=cfg.estimator, min_samples=min_samples)
            nope = to_baseband(x, cfg.nominal_fc, cfg.nominal_rate, cfg.nominal_rate / 2)
            parts.append(Captures(
                pe=[z.astype(np.complex64) for z in pe], nope=[z.astype(np.complex64) for z in nope],
                label=lab[idx], snr=snr[idx], fc=fc, rate=rate, fc_hat=est.fc, bw_hat=est.bandwidth,
                rs_hat=est.symbol_rate, rate_line=est.rate_line))
    return Captures.concat(parts)


def balanced_design(n_per_cell: int, snrs: list[float] | np.ndarray, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and SNRs with `n_per_cell` captures for every (class, snr), shuffled."""
    lab, snr = np.meshgrid(np.arange(len(CLASSES)), np.asarray(snrs, dtype=float), indexing="ij")
    lab = np.repeat(lab.ravel(), n_per_cell)
    snr = np.repeat(snr.ravel(), n_per_cell)
    order = rng.permutation(len(lab))
    return lab[order], snr[order]


def center_frames(z: np.ndarray, n_frames: int, length: int, margin: int = 0) -> np.ndarray:
    """`n_frames` consecutive frames of `length` from the middle of z (FFT-domain processing wraps at the edges).

    A signal shorter than n_frames * length + 2 * margin is first resampled (band-limited) to that length.
    """
    need = n_frames * length
    if len(z) < need + 2 * margin:
        z = resample(z, need + 2 * margin)
    start = (len(z) - need) // 2
    return z[start:start + need].reshape(n_frames, length)


@dataclass
class Frames:
    """Labelled frames of `frame_len` samples cut from signals of any length >= frame_len + 2 * margin."""

    signals: list[np.ndarray]
    labels: np.ndarray
    frame_len: int
    margin: int = 0

    def __post_init__(self) -> None:
        short = [len(s) for s in self.signals if len(s) < self.frame_len + 2 * self.margin]
        if short:
            raise ValueError(f"{len(short)} signals are shorter than frame_len + 2 * margin = "
                             f"{self.frame_len + 2 * self.margin} samples (shortest {min(short)})")

    def __len__(self) -> int:
        return len(self.labels)

    def random(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One frame at a random position inside the margins of each signal in idx: (len(idx), frame_len)."""
        out = np.empty((len(idx), self.frame_len), dtype=np.complex64)
        for row, i in enumerate(idx):
            z = self.signals[i]
            start = rng.integers(self.margin, len(z) - self.margin - self.frame_len + 1)
            out[row] = z[start:start + self.frame_len]
        return out

    def center(self, per_signal: int = 1, length: int | None = None) -> np.ndarray:
        """`per_signal` consecutive frames (of `length`, default frame_len) from the middle of every signal."""
        length = length or self.frame_len
        return np.concatenate([center_frames(z, per_signal, length, self.margin) for z in self.signals]
                              ).astype(np.complex64)


@dataclass
class Dataset:
    """What the experiment trains and tests on: frames of each pipeline, labels, SNRs and the class names."""

    classes: tuple[str, ...]
    train: dict[str, Frames]  # "pe" (and "nope" for blind RF)
    test: dict[str, Frames]
    test_snr: np.ndarray
    sps: int  # samples per symbol the frames are at (what the LSTM's one-symbol phase step uses)
    test_captures: Captures | None = None  # blind RF: truth and estimates, for the estimator's errors
    offsets: np.ndarray | None = None  # residual carrier offsets measured on training captures (cycles/sample)
    gen_frames_per_s: float = float("nan")  # blind RF pipeline throughput (generate + estimate + convert)

    @property
    def blind(self) -> bool:
        return self.test_captures is not None


def measured_offsets(train: Captures, cfg: RFDataConfig) -> np.ndarray:
    """|fc_hat - fc| in cycles per output sample of the captures with a well-defined carrier at SNR >= 0 dB."""
    carrier = np.isin(train.label, [CLASSES.index(c) for c in ("BPSK", "QPSK", "8PSK", "QAM16", "QAM64", "PAM4",
                                                               "CPFSK", "GFSK")]) & (train.snr >= 0)
    out_rate = np.array([len(z) for z in train.pe]) / cfg.capture_len
    return np.abs(train.fc_hat[carrier] - train.fc[carrier]) / out_rate[carrier]


@dataclass
class DataConfig:
    """Which frames: blind synthetic RF captures (default) or a real RadioML file (baseband, no estimation)."""

    source: Literal["synthetic", "rml2016", "rml2018"] = param("synthetic", doc="blind RF captures, or RadioML")
    path: str | None = param(None, path="file", doc="the RadioML file (data.source=rml2016 or rml2018)")
    max_frames: int = param(200_000, ge=2, doc="real data: cap on the frames read")
    real_sps: int = param(8, ge=1, doc="real data: samples per symbol of the frames (RadioML 2016: 8)")
    frame_len: int = param(512, ge=16, doc="samples per classified frame (synthetic; RadioML keeps its own)")
    frame_lens: list[int] = param([128, 256, 512, 1024], ge=16, doc="frame lengths of the accuracy-vs-length curve")
    frame_len_curve: Literal["rescore", "retrain"] = param(
        "rescore", doc="accuracy-vs-length curve: the models trained at frame_len scored at each length, or both "
        "LSTMs trained afresh at each length (~sum(frame_lens) / frame_len times more LSTM training)")
    margin: int = param(32, ge=0, doc="samples kept clear of each end of a converted capture (FFT wrap-around)")
    train_per_cell: int = param(36, ge=1, doc="training captures per (class, SNR)")
    train_snr_min: float = param(4.0, ge=-20, le=18, doc="lowest training SNR (dB); the highest is 18")
    train_snr_step: float = param(2.0, gt=0, doc="training SNR step (dB)")
    test_per_cell: int = param(8, ge=1, doc="test captures per (class, SNR); test SNRs -20 ... 18 dB")
    test_snr_step: float = param(2.0, gt=0, doc="test SNR step (dB)")
    test_frames_per_capture: int = param(2, ge=1, doc="consecutive centre frames scored per test capture")
    rf: RFDataConfig = field(default_factory=RFDataConfig)

    def __post_init__(self):
        if self.source != "synthetic" and not self.path:
            raise ValueError(f"data.source={self.source} needs data.path pointing at the RadioML file")


def frame_samples(d: DataConfig) -> int:
    """Samples every converted capture must hold: the test frames (or the longest curve frame) and the margins."""
    return max(d.test_frames_per_capture * d.frame_len, *d.frame_lens) + 2 * d.margin


def synthetic_dataset(d: DataConfig, rng: np.random.Generator, progress: Callable = lambda it, **_: it,
                      log: Callable[[str], None] = lambda _: None) -> Dataset:
    """Blind RF captures for training (SNR train_snr_min ... 18 dB) and testing (-20 ... 18 dB)."""
    need = frame_samples(d)
    start = time.process_time()
    parts = []
    for split, per_cell, lo, step in (("train", d.train_per_cell, d.train_snr_min, d.train_snr_step),
                                      ("test", d.test_per_cell, -20.0, d.test_snr_step)):
        lab, snr = balanced_design(per_cell, np.arange(lo, 18 + 1e-9, step), rng)
        chunks = range(0, len(lab), 8 * d.rf.chunk)
        parts.append(Captures.concat([make_captures(d.rf, lab[s:s + 8 * d.rf.chunk], snr[s:s + 8 * d.rf.chunk], rng,
                                                    need) for s in progress(chunks, desc=f"{split} captures")]))
    train, test = parts
    rate = (len(train) + len(test)) / (time.process_time() - start)
    log(f"blind RF data: {len(train)} train / {len(test)} test captures ({rate:.0f} captures/s generation + "
            "estimation + conversion, CPU)")
    frames = {split: {"pe": Frames(c.pe, c.label, d.frame_len, d.margin),
                      "nope": Frames(c.nope, c.label, d.frame_len, d.margin)} for split, c in (("train", train),
                                                                                                ("test", test))}
    return Dataset(CLASSES, frames["train"], frames["test"], test.snr, int(d.rf.estimator.sps), test_captures=test,
                   offsets=measured_offsets(train, d.rf), gen_frames_per_s=rate)


def real_dataset(d: DataConfig, rng: np.random.Generator, log: Callable[[str], None] = lambda _: None) -> Dataset:
    """A RadioML file split in half at random: the LSTM and the CNN train on one half and are tested on the other."""
    fs = load_rml2016(d.path) if d.source == "rml2016" else load_rml2018(d.path, max_frames=d.max_frames)
    if len(fs.x) > d.max_frames:
        keep = rng.choice(len(fs.x), d.max_frames, replace=False)
        fs = FrameSet(fs.x[keep], fs.label[keep], fs.snr[keep], fs.classes)
    order = rng.permutation(len(fs.x))
    tr, te = order[:len(order) // 2], order[len(order) // 2:]
    length = fs.x.shape[1]
    log(f"{d.source}: {len(tr)} train / {len(te)} test frames of {length} samples, {len(fs.classes)} classes")
    split = {name: {"pe": Frames(list(fs.x[idx]), fs.label[idx], length)} for name, idx in (("train", tr),
                                                                                           ("test", te))}
    return Dataset(fs.classes, split["train"], split["test"], fs.snr[te], d.real_sps)
