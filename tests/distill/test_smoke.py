import json

import pytest

from paperzoo.core import UserError
from paperzoo.core.runner import run_experiment


def test_smoke_classification_run(tmp_path):
    rec = run_experiment("distill", preset="smoke", out=tmp_path, seed=0, quiet=True)
    m = rec["metrics"]
    for k in ("acc.teacher", "acc.nokd", "acc.hinton", "acc.distilbert", "acc.tinybert", "acc.paper",
              "acc.paper_minus_feat", "acc.paper_minus_att", "acc.paper_minus_dist", "agreement.paper",
              "speedup", "size_ratio"):
        assert k in m and 0 <= m[k] < 1e6, k
    assert len(rec["claims"]) == 6
    assert (tmp_path / "student_paper.safetensors").is_file()
    assert json.loads((tmp_path / "student_paper.json").read_text())["student"]["layers"] == 1


def test_smoke_lm_run(tmp_path):
    rec = run_experiment("distill.lm", preset="smoke", out=tmp_path, seed=0, quiet=True)
    m = rec["metrics"]
    for k in ("ppl.teacher", "ppl.student_nokd", "ppl.student_paper", "bleu.paper", "rougeL.paper", "cer.paper"):
        assert k in m, k
    # a random byte-level teacher and barely trained students: perplexities near the vocabulary size
    assert 50 < m["ppl.teacher"] < 2000 and m["ppl.student_paper"] < 2000


def test_bad_config_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="valid"):
        run_experiment("distill", preset="smoke", out=tmp_path, overrides={"train.methods": "[paper,bogus]"})
    with pytest.raises(UserError, match="glue"):
        run_experiment("distill", preset="smoke", out=tmp_path / "g", overrides={"data.source": "glue"})
