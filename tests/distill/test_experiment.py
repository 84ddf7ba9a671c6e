import math

import numpy as np
import pytest

from paperzoo.distill.experiment import evaluate_claims, method_pairs, method_weights
from paperzoo.distill.experiment_lm import chunks, lm_claims, text_scores
from paperzoo.distill.metrics import acc_stderr, accuracy, macro_f1


def test_macro_f1_matches_sklearn():
    f1_score = pytest.importorskip("sklearn.metrics").f1_score

    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    assert macro_f1(pred, gold, 3) == pytest.approx(f1_score(gold, pred, average="macro"))
    assert accuracy(np.array([1, 0, 1]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    assert acc_stderr(0.9, 100) == pytest.approx(0.03)


def _m(**kw):
    base = {"acc.teacher": 0.80, "acc.nokd": 0.70, "acc.hinton": 0.72, "acc.distilbert": 0.73, "acc.tinybert": 0.74,
            "acc.paper": 0.78, "acc.paper_minus_feat": 0.75, "acc.paper_minus_att": 0.76,
            "acc.paper_minus_dist": 0.77, "speedup": 5.0, "size_ratio": 3.0}
    return base | kw


def test_claims_computed_from_numbers():
    c = {x.claim: x for x in evaluate_claims(_m(), 1000)}
    verdicts = [x.holds for x in c.values()]
    assert verdicts == [True, True, True, True, False, True]  # size ratio 3.0 < 4 fails
    c2 = evaluate_claims(_m(**{"acc.paper_minus_att": 0.79, "acc.paper": 0.70}), 1000)
    assert c2[0].holds is False and c2[2].holds is False and c2[-1].holds is False
    c3 = evaluate_claims({"acc.teacher": 0.8, "acc.paper": 0.77}, 1000)
    assert c3[0].holds is None and c3[-1].holds is None and c3[1].holds is True


def test_lm_claims_and_text_scores():
    c = lm_claims({"ppl.teacher": 20.0, "ppl.student_nokd": 60.0, "ppl.student_hinton": 55.0,
                   "ppl.student_paper": 50.0})
    assert c[0].holds is True and c[1].holds is False
    s = text_scores(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert s["bleu"] == pytest.approx(100.0) and s["rougeL"] == pytest.approx(1.0) and s["cer"] == 0.0
    s2 = text_scores(["abcd"], ["abxd"])
    assert s2["cer"] == pytest.approx(0.25)


def test_method_table_and_pairs():
    from paperzoo.distill.experiment import KDConfig

    kd = KDConfig(alpha=0.5, beta=2.0, gamma=3.0, delta=4.0, tau=3.0)
    assert method_weights("nokd", kd).feat == 0 and method_weights("hinton", kd).dist == 1
    p = method_weights("paper_minus_att", kd)
    assert (p.hard, p.feat, p.att, p.dist, p.tau) == (0.5, 2.0, 0.0, 4.0, 3.0)
    assert method_weights("tinybert", kd).att_kind == "score_mse"
    hp, ap = method_pairs("tinybert", kd, 2, 6)
    assert hp == [(0, 0), (1, 3), (2, 6)] and ap == [(0, 2), (1, 5)]
    assert method_pairs("distilbert", kd, 2, 6) == ([(2, 6)], [])
    with pytest.raises(ValueError, match="valid"):
        method_weights("bogus", kd)


def test_chunks_split_train_test():
    ids = list(range(1000))
    tr, te = chunks(ids, 10, 20, 5)
    assert tr.shape == (20, 10) and te.shape == (5, 10)
    assert int(tr.max()) < 900 and int(te.min()) >= 900
    assert math.isclose(float((tr[:, 1:] - tr[:, :-1]).float().mean()), 1.0)
