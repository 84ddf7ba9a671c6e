"""Fast, vectorised RF signal generator for the 11 RadioML 2016.10a modulation classes.

All frequencies are in cycles per sample (fs = 1). Every class has a `rate` R: the symbol rate for the digital
classes (their RRC spectrum has its -3 dB width exactly at R) and a nominal bandwidth for the analog ones.

SNR is in-band: SNR = P_signal / (N0 * R), the noise power in a bandwidth R around the carrier (Es/N0 for the
RRC classes). The received (post-channel) signal has unit power.

Linear classes (RRC, roll-off beta ~ U[0.2, 0.5]) are built exactly in the DFT domain for any non-integer number
of samples per symbol; FSK classes by their continuous phase; analog classes from a random band-limited message.
In RF mode the symbol clock is unknown (random rate), which subsumes a sample-rate offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

from paperzoo.core import param

CLASSES: tuple[str, ...] = (
    "8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM",
)
LINEAR = ("BPSK", "QPSK", "8PSK", "QAM16", "QAM64", "PAM4")
ANALOG = ("AM-DSB", "AM-SSB", "WBFM")
MULTIPATH_DELAYS_SYMBOLS = (0.0, 0.9 / 8, 1.7 / 8)  # RadioML's [0, 0.9, 1.7] samples at 8 samples/symbol
MULTIPATH_GAINS = (1.0, 0.8, 0.3)


@dataclass
class ImpairmentConfig:
    """Channel impairments applied by the generator."""

    multipath: bool = param(True, doc="3-tap channel: delays [0, 0.9, 1.7] samples at 8 sps, later taps Rayleigh")
    phase_noise_std: float = param(1e-3, ge=0, doc="Wiener phase noise: std of the per-sample increment (rad)")
    cfo_max: float = param(0.01, ge=0, doc="baseband mode: residual carrier offset, uniform in +-cfo_max * rate")


def _constellation(mod: str) -> np.ndarray:
    if mod == "BPSK":
        pts = np.array([-1.0, 1.0], dtype=complex)
    elif mod == "QPSK":
        pts = np.exp(1j * (np.pi / 4 + np.pi / 2 * np.arange(4)))
    elif mod == "8PSK":
        pts = np.exp(2j * np.pi * np.arange(8) / 8)
    elif mod == "PAM4":
        pts = np.array([-3.0, -1.0, 1.0, 3.0], dtype=complex)
    elif mod in ("QAM16", "QAM64"):
        m = 4 if mod == "QAM16" else 8
        levels = np.arange(-(m - 1), m, 2, dtype=float)
        pts = (levels[:, None] + 1j * levels[None, :]).ravel()
    else:
        raise ValueError(f"no constellation for {mod!r}; linear classes are {LINEAR}")
    return pts / np.sqrt(np.mean(np.abs(pts) ** 2))


def rrc_pulse(tau: np.ndarray, beta: np.ndarray | float) -> np.ndarray:
    """Root-raised-cosine pulse at time tau (in symbols), unit energy: integral of p^2 dtau = 1."""
    tau = np.asarray(tau, dtype=float)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), tau.shape)
    at_zero = np.abs(tau) < 1e-9
    at_sing = np.abs(np.abs(4 * beta * tau) - 1) < 1e-9
    safe = np.where(at_zero | at_sing, 0.123, tau)  # any value away from the singular points
    num = np.sin(np.pi * safe * (1 - beta)) + 4 * beta * safe * np.cos(np.pi * safe * (1 + beta))
    den = np.pi * safe * (1 - (4 * beta * safe) ** 2)
    out = num / den
    out = np.where(at_zero, 1 - beta + 4 * beta / np.pi, out)
    sing_val = beta / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * beta))
                                    + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta)))
    return np.where(at_sing, sing_val, out)


def _gaussian_phase_table(bt: float, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative GFSK frequency pulse G(tau), 0 -> 1, for a rect(1 symbol) convolved with a Gaussian of BT."""
    grid = np.linspace(-span - 0.5, span + 0.5, 4001)
    k = 2 * np.pi * bt / np.sqrt(np.log(2))
    g = 0.5 * (erfc(k * (grid - 0.5) / np.sqrt(2)) - erfc(k * (grid + 0.5) / np.sqrt(2))) / 2
    cum = np.concatenate([[0.0], np.cumsum((g[1:] + g[:-1]) / 2 * np.diff(grid))])
    return grid, cum / cum[-1]


def _symbol_grid(n: int, sps: np.ndarray, rng: np.random.Generator):
    """Time of every sample in symbols (random timing offset) and the index of the current symbol."""
    t_sym = np.arange(n)[None, :] / sps[:, None] + rng.uniform(0, 1, size=(len(sps), 1))
    return t_sym, np.floor(t_sym).astype(np.int64)


