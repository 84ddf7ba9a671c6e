import json
import math

import pytest

from paperzoo.core import UserError
from paperzoo.core.runner import run_experiment
from paperzoo.induction.claims import ClaimsConfig, evaluate_claims
from paperzoo.induction.experiment import METRIC_KEYS, crossover


def test_crossover_is_first_count_where_in_context_wins():
    assert crossover([0.1, 0.2, 0.6, 0.9], [0.5, 0.4, 0.3, 0.1]) == 2
    assert math.isnan(crossover([0.1, 0.2], [0.5, 0.4]))


def _metrics(**kw):
    m = {"icl_acc": 0.97, "icl_acc_min_grid": 0.96, "theory_logit_pearson": 0.93, "crossover_trained": 1.0,
         "crossover_theory": 2.0,
         "len4x_acc_ape": 0.2, "len4x_acc_rel": 0.9, "icl_acc_3layer_nope": float("nan")}
    m.update(kw)
    return m


def test_claims_follow_the_numbers():
    c = ClaimsConfig()
    holds = [cl.holds for cl in evaluate_claims(_metrics(), c, 8)]
    assert holds == [True, True, True, True, True, None]
    holds = [cl.holds for cl in evaluate_claims(_metrics(icl_acc=0.94, icl_acc_min_grid=0.5, theory_logit_pearson=0.5,
                                                         crossover_theory=3.0, len4x_acc_rel=0.1,
                                                         icl_acc_3layer_nope=0.95), c, 8)]
    assert holds == [False, False, False, False, False, True]
    never = evaluate_claims(_metrics(crossover_trained=float("nan")), c, 8)[3]
    assert never.holds is False and "never wins" in never.evidence
    rare = evaluate_claims(_metrics(crossover_trained_rare=5.0, crossover_theory_rare=2.0), c, 8)[3]
    assert rare.holds is False and "rarest b" in rare.evidence
    rare = evaluate_claims(_metrics(crossover_trained_rare=2.0, crossover_theory_rare=3.0), c, 8)[3]
    assert rare.holds is True
    # thresholds come from cfg.claims; a claim whose metric is missing is "not evaluated", never dropped
    assert evaluate_claims(_metrics(), ClaimsConfig(theory_pearson=0.95), 8)[2].holds is False
    empty = evaluate_claims({}, c, 8)
    assert len(empty) == 6 and all(cl.holds is None for cl in empty)
    assert "no grid" in empty[1].evidence and "three_layer=false" in empty[5].evidence


def test_smoke_run_end_to_end(tmp_path):
    record = run_experiment("induction", preset="smoke", out=tmp_path / "run", seed=0, quiet=True)
    for key in METRIC_KEYS:
        assert key in record["metrics"]
    assert 0.0 <= record["metrics"]["prev_token_attn"] <= 1.0
    assert len(record["claims"]) == 6
    for fig in ("training_curves", "attention_maps", "count_sweep", "length_sweep", "theory_ablation",
                "formation_grid"):
        assert (tmp_path / "run" / f"{fig}.png").is_file(), fig
    m = record["metrics"]
    assert set(m) >= {"icl_acc.T16.N12.K5", "icl_acc.T24.N12.K5", "prev_token_attn.T24.N12.K5",
                      "recall_wk2.T24.N12.K5", "theory_r.closed_form", "theory_r.values"}
    assert m["icl_acc_min_grid"] == min(m["icl_acc.T16.N12.K5"], m["icl_acc.T24.N12.K5"])
    assert m["theory_logit_pearson"] == m["theory_r.values"]
    tables = json.loads((tmp_path / "run" / "report.json").read_text())["tables"]
    for name in ("count_sweep_median", "count_sweep_rare", "conflict_grid", "theory_ablation", "length_sweep",
                 "formation_grid", "training_curve_ape", "training_curve_grid.T24.N12.K5"):
        assert tables[name]["rows"], name
    assert len(tables["formation_grid"]["rows"]) == 2
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"] == record["metrics"]


def test_corpus_option_and_bad_config(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    over = {"data.corpus": str(text), "relative": "false", "three_layer": "false", "train.steps": "4"}
    record = run_experiment("induction", preset="smoke", out=tmp_path / "c", seed=1, overrides=over, quiet=True)
    assert "character bigrams" in (tmp_path / "c" / "report.md").read_text()
    assert record["metrics"]["len4x_acc_rel"] is None or math.isnan(record["metrics"]["len4x_acc_rel"])
    with pytest.raises(UserError, match="data.vocab"):
        run_experiment("induction", preset="smoke", out=tmp_path / "b", overrides={"data.vocab": "2"}, quiet=True)
    with pytest.raises(UserError, match="model.pos"):
        run_experiment("induction", preset="smoke", out=tmp_path / "p", overrides={"model.pos": "rel"}, quiet=True)
    (tmp_path / "abcd.txt").write_text("abcd" * 50)
    with pytest.raises(UserError, match="n_triggers"):
        run_experiment("induction", preset="smoke", out=tmp_path / "t", quiet=True,
                       overrides={"data.corpus": str(tmp_path / "abcd.txt"), "data.n_triggers": "5"})
    with pytest.raises(UserError, match="no such text file"):
        run_experiment("induction", preset="smoke", out=tmp_path / "m",
                       overrides={"data.corpus": str(tmp_path / "nope.txt")}, quiet=True)


@pytest.mark.parametrize("key, value, message", [
    ("train.lr", "nan", "train.lr"),
    ("train.steps", "0", "train.steps"),
    ("grid.triggers", "[40]", "grid"),
    ("claims.icl_acc", "1.5", "claims.icl_acc"),
    ("data.n_triggers", "0", "data.n_triggers"),
])
def test_bad_config_fails_before_any_training(tmp_path, monkeypatch, key, value, message):
    import paperzoo.induction.train as train_module

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the config was checked")

    monkeypatch.setattr(train_module, "train_step", no_training)
    with pytest.raises(UserError, match=message):
        run_experiment("induction", preset="smoke", out=tmp_path / "bad", overrides={key: value}, quiet=True)
    assert not (tmp_path / "bad" / "metrics.json").exists()
