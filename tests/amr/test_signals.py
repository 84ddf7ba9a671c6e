import numpy as np
import pytest

from paperzoo.amr.signals import (
    CLASSES,
    ImpairmentConfig,
    complex_envelope,
    generate_baseband,
    generate_rf,
    noise_std_real,
    rrc_pulse,
    rrc_spectrum,
)

CLEAN = ImpairmentConfig(multipath=False, phase_noise_std=0.0)


@pytest.mark.parametrize("beta", [0.2, 0.35, 0.5])
def test_rrc_time_pulse_and_spectrum_are_a_fourier_pair(beta):
    sps = 32
    tau = np.arange(-40 * sps, 40 * sps) / sps
    p = rrc_pulse(tau, beta)
    assert np.sum(p ** 2) / sps == pytest.approx(1.0, abs=2e-3)  # unit energy
    spec = np.abs(np.fft.fft(np.fft.ifftshift(p))) / sps
    nu = np.fft.fftfreq(len(p), d=1 / sps)
    assert np.max(np.abs(spec - rrc_spectrum(nu, beta))) < 0.01
    # -3 dB (half power) point of the RRC signal's PSD is exactly at half the symbol rate
    assert rrc_spectrum(0.5, beta) ** 2 == pytest.approx(0.5)


@pytest.mark.parametrize("mod", CLASSES)
def test_envelope_has_unit_power_and_is_seeded(mod):
    rate = np.array([0.05, 0.08])
    a, ra = complex_envelope(mod, 2048, rate, np.random.default_rng(3))
    b, rb = complex_envelope(mod, 2048, rate, np.random.default_rng(3))
    np.testing.assert_allclose(np.mean(np.abs(a) ** 2, axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.abs(ra - rate) <= 0.5 / 2048 + 1e-12)  # linear classes round the rate to K/n


def test_rf_signal_power_and_in_band_snr():
    n, fc, rate, snr_db = 1 << 17, 0.23, 0.05, 6.0
    args = ("QPSK", n, np.array([fc]), np.array([rate]))
    clean, r = generate_rf(*args, np.array([np.inf]), np.random.default_rng(0), CLEAN)
    noisy, _ = generate_rf(*args, np.array([snr_db]), np.random.default_rng(0), CLEAN)
    assert np.mean(clean ** 2) == pytest.approx(1.0, rel=1e-3)
    noise = (noisy - clean)[0]
    f = np.abs(np.fft.fftfreq(n))
    band = np.abs(f - fc) <= r[0] / 2
    in_band = np.mean(np.abs(np.fft.ifft(np.fft.fft(noise) * band)) ** 2)
    assert 10 * np.log10(1.0 / in_band) == pytest.approx(snr_db, abs=0.2)
    assert noise_std_real(np.array([snr_db]), np.array([rate]))[0] ** 2 == pytest.approx(1 / (2 * rate * 10 ** 0.6))


def test_symbol_rate_is_visible_in_the_squared_envelope_spectrum():
    n = 1 << 14
    rng = np.random.default_rng(1)
    for rate in (0.031, 0.047, 0.09):
        x, exact = generate_rf("QPSK", n, np.array([0.27]), np.array([rate]), np.array([30.0]), rng, CLEAN)
        env = np.abs(np.fft.ifft(np.fft.fft(x[0]) * (np.fft.fftfreq(n) > 0))) ** 2  # |analytic|^2
        spec = np.abs(np.fft.rfft(env - env.mean()))
        f = np.fft.rfftfreq(n)
        search = (f > 0.02) & (f < 0.2)
        assert f[search][np.argmax(spec[search])] == pytest.approx(exact[0], abs=1.5 / n)


def test_baseband_frames_match_radioml_layout_and_snr():
    rng = np.random.default_rng(0)
    x = generate_baseband("BPSK", 64, np.full(64, 18.0), rng)
    assert x.shape == (64, 2, 128) and x.dtype == np.float32
    power = np.mean(x[:, 0] ** 2 + x[:, 1] ** 2)
    # unit signal power + noise power rate * ... : in-band SNR 18 dB at 8 samples/symbol -> total noise 8/63
    assert power == pytest.approx(1 + 8 / 10 ** 1.8, rel=0.1)


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown modulation"):
        complex_envelope("QAM1024", 256, np.array([0.1]), rng)
    with pytest.raises(ValueError, match="carrier fc"):
        generate_rf("BPSK", 256, np.array([0.7]), np.array([0.1]), np.array([10.0]), rng)
    with pytest.raises(ValueError, match="rate"):
        complex_envelope("BPSK", 256, np.array([0.4]), rng)
