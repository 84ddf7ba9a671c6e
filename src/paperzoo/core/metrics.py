"""Metrics every system reports, and the intervals that say how far to trust them.

Classification metrics come from scikit-learn and intervals from scipy, so the numbers match what a
reviewer computes with the field's tools:

    accuracy      = mean(y_pred == y_true)
    macro-F1      = (1/C) sum_c 2 P_c R_c / (P_c + R_c)            (sklearn, zero_division=0)
    Wilson CI     = binomial proportion interval of k successes in n trials
    seed interval = mean ± t_{n-1, (1+level)/2} · std / sqrt(n)   (std with ddof=1)
    paired test   = one-sided t-test on per-seed differences a_i - b_i  (scipy.stats.ttest_rel)
    paired bootstrap over examples: resample test examples, mean(score_a - score_b) per resample

Shapes: labels are 1-D integer arrays of equal length; `groups` is a 1-D array of the same length
(SNR, alpha, ...). Every function raises ValueError on mismatched or empty inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _pair(y_true: Sequence, y_pred: Sequence) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    if t.size == 0:
        raise ValueError("y_true is empty: no examples to score")
    return t, p


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """Fraction of predictions equal to the label."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def majority_rate(y_true: Sequence) -> float:
    """Accuracy of always predicting the most frequent label of `y_true` (integer labels)."""
    t = np.asarray(y_true, dtype=int)
    if t.size == 0:
        raise ValueError("y_true is empty: no examples to score")
    return float(np.bincount(t).max() / t.size)


def macro_f1(y_true: Sequence, y_pred: Sequence, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over classes 0..n_classes-1 (absent classes score 0), via scikit-learn."""
    from sklearn.metrics import f1_score

    t, p = _pair(y_true, y_pred)
    labels = list(range(n_classes)) if n_classes is not None else None
    return float(f1_score(t, p, labels=labels, average="macro", zero_division=0))


def confusion(y_true: Sequence, y_pred: Sequence, n_classes: int, normalize: bool = True) -> np.ndarray:
    """(n_classes, n_classes) confusion matrix, rows = true class; rows sum to 1 when `normalize` (empty rows 0)."""
    from sklearn.metrics import confusion_matrix

    t, p = _pair(y_true, y_pred)
    cm = confusion_matrix(t, p, labels=list(range(n_classes))).astype(float)
    if normalize:
        rows = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    return cm


def accuracy_by_group(y_true: Sequence, y_pred: Sequence, groups: Sequence) -> dict[float, float]:
    """Accuracy within each distinct group value (SNR, alpha, ...), groups in ascending order."""
    t, p = _pair(y_true, y_pred)
    g = np.asarray(groups).ravel()
    if g.shape != t.shape:
        raise ValueError(f"groups must have one entry per example, got {g.shape[0]} for {t.shape[0]} examples")
    return {_plain(v): float(np.mean(t[g == v] == p[g == v])) for v in np.unique(g)}


def per_class_accuracy(y_true: Sequence, y_pred: Sequence, n_classes: int) -> np.ndarray:
    """Recall of each class; NaN for a class absent from y_true (only that class)."""
    t, p = _pair(y_true, y_pred)
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        at = t == c
        if at.any():
            out[c] = np.mean(p[at] == c)
    return out


def binomial_ci(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (scipy.stats.binomtest)."""
    from scipy.stats import binomtest

    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def bootstrap_ci(values: Sequence[float], level: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (scipy.stats.bootstrap); a single value gives (v, v)."""
    from scipy.stats import bootstrap

    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if v.size == 1 or np.all(v == v[0]):
        return float(v[0]), float(v[0])
    res = bootstrap((v,), np.mean, confidence_level=level, n_resamples=n_resamples, method="percentile",
                    random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class SeedSummary:
    """Mean over seeds with its t-interval (lo == hi == mean for one seed: no spread measured)."""

    mean: float
    std: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean:.4g} (1 seed)"
        return f"{self.mean:.4g} ± {self.std:.2g} [{self.lo:.4g}, {self.hi:.4g}] (n={self.n})"


def seed_summary(values: Sequence[float], level: float = 0.95) -> SeedSummary:
    """Mean, sample std (ddof=1) and Student-t interval of the mean over seeds."""
    from scipy.stats import t as student_t

    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("seed_summary needs at least one value")
    mean = float(v.mean())
    if v.size == 1:
        return SeedSummary(mean, 0.0, mean, mean, 1)
    std = float(v.std(ddof=1))
    half = float(student_t.ppf((1 + level) / 2, v.size - 1)) * std / math.sqrt(v.size)
    return SeedSummary(mean, std, mean - half, mean + half, int(v.size))


def paired_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(p that mean(a - b) > 0, p that mean(a - b) < 0): one-sided paired t-tests over seeds.

    Identical pairs give (1, 1): no evidence either way.
    """
    from scipy.stats import ttest_rel

    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"paired_test needs two equal-length samples of >= 2 seeds, got {x.size} and {y.size}")
    d = x - y
    if np.all(d == d[0]):  # zero variance: the t statistic is undefined; a constant shift is decisive
        if d[0] == 0:
            return 1.0, 1.0
        return (0.0, 1.0) if d[0] > 0 else (1.0, 0.0)
    greater = float(ttest_rel(x, y, alternative="greater").pvalue)
    less = float(ttest_rel(x, y, alternative="less").pvalue)
    return greater, less


def paired_bootstrap(score_a: Sequence[float], score_b: Sequence[float], level: float = 0.95,
                     n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean difference, lo, hi) of mean(score_a - score_b), resampling test examples with replacement.

    `score_*` are per-example scores of two methods on the same examples (e.g. 1 if correct, else 0).
    """
    x, y = np.asarray(score_a, dtype=float).ravel(), np.asarray(score_b, dtype=float).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"paired_bootstrap needs two equal-length, non-empty score arrays, got {x.size}, {y.size}")
    d = x - y
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_resamples, d.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


def near_chance(acc: float, n_classes: int, n_examples: int, level: float = 0.95,
                baseline: float | None = None) -> bool:
    """True when accuracy is not distinguishable from guessing (1/n_classes) on n_examples, or below it; with
    `baseline` (e.g. the majority-class rate of the test set), from the larger of that rate and 1/n_classes."""
    if n_classes < 2 or n_examples < 1 or not math.isfinite(acc):
        return False
    chance = max(1.0 / n_classes, baseline or 0.0)
    lo, _ = binomial_ci(round(acc * n_examples), n_examples, level)
    return lo <= chance


def _plain(v: object) -> float | int | str:
    if isinstance(v, np.generic):
        return v.item()
    return v  # type: ignore[return-value]
