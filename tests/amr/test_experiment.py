import json
import math
import pickle

import numpy as np
import pytest

from paperzoo.amr.claims import ClaimsConfig, evaluate_claims
from paperzoo.amr.signals import CLASSES, generate_baseband
from paperzoo.core.export import export_csv
from paperzoo.core.runner import run_experiment
from tests.ddp import torchrun

KEYS = ("acc_snr_ge10_pe", "acc_snr_ge10_pe_per_capture", "acc_snr_ge10_nope", "acc_snr_ge10_cnn", "acc_snr_ge0_pe",
        "fc_err_over_rs_median_snr_ge10", "bw_rel_err_median_snr_ge10", "rs_err_median_snr_ge10", "params_lstm",
        "params_cnn", "infer_frames_per_s", "infer_frames_per_s_1core", "latency_ms_lstm", "gen_frames_per_s",
        "acc_frame_len.64.pe", "acc_frame_len.128.nope")


def _metrics(**kw):
    m = {"blind_rf": 1, "acc_snr_ge10_pe": 0.93, "acc_snr_ge10_pe_lo": 0.91, "acc_snr_ge10_pe_hi": 0.95,
         "acc_snr_ge10_nope": 0.41, "fc_err_over_rs_median_snr_ge10": 0.01, "params_lstm": 2e5, "params_cnn": 2.8e6,
         "n_classes": 11, "n_test_snr_ge10": 880}
    m.update(kw)
    return m


def _examples(p_pe, p_nope, n=880, seed=0):
    rng = np.random.default_rng(seed)
    return {"pe": (rng.uniform(size=n) < p_pe).astype(float), "nope": (rng.uniform(size=n) < p_nope).astype(float)}


def test_claims_follow_the_numbers():
    c = ClaimsConfig()
    slow, fast = {"lstm": np.array([3.0, 3.1, 2.9]), "cnn": np.array([1.0, 1.1, 0.9])}, None
    verdicts = [x.verdict for x in evaluate_claims(_metrics(), c, _examples(0.93, 0.41), slow)]
    assert verdicts == ["holds", "holds", "holds", "holds", "does not hold"]
    fast = {"lstm": np.array([0.5, 0.6, 0.4]), "cnn": np.array([1.0, 1.1, 0.9])}
    claims = evaluate_claims(_metrics(acc_snr_ge10_pe=0.89, acc_snr_ge10_nope=0.9, fc_err_over_rs_median_snr_ge10=0.2),
                             c, _examples(0.89, 0.9), fast)
    assert [x.verdict for x in claims] == ["does not hold", "not distinguishable", "does not hold", "holds", "holds"]
    assert "0.930 [0.910, 0.950]" in evaluate_claims(_metrics(), c)[0].evidence
    strict = evaluate_claims(_metrics(), ClaimsConfig(accuracy=0.95))[0]
    assert strict.holds is False and "0.95" in strict.claim + strict.evidence


def test_claims_on_real_data_and_near_chance_baselines_say_why():
    real = evaluate_claims(_metrics(blind_rf=0, acc_snr_ge10_nope=math.nan), ClaimsConfig())
    assert [x.verdict for x in real][:3] == ["not evaluated"] * 3
    assert all("already at baseband" in x.evidence for x in real[:3])
    assert real[4].verdict == "not evaluated"  # no timings given
    chance = evaluate_claims(_metrics(acc_snr_ge10_nope=0.09), ClaimsConfig(), _examples(0.93, 0.09))
    assert chance[1].holds and "no-PE model is near chance level" in chance[1].evidence



@pytest.mark.parametrize("setting,needle", [
    ("train.lr=nan", "'train.lr' = nan must be a finite number"),
    ("train.epochs=0", "'train.epochs' = 0 must be >= 1"),
    ("cnn.model.dropout=1.5", "'cnn.model.dropout' = 1.5 must be < 1"),
    ("data.frame_len=130", "not multiples of lstm.step_samples"),
    ("data.frame_len=4096", "more than a converted capture"),
    ("data.source=rml2016", "needs data.path"),
    ("data.path=/no/such/file.pkl", "must be an existing file"),
    ("threads=8", "'threads' = 8 must be <= 2"),
    ("claims.accuracy=2", "'claims.accuracy' = 2.0 must be <= 1"),
    ("data.rf.estimator.sps=1", "'data.rf.estimator.sps' = 1.0 must be >= 2"),
    ("data.rf.fc_range=[0.05,0.45]", "would alias"),
])
def test_bad_config_exits_2_before_anything_is_built(tmp_path, paperzoo_cli, setting, needle):
    out = tmp_path / "run"
    code, text = paperzoo_cli("run", "amr", "--set", setting, "--out", str(out))
    assert code == 2 and needle in text and "Traceback" not in text
    assert not out.exists()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("amr") / "smoke"
    return out, run_experiment("amr", preset="smoke", out=out, seed=0, quiet=True)


