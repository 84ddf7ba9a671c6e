"""GLUE's metrics, ROUGE, and the normalised average across tasks.

    accuracy            mean(pred == gold)
    F1                  binary F1 of class 1 (MRPC/QQP), macro-F1 with more classes (scikit-learn)
    MCC                 (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)), multi-class form of
                        scikit-learn's matthews_corrcoef (CoLA)
    Pearson, Spearman   scipy.stats (STS-B)
    ROUGE-1/2/L         Google's rouge-score F-measures, mean over examples (no stemming)
    normalised score    accuracy -> (acc - 1/C) / (1 - 1/C); MCC, Pearson, Spearman, F1, ROUGE as they are:
                        0 = chance (or nothing recovered), 1 = perfect;  avg_norm = mean over tasks

`primary(metric, gold, pred)` computes a task's headline metric with numpy only (fast enough to be redone on
every bootstrap resample); the tests check it against scikit-learn and scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

PRIMARY = ("acc", "f1", "mcc", "pearson", "spearman", "rougeL")


def mcc(gold: np.ndarray, pred: np.ndarray) -> float:
    """Matthews correlation (multi-class form); 0 when a marginal is constant."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    classes = np.union1d(gold, pred)
    c = np.zeros((len(classes), len(classes)))
    np.add.at(c, (np.searchsorted(classes, gold), np.searchsorted(classes, pred)), 1)
    t, p, n = c.sum(1), c.sum(0), c.sum()
    cov = np.trace(c) * n - t @ p
    denom = np.sqrt((n * n - p @ p) * (n * n - t @ t))
    return float(cov / denom) if denom > 0 else 0.0


def mcc_near_zero(value: float, n_examples: int, z: float = 1.96) -> bool:
    """True when an MCC over n examples is not distinguishable from the 0 of a constant or random predictor.

    For a 2x2 table n MCC^2 is Pearson's chi-square statistic of independence (1 d.o.f.), so the test
    "MCC > 0 at two-sided level 95 %" is MCC > z / sqrt(n), z = 1.96. With more classes the bound is only an
    approximation (the multi-class MCC is not the chi-square statistic)."""
    return n_examples < 1 or not np.isfinite(value) or value <= z / np.sqrt(n_examples)


def pearson_near_zero(value: float, n_examples: int, level: float = 0.05) -> bool:
    """True when a Pearson correlation over n pairs is not above 0 at two-sided level `level`: r is at most
    the critical r_c = t_c / sqrt(n - 2 + t_c^2), t_c the (1 - level/2) quantile of Student's t with n - 2
    degrees of freedom (the exact test of scipy.stats.pearsonr for normal data)."""
    from scipy.stats import t

    if n_examples < 3 or not np.isfinite(value):
        return True
    tc = t.ppf(1 - level / 2, n_examples - 2)
    return bool(value <= tc / np.sqrt(n_examples - 2 + tc * tc))


def pearson(gold: np.ndarray, pred: np.ndarray) -> float:
    g, p = np.asarray(gold, float), np.asarray(pred, float)
    if g.std() == 0 or p.std() == 0:
        return 0.0
    return float(np.corrcoef(g, p)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    xs = x[order]
    # average ranks of ties
    _, start, counts = np.unique(xs, return_index=True, return_counts=True)
    for s, c in zip(start, counts, strict=True):
        if c > 1:
            ranks[order[s:s + c]] = s + (c - 1) / 2
    return ranks


def spearman(gold: np.ndarray, pred: np.ndarray) -> float:
    return pearson(_ranks(np.asarray(gold, float)), _ranks(np.asarray(pred, float)))


def f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Binary F1 of class 1 (two classes), else macro-F1 over the classes present in gold or pred."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    classes = np.union1d(gold, pred)
    scores = []
    for c in ([1] if set(classes.tolist()) <= {0, 1} else classes):
        tp = np.sum((pred == c) & (gold == c))
        denom = np.sum(pred == c) + np.sum(gold == c)
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def primary(metric: str, gold: Sequence, pred: Sequence) -> float:
    """A task's headline metric; for rougeL, `pred` holds the per-example ROUGE-L scores (gold is ignored)."""
    if metric == "rougeL":
        return float(np.mean(pred))
    fn: dict[str, Callable] = {"acc": lambda g, p: float(np.mean(np.asarray(g) == np.asarray(p))), "f1": f1,
                               "mcc": mcc, "pearson": pearson, "spearman": spearman}
    if metric not in fn:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(PRIMARY)}")
    return fn[metric](gold, pred)


def normalised(metric: str, value: float, n_classes: int = 2) -> float:
    """A metric on 0 = chance, 1 = perfect (accuracy rescaled by its chance level 1/C; the others as they are)."""
    if metric == "acc":
        chance = 1.0 / max(n_classes, 1)
        return (value - chance) / (1 - chance)
    return value


def rouge(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-example ROUGE-1, ROUGE-2 and ROUGE-L F-measures (rouge-score, no stemming)."""
    from rouge_score import rouge_scorer

    if len(hyps) != len(refs) or not hyps:
        raise ValueError(f"need one reference per hypothesis and at least one, got {len(hyps)} and {len(refs)}")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    rows = [scorer.score(r if r.strip() else ".", h) for h, r in zip(hyps, refs, strict=True)]
    return {k: np.array([row[k].fmeasure for row in rows]) for k in ("rouge1", "rouge2", "rougeL")}


def classification_metrics(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    from sklearn.metrics import f1_score, matthews_corrcoef

    g, p = np.asarray(gold), np.asarray(pred)
    binary = set(np.union1d(g, p).tolist()) <= {0, 1}
    return {"acc": float(np.mean(g == p)), "mcc": float(matthews_corrcoef(g, p)),
            "f1": float(f1_score(g, p, average="binary" if binary else "macro", zero_division=0))}


def regression_metrics(gold: Sequence[float], pred: Sequence[float]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    g, p = np.asarray(gold, float), np.asarray(pred, float)
    if g.std() == 0 or p.std() == 0:
        return {"pearson": 0.0, "spearman": 0.0, "mse": float(np.mean((g - p) ** 2))}
    return {"pearson": float(pearsonr(g, p)[0]), "spearman": float(spearmanr(g, p)[0]),
            "mse": float(np.mean((g - p) ** 2))}


def bootstrap_difference(stat: Callable[[list[np.ndarray]], float], sizes: Sequence[int], level: float = 0.95,
                         n_resamples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(value, lo, hi) of `stat(indices per task)` for the observed data and its percentile interval when
    each task's test examples are resampled with replacement (paired: both methods see the same resample)."""
    rng = np.random.default_rng(seed)
    value = stat([np.arange(n) for n in sizes])
    draws = [stat([rng.integers(0, n, n) for n in sizes]) for _ in range(n_resamples)]
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(value), float(lo), float(hi)
