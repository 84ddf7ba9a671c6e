import json
import re

import numpy as np
from safetensors.torch import save_file
from typer.testing import CliRunner

from paperzoo.amr.cli import app
from paperzoo.amr.model import AmpPhaseLSTM
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, complex_envelope


def _model_dir(tmp_path):
    model = AmpPhaseLSTM(len(CLASSES), hidden=8)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "lstm_pe.safetensors"))
    meta = {"classes": list(CLASSES), "hidden": 8, "readout": "mean", "frame_len": 128, "sps": 4.0}
    (tmp_path / "lstm_pe.json").write_text(json.dumps(meta))
    return tmp_path


def test_classify_prints_carrier_bandwidth_and_modulation(tmp_path):
    rng = np.random.default_rng(0)
    s, rate = complex_envelope("QPSK", 16384, np.array([0.05]), rng, ImpairmentConfig(multipath=False))
    iq = s[0] * np.exp(2j * np.pi * 0.1 * np.arange(16384))  # +100 kHz at fs = 1 MHz
    iq = iq + 0.05 * (rng.standard_normal(16384) + 1j * rng.standard_normal(16384))
    path = tmp_path / "capture.cfile"
    iq.astype(np.complex64).tofile(path)
    result = CliRunner().invoke(app, ["classify", str(path), "--fs", "1e6", "--model", str(_model_dir(tmp_path))])
    assert result.exit_code == 0, result.output
    carrier = float(re.search(r"carrier:\s+([+-][\d.]+) kHz", result.output).group(1))
    bandwidth = float(re.search(r"bandwidth:\s+([\d.]+) kHz", result.output).group(1))
    assert abs(carrier - 100.0) < 2.0 and abs(bandwidth - rate[0] * 1e3) < 0.1 * rate[0] * 1e3
    modulation = re.search(r"modulation: (\S+) \(p = ([\d.]+)", result.output)
    assert modulation.group(1) in CLASSES and 0 < float(modulation.group(2)) <= 1


def test_classify_without_sample_rate_or_model_is_a_user_error(tmp_path):
    path = tmp_path / "capture.cfile"
    np.zeros(4096, np.complex64).tofile(path)
    result = CliRunner().invoke(app, ["classify", str(path), "--model", str(tmp_path)])
    assert result.exit_code != 0
    assert "sample rate" in str(result.exception) or "lstm_pe" in str(result.exception)