def test_smoke_run_end_to_end(smoke):
    out, rec = smoke
    m = rec["metrics"]
    for key in KEYS:
        assert key in m, key
    assert 0 <= m["acc_snr_ge10_pe"] <= 1 and m["params_cnn"] > m["params_lstm"] > 0
    assert m["gen_frames_per_s"] > 0 and 0 <= m["fc_err_over_rs_median_snr_ge10"] < 1
    assert len(rec["claims"]) == 5 and rec["threads"] == 1
    for fig in ("accuracy_vs_snr", "confusion_snr_ge10", "estimator_error_vs_snr", "accuracy_vs_frame_len",
                "training_loss"):
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    meta = json.loads((out / "lstm_pe.json").read_text())
    assert len(meta["classes"]) == 11 and meta["preset"] == "smoke" and (out / "lstm_pe.safetensors").is_file()
    written = {p.name for p in export_csv(out)}
    for table in ("accuracy_vs_snr", "accuracy_vs_frame_len", "estimator_error_vs_snr", "per_class_snr_ge10",
                  "confusion_snr_ge10", "hard_pairs_snr_ge10", "training_loss", "complexity"):
        assert f"{table}.csv" in written
    header = (out / "csv" / "accuracy_vs_snr.csv").read_text().splitlines()[0]
    assert header == "snr_db,pe,nope,cnn,pe_capture"


def test_frame_len_curve_can_retrain_an_lstm_per_length(smoke, tmp_path):
    """retrain: a fresh LSTM per curve length (logged); the trained length keeps the main model's score."""
    _, rescored = smoke
    out = tmp_path / "retrain"
    rec = run_experiment("amr", preset="smoke", out=out, seed=0, quiet=True,
                         overrides={"data.frame_len_curve": "retrain"})
    log = (out / "run.log").read_text()
    assert "pe at 64 samples epoch 2/2" in log and "nope at 64 samples epoch 2/2" in log
    assert "at 128 samples" not in log  # the main models are trained at 128
    for name in ("pe", "nope"):
        assert rec["metrics"][f"acc_frame_len.128.{name}"] == rescored["metrics"][f"acc_frame_len.128.{name}"]
        assert 0 <= rec["metrics"][f"acc_frame_len.64.{name}"] <= 1


def test_two_processes_match_one(smoke, tmp_path):
    """Data-parallel training under torchrun (gloo): the same metrics as one process, up to float summation order."""
    _, one = smoke
    result = torchrun(["run", "amr", "--preset", "smoke", "--out", str(tmp_path / "two")], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2
    for key in ("acc_snr_ge10_pe", "acc_snr_ge10_nope", "acc_snr_ge10_cnn", "acc_snr_ge0_pe",
                "fc_err_over_rs_median_snr_ge10", "params_lstm"):
        assert two["metrics"][key] == pytest.approx(one["metrics"][key], abs=0.05), key


def _rml2016_file(path, n=24):
    rng = np.random.default_rng(0)
    data = {(mod, snr): generate_baseband(mod, n, np.full(n, float(snr)), rng) for mod in ("BPSK", "QPSK", "WBFM")
            for snr in (0, 12)}
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def test_radioml_2016_file_trains_the_same_lstm_and_reports_accuracy_per_snr(tmp_path):
    path = _rml2016_file(tmp_path / "RML2016.10a_dict.pkl")
    rec = run_experiment("amr", preset="smoke", out=tmp_path / "run", seed=0, quiet=True,
                         overrides={"data.source": "rml2016", "data.path": str(path)})
    m = rec["metrics"]
    assert m["acc_snr_ge10_nope"] is None and m["fc_err_over_rs_median_snr_ge10"] is None  # NaN -> null
    assert 0 <= m["acc_snr_ge10_pe"] <= 1 and m["n_classes"] == 3
    assert [c["verdict"] for c in rec["claims"]][:3] == ["not evaluated"] * 3
    export_csv(tmp_path / "run")
    table = (tmp_path / "run" / "csv" / "accuracy_vs_snr.csv").read_text().splitlines()
    assert table[0] == "snr_db,pe,cnn" and [r.split(",")[0] for r in table[1:]] == ["0.0", "12.0"]


def test_classify_refuses_the_smoke_model(smoke, tmp_path, paperzoo_cli):
    out, _ = smoke
    rng = np.random.default_rng(0)
    (rng.standard_normal(8192) + 1j * rng.standard_normal(8192)).astype(np.complex64).tofile(tmp_path / "x.cfile")
    code, text = paperzoo_cli("amr", "classify", str(tmp_path / "x.cfile"), "--fs", "1e6", "--model",
                        str(out))
    assert code == 2 and "smoke run" in text


def test_classes_are_the_radioml_2016_set():
    assert sorted(CLASSES) == sorted(["8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64",
                                      "QPSK", "WBFM"])