def rrc_spectrum(nu: np.ndarray, beta: np.ndarray | float) -> np.ndarray:
    """|P(nu)| of the root-raised-cosine pulse at frequency nu in cycles per symbol (1 in the flat part)."""
    nu = np.abs(nu)
    beta = np.asarray(beta, dtype=float)
    edge = (1 - beta) / 2
    ramp = np.sqrt(0.5 * (1 + np.cos(np.pi / beta * np.clip(nu - edge, 0, None))))
    return np.where(nu <= edge, 1.0, np.where(nu <= (1 + beta) / 2, ramp, 0.0))


def _linear(mod, n, rate, beta, rng):
    """Periodic (period n) RRC-shaped symbol stream, built exactly in the DFT domain.

    With K = n * rate symbols per period, the Fourier coefficient at m/n is A[m mod K] * P(m/n) where A is the
    K-point DFT of the symbols, so s = IDFT(A[m mod K] * P(m/n)) is exact for any non-integer samples/symbol.
    Returns the signal, the exact rate K/n, and its DFT (for applying the channel in the same domain).
    """
    n_sym = np.maximum(np.round(n * rate).astype(np.int64), 2)
    pts = _constellation(mod)
    sym_fft = np.zeros((len(rate), int(n_sym.max())), dtype=complex)
    for k in np.unique(n_sym):  # one batched FFT per distinct symbol count
        rows = np.flatnonzero(n_sym == k)
        sym_fft[rows, :k] = np.fft.fft(pts[rng.integers(0, len(pts), size=(len(rows), k))], axis=1)
    m = np.round(np.fft.fftfreq(n) * n).astype(np.int64)[None, :] % n_sym[:, None]  # signed bin, mod K
    exact_rate = n_sym / n
    f = np.fft.fftfreq(n)[None, :]
    spec = np.take_along_axis(sym_fft, m, axis=1) * rrc_spectrum(f / exact_rate[:, None], beta[:, None])
    delay = rng.uniform(0, 1, size=(len(rate), 1)) / exact_rate[:, None]  # random symbol timing, in samples
    return spec * np.exp(-2j * np.pi * f * delay), exact_rate


def _fsk(mod, n, sps, rng, h=0.5, bt=0.35):
    span = 0 if mod == "CPFSK" else 2
    t_sym, k0 = _symbol_grid(n, sps, rng)
    n_sym = int(k0.max()) + 2 * span + 3
    a = rng.choice([-1.0, 1.0], size=(len(sps), n_sym))
    before = np.concatenate([np.zeros((len(sps), 1)), np.cumsum(a, axis=1)], axis=1)  # sum of a[:i]
    # symbols at index < k0 - span have finished: their full phase step is in `before`
    phase = np.take_along_axis(before, k0, axis=1)  # symbol i is stored at i + span
    if mod == "CPFSK":
        cum = lambda tau: np.clip(tau + 0.5, 0.0, 1.0)  # noqa: E731
    else:
        grid, table = _gaussian_phase_table(bt, span)
        cum = lambda tau: np.interp(tau, grid, table)  # noqa: E731
    for j in range(-span, span + 1):
        k = k0 + j
        phase = phase + np.take_along_axis(a, k + span, axis=1) * cum(t_sym - k - 0.5)
    return np.exp(1j * np.pi * h * phase)


def _message(n, bandwidth, rng, one_sided=False):
    """Unit-RMS random message band-limited to `bandwidth` (per row); analytic (upper sideband) if one_sided."""
    spec = np.fft.fft(rng.standard_normal((len(bandwidth), n)), axis=1)
    f = np.fft.fftfreq(n)
    if one_sided:
        keep = (f[None, :] > 0) & (f[None, :] <= bandwidth[:, None])
    else:
        keep = np.abs(f)[None, :] <= bandwidth[:, None]
    msg = np.fft.ifft(spec * keep, axis=1)
    if not one_sided:
        msg = msg.real
    return msg / np.sqrt(np.mean(np.abs(msg) ** 2, axis=1, keepdims=True))


def _analog(mod, n, rate, rng):
    if mod == "AM-DSB":  # double sideband with carrier, occupied width 2W = rate
        msg = _message(n, rate / 2, rng)
        depth = rng.uniform(0.5, 1.0, size=(len(rate), 1))
        return 1 + depth * msg / np.abs(msg).max(axis=1, keepdims=True)
    if mod == "AM-SSB":  # upper sideband, suppressed carrier: m + j H{m}
        return _message(n, rate, rng, one_sided=True)
    if mod == "WBFM":  # rms deviation rate/4 with a message of bandwidth rate/8 (modulation index 2)
        msg = _message(n, rate / 8, rng)
        return np.exp(2j * np.pi * np.cumsum(msg * rate[:, None] / 4, axis=1))
    raise ValueError(f"unknown analog class {mod!r}")


