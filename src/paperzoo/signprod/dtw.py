"""DTW-MJE exactly as Progressive Transformers computes it, vectorised over many sequence pairs.

For a reference R (T_r, 151) and a hypothesis H (T_h, 151) whose first frame is the decoder's BOS frame:

    r = R[:a_r, :150],   a_r = argmax_t R[t, 150]  (1 if that is 0)     the reference loses its last frame
    h = H[1:][:a_h, :150], a_h = argmax_t H[1+t, 150]  (1 if 0)        the BOS frame is dropped first
    C[i, j] = sum_k |r_ik - h_jk|                                       (L1, although PT calls it euclidean)
    D[i, j] = C[i, j] + min(D[i-1, j-1], D[i-1, j], D[i, j-1]),  D[-1, -1] = 0, other borders +inf (no window)
    DTW-MJE(R, H) = D[n-1, m-1] / n,   n = len(r)                       and the mean over sequences

argmax is the first maximum (numpy's). `dtw_mje` computes each C with scipy's cityblock distance (float64)
and runs the recurrence along anti-diagonals i + j = k, all pairs of a chunk at once: O(n + m) array steps
instead of O(n m) Python steps. `dtw_plain` is the reference: PT's way, a Python double loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .skeleton import N_VALUES


def cut_reference(ref: np.ndarray) -> np.ndarray:
    """PT's reference cut: frames before the argmax of the counter, joints only."""
    ref = np.asarray(ref)
    end = int(np.argmax(ref[:, N_VALUES])) or 1
    return ref[:end, :N_VALUES]


def cut_hypothesis(hyp: np.ndarray) -> np.ndarray:
    """PT's hypothesis cut: drop the BOS frame, then frames before the argmax of its own counter."""
    hyp = np.asarray(hyp)[1:]
    if len(hyp) == 0:
        raise ValueError("a hypothesis needs at least one frame after its BOS frame")
    end = int(np.argmax(hyp[:, N_VALUES])) or 1
    return hyp[:end, :N_VALUES]


def dtw_plain(ref: np.ndarray, hyp: np.ndarray) -> float:
    """DTW-MJE of one pair the way PT computes it: cuts, then a Python double loop over the cost matrix."""
    r, h = cut_reference(ref).astype(np.float64), cut_hypothesis(hyp).astype(np.float64)
    n, m = len(r), len(h)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(n):
        for j in range(m):
            cost = np.sum(np.abs(r[i] - h[j]))
            acc[i + 1, j + 1] = cost + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    return float(acc[n, m] / n)


def l1_costs(r: np.ndarray, h: np.ndarray) -> np.ndarray:
    """C[i, j] = sum_k |r_ik - h_jk| (scipy's cityblock distance, float64)."""
    from scipy.spatial.distance import cdist

    return cdist(r, h, metric="cityblock")


def accumulated_cost(cost: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """D[p, n_p - 1, m_p - 1] of the DTW recurrence for padded costs (P, N, M), one anti-diagonal at a time.

    The costs are first skewed, S[p, k, i] = C[p, i - 1, k - i - 1] (1-based cell (i, j) on diagonal
    k = i + j; +inf off the grid), so every step works on contiguous slices of the two previous diagonals.
    """
    P, N, M = cost.shape
    skew = np.full((P, N + M + 1, N + 1), np.inf)
    for i in range(1, N + 1):  # row i of C lands on diagonals i + 1 .. i + M, column i
        skew[:, i + 1:i + 1 + M, i] = cost[:, i - 1, :]
    prev2 = np.full((P, N + 1), np.inf)
    prev2[:, 0] = 0.0  # diagonal 0: the virtual origin (0, 0)
    prev1 = np.full((P, N + 1), np.inf)
    out = np.full(P, np.nan)
    done = n + m
    for d in range(2, N + M + 1):
        cur = np.empty((P, N + 1))
        cur[:, 0] = np.inf
        np.minimum(np.minimum(prev2[:, :-1], prev1[:, :-1]), prev1[:, 1:], out=cur[:, 1:])
        cur[:, 1:] += skew[:, d, 1:]
        hit = np.flatnonzero(done == d)
        if hit.size:
            out[hit] = cur[hit, n[hit]]
        prev2, prev1 = prev1, cur
    return out


def dtw_mje(refs: Sequence[np.ndarray], hyps: Sequence[np.ndarray], chunk: int = 64) -> np.ndarray:
    """Per-pair DTW-MJE (PT's definition, see the module docstring) of references and BOS-led hypotheses."""
    if len(refs) != len(hyps):
        raise ValueError(f"need one hypothesis per reference, got {len(hyps)} and {len(refs)}")
    rs = [cut_reference(r).astype(np.float64) for r in refs]
    hs = [cut_hypothesis(h).astype(np.float64) for h in hyps]
    out = np.empty(len(rs))
    order = np.argsort([len(r) * len(h) for r, h in zip(rs, hs, strict=True)], kind="stable")
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        n = np.array([len(rs[p]) for p in idx])
        m = np.array([len(hs[p]) for p in idx])
        cost = np.zeros((len(idx), n.max(), m.max()))
        for q, p in enumerate(idx):
            cost[q, :n[q], :m[q]] = l1_costs(rs[p], hs[p])
        out[idx] = accumulated_cost(cost, n, m) / n
    return out
