"""Blind carrier / bandwidth estimation from the power spectrum and RF -> baseband conversion (the paper's PE).

1. Welch PSD P(f) (Hann, nperseg, 75% overlap); narrow spectral lines (AM carriers) clipped by a median filter;
   smoothed by a moving average; noise floor N0 = median_f P(f); excess e(f) = max(P(f) - N0, 0).
2. Bandwidth B = the -3 dB width: the region around the peak of e where e >= L / 2 (gaps of up to `gap_frac` of
   its width bridged), with linearly interpolated edges; L = median of e over the region found with L = max(e)
   (the in-band level; the maximum of a noisy PSD overshoots it). Carrier fc = sum_f f e(f) / sum_f e(f)
      over that region widened by `margin` * B on each side (the power-weighted centroid). B99 = width holding
   99% of sum e (secondary, noisy at low SNR).
3. z[n] = (x + j H{x})[n] * exp(-j 2 pi fc n / fs), ideal low-pass |f| <= (1 + lowpass_excess) B / 2 and
   resampling to sps * B samples per second in one FFT step (band-limited interpolation).
4. Optional fine correction: z^M has a spectral line at M * df for M-ary PSK/QAM (M = 2, 4, 8); the strongest
   line within +-M * max_fine * B (if it stands out of the local median by line_snr) gives df; done at
   baseband, where M * df cannot alias.
5. Symbol rate (resample="symbol"): the squared envelope of a linearly modulated signal is cyclostationary,
   with a spectral line at Rs where the excess band at -Rs/2 beats with the one at +Rs/2:
      S(f) = |FFT(|z|^2 - mean |z|^2)|^2,   Rs_hat = argmax_{f in rs_range * B} S(f) / (median_w S(f) + floor)
   (median over rs_median_bins bins: a line, not a bump, is sought). If the peak stands rs_line_snr times above
   that level, Rs_hat is refined by a parabola through the three bins at the peak; otherwise (FSK, analog:
   no line) Rs_hat = B. The capture is then converted again at sps * Rs_hat samples per second, so every frame
   holds a fixed number of samples per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d
from scipy.signal import get_window

from paperzoo.core import param


@dataclass
class EstimatorConfig:
    """Settings of the power-spectrum estimator and converter."""

    nperseg: int = param(512, ge=64, doc="Welch segment length")
    overlap: float = param(0.75, ge=0, lt=1, doc="Welch segment overlap")
    line_filter_bins: int = param(9, ge=1, doc="median filter that removes PSD lines narrower than ~this many bins")
    smooth_bins: int = param(5, ge=1, doc="moving-average smoothing of the PSD, bins")
    gap_frac: float = param(0.15, ge=0, doc="bridge dips below the half level up to this fraction of the width")
    margin: float = param(0.5, ge=0, doc="carrier centroid window: -3 dB region widened by margin * B per side")
    sps: float = param(4.0, ge=2, doc="output samples per estimated symbol (per bandwidth where no symbol line)")
    lowpass_excess: float = param(0.6, ge=0, doc="low-pass half width = (1 + lowpass_excess) * B / 2")
    fine: bool = param(True, doc="M-th power fine carrier correction at baseband")
    fine_powers: tuple[int, ...] = param((2, 4, 8), choices=(2, 4, 8), nonempty=True, doc="powers M tried")
    max_fine: float = param(0.15, gt=0, doc="search fine offsets within +- max_fine * B")
    line_snr: float = param(30.0, gt=1, doc="M-th power line must exceed the window median this many times")
    resample: Literal["symbol", "bandwidth"] = param("symbol", doc="output sps per estimated symbol or per bandwidth")
    rs_range: tuple[float, float] = param((0.5, 1.5), gt=0, doc="symbol-rate line searched in this range times B")
    rs_median_bins: int = param(65, ge=3, doc="running median the envelope line must stand above, bins")
    rs_line_snr: float = param(20.0, gt=1, doc="accept the envelope line this many times above its running median")
    detect_sigma: float = param(8.0, gt=0, doc="no signal when the PSD peak stands less than this many spreads "
                                "above the noise floor")

    def __post_init__(self):
        lo, hi = self.rs_range
        if not lo < hi <= self.sps / 2:
            raise ValueError(f"estimator.rs_range must satisfy lo < hi <= estimator.sps / 2 (the envelope's "
                             f"Nyquist), got {self.rs_range} with sps = {self.sps}")


@dataclass
class Estimate:
    """Per-capture estimates (arrays of shape (B,)) in the units of fs."""

    fc: np.ndarray
    bandwidth: np.ndarray
    bandwidth99: np.ndarray
    noise_floor: np.ndarray
    detection: np.ndarray  # peak of P / N0 - 1 in units of its spread over frequency: ~3 for noise alone
    fine_offset: np.ndarray | None = None
    symbol_rate: np.ndarray | None = None  # Rs_hat (= bandwidth where no envelope line was found)
    rate_line: np.ndarray | None = None  # whether the envelope line was found


def power_spectrum(x: np.ndarray, fs: float, cfg: EstimatorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of each row; one-sided for real input, two-sided (fftshifted) for complex input."""
    nperseg = min(cfg.nperseg, x.shape[-1])
    step = max(nperseg - int(nperseg * cfg.overlap), 1)
    window = get_window("hann", nperseg)
    segments = np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[..., ::step, :] * window
    scale = 1.0 / (fs * np.sum(window ** 2))
    if np.iscomplexobj(x):
        p = np.mean(np.abs(np.fft.fft(segments, axis=-1)) ** 2, axis=-2) * scale
        return np.fft.fftshift(np.fft.fftfreq(nperseg, 1 / fs)), np.fft.fftshift(p, axes=-1)
    p = np.mean(np.abs(np.fft.rfft(segments, axis=-1)) ** 2, axis=-2) * scale
    p[..., 1:(nperseg + 1) // 2] *= 2  # one-sided: fold the negative frequencies (not DC, not Nyquist)
    return np.fft.rfftfreq(nperseg, 1 / fs), p


def _edge(e_row: np.ndarray, start: int, half: float, step: int, gap: int) -> float:
    """Interpolated index where e falls below `half` for good (> gap bins) walking from `start` by `step`."""
    n = len(e_row)
    i = start
    while True:
        ahead = e_row[i + step:i + step * (gap + 1):step] if step > 0 else e_row[max(i - gap, 0):i][::-1]
        above = np.flatnonzero(ahead >= half)
        if len(above) == 0:
            break
        i += step * (int(above[-1]) + 1)
    j = i + step
    if not 0 <= j < n:
        return float(i)
    frac = (e_row[i] - half) / max(e_row[i] - e_row[j], 1e-30)
    return i + step * float(np.clip(frac, 0.0, 1.0))


def _half_power_region(e_row: np.ndarray, level: float, gap_frac: float) -> tuple[float, float]:
    peak = int(np.argmax(e_row))
    lo = hi = float(peak)
    for _ in range(3):  # the bridged gap grows with the width found so far
        gap = max(int(gap_frac * (hi - lo)), 2)
        lo, hi = _edge(e_row, peak, level / 2, -1, gap), _edge(e_row, peak, level / 2, +1, gap)
    return lo, hi


def estimate_parameters(x: np.ndarray, fs: float = 1.0, cfg: EstimatorConfig | None = None) -> Estimate:
    """Carrier and -3 dB / 99% bandwidths of each row of x (real RF or complex IQ), blind."""
    cfg = cfg or EstimatorConfig()
    x = np.atleast_2d(x)
    f, raw = power_spectrum(x, fs, cfg)
    p = raw
    if cfg.line_filter_bins > 1:
        p = np.minimum(p, median_filter(p, size=(1, cfg.line_filter_bins), mode="nearest"))
    if cfg.smooth_bins > 1:
        p = uniform_filter1d(p, cfg.smooth_bins, axis=-1, mode="nearest")
        raw = uniform_filter1d(raw, cfg.smooth_bins, axis=-1, mode="nearest")
    n0 = np.median(p, axis=-1)
    e = np.maximum(p - n0[:, None], 0.0)
    df = f[1] - f[0]
    fc, bw, bw99 = (np.empty(len(x)) for _ in range(3))
    for r in range(len(x)):
        lo, hi = _half_power_region(e[r], e[r].max(), cfg.gap_frac)
        level = np.median(e[r, int(np.ceil(lo)):int(np.floor(hi)) + 1])
        lo, hi = _half_power_region(e[r], level, cfg.gap_frac)
        bw[r] = max(hi - lo, 1.0) * df
        pad = cfg.margin * (hi - lo)
        a, b = max(int(np.floor(lo - pad)), 0), min(int(np.ceil(hi + pad)) + 1, len(f))
        w = e[r, a:b]
        total = w.sum()
        fc[r] = (f[a:b] * w).sum() / total if total > 0 else f[int(np.argmax(e[r]))]
        cdf = np.cumsum(e[r]) / max(e[r].sum(), 1e-30)
        bw99[r] = (np.searchsorted(cdf, 0.995) - np.searchsorted(cdf, 0.005)) * df
    return Estimate(fc=fc, bandwidth=bw, bandwidth99=bw99, noise_floor=n0, detection=_detection(raw, n0))


def _detection(p: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """max_f (P(f) / N0 - 1) in units of the robust spread of P / N0 over f: ~3 for noise alone."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = p / n0[:, None]
        spread = 1.4826 * np.median(np.abs(q - np.median(q, axis=-1, keepdims=True)), axis=-1)
        score = (q.max(axis=-1) - 1) / spread
    return np.where((n0 > 0) & (spread > 0) & np.isfinite(score), score, 0.0)


def analytic(x: np.ndarray) -> np.ndarray:
    """Analytic signal x + j H{x} along the last axis (FFT method); complex input is returned unchanged."""
    if np.iscomplexobj(x):
        return x
    n = x.shape[-1]
    spec = np.fft.fft(x, axis=-1)
    h = np.zeros(n)
    h[0] = 1
    h[1:(n + 1) // 2] = 2
    if n % 2 == 0:
        h[n // 2] = 1
    return np.fft.ifft(spec * h, axis=-1)


def to_baseband(x: np.ndarray, fc: np.ndarray, out_rate: np.ndarray, lowpass: np.ndarray,
                fs: float = 1.0) -> list[np.ndarray]:
    """Mix each row down by fc, keep |f| <= lowpass and resample to out_rate (all per row, in units of fs)."""
    x = np.atleast_2d(x)
    n = x.shape[-1]
    fc, out_rate, lowpass = (np.broadcast_to(np.asarray(v, dtype=float), (len(x),)) for v in (fc, out_rate, lowpass))
    z = analytic(x) * np.exp(-2j * np.pi * (fc[:, None] / fs) * np.arange(n)[None, :])
    spec = np.fft.fft(z, axis=-1)
    freqs = np.fft.fftfreq(n, d=1 / fs)
    out = []
    for r in range(len(x)):
        m = max(int(round(n * out_rate[r] / fs)), 8)
        keep = np.abs(freqs) < min(lowpass[r], out_rate[r] / 2)
        sub = np.zeros(m, dtype=complex)
        kept = np.flatnonzero(keep)
        bins = np.round(freqs[kept] / fs * n).astype(int)  # signed bin index
        sub[bins % m] = spec[r, kept]
        out.append(np.fft.ifft(sub) * (m / n))
    return out


def resample(z: np.ndarray, n: int) -> np.ndarray:
    """Band-limited (FFT) resampling of one complex signal to n samples (circular, like the conversion)."""
    spec = np.fft.fft(z)
    out = np.zeros(n, dtype=complex)
    bins = np.round(np.fft.fftfreq(len(z)) * len(z)).astype(int)
    keep = np.abs(bins) < n / 2
    out[bins[keep] % n] = spec[keep]
    return np.fft.ifft(out) * (n / len(z))


def fine_offset(z: np.ndarray, cfg: EstimatorConfig) -> float:
    """Residual carrier offset (cycles/sample of z) from the strongest M-th power line, 0.0 if none stands out."""
    n = len(z)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    z = z / (np.sqrt(np.mean(np.abs(z) ** 2)) + 1e-30)
    best, best_ratio = 0.0, cfg.line_snr
    freqs = np.fft.fftfreq(nfft)
    for m in cfg.fine_powers:
        spec = np.abs(np.fft.fft(z ** m, nfft)) ** 2
        window = np.abs(freqs) <= m * cfg.max_fine / cfg.sps  # max_fine * B in cycles per output sample
        k = np.flatnonzero(window)[np.argmax(spec[window])]
        ratio = spec[k] / (np.median(spec[window]) + 1e-30)  # the continuous part is ~flat near 0
        if ratio > best_ratio:
            best, best_ratio = freqs[k] / m, ratio
    return float(best)


def symbol_rate(z: np.ndarray, sps: float, cfg: EstimatorConfig) -> tuple[float, float]:
    """(Rs in units of the rate that z has `sps` samples per, line ratio) from the squared envelope's line;
    (nan, ratio) when no line stands out. z is at `sps` samples per estimated bandwidth."""
    e = np.abs(z) ** 2
    e = e - e.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * len(e))))
    spec = np.abs(np.fft.rfft(e, nfft)) ** 2
    f = np.fft.rfftfreq(nfft) * sps  # in units of the bandwidth
    window = np.flatnonzero((f >= cfg.rs_range[0]) & (f <= cfg.rs_range[1]))
    if len(window) < 3:
        return float("nan"), 0.0
    level = median_filter(spec, size=cfg.rs_median_bins, mode="nearest") + 0.05 * np.median(spec[window]) + 1e-300
    k = window[np.argmax(spec[window] / level[window])]
    ratio = float(spec[k] / level[k])
    if ratio < cfg.rs_line_snr:
        return float("nan"), ratio
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-300)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
    return float(f[k] + np.clip(shift, -0.5, 0.5) * (f[1] - f[0])), ratio


def blind_convert(x: np.ndarray, fs: float = 1.0, cfg: EstimatorConfig | None = None, min_samples: int = 0
                  ) -> tuple[list[np.ndarray], Estimate]:
    """Estimate carrier and bandwidth of each row, then convert it to baseband at cfg.sps samples per symbol
    (resample="symbol", from the envelope line; per bandwidth where there is none) or per bandwidth.

    The output rate is floored so that every row yields at least `min_samples` samples.
    """
    cfg = cfg or EstimatorConfig()
    x = np.atleast_2d(x)
    est = estimate_parameters(x, fs, cfg)
    out_rate = np.maximum(cfg.sps * est.bandwidth, min_samples * fs / x.shape[-1])
    out = to_baseband(x, est.fc, out_rate, (1 + cfg.lowpass_excess) * est.bandwidth / 2, fs)
    fine = np.zeros(len(out))
    if cfg.fine:
        for r, z in enumerate(out):
            fine[r] = fine_offset(z, cfg)
            if fine[r] != 0.0:
                out[r] = z * np.exp(-2j * np.pi * fine[r] * np.arange(len(z)))
    est.fine_offset = fine
    est.fc = est.fc + fine * out_rate  # fine offset is in cycles per output sample
    rates = [symbol_rate(z, out_rate[r] / est.bandwidth[r], cfg)[0] for r, z in enumerate(out)]
    est.rate_line = np.isfinite(rates)
    est.symbol_rate = np.where(est.rate_line, np.asarray(rates) * est.bandwidth, est.bandwidth)
    if cfg.resample == "symbol":  # band-limited resampling of the (circular) baseband signal to sps per symbol
        sym_rate = np.maximum(cfg.sps * est.symbol_rate, min_samples * fs / x.shape[-1])
        for r in np.flatnonzero(np.abs(sym_rate / out_rate - 1) > 1e-9):
            out[r] = resample(out[r], max(int(round(x.shape[-1] * sym_rate[r] / fs)), 8))
    return out, est