def _multipath_response(n, sps, rng):
    """DFT-domain response of three taps at fractional delays (in symbols): fixed first tap, Rayleigh others."""
    f = np.fft.fftfreq(n)
    b = len(sps)
    response = np.zeros((b, n), dtype=complex)
    for i, (delay, gain) in enumerate(zip(MULTIPATH_DELAYS_SYMBOLS, MULTIPATH_GAINS, strict=True)):
        if i == 0:
            tap = gain * np.ones(b, dtype=complex)
        else:
            tap = gain * (rng.standard_normal(b) + 1j * rng.standard_normal(b)) / np.sqrt(2)
        response += tap[:, None] * np.exp(-2j * np.pi * f[None, :] * (delay * sps)[:, None])
    return response


def complex_envelope(mod: str, n: int, rate: np.ndarray, rng: np.random.Generator,
                     imp: ImpairmentConfig | None = None, beta: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free complex envelope (B, n) of class `mod`, after the channel, with unit power, and its exact rate.

    Linear classes are periodic with period n and their rate is rounded to K/n (K symbols per period).
    """
    if mod not in CLASSES:
        raise ValueError(f"unknown modulation {mod!r}; valid: {', '.join(CLASSES)}")
    imp = imp or ImpairmentConfig()
    rate = np.asarray(rate, dtype=float)
    if np.any(rate <= 0) or np.any(rate > 0.25):
        raise ValueError("rate must lie in (0, 0.25] cycles/sample (at least 4 samples per symbol)")
    if mod in LINEAR:
        beta = rng.uniform(0.2, 0.5, size=rate.shape) if beta is None else np.broadcast_to(beta, rate.shape)
        spec, rate = _linear(mod, n, rate, np.asarray(beta, dtype=float), rng)
        if imp.multipath:
            spec = spec * _multipath_response(n, 1.0 / rate, rng)
        s = np.fft.ifft(spec, axis=1)
    else:
        s = _fsk(mod, n, 1.0 / rate, rng) if mod in ("CPFSK", "GFSK") else _analog(mod, n, rate, rng)
        if imp.multipath:
            s = np.fft.ifft(np.fft.fft(s, axis=1) * _multipath_response(n, 1.0 / rate, rng), axis=1)
    if imp.phase_noise_std > 0:
        s = s * np.exp(1j * np.cumsum(rng.normal(0, imp.phase_noise_std, size=s.shape), axis=1))
    return s / np.sqrt(np.mean(np.abs(s) ** 2, axis=1, keepdims=True)), rate


def noise_std_real(snr_db: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Std of real white noise (fs = 1) giving in-band SNR over the two bands of width `rate` at +-fc."""
    snr = 10 ** (np.asarray(snr_db, dtype=float) / 10)
    return np.sqrt(1.0 / (2 * np.asarray(rate, dtype=float) * snr))


def generate_rf(mod: str, n: int, fc: np.ndarray, rate: np.ndarray, snr_db: np.ndarray,
                rng: np.random.Generator, imp: ImpairmentConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real passband captures (B, n), x = sqrt(2) Re{s e^(j(2 pi fc n + phi))} + noise, and the exact rates.

    The signal part has unit power; the noise gives in-band SNR `snr_db` (see module docstring).
    """
    fc = np.asarray(fc, dtype=float)
    if np.any(fc <= 0) or np.any(fc >= 0.5):
        raise ValueError("carrier fc must lie in (0, 0.5) cycles/sample")
    s, rate = complex_envelope(mod, n, rate, rng, imp)
    phi = rng.uniform(0, 2 * np.pi, size=(len(fc), 1))
    x = np.sqrt(2) * np.real(s * np.exp(1j * (2 * np.pi * fc[:, None] * np.arange(n)[None, :] + phi)))
    return x + noise_std_real(snr_db, rate)[:, None] * rng.standard_normal(x.shape), rate


def generate_baseband(mod: str, n_frames: int, snr_db: np.ndarray, rng: np.random.Generator,
                      imp: ImpairmentConfig | None = None, sps: int = 8, length: int = 128) -> np.ndarray:
    """RadioML-layout frames (n_frames, 2, length) float32: I/Q at `sps` samples/symbol, residual CFO, AWGN."""
    imp = imp or ImpairmentConfig()
    rate = np.full(n_frames, 1.0 / sps)
    long, rate = complex_envelope(mod, 2 * length, rate, rng, imp)  # crop the middle of a periodic stream
    s = long[:, length // 2:length // 2 + length]
    cfo = rng.uniform(-imp.cfo_max, imp.cfo_max, size=(n_frames, 1)) * rate[:, None]
    phi = rng.uniform(0, 2 * np.pi, size=(n_frames, 1))
    s = s * np.exp(1j * (2 * np.pi * cfo * np.arange(length)[None, :] + phi))
    snr = 10 ** (np.asarray(snr_db, dtype=float) / 10)
    sigma = np.sqrt(1.0 / (rate * snr) / 2)[:, None]  # per real component; noise power in band `rate`
    s = s + sigma * (rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape))
    return np.stack([s.real, s.imag], axis=1).astype(np.float32)
