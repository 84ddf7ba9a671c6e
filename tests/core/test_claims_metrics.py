"""core.claims and core.metrics against hand computations and direct formulas."""

import math

import numpy as np
import pytest
from scipy import stats

from paperzoo.core import metrics as M
from paperzoo.core.claims import Claim, Claims, beats, compare, not_evaluated, threshold


def test_accuracy_f1_confusion_against_hand_counts():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 0, 2])
    assert M.accuracy(y, p) == pytest.approx(4 / 6)
    # per class: F1_0 = 2*(1/2)(1/2)/(1) = 0.5; F1_1 = 2*(2/3)(1)/(5/3) = 0.8; F1_2 = 2*1*(1/2)/(3/2) = 2/3
    assert M.macro_f1(y, p) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert M.macro_f1(y, p, n_classes=4) == pytest.approx((0.5 + 0.8 + 2 / 3) / 4)  # absent class scores 0
    cm = M.confusion(y, p, 3)
    np.testing.assert_allclose(cm, [[0.5, 0.5, 0], [0, 1, 0], [0.5, 0, 0.5]])
    assert M.confusion(y, p, 4)[3].tolist() == [0, 0, 0, 0]  # an empty row stays 0, not NaN
    assert M.accuracy_by_group(y, p, [10, 10, 10, 0, 0, 0]) == {0: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    acc = M.per_class_accuracy(y, p, 4)
    assert acc[:3].tolist() == [0.5, 1.0, 0.5] and math.isnan(acc[3])
    with pytest.raises(ValueError, match="same length"):
        M.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])


def test_intervals_against_closed_forms():
    lo, hi = M.binomial_ci(30, 100)
    z = stats.norm.ppf(0.975)
    p, n = 0.3, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (lo, hi) == (pytest.approx(centre - half), pytest.approx(centre + half))
    s = M.seed_summary([0.8, 0.82, 0.84])
    assert s.mean == pytest.approx(0.82) and s.std == pytest.approx(0.02)
    assert s.hi - s.mean == pytest.approx(stats.t.ppf(0.975, 2) * 0.02 / math.sqrt(3))
    assert M.seed_summary([0.7]).lo == 0.7 and "1 seed" in str(M.seed_summary([0.7]))
    blo, bhi = M.bootstrap_ci(np.arange(100.0))
    assert blo < 49.5 < bhi and bhi - blo < 20
    assert M.bootstrap_ci([2.0, 2.0]) == (2.0, 2.0)


def test_paired_statistics():
    a, b = [0.9, 0.91, 0.92, 0.93], [0.8, 0.8, 0.83, 0.82]
    p_gt, p_lt = M.paired_test(a, b)
    assert p_gt == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue) and p_gt < 0.01 < p_lt
    assert M.paired_test([1, 2], [1, 2]) == (1.0, 1.0)
    assert M.paired_test([2, 3], [1, 2]) == (0.0, 1.0)
    diff, lo, hi = M.paired_bootstrap(np.ones(200), np.r_[np.ones(100), np.zeros(100)])
    assert diff == pytest.approx(0.5) and 0.4 < lo < 0.5 < hi < 0.6


def test_near_chance():
    assert M.near_chance(0.095, 11, 1000)  # 1/11 = 0.0909
    assert not M.near_chance(0.30, 11, 1000)
    assert M.near_chance(0.02, 11, 1000)  # below chance counts too
    assert not M.near_chance(0.66, 2, 1000) and M.near_chance(0.66, 2, 1000, baseline=0.658)  # majority class
    assert M.near_chance(0.095, 11, 1000, baseline=0.05)  # a baseline below 1/n_classes does not lower it


def test_claim_verdicts_are_consistent():
    assert Claim("x", True, "e").verdict == "holds"
    assert Claim("x", None, "why").verdict == "not evaluated"
    with pytest.raises(ValueError, match="needs holds=False"):
        Claim("x", True, "e", "not distinguishable")
    with pytest.raises(ValueError, match="must say why"):
        Claim("x", None, "")


def test_threshold_and_compare():
    c = threshold("acc >= 0.9", 0.91, 0.9)
    assert c.holds and c.evidence == "0.91 vs target >= 0.9"
    assert threshold("err small", 0.2, 0.05, at_least=False).holds is False
    assert threshold("nan", float("nan"), 0.9).verdict == "not evaluated"
    assert compare("a > b", 0.5, 0.4, ("A", "B")).evidence == "0.5 (A) vs 0.4 (B)"
    assert compare("a < b", 0.5, 0.4, higher_is_better=False).holds is False
    assert not_evaluated("c", "no GPU").evidence == "not evaluated: no GPU"


def test_beats_decides_by_test_not_by_one_draw():
    clear = beats("A beats B", [0.9, 0.91, 0.92], [0.8, 0.81, 0.8], names=("A", "B"))
    assert clear.verdict == "holds" and "paired t-test" in clear.evidence
    noisy = beats("A beats B", [0.80, 0.83, 0.79], [0.81, 0.80, 0.80])
    assert noisy.verdict == "not distinguishable" and noisy.holds is False
    worse = beats("A beats B", [0.7, 0.71, 0.72], [0.8, 0.81, 0.83])
    assert worse.verdict == "does not hold"
    lower = beats("A has lower loss", [1.0, 1.1, 1.05], [2.0, 2.2, 2.1], higher_is_better=False)
    assert lower.verdict == "holds"
    one = beats("A beats B", [0.8], [0.7])
    assert one.verdict == "not evaluated" and "more seeds" in one.evidence
    a_ok, b_ok = np.r_[np.ones(900), np.zeros(100)], np.r_[np.ones(600), np.zeros(400)]
    assert beats("A beats B", [0.9], [0.6], examples=(a_ok, b_ok)).verdict == "holds"
    assert beats("A beats B", [0.6], [0.9], examples=(b_ok, a_ok)).verdict == "does not hold"
    same = np.r_[np.ones(500), np.zeros(500)]
    assert beats("A beats B", [0.5], [0.5], examples=(same, same[::-1])).verdict == "not distinguishable"


def test_claims_builder_never_drops_a_claim():
    book = Claims({"acc": 0.95, "base": 0.9, "gap": float("nan")})
    book.at_least("acc high", "acc", 0.9)
    book.greater("beats base", "acc", "base", names=("ours", "base"))
    book.at_most("gap small", "gap", 0.1)
    book.at_least("speed", "missing_key", 3.0)
    book.check("sum", ["acc", "base"], lambda a, b: a + b > 1, lambda a, b: f"{a + b:.2f}")
    verdicts = [c.verdict for c in book.items]
    assert verdicts == ["holds", "holds", "not evaluated", "not evaluated", "holds"]
    assert "gap is NaN" in book.items[2].evidence and "missing_key not measured" in book.items[3].evidence
    assert book.items[0].evidence == "acc = 0.95 vs target >= 0.9"


def test_majority_rate_is_the_accuracy_of_always_answering_the_most_frequent_label():
    from paperzoo.core.metrics import accuracy, majority_rate

    y = [2, 0, 2, 1, 2, 0, 2, 2]
    assert majority_rate(y) == accuracy(y, [2] * len(y)) == 5 / 8
    with pytest.raises(ValueError, match="empty"):
        majority_rate([])
