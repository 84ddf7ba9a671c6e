"""Scoring students: classification accuracy / macro-F1 / agreement with the teacher (core.metrics), LM
perplexity and continuation scores (core.textmetrics), and the mean ± 95 % t-interval over seeds.

Metric keys follow `<metric>.<subject>`; over seeds the plain key is the mean, with `<metric>_std.<subject>`,
`<metric>_lo.<subject>` and `<metric>_hi.<subject>` (Student-t interval) beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from paperzoo.core import metrics as M
from paperzoo.core import textmetrics as T

from .lm import continuations, window_nll
from .train import Batch, predict


def classifier_scores(model, batches: list[Batch], gold: np.ndarray, teacher_pred: np.ndarray, n_classes: int,
                      device: str, bf16: bool) -> tuple[dict[str, float], np.ndarray]:
    """(accuracy, macro-F1, agreement with the teacher), and the per-example correctness (0/1)."""
    pred = predict(model, batches, device, bf16).argmax(-1).numpy()
    return ({"acc": M.accuracy(gold, pred), "f1": M.macro_f1(gold, pred, n_classes),
             "agreement": M.accuracy(teacher_pred, pred)}, (pred == gold).astype(float))


def text_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU (0–100), mean ROUGE-L F1 and corpus CER of continuations against references."""
    return {"bleu": T.bleu(hyps, refs), "rougeL": T.rouge_l(hyps, refs), "cer": T.cer(hyps, refs)}


def lm_scores(model, test: torch.Tensor, prompts: torch.Tensor, refs: list[str], teacher_text: list[str] | None,
              n_new: int, decode: Callable[[list[int]], str]) -> tuple[dict[str, float], np.ndarray, list[str]]:
    """Perplexity, continuation scores against the reference (and the teacher's continuations), the
    per-window NLL and the continuations themselves."""
    from .lm import perplexity

    nll = window_nll(model, test)
    text = continuations(model, prompts, n_new, decode)
    out = {"ppl": perplexity(nll)} | text_scores(text, refs)
    if teacher_text is not None:
        out |= {f"{k}_vs_teacher": v for k, v in text_scores(text, teacher_text).items()}
    return out, nll, text


def summarise(per_seed: dict[str, list[float]], spread: Sequence[str]) -> dict[str, float]:
    """Flat metrics from per-seed values: the mean for every key, and std / lo / hi (95 % t-interval) for the
    keys whose metric name (before the first dot) is in `spread`."""
    out: dict[str, float] = {}
    for key, values in per_seed.items():
        s = M.seed_summary(values)
        out[key] = s.mean
        metric, _, subject = key.partition(".")
        if metric in spread:
            out |= {f"{metric}_std.{subject}": s.std, f"{metric}_lo.{subject}": s.lo, f"{metric}_hi.{subject}": s.hi}
    return out


def near_chance_warnings(acc_by_seed: dict[str, list[float]], n_classes: int, n_test: int,
                         majority: float | None = None) -> list[str]:
    """One line per model whose accuracy on some seed cannot be told apart from guessing (core.metrics) or,
    given the test set's `majority` class rate, from always predicting that class (95 % Wilson interval)."""
    lines = []
    for name, values in acc_by_seed.items():
        bad = [i for i, a in enumerate(values) if M.near_chance(a, n_classes, n_test, baseline=majority)]
        if bad:
            ref = f"chance {1 / n_classes:.3f}" + (f", majority class {majority:.3f}" if majority is not None else "")
            lines.append(f"{name} ends near chance ({', '.join(f'{values[i]:.3f}' for i in bad)} on "
                         f"{len(bad)} of {len(values)} seeds, {ref}, {n_test} test examples): "
                         "comparisons against it are not informative")
    return lines
