"""Scores of generated text against references, as the fields compute them (distill, multitask, signprod).

    BLEU-n      sacrebleu corpus BLEU with max n-gram order n (tokenize="13a", or "none" for gloss/token
                sequences that are already split), 0–100
    ROUGE-L     Google's rouge-score F-measure of the longest common subsequence, mean over sentences
                (the summarisation convention), 0–1
    ROUGE-L β   the COCO-caption form used by sign-language production papers:
                F = (1 + β²) P R / (R + β² P), P = LCS/|hyp|, R = LCS/|ref|, β = 1.2, mean over sentences
    WER, CER    word / character error rate (jiwer): edits / reference length, corpus-level

Empty references are scored against "." so that a missing reference does not divide by zero; an empty
hypothesis list raises ValueError.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(hyps: Sequence[str], refs: Sequence[str]) -> list[str]:
    if len(hyps) != len(refs):
        raise ValueError(f"need one reference per hypothesis, got {len(hyps)} hypotheses and {len(refs)} references")
    if not hyps:
        raise ValueError("no hypotheses to score")
    return [r if r.strip() else "." for r in refs]


def bleu(hyps: Sequence[str], refs: Sequence[str], order: int = 4, tokenize: str = "13a") -> float:
    """Corpus BLEU with n-grams up to `order` (sacrebleu, 0–100)."""
    import sacrebleu

    safe = _check(hyps, refs)
    metric = sacrebleu.metrics.BLEU(max_ngram_order=order, tokenize=tokenize, effective_order=order < 4)
    return float(metric.corpus_score(list(hyps), [safe]).score)


def rouge_l(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Mean sentence ROUGE-L F-measure (rouge-score, no stemming), 0–1."""
    from rouge_score import rouge_scorer

    safe = _check(hyps, refs)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    return float(np.mean([scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(safe, hyps, strict=True)]))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(|a|·|b|) dynamic programme)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l_coco(hyps: Sequence[str], refs: Sequence[str], beta: float = 1.2) -> float:
    """Mean sentence ROUGE-L in the COCO-caption form (β = 1.2), on whitespace tokens, 0–1."""
    _check(hyps, refs)
    scores = []
    for h, r in zip(hyps, refs, strict=True):
        ht, rt = h.split(), r.split()
        lcs = lcs_length(ht, rt)
        if lcs == 0:
            scores.append(0.0)
            continue
        p, rec = lcs / len(ht), lcs / len(rt)
        scores.append((1 + beta**2) * p * rec / (rec + beta**2 * p))
    return float(np.mean(scores))


def wer(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus word error rate (jiwer): (substitutions + deletions + insertions) / reference words."""
    import jiwer

    safe = _check(hyps, refs)
    return float(jiwer.wer(safe, list(hyps)))  # an empty hypothesis counts as deletions


def cer(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus character error rate (jiwer)."""
    import jiwer

    safe = _check(hyps, refs)
    return float(jiwer.cer(safe, list(hyps)))
