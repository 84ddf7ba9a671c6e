import numpy as np
import pytest
import torch

from paperzoo.amr.model import IQCNN, AmpPhaseLSTM, amp_phase, iq, n_params
from paperzoo.amr.train import (
    TrainConfig,
    accuracy_by_snr,
    confusion,
    predict_proba,
    residual_offset_augment,
    train_classifier,
)


def test_amp_phase_features():
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((5, 128)) + 1j * rng.standard_normal((5, 128))) * 7.0
    f = amp_phase(z)
    assert f.shape == (5, 128, 2) and f.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(np.mean(f[..., 0] ** 2, axis=1)), 1.0, rtol=1e-5)  # unit RMS amplitude
    np.testing.assert_allclose(f[..., 1] * np.pi, np.angle(z), atol=1e-6)
    assert np.all(np.abs(f[..., 1]) <= 1)
    g = iq(z)
    assert g.shape == (5, 2, 128)
    np.testing.assert_allclose(np.mean(g[:, 0] ** 2 + g[:, 1] ** 2, axis=1), 1.0, rtol=1e-5)


def test_lstm_parameter_count_matches_closed_form():
    h, c = 128, 11
    layer1 = 4 * h * (2 + h) + 8 * h  # W_ih, W_hh, two bias vectors
    layer2 = 4 * h * (h + h) + 8 * h
    assert n_params(AmpPhaseLSTM(c, h)) == layer1 + layer2 + h * c + c
    assert 190_000 < n_params(AmpPhaseLSTM(c, h)) < 210_000
    cnn = IQCNN(c, 128)
    assert n_params(cnn) == (256 * 3 + 256) + (80 * 256 * 6 + 80) + (80 * 128 * 256 + 256) + (256 * c + c)
    assert cnn(torch.zeros(3, 2, 128)).shape == (3, c)


def test_residual_offset_augmentation_keeps_amplitude_and_rotates_at_the_drawn_rate():
    rng = np.random.default_rng(1)
    z = np.ones((4, 64), dtype=np.complex64)
    out = residual_offset_augment(z, np.array([0.01]), rng)
    np.testing.assert_allclose(np.abs(out), 1.0, rtol=1e-6)
    step = np.angle(out[:, 1:] / out[:, :-1])
    np.testing.assert_allclose(np.abs(step), 2 * np.pi * 0.01, atol=1e-5)


def test_metrics_helpers():
    pred = np.array([0, 1, 1, 2, 2, 2])
    y = np.array([0, 1, 2, 2, 2, 0])
    snr = np.array([0, 0, 10, 10, 10, 10.0])
    assert accuracy_by_snr(pred, y, snr) == {0.0: 1.0, 10.0: 0.5}
    cm = confusion(pred, y, 3)
    np.testing.assert_allclose(cm.sum(axis=1), 1.0)
    assert cm[2, 2] == pytest.approx(2 / 3) and cm[0, 2] == pytest.approx(0.5)


def test_lstm_learns_a_separable_toy_problem():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, length = 256, 32
    label = rng.integers(0, 2, n)
    tone = np.exp(2j * np.pi * (0.05 * np.arange(length) + rng.uniform(0, 1, (n, 1))))  # constant envelope
    noise = rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))  # Rayleigh envelope
    z = np.where(label[:, None] == 0, tone, noise).astype(np.complex64)
    model = AmpPhaseLSTM(2, hidden=16, layers=1)
    losses = train_classifier(model, z, label, TrainConfig(epochs=8, batch=32, lr=1e-2, augment=False), rng)
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(predict_proba(model, z).argmax(1) == label) > 0.9


def test_train_config_validation():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
