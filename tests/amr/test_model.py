import json

import numpy as np
import pytest
import torch

from paperzoo.amr.dataset import Frames
from paperzoo.amr.model import (
    IQCNN,
    AmpPhaseLSTM,
    CNNConfig,
    LSTMConfig,
    amp_dphase,
    amp_phase,
    iq,
    load_lstm,
    n_params,
    save_lstm,
)
from paperzoo.amr.train import TrainConfig, predict_proba, residual_offset_augment, train_classifier
from paperzoo.core import DataError
from paperzoo.core.distributed import Distributed


def test_amp_phase_features():
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((5, 128)) + 1j * rng.standard_normal((5, 128))) * 7.0
    f = amp_phase(z).numpy()
    assert f.shape == (5, 128, 2) and f.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(np.mean(f[..., 0] ** 2, axis=1)), 1.0, rtol=1e-5)  # unit RMS amplitude
    np.testing.assert_allclose(f[..., 1] * np.pi, np.angle(z), atol=1e-6)
    g = iq(z).numpy()
    assert g.shape == (5, 2, 128)
    np.testing.assert_allclose(np.mean(g[:, 0] ** 2 + g[:, 1] ** 2, axis=1), 1.0, rtol=1e-5)


def test_phase_step_features_are_rotation_invariant_and_match_a_tone():
    n = np.arange(256)
    tone = np.exp(2j * np.pi * 0.03 * n)[None]  # 0.03 cycles/sample: steps of 0.06 pi and 0.24 pi (lag 4)
    f = amp_dphase(tone, sps=4).numpy()
    assert f.shape == (1, 256, 3)
    np.testing.assert_allclose(f[0, :, 1], 0.06, atol=1e-5)
    np.testing.assert_allclose(f[0, :, 2], 0.24, atol=1e-5)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 64)) + 1j * rng.standard_normal((3, 64))
    np.testing.assert_allclose(amp_dphase(z * np.exp(1.234j) * 5), amp_dphase(z), atol=1e-5)
    direct = np.angle(z[:, 4:] * np.conj(z[:, :-4])) / np.pi  # the closed form, from numpy
    np.testing.assert_allclose(amp_dphase(z)[:, 4:, 2].numpy(), direct, atol=1e-5)


def test_lstm_parameter_count_matches_closed_form_and_steps_pack_samples():
    h, c, k = 128, 11, 4
    model = AmpPhaseLSTM(LSTMConfig(hidden=h, features="amp_phase", step_samples=1), c)
    layer1 = 4 * h * (2 + h) + 8 * h  # W_ih, W_hh, two bias vectors
    layer2 = 4 * h * (h + h) + 8 * h
    assert n_params(model) == layer1 + layer2 + h * c + c
    assert 190_000 < n_params(model) < 210_000  # the paper-sized LSTM(128) x 2
    packed = AmpPhaseLSTM(LSTMConfig(hidden=h, features="amp_dphase", step_samples=k), c)
    assert n_params(packed) == n_params(model) + 4 * h * (3 * k - 2)
    x = packed.features(np.ones((2, 64), np.complex64))
    assert x.shape == (2, 16, 3 * k) and packed(x).shape == (2, c)
    with pytest.raises(ValueError, match="multiple of step_samples"):
        packed.features(np.ones((2, 66), np.complex64))


def test_cnn_parameter_count_matches_closed_form():
    c = 11
    oshea = (256 * 3 + 256) + (80 * 256 * 6 + 80) + (80 * 128 * 256 + 256) + (256 * c + c)
    cnn = IQCNN(CNNConfig(channels=(256, 80), dense=256, norm="none"), c, 128)
    assert n_params(cnn) == oshea
    assert cnn(torch.zeros(3, 2, 128)).shape == (3, c)
    for norm in ("group", "batch"):  # a scale and a shift per channel of each convolution
        assert n_params(IQCNN(CNNConfig(channels=(256, 80), dense=256, norm=norm), c, 128)) == oshea + 2 * (256 + 80)


def test_cnn_starts_at_uniform_class_probabilities():
    """Zero-initialised output layer: loss ln C at step 0, whatever the input (issue 19's collapse began with
    Kaiming-scaled logits)."""
    torch.manual_seed(0)
    cnn = IQCNN(CNNConfig(), 11, 64).eval()
    logits = cnn(cnn.features(np.random.default_rng(0).normal(size=(5, 64)) + 0j))
    assert torch.equal(logits, torch.zeros(5, 11))


