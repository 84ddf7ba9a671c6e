import numpy as np
import pytest
from scipy.signal import hilbert

from paperzoo.amr.estimate import EstimatorConfig, analytic, blind_convert, estimate_parameters, to_baseband
from paperzoo.amr.signals import ImpairmentConfig, complex_envelope, generate_rf

CLEAN = ImpairmentConfig(multipath=False, phase_noise_std=0.0)


@pytest.mark.parametrize("mod", ["BPSK", "QPSK", "QAM16", "8PSK"])
def test_carrier_and_bandwidth_of_clean_rrc_signals(mod):
    rng = np.random.default_rng(7)
    fc = rng.uniform(0.1, 0.4, 24)
    rate = rng.uniform(1 / 40, 1 / 10, 24)
    x, rate = generate_rf(mod, 8192, fc, rate, np.full(24, 30.0), rng, CLEAN)
    est = estimate_parameters(x)
    fc_err = np.abs(est.fc - fc) / rate
    bw_ratio = est.bandwidth / rate  # -3 dB width of an RRC spectrum equals the symbol rate
    assert np.median(fc_err) < 0.015 and fc_err.max() < 0.05
    assert np.median(np.abs(bw_ratio - 1)) < 0.04 and np.all(np.abs(bw_ratio - 1) < 0.15)
    assert np.all(est.bandwidth99 > est.bandwidth)  # 99% width includes the roll-off


def test_estimates_scale_with_the_sample_rate_and_accept_complex_iq():
    rng = np.random.default_rng(2)
    s, rate = complex_envelope("QPSK", 8192, np.array([0.05]), rng, CLEAN)
    iq = s * np.exp(-2j * np.pi * 0.2 * np.arange(8192))  # a complex recording with the signal at -0.2 fs
    est = estimate_parameters(iq, fs=2e6)
    assert est.fc[0] == pytest.approx(-0.2 * 2e6, abs=0.03 * rate[0] * 2e6)
    assert est.bandwidth[0] == pytest.approx(rate[0] * 2e6, rel=0.05)


def test_analytic_signal_matches_scipy_hilbert():
    x = np.random.default_rng(0).standard_normal((3, 1001))
    np.testing.assert_allclose(analytic(x), hilbert(x, axis=-1), atol=1e-10)
    x = np.random.default_rng(0).standard_normal((2, 1000))
    np.testing.assert_allclose(analytic(x), hilbert(x, axis=-1), atol=1e-10)


def test_to_baseband_moves_a_tone_to_its_offset_at_the_new_rate():
    n = 4096
    t = np.arange(n)
    f_tone, fc, out_rate = 873 / n, 819 / n, 410 / n  # on DFT bins, so the circular processing is exact
    x = np.cos(2 * np.pi * f_tone * t)
    (z,) = to_baseband(x[None], np.array([fc]), np.array([out_rate]), np.array([0.04]))
    assert len(z) == 410
    expected = np.exp(2j * np.pi * (f_tone - fc) / out_rate * np.arange(len(z)))  # analytic cos has amplitude 1
    np.testing.assert_allclose(z, expected, atol=1e-9)


def test_fine_correction_removes_the_residual_carrier_of_psk():
    rng = np.random.default_rng(5)
    fc = rng.uniform(0.1, 0.4, 16)
    x, rate = generate_rf("QPSK", 8192, fc, rng.uniform(1 / 40, 1 / 10, 16), np.full(16, 20.0), rng)
    _, coarse = blind_convert(x, cfg=EstimatorConfig(fine=False))
    _, fine = blind_convert(x, cfg=EstimatorConfig(fine=True))
    coarse_err = np.median(np.abs(coarse.fc - fc) / rate)
    fine_err = np.median(np.abs(fine.fc - fc) / rate)
    assert fine_err < 0.005 < coarse_err


def test_blind_convert_output_rate_follows_the_bandwidth_or_the_symbol_rate():
    rng = np.random.default_rng(3)
    x, rate = generate_rf("BPSK", 8192, np.array([0.3, 0.15]), np.array([0.03, 0.08]), np.full(2, 25.0), rng, CLEAN)
    out, est = blind_convert(x, cfg=EstimatorConfig(sps=4, fine=False, resample="bandwidth"), min_samples=0)
    for z, b in zip(out, est.bandwidth, strict=True):
        assert len(z) == round(8192 * 4 * b)
    out, est = blind_convert(x, cfg=EstimatorConfig(sps=4, fine=False), min_samples=0)
    assert est.rate_line.all()
    for z, r in zip(out, rate, strict=True):
        assert abs(len(z) - 8192 * 4 * r) <= 2  # 4 samples per true symbol
    assert len(blind_convert(x, min_samples=3000)[0][0]) >= 3000


@pytest.mark.parametrize("mod", ["BPSK", "QPSK", "QAM64", "PAM4"])
def test_symbol_rate_from_the_envelope_line_through_multipath(mod):
    rng = np.random.default_rng(11)
    fc, rate = rng.uniform(0.1, 0.4, 40), rng.uniform(1 / 40, 1 / 10, 40)
    x, rate = generate_rf(mod, 8192, fc, rate, np.full(40, 14.0), rng)  # multipath and phase noise on
    _, est = blind_convert(x)
    err = np.abs(est.symbol_rate / rate - 1)
    assert np.mean(est.rate_line) >= 0.75
    assert np.median(err[est.rate_line]) < 2e-3  # the line, where found, gives the rate to < 0.2%
    np.testing.assert_array_equal(est.symbol_rate[~est.rate_line], est.bandwidth[~est.rate_line])


def test_no_signal_is_detected_in_zeros_or_noise_but_a_signal_is():
    rng = np.random.default_rng(4)
    cfg = EstimatorConfig()
    noise = [rng.standard_normal((30, 8192)), rng.standard_normal((30, 2048)) + 1j * rng.standard_normal((30, 2048))]
    for x in (np.zeros((2, 4096)), *noise):
        assert np.all(estimate_parameters(x).detection < cfg.detect_sigma)
    for mod in ("AM-DSB", "QPSK", "WBFM", "GFSK"):
        x, _ = generate_rf(mod, 8192, rng.uniform(0.1, 0.4, 10), rng.uniform(1 / 40, 1 / 10, 10), np.full(10, 6.0),
                           rng)
        assert np.all(estimate_parameters(x).detection > cfg.detect_sigma), mod


def test_config_validation():
    with pytest.raises(ValueError, match="rs_range"):
        EstimatorConfig(sps=2, rs_range=(0.5, 1.5))
