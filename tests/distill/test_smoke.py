"""Both smoke presets end to end: metric keys, claims, CSV export, students saved for Hugging Face, predict."""

import json
import re

import pytest

from paperzoo.core.export import export_csv
from paperzoo.core.runner import run_experiment

CLS_KEYS = ("acc.teacher", "acc.nokd", "acc.hinton", "acc.distilbert", "acc.tinybert", "acc.paper",
            "acc.paper_minus_feat", "acc.paper_minus_att", "acc.paper_minus_dist", "agreement.paper", "f1.paper",
            "acc_lo.paper", "acc_hi.paper", "acc_std.paper", "speedup", "size_ratio")
LM_KEYS = ("ppl.teacher", "ppl.student_init", "ppl.student_nokd", "ppl.student_hinton", "ppl.student_paper",
           "ppl.student_paper_minus_feat", "ppl.student_paper_minus_att", "ppl.student_paper_minus_dist",
           "bleu.paper", "rougeL.paper", "cer.paper", "bleu_vs_teacher.paper", "gen_tokens_per_s.teacher",
           "gen_tokens_per_s.student", "gen_speedup", "size_ratio")


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("distill") / "run"
    return out, run_experiment("distill", preset="smoke", out=out, seed=0, quiet=True)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("distill_lm") / "run"
    return out, run_experiment("distill.lm", preset="smoke", out=out, seed=0, quiet=True)


def test_smoke_classification_run(cls_run):
    out, rec = cls_run
    m = rec["metrics"]
    for k in CLS_KEYS:
        assert k in m and m[k] is not None and 0 <= m[k] < 1e6, k
    assert m["acc_lo.paper"] <= m["acc.paper"] <= m["acc_hi.paper"]
    assert len(rec["claims"]) == 6 and all(c["verdict"] for c in rec["claims"])
    assert "paired t-test" in rec["claims"][0]["evidence"]  # two seeds in smoke
    csv = export_csv(out)
    names = {p.name for p in csv}
    assert {"students.csv", "students_per_seed.csv", "loss_curves.csv", "efficiency.csv"} <= names
    rows = next(p for p in csv if p.name == "students_per_seed.csv").read_text().splitlines()
    assert rows[0] == "method,seed,accuracy,macro-F1,agreement" and len(rows) == 1 + 8 * 2
    assert {"accuracy.png", "losses.png"} <= {p.name for p in out.iterdir()}


def test_smoke_students_load_in_hugging_face_and_predict(cls_run, paperzoo_cli):
    from transformers import AutoModel

    out, _ = cls_run
    folder = out / "students" / "paper"
    meta = json.loads((folder / "distill.json").read_text())
    assert meta["kind"] == "classifier" and meta["labels"] == ["positive", "negative"]
    backbone = AutoModel.from_pretrained(str(folder))  # plain Hugging Face, no paperzoo code
    assert backbone.config.num_hidden_layers == 1 and (folder / "head.safetensors").is_file()
    assert (folder / "projections.safetensors").is_file()
    code, text = paperzoo_cli("distill", "predict", str(out), "great tasty coffee", "stale awful",
                              "--allow-smoke")
    assert code == 0, text
    answers = re.findall(r"'(great tasty coffee|stale awful)' (positive|negative) \(\d\.\d{3}\)", text)
    assert [a[0] for a in answers] == ["great tasty coffee", "stale awful"], text
    code, text = paperzoo_cli("distill", "predict", str(out), "great")
    assert code == 2 and "smoke run" in text and "Traceback" not in text
    code, text = paperzoo_cli("distill", "predict", str(out), "great", "--method", "hinton",
                              "--allow-smoke")
    assert code == 2 and "saved: paper" in text


def test_smoke_lm_run(lm_run, paperzoo_cli):
    out, rec = lm_run
    m = rec["metrics"]
    for k in LM_KEYS:
        assert k in m and m[k] is not None, k
    # a random byte-level teacher and briefly trained students: perplexities near the vocabulary size
    assert 50 < m["ppl.teacher"] < 2000 and m["ppl.student_paper"] < 2000
    assert len(rec["claims"]) == 4 and rec["claims"][0]["verdict"] != "not evaluated"
    assert "paired bootstrap" in rec["claims"][0]["evidence"]  # one seed: per-window NLL decides
    names = {p.name for p in export_csv(out)}
    assert {"students.csv", "block_influence.csv", "loss_curves.csv"} <= names
    code, text = paperzoo_cli("distill", "predict", str(out), "the coffee", "--tokens", "5",
                              "--allow-smoke")
    assert code == 0 and text.startswith("'the coffee'"), text
    from paperzoo.distill.cli import predict_texts

    (continuation,) = predict_texts(out / "students" / "paper", ["the coffee"], 5)
    assert isinstance(continuation, str) and text.count("'the coffee'") == 1


def test_same_seed_same_metrics(cls_run, tmp_path):
    _, rec = cls_run
    again = run_experiment("distill", preset="smoke", out=tmp_path / "again", seed=0, quiet=True,
                           overrides={"train.methods": "[nokd,paper]", "train.save": "[]"})
    for k in ("acc.teacher", "acc.nokd", "acc.paper", "f1.paper"):
        assert again["metrics"][k] == rec["metrics"][k], k
