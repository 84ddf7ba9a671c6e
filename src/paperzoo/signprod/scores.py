"""The scores of sign language production papers, in the anchors' conventions (all on a 0-100 scale).

    BLEU-n     sacrebleu's raw corpus BLEU as signjoey/PT call it: no tokenisation (text is already split),
               cumulative n-gram orders 1..n, no smoothing (floor 0), effective order  -- 0-100
    ROUGE-L    COCO-caption form, F = (1 + b^2) P R / (R + b^2 P), b = 1.2, mean over sentences (core)  -- x100
    WER        jiwer corpus word error rate of the gloss output (core): edits / reference glosses  -- x100
    FID        Frechet distance between Gaussians fitted to evaluator features of generated and real sequences:
               |mu_g - mu_r|^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2)); "fid" over the test set (one pooled
               feature per sequence, the standard definition), "fid_seq" the anchors' per-sequence variant
               (frame features of one generated vs one real sequence, averaged over sequences)
    MPJPE      mean over frames and joints of the Euclidean joint error |p_hat - p| (stored units); the
               hypothesis is resampled linearly in time onto the reference's frames when the lengths differ;
               "mpjpe_sum" sums over the 50 joints instead of averaging (the anchors' variant)

Every function takes plain lists / arrays and raises ValueError on mismatched or empty input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from paperzoo.core import textmetrics

from .skeleton import N_JOINTS, N_VALUES


def raw_corpus_bleu(hyps: Sequence[str], refs: Sequence[str], order: int = 4) -> float:
    """Corpus BLEU with orders 1..`order`, no tokenisation, no smoothing (sacrebleu's raw_corpus_bleu), 0-100."""
    from sacrebleu.metrics import BLEU

    if len(hyps) != len(refs) or not hyps:
        raise ValueError(f"need one reference per hypothesis (and at least one), got {len(hyps)} and {len(refs)}")
    metric = BLEU(max_ngram_order=order, tokenize="none", smooth_method="floor", smooth_value=0.0,
                  effective_order=True, force=True)
    safe = [r if r.strip() else "." for r in refs]
    return float(metric.corpus_score(list(hyps), [safe]).score)


def text_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """bleu1..bleu4 and rougeL (COCO, x100) of spoken-text hypotheses."""
    out = {f"bleu{n}": raw_corpus_bleu(hyps, refs, n) for n in range(1, 5)}
    out["rougeL"] = 100 * textmetrics.rouge_l_coco(hyps, refs)
    return out


def gloss_wer(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus WER of gloss hypotheses, percent."""
    return 100 * textmetrics.wer(hyps, refs)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance of Gaussians fitted to feature sets a (n, d) and b (m, d) (covariances with ddof=1).

    Tr((S_a S_b)^(1/2)) is computed exactly as the nuclear norm of X Y^T / sqrt((n-1)(m-1)) for the centred
    data X, Y: the nonzero eigenvalues of S_a S_b are the squared singular values of that n x m matrix, so no
    d x d matrix square root is needed (tested against scipy.linalg.sqrtm).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two feature sets (n >= 2, same width), got shapes {a.shape} and {b.shape}")
    x, y = a - a.mean(0), b - b.mean(0)
    mu = a.mean(0) - b.mean(0)
    na, nb = len(a) - 1, len(b) - 1
    cross = np.linalg.svd(x @ y.T, compute_uv=False).sum() / np.sqrt(na * nb)
    return float(max(mu @ mu + (x * x).sum() / na + (y * y).sum() / nb - 2 * cross, 0.0))


def resample(frames: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of (T, D) frames onto `length` equally spaced times over the same span."""
    frames = np.asarray(frames, dtype=np.float64)
    if len(frames) == length:
        return frames
    if len(frames) == 1:
        return np.repeat(frames, length, axis=0)
    src = np.linspace(0.0, 1.0, len(frames))
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, frames[:, k]) for k in range(frames.shape[1])], axis=1)


def joint_errors(ref: np.ndarray, hyp: np.ndarray) -> np.ndarray:
    """|p_hat - p| per frame and joint (T_ref, 50) for joint frames (T, 150); hyp is resampled to T_ref."""
    r = np.asarray(ref, dtype=np.float64)[:, :N_VALUES].reshape(len(ref), N_JOINTS, 3)
    h = resample(np.asarray(hyp)[:, :N_VALUES], len(ref)).reshape(len(ref), N_JOINTS, 3)
    return np.linalg.norm(h - r, axis=-1)


def mpjpe(refs: Sequence[np.ndarray], hyps: Sequence[np.ndarray]) -> tuple[float, float, np.ndarray]:
    """(MPJPE, summed-joint MPJPE, per-sequence MPJPE), means over all reference frames."""
    if len(refs) != len(hyps) or not refs:
        raise ValueError(f"need one hypothesis per reference, got {len(hyps)} and {len(refs)}")
    errs = [joint_errors(r, h) for r, h in zip(refs, hyps, strict=True)]
    per_seq = np.array([e.mean() for e in errs])
    frames = np.concatenate(errs)
    return float(frames.mean()), float(frames.sum(1).mean()), per_seq
