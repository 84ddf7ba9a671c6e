"""Blind-RF datasets: random-carrier, random-rate captures converted to frames with and without estimation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from paperzoo.amr.estimate import EstimatorConfig, blind_convert, to_baseband
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, generate_rf


@dataclass
class RFDataConfig:
    """How the blind RF captures are drawn (frequencies in cycles per sample, fs = 1)."""

    capture_len: int = 8192
    fc_range: tuple[float, float] = (0.1, 0.4)
    rate_range: tuple[float, float] = (1 / 40, 1 / 10)
    frame_len: int = 128
    chunk: int = 128  # captures generated at once (memory ~ chunk * capture_len * 100 bytes)
    impairments: ImpairmentConfig = field(default_factory=ImpairmentConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)

    def __post_init__(self):
        lo, hi = self.fc_range
        if not 0 < lo < hi < 0.5:
            raise ValueError(f"fc_range must satisfy 0 < lo < hi < 0.5, got {self.fc_range}")
        rlo, rhi = self.rate_range
        if not 0 < rlo <= rhi <= 0.25:
            raise ValueError(f"rate_range must satisfy 0 < lo <= hi <= 0.25, got {self.rate_range}")
        if lo - 0.75 * rhi <= 0 or hi + 0.75 * rhi >= 0.5:
            raise ValueError("fc_range +- 0.75 * max rate must stay inside (0, 0.5): the signal would alias")
        if self.capture_len < 4 * self.frame_len or self.frame_len < 16:
            raise ValueError("need frame_len >= 16 and capture_len >= 4 * frame_len")

    @property
    def nominal_fc(self) -> float:
        return float(np.mean(self.fc_range))

    @property
    def nominal_rate(self) -> float:
        """No-estimation output rate: wide enough to keep every carrier in the search range."""
        return float(self.fc_range[1] - self.fc_range[0] + 1.5 * self.rate_range[1])


def _center_frames(z: np.ndarray, n_frames: int, length: int) -> np.ndarray:
    need = n_frames * length
    if len(z) < need:  # only with a very wrong bandwidth estimate and min_samples = 0
        z = np.resize(z, need)
    start = (len(z) - need) // 2  # the middle: FFT-domain processing wraps around at the edges
    return z[start:start + need].reshape(n_frames, length)


@dataclass
class Batch:
    """Frames of both pipelines from the same captures, with the truth and the estimates per frame."""

    pe: np.ndarray  # (N, L) complex64, after blind estimation + conversion
    nope: np.ndarray  # (N, L) complex64, fixed nominal carrier and rate
    label: np.ndarray
    snr: np.ndarray
    fc: np.ndarray
    rate: np.ndarray
    fc_hat: np.ndarray
    bw_hat: np.ndarray


def make_batch(cfg: RFDataConfig, labels: np.ndarray, snr_db: np.ndarray, frames_per_capture: int,
               rng: np.random.Generator) -> Batch:
    """One capture per (label, snr) entry, each cut into `frames_per_capture` frames for both pipelines."""
    parts: list[Batch] = []
    f = frames_per_capture
    margin = 2 * cfg.frame_len
    for start in range(0, len(labels), cfg.chunk):
        lab, snr = labels[start:start + cfg.chunk], snr_db[start:start + cfg.chunk]
        for c in np.unique(lab):
            idx = np.flatnonzero(lab == c)
            fc = rng.uniform(*cfg.fc_range, size=len(idx))
            rate = rng.uniform(*cfg.rate_range, size=len(idx))
            x, rate = generate_rf(CLASSES[c], cfg.capture_len, fc, rate, snr[idx], rng, cfg.impairments)
            pe, est = blind_convert(x, cfg=cfg.estimator, min_samples=f * cfg.frame_len + margin)
            nope = to_baseband(x, cfg.nominal_fc, cfg.nominal_rate, cfg.nominal_rate / 2)
            rep = lambda v: np.repeat(np.asarray(v), f)  # noqa: E731
            parts.append(Batch(
                pe=np.concatenate([_center_frames(z, f, cfg.frame_len) for z in pe]).astype(np.complex64),
                nope=np.concatenate([_center_frames(z, f, cfg.frame_len) for z in nope]).astype(np.complex64),
                label=rep(lab[idx]), snr=rep(snr[idx]), fc=rep(fc), rate=rep(rate),
                fc_hat=rep(est.fc), bw_hat=rep(est.bandwidth)))
    return Batch(*(np.concatenate([getattr(p, k) for p in parts]) for k in Batch.__dataclass_fields__))


def balanced_design(n_per_cell: int, snrs: list[float] | np.ndarray, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and SNRs with `n_per_cell` captures for every (class, snr), shuffled."""
    lab, snr = np.meshgrid(np.arange(len(CLASSES)), np.asarray(snrs, dtype=float), indexing="ij")
    lab = np.repeat(lab.ravel(), n_per_cell)
    snr = np.repeat(snr.ravel(), n_per_cell)
    order = rng.permutation(len(lab))
    return lab[order], snr[order]
