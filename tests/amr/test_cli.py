import json
import re

import numpy as np
import pytest

from paperzoo.amr.model import AmpPhaseLSTM, LSTMConfig, save_lstm
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, complex_envelope


def _model_dir(folder, preset="quick"):
    folder.mkdir(exist_ok=True)
    save_lstm(AmpPhaseLSTM(LSTMConfig(hidden=8), len(CLASSES)), folder,
              {"classes": list(CLASSES), "frame_len": 128, "margin": 8, "estimator": {"sps": 4.0, "resample": "symbol"},
               "preset": preset, "seed": 3, "run": str(folder)})
    return folder


def _qpsk(n=16384, rate=0.05, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    s, exact = complex_envelope("QPSK", n, np.array([rate]), rng, ImpairmentConfig(multipath=False))
    iq = s[0] * np.exp(2j * np.pi * 0.1 * np.arange(n))  # +100 kHz at fs = 1 MHz
    return iq + noise * (rng.standard_normal(n) + 1j * rng.standard_normal(n)), exact[0]


def test_classify_names_the_model_and_prints_carrier_bandwidth_rate_and_modulation(tmp_path, paperzoo_cli):
    iq, rate = _qpsk()
    path = tmp_path / "capture.cfile"
    iq.astype(np.complex64).tofile(path)
    model = _model_dir(tmp_path / "run")
    code, out = paperzoo_cli("amr", "classify", str(path), "--fs", "1e6", "--model", str(model))
    assert code == 0, out
    assert f"model: {model / 'lstm_pe.safetensors'} (run {model}, preset quick, seed 3)" in out
    carrier = float(re.search(r"carrier: ([+-][\d.]+) kHz", out).group(1))
    bandwidth = float(re.search(r"bandwidth: ([\d.]+) kHz", out).group(1))
    symbols = float(re.search(r"symbols: ([\d.]+) kHz", out).group(1))
    assert abs(carrier - 100.0) < 2.0 and abs(bandwidth - rate * 1e3) < 0.1 * rate * 1e3
    assert abs(symbols - rate * 1e3) < 0.005 * rate * 1e3
    modulation = re.search(r"modulation: (\S+) \(p = ([\d.]+)", out)
    assert modulation.group(1) in CLASSES and 0 < float(modulation.group(2)) <= 1


def test_classify_refuses_a_smoke_trained_model_unless_asked(tmp_path, paperzoo_cli):
    iq, _ = _qpsk(8192)
    path = tmp_path / "capture.cfile"
    iq.astype(np.complex64).tofile(path)
    model = _model_dir(tmp_path / "smoke_run", preset="smoke")
    code, out = paperzoo_cli("amr", "classify", str(path), "--fs", "1e6", "--model", str(model))
    assert code == 2 and "trained by a smoke run" in out and "--allow-smoke" in out and "Traceback" not in out
    code, out = paperzoo_cli("amr", "classify", str(path), "--fs", "1e6", "--model", str(model),
                       "--allow-smoke")
    assert code == 0 and "modulation:" in out


def _sigmf(folder, datatype, payload, rate=1e6):
    (folder / "rec.sigmf-data").write_bytes(payload)
    (folder / "rec.sigmf-meta").write_text(json.dumps({"global": {"core:datatype": datatype,
                                                                  "core:sample_rate": rate}}))
    return folder / "rec.sigmf-meta"


def _raw(folder, samples):
    path = folder / "rec.cfile"
    np.asarray(samples, np.complex64).tofile(path)
    return path


NOISE = (np.random.default_rng(5).standard_normal(16384) + 1j * np.random.default_rng(6).standard_normal(16384))


@pytest.mark.parametrize("case,needle", [
    ("datatype_not_a_string", "core:datatype must be a string"),
    ("odd_iq_count", "odd number"),
    ("sample_rate_zero", "sample rate must be a finite number > 0"),
    ("sample_rate_negative", "sample rate must be a finite number > 0"),
    ("nan_samples", "NaN or infinite"),
    ("inf_samples", "NaN or infinite"),
    ("fs_nan", "--fs: sample rate must be a finite number > 0"),
    ("fs_zero", "--fs: sample rate must be a finite number > 0"),
    ("garbage_weights", "not LSTM weights"),
    ("garbage_model_json", "not a model description"),
    ("no_model", "expected lstm_pe.safetensors and lstm_pe.json"),
    ("too_short", "recording too short"),
    ("all_zero", "no signal found"),
    ("pure_noise", "no signal found"),
])
def test_classify_bad_input_exits_2_with_a_message(tmp_path, paperzoo_cli, case, needle):
    model = _model_dir(tmp_path / "run")
    iq, _ = _qpsk(8192)
    fs = ["--fs", "1e6"]
    if case == "datatype_not_a_string":
        rec, fs = _sigmf(tmp_path, 5, np.zeros(16, "<f4").tobytes()), []
    elif case == "odd_iq_count":
        rec, fs = _sigmf(tmp_path, "cf32_le", np.zeros(15, "<f4").tobytes()), []
    elif case.startswith("sample_rate"):
        rec, fs = _sigmf(tmp_path, "cf32_le", np.zeros(16, "<f4").tobytes(), 0 if case.endswith("zero") else -1e6), []
    elif case in ("nan_samples", "inf_samples"):
        iq[100] = np.nan if case == "nan_samples" else np.inf
        rec = _raw(tmp_path, iq)
    elif case.startswith("fs_"):
        rec, fs = _raw(tmp_path, iq), ["--fs", "nan" if case == "fs_nan" else "0"]
    elif case == "garbage_weights":
        (model / "lstm_pe.safetensors").write_bytes(b"\x00garbage" * 64)
        rec = _raw(tmp_path, iq)
    elif case == "garbage_model_json":
        (model / "lstm_pe.json").write_text("{\"classes\": 3")
        rec = _raw(tmp_path, iq)
    elif case == "no_model":
        model, rec = tmp_path / "empty_folder", _raw(tmp_path, iq)
        model.mkdir()
    elif case == "too_short":
        rec = _raw(tmp_path, iq[:300])
    else:
        rec = _raw(tmp_path, np.zeros(16384) if case == "all_zero" else NOISE)
    code, out = paperzoo_cli("amr", "classify", str(rec), *fs, "--model", str(model))
    assert code == 2, out
    assert needle in out and "Traceback" not in out
    assert "modulation:" not in out