def test_residual_offset_augmentation_keeps_amplitude_and_rotates_at_the_drawn_rate():
    rng = np.random.default_rng(1)
    z = np.ones((4, 64), dtype=np.complex64)
    out = residual_offset_augment(z, np.array([0.01]), rng)
    np.testing.assert_allclose(np.abs(out), 1.0, rtol=1e-6)
    step = np.angle(out[:, 1:] / out[:, :-1])
    np.testing.assert_allclose(np.abs(step), 2 * np.pi * 0.01, atol=1e-5)


def _toy(rng, n=256, length=64):
    """Constant-envelope tones (class 0) vs Gaussian noise (class 1): separable by the amplitude alone."""
    label = rng.integers(0, 2, n)
    tone = np.exp(2j * np.pi * (0.05 * np.arange(2 * length) + rng.uniform(0, 1, (n, 1))))
    noise = rng.standard_normal((n, 2 * length)) + 1j * rng.standard_normal((n, 2 * length))
    return Frames(list(np.where(label[:, None] == 0, tone, noise).astype(np.complex64)), label, length)


def _train_toy(seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = _toy(rng)
    model = AmpPhaseLSTM(LSTMConfig(hidden=8, layers=1), 2)
    hist = train_classifier(model, data, TrainConfig(epochs=8, batch_size=32, lr=2e-2, warmup=0.1, augment=False),
                            dist=Distributed(), rng=rng)
    return model, data, hist


def test_lstm_learns_a_separable_toy_problem_and_is_deterministic():
    model, data, hist = _train_toy(0)
    assert len(hist.epoch_loss) == 8 and hist.epoch_loss[-1] < 0.5 * hist.epoch_loss[0]
    assert np.mean(predict_proba(model, data.center()).argmax(1) == data.labels) > 0.9
    again, _, hist2 = _train_toy(0)
    assert hist2.step_loss == hist.step_loss  # same seed, same thread count: bit-identical
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_frames_random_crops_stay_inside_the_margins_and_centre_is_the_middle():
    z = np.arange(100).astype(np.complex64)
    frames = Frames([z], np.array([0]), frame_len=10, margin=20)
    crops = np.stack([frames.random(np.array([0]), np.random.default_rng(s))[0] for s in range(50)]).real
    assert crops.min() >= 20 and crops.max() <= 79
    np.testing.assert_array_equal(frames.center(2).real.ravel(), np.arange(40, 60))
    with pytest.raises(ValueError, match="shorter than frame_len"):
        Frames([z[:30]], np.array([0]), frame_len=10, margin=20)


def test_save_and_load_round_trip(tmp_path):
    model = AmpPhaseLSTM(LSTMConfig(hidden=8), 11)
    save_lstm(model, tmp_path, {"classes": [str(i) for i in range(11)], "frame_len": 64, "preset": "quick"})
    loaded, meta = load_lstm(tmp_path / "lstm_pe.safetensors")
    assert meta["preset"] == "quick" and loaded.cfg == model.cfg
    x = model.features(np.ones((1, 64), np.complex64))
    torch.testing.assert_close(loaded(x), model.eval()(x))


@pytest.mark.parametrize("case", ["garbage_weights", "garbage_json", "wrong_shapes", "missing_json", "json_list"])
def test_garbage_model_files_are_refused_naming_the_file(tmp_path, case):
    model = AmpPhaseLSTM(LSTMConfig(hidden=8), 11)
    save_lstm(model, tmp_path, {"classes": [str(i) for i in range(11)], "frame_len": 64})
    weights, meta = tmp_path / "lstm_pe.safetensors", tmp_path / "lstm_pe.json"
    if case == "garbage_weights":
        weights.write_bytes(b"\x00\x01 not safetensors" * 50)
    elif case == "garbage_json":
        meta.write_bytes(b"\xff{{{ nonsense")
    elif case == "wrong_shapes":
        described = json.loads(meta.read_text())
        described["model"]["hidden"] = 16
        meta.write_text(json.dumps(described))
    elif case == "missing_json":
        meta.unlink()
    else:
        meta.write_text("[1, 2, 3]")
    with pytest.raises(DataError) as info:
        load_lstm(weights)
    assert "lstm_pe" in str(info.value)


def test_fast_inference_paths_match_eager():
    from paperzoo.amr import fast

    torch.manual_seed(0)
    model = AmpPhaseLSTM(LSTMConfig(hidden=8), 11).eval()
    rng = np.random.default_rng(0)
    frames = (rng.standard_normal((16, 64)) + 1j * rng.standard_normal((16, 64))).astype(np.complex64)
    want = fast.eager(model)(frames)
    np.testing.assert_allclose(fast.torchscript(model, frames)(frames), want, rtol=1e-4, atol=1e-5)
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    np.testing.assert_allclose(fast.onnxruntime(model, frames)(frames[:5]), want[:5], rtol=1e-4, atol=1e-5)
