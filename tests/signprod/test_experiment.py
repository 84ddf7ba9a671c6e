"""The smoke run end to end (every key of issue 12, claims, figures), two processes under torchrun matching one,
claims on constructed metrics, the CLI tools, and bad data reaching the run."""

import json
import math

import numpy as np
import pytest

from paperzoo.core.runner import run_experiment
from paperzoo.signprod.claims import ClaimsConfig, evaluate_claims
from paperzoo.signprod.formats import read_pt
from paperzoo.signprod.results import aggregate
from tests.ddp import torchrun

MODELS = ("gt", "pt", "lvmcn", "lvmcn_minus_csa", "lvmcn_minus_msc")
KEYS = ("dtw", "bleu1", "bleu4", "rougeL", "wer", "fid", "mpjpe")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("signprod") / "smoke"
    return out, run_experiment("signprod", preset="smoke", out=out, seed=0, quiet=True)


def test_smoke_reports_every_key_of_the_issue_and_every_claim(smoke):
    out, record = smoke
    m = record["metrics"]
    for key in KEYS:
        for model in MODELS:
            for protocol in ("gtlen", "predlen"):
                assert f"{key}.{model}.{protocol}" in m, f"{key}.{model}.{protocol}"
    assert 0 <= m["align_acc.lvmcn"] <= 1 and 0 <= m["align_monotonic.lvmcn"] <= 1
    assert m["dtw.gt.predlen"] == 0 and m["fid.gt.gtlen"] == pytest.approx(0, abs=1e-9)
    assert m["dtw_std.pt.predlen"] >= 0 and m["dtw_lo.pt.predlen"] <= m["dtw.pt.predlen"] <= m["dtw_hi.pt.predlen"]
    assert all(m[f"len_ratio.{n}.gtlen"] == 1.0 for n in MODELS)
    claims = record["claims"]
    assert len(claims) == 7 and {c["verdict"] for c in claims} <= {"holds", "does not hold", "not distinguishable",
                                                                    "not evaluated"}
    for name in ("results.png", "skeletons.png", "sentence.gif", "alignment.png", "lengths.png", "training.png"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert not report["failed_figures"]
    assert {"results_predlen", "results_gtlen", "alignment", "per_seed", "training_pt"} <= set(report["tables"])
    assert "smoke" in (out / "report.md").read_text().split("\n\n")[1].lower() or record["preset"] == "smoke"


def test_two_processes_under_torchrun_match_one(smoke, tmp_path):
    _, one = smoke
    done = torchrun(["run", "signprod", "--preset", "smoke", "--out", str(tmp_path / "two")], timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"], "one run folder"
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    # Same global batches, the same input noise per sequence (drawn for the global batch), no dropout in the smoke
    # preset, MSC negatives gathered from both ranks: training differs only by float summation order. Decoding
    # and greedy read-outs are discrete and can flip on such differences, so: relative 1e-3 on every score
    assert set(two["metrics"]) == set(one["metrics"])
    for key, value in one["metrics"].items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            assert two["metrics"][key] is None or math.isnan(two["metrics"][key]), key
            continue
        assert two["metrics"][key] == pytest.approx(value, rel=1e-3, abs=1e-6), key


def test_claims_on_constructed_metrics():
    c = ClaimsConfig()
    seeds = {f"dtw.{n}.{p}": v for p in ("gtlen", "predlen") for n, v in
             (("lvmcn", [3.0, 3.1, 2.9]), ("pt", [4.0, 4.3, 4.1]), ("lvmcn_minus_csa", [3.5, 3.6, 3.4]),
              ("lvmcn_minus_msc", [3.05, 3.05, 2.95]))}
    seeds |= {"bleu4.lvmcn.predlen": [10.0, 11.0, 12.0], "bleu4.pt.predlen": [8.0, 8.5, 9.9]}
    m = {"wer.gt.predlen": 20.0, "align_acc.lvmcn": 0.85, "align_monotonic.lvmcn": 0.9}
    verdicts = [x.verdict for x in evaluate_claims(m, seeds, c)]
    assert verdicts == ["holds", "holds", "holds", "holds", "not distinguishable", "holds", "does not hold"]
    weak = evaluate_claims({"wer.gt.predlen": 90.0}, seeds, c)
    assert weak[1].verdict == "not evaluated" and "WER 90.0" in weak[1].evidence
    assert [x.verdict for x in weak[-2:]] == ["not evaluated", "not evaluated"], "no true alignment: not evaluated"
    assert evaluate_claims(m, {}, c)[0].verdict == "not evaluated"


def test_aggregate_names_keys_by_metric_model_protocol():
    runs = {"pt": [{"dtw.predlen": 2.0, "align_acc": 0.5}, {"dtw.predlen": 4.0, "align_acc": 0.7}]}
    m, seeds = aggregate(runs, {"dtw.predlen": 0.0})
    assert m["dtw.pt.predlen"] == 3.0 and m["dtw_std.pt.predlen"] == pytest.approx(np.sqrt(2))
    assert m["align_acc.pt"] == pytest.approx(0.6) and m["dtw.gt.predlen"] == 0.0
    assert seeds["dtw.pt.predlen"] == [2.0, 4.0]
    nan, _ = aggregate({"pt": [{"bleu4.predlen": float("nan")}]}, {})
    assert math.isnan(nan["bleu4.pt.predlen"])


def test_generate_writes_the_pt_layout_of_a_preset(tmp_path, paperzoo_cli):
    code, text = paperzoo_cli("signprod", "generate", str(tmp_path / "pt"), "--preset", "smoke",
                              "--set", "data.n_test=3")
    assert code == 0 and "data.path=" in text
    corpus = read_pt(tmp_path / "pt")
    assert [len(corpus.splits[s]) for s in ("train", "dev", "test")] == [24, 6, 3] and corpus.has_alignment
    code, text = paperzoo_cli("signprod", "generate", str(tmp_path / "pt"))
    assert code == 2 and "not empty" in text
    code, text = paperzoo_cli("signprod", "dtw", str(tmp_path / "pt" / "test.skels"),
                              str(tmp_path / "pt" / "test.skels"), "--no-bos")
    assert code == 0 and "DTW-MJE 0.0000 over 3 sequences" in text


def test_malformed_skels_exit_2_with_the_line_number(tmp_path, paperzoo_cli):
    bad = tmp_path / "bad.skels"
    bad.write_text(" ".join(["0"] * 151) + "\n" + " ".join(["0"] * 150 + ["1.5"]) + "\n")
    code, text = paperzoo_cli("signprod", "dtw", str(bad), str(bad))
    assert code == 2 and f"{bad} line 2" in text and "Traceback" not in text
    folder = tmp_path / "pt"
    paperzoo_cli("signprod", "generate", str(folder), "--preset", "smoke")
    lines = (folder / "train.skels").read_text().split("\n")
    lines[4] = lines[4].replace(" ", " x ", 1)
    (folder / "train.skels").write_text("\n".join(lines))
    code, text = paperzoo_cli("run", "signprod", "--preset", "smoke", "--set", f"data.path={folder}",
                              "--out", str(tmp_path / "run"))
    assert code == 2 and "train.skels line 5" in text and "Traceback" not in text
    assert not (tmp_path / "run" / "metrics.json").exists()
