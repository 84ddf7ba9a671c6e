import json
import math
import pickle

import numpy as np
import pytest

from paperzoo.amr.experiment import AMRConfig, DataConfig, evaluate_claims
from paperzoo.core.runner import run_experiment

KEYS = ("acc_snr_ge10_pe", "acc_snr_ge10_nope", "acc_snr_ge10_cnn", "acc_snr_ge0_pe", "fc_err_over_rs_median_snr_ge10",
        "bw_rel_err_median_snr_ge10", "params_lstm", "params_cnn", "infer_frames_per_s", "gen_frames_per_s")


def _metrics(**kw):
    m = {"acc_snr_ge10_pe": 0.93, "acc_snr_ge10_nope": 0.41, "fc_err_over_rs_median_snr_ge10": 0.01,
         "params_lstm": 2e5, "params_cnn": 2.8e6, "latency_ms_lstm": 3.0, "latency_ms_cnn": 1.0}
    m.update(kw)
    return m


def test_claims_follow_the_numbers():
    holds = [c.holds for c in evaluate_claims(_metrics())]
    assert holds == [True, True, True, True, False]
    holds = [c.holds for c in evaluate_claims(_metrics(acc_snr_ge10_pe=0.89, acc_snr_ge10_nope=0.9,
                                                       fc_err_over_rs_median_snr_ge10=0.2, latency_ms_lstm=0.5))]
    assert holds == [False, False, False, True, True]
    real = evaluate_claims(_metrics(acc_snr_ge10_nope=math.nan, fc_err_over_rs_median_snr_ge10=math.nan))
    assert [c.holds for c in real][1:3] == [None, None]
    assert "0.930" in evaluate_claims(_metrics())[0].evidence


def test_config_validation():
    with pytest.raises(ValueError, match="data.path"):
        DataConfig(source="rml2016")
    with pytest.raises(ValueError, match="torch_threads"):
        AMRConfig(torch_threads=4)


def test_smoke_run_end_to_end(tmp_path):
    rec = run_experiment("amr", preset="smoke", out=tmp_path, seed=0, quiet=True)
    m = rec["metrics"]
    for key in KEYS:
        assert key in m
    assert 0 <= m["acc_snr_ge10_pe"] <= 1 and m["params_cnn"] > m["params_lstm"] > 0
    assert m["gen_frames_per_s"] > 0 and m["fc_err_over_rs_median_snr_ge10"] < 1
    for fig in ("accuracy_vs_snr.png", "confusion_snr_ge10.png", "estimator_error_vs_snr.png"):
        assert (tmp_path / fig).stat().st_size > 1000
    meta = json.loads((tmp_path / "lstm_pe.json").read_text())
    assert len(meta["classes"]) == 11 and (tmp_path / "lstm_pe.safetensors").is_file()


def test_real_radioml_file_path(tmp_path):
    rng = np.random.default_rng(0)
    data = {(mod, snr): rng.standard_normal((8, 2, 128)).astype(np.float32)
            for mod in ("BPSK", "QPSK", "WBFM") for snr in (0, 12)}
    path = tmp_path / "RML2016.10a_dict.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    rec = run_experiment("amr", preset="smoke", out=tmp_path / "run", seed=0, quiet=True,
                         overrides={"data.source": "rml2016", "data.path": str(path)})
    m = rec["metrics"]
    assert m["acc_snr_ge10_nope"] is None and m["fc_err_over_rs_median_snr_ge10"] is None  # NaN -> null
    assert 0 <= m["acc_snr_ge10_pe"] <= 1
    assert [c["holds"] for c in rec["claims"]][1:3] == [None, None]
