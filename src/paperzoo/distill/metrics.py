"""Evaluation numbers: accuracy, macro-F1, agreement, and the claim logic on measured values."""

from __future__ import annotations

import math

import numpy as np


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(gold)))


def macro_f1(pred: np.ndarray, gold: np.ndarray, n_classes: int) -> float:
    """Unweighted mean over classes of 2·TP / (2·TP + FP + FN) (a class absent from both counts as 0)."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    f1s = []
    for c in range(n_classes):
        tp = np.sum((pred == c) & (gold == c))
        fp = np.sum((pred == c) & (gold != c))
        fn = np.sum((pred != c) & (gold == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def acc_stderr(acc: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on n examples."""
    return math.sqrt(max(acc * (1 - acc), 1e-12) / max(n, 1))
