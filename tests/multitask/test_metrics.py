"""Metrics against scikit-learn, scipy and rouge-score on small inputs."""

import numpy as np
import pytest
from rouge_score import rouge_scorer
from scipy.stats import chi2, chi2_contingency, pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef

from paperzoo.multitask.metrics import (
    bootstrap_difference,
    classification_metrics,
    f1,
    mcc,
    mcc_near_zero,
    normalised,
    pearson,
    pearson_near_zero,
    primary,
    regression_metrics,
    rouge,
    spearman,
)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_classification_metrics_equal_scikit_learn(n_classes):
    for _ in range(10):
        g, p = RNG.integers(0, n_classes, 40), RNG.integers(0, n_classes, 40)
        assert mcc(g, p) == pytest.approx(matthews_corrcoef(g, p), abs=1e-12)
        avg = "binary" if n_classes == 2 else "macro"
        labels = np.union1d(g, p)
        assert f1(g, p) == pytest.approx(f1_score(g, p, average=avg, labels=None if avg == "binary" else labels))
    assert mcc(np.array([1, 1, 0]), np.array([1, 1, 1])) == 0.0  # a constant prediction
    m = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0])
    assert m["acc"] == 0.75 and m["mcc"] == pytest.approx(matthews_corrcoef([0, 1, 1, 0], [0, 1, 0, 0]))


def test_mcc_near_zero_is_the_chi_square_test_of_the_2x2_table():
    """n MCC^2 is scipy's chi-square statistic (no continuity correction), so the MCC bound z/sqrt(n) flags a
    table exactly when that test's p-value is above 5 %."""
    for n in (60, 200, 1000):
        for _ in range(20):
            g = RNG.integers(0, 2, n)
            p = np.where(RNG.random(n) < RNG.uniform(0.5, 0.65), g, 1 - g)
            table = np.array([[np.sum((g == a) & (p == b)) for b in (0, 1)] for a in (0, 1)])
            stat, pvalue, _, _ = chi2_contingency(table, correction=False)
            m = mcc(g, p)
            assert n * m * m == pytest.approx(stat, rel=1e-9)
            if abs(pvalue - 0.05) > 1e-3 and m > 0:
                assert mcc_near_zero(m, n) == (pvalue > 0.05), (n, m, pvalue)
    assert chi2.ppf(0.95, 1) == pytest.approx(1.96 ** 2, rel=1e-3)
    assert mcc_near_zero(-0.3, 1000) and mcc_near_zero(float("nan"), 1000) and not mcc_near_zero(0.11, 1000)


def test_pearson_near_zero_agrees_with_scipys_pearsonr_test():
    """A positive r is flagged exactly when scipy's two-sided p-value is above 5 %; a negative, undefined or
    too-short correlation is always flagged."""
    flagged = []
    for n in (10, 60, 1000):
        for _ in range(20):
            x = RNG.normal(size=n)
            y = RNG.uniform(0, 3.5 / np.sqrt(n)) * x + RNG.normal(size=n)  # about half the draws significant
            r, pvalue = pearsonr(x, y)
            if abs(pvalue - 0.05) > 1e-3 and r > 0:
                assert pearson_near_zero(r, n) == (pvalue > 0.05), (n, r, pvalue)
                flagged.append(pvalue > 0.05)
    assert 10 < sum(flagged) < len(flagged) - 10  # both outcomes were tested
    assert not pearson_near_zero(0.08, 1000) and pearson_near_zero(0.05, 1000)  # r_c(1000) = 0.062
    assert pearson_near_zero(-0.5, 1000) and pearson_near_zero(float("nan"), 1000) and pearson_near_zero(1.0, 2)


def test_correlations_equal_scipy_including_ties():
    g = np.array([0.2, 0.5, 0.5, 0.9, 0.1, 0.5, 0.3])
    p = np.array([1.0, 2.0, 2.5, 3.0, 0.5, 2.0, 1.0])
    assert pearson(g, p) == pytest.approx(pearsonr(g, p)[0])
    assert spearman(g, p) == pytest.approx(spearmanr(g, p)[0])
    r = regression_metrics(g, p)
    assert r["pearson"] == pytest.approx(pearson(g, p)) and r["spearman"] == pytest.approx(spearman(g, p))
    assert pearson(g, np.ones(7)) == 0.0


def test_rouge_equals_rouge_score_and_a_hand_lcs():
    hyps, refs = ["the cat sat on the mat", "read from a file"], ["the cat lay on a mat", "read from a file descriptor"]
    r = rouge(hyps, refs)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for i, (h, ref) in enumerate(zip(hyps, refs, strict=True)):
        s = scorer.score(ref, h)
        for k in ("rouge1", "rouge2", "rougeL"):
            assert r[k][i] == pytest.approx(s[k].fmeasure)
    # "read from a file" vs "... file descriptor": LCS 4, P = 4/4, R = 4/5 -> F = 8/9
    assert r["rougeL"][1] == pytest.approx(8 / 9)
    with pytest.raises(ValueError, match="one reference"):
        rouge(["a"], [])


def test_primary_and_normalised_scores():
    g, p = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
    assert primary("acc", g, p) == 0.75 and primary("rougeL", None, [0.2, 0.4]) == pytest.approx(0.3)
    assert normalised("acc", 0.75, 2) == pytest.approx(0.5)  # chance 0.5 -> 0, perfect -> 1
    assert normalised("acc", 1 / 3, 3) == pytest.approx(0.0)
    assert normalised("mcc", 0.4) == 0.4 and normalised("rougeL", 0.3) == 0.3
    with pytest.raises(ValueError, match="unknown metric"):
        primary("bleu", g, p)


def test_bootstrap_difference_brackets_the_observed_value():
    a = RNG.normal(1.0, 1.0, 200)
    value, lo, hi = bootstrap_difference(lambda idx: float(a[idx[0]].mean()), [200], n_resamples=500)
    assert value == pytest.approx(a.mean()) and lo < value < hi
    assert hi - lo == pytest.approx(2 * 1.96 * a.std() / np.sqrt(200), rel=0.25)
