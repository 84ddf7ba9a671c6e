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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d
from scipy.signal import welch


@dataclass
class EstimatorConfig:
    """Settings of the power-spectrum estimator and converter."""

    nperseg: int = 512
    overlap: float = 0.75
    line_filter_bins: int = 9  # median filter width that removes lines narrower than ~this many bins
    smooth_bins: int = 5
    gap_frac: float = 0.15  # bridge dips below the half level up to this fraction of the current width
    margin: float = 0.5  # centroid window = -3 dB region widened by margin * B per side
    sps: float = 4.0  # output samples per estimated bandwidth (= samples/symbol for RRC signals)
    lowpass_excess: float = 0.6  # low-pass half width = (1 + lowpass_excess) * B / 2 (RRC roll-off room)
    fine: bool = True
    fine_powers: tuple[int, ...] = (2, 4, 8)
    max_fine: float = 0.15  # search fine offsets within +- max_fine * B
    line_snr: float = 30.0  # line must exceed this many times the median |FFT(z^M)|^2 in the window

    def __post_init__(self):
        if self.nperseg < 64:
            raise ValueError(f"nperseg must be >= 64, got {self.nperseg}")
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")
        if self.sps < 2:
            raise ValueError(f"sps must be >= 2 (Nyquist), got {self.sps}")
        if any(m not in (2, 4, 8) for m in self.fine_powers):
            raise ValueError(f"fine_powers must be drawn from 2, 4, 8; got {self.fine_powers}")


@dataclass
class Estimate:
    """Per-capture estimates (arrays of shape (B,)) in the units of fs."""

    fc: np.ndarray
    bandwidth: np.ndarray
    bandwidth99: np.ndarray
    noise_floor: np.ndarray
    fine_offset: np.ndarray | None = None


def power_spectrum(x: np.ndarray, fs: float, cfg: EstimatorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of each row; one-sided for real input, two-sided (fftshifted) for complex input."""
    nperseg = min(cfg.nperseg, x.shape[-1])
    f, p = welch(x, fs=fs, window="hann", nperseg=nperseg, noverlap=int(nperseg * cfg.overlap),
                 return_onesided=not np.iscomplexobj(x), detrend=False, axis=-1)
    if np.iscomplexobj(x):
        f, p = np.fft.fftshift(f), np.fft.fftshift(p, axes=-1)
    return f, p


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
    f, p = power_spectrum(x, fs, cfg)
    if cfg.line_filter_bins > 1:
        p = np.minimum(p, median_filter(p, size=(1, cfg.line_filter_bins), mode="nearest"))
    if cfg.smooth_bins > 1:
        p = uniform_filter1d(p, cfg.smooth_bins, axis=-1, mode="nearest")
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
    return Estimate(fc=fc, bandwidth=bw, bandwidth99=bw99, noise_floor=n0)


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


def fine_offset(z: np.ndarray, cfg: EstimatorConfig) -> float:
    """Residual carrier offset (cycles/sample of z) from the strongest M-th power line, 0.0 if none stands out."""
    n = len(z)
    nfft = 1 << int(np.ceil(np.log2(4 * n)))
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


def blind_convert(x: np.ndarray, fs: float = 1.0, cfg: EstimatorConfig | None = None, min_samples: int = 0
                  ) -> tuple[list[np.ndarray], Estimate]:
    """Estimate carrier and bandwidth of each row, then convert it to baseband at cfg.sps samples per bandwidth.

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
    return out, est
