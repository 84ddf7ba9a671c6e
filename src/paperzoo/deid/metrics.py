"""Identity protection and medical preservation, measured on embeddings, pixels and a sign classifier.

    re-ID rate    fraction of probes whose nearest gallery embedding (Euclidean) has the probe's identity
    chance        mean over probes of (#gallery entries of its identity) / |gallery| (a uniform guess)
    leak rate     fraction of probes within dlib's same-person distance (0.6) of their own original
    distance      mean Euclidean distance between a probe's embedding and its own original's
    SSIM / PSNR   of the medical region's content: the anonymised image restricted to the mask (outside it,
                  the original's pixels), SSIM map (scikit-image, grey, 7x7 window) averaged over the mask,
                  so a change outside the region never counts; PSNR from the MSE over the mask's pixels
    Cohen's kappa (p_o - p_e) / (1 - p_e) between two label vectors (scikit-learn)
    sharpness     var(Laplacian) inside the face, anonymised / original: a no-reference quality proxy
                  (1 = as much fine detail as the real face, 0 = flat)

Probes that share a face are correlated, so intervals resample faces (cluster bootstrap), not probes.
"""

from __future__ import annotations

import numpy as np

from paperzoo.deid.detect import SAME_PERSON


def nearest_identity(probes: np.ndarray, gallery: np.ndarray, gallery_ids: list[str]) -> list[str]:
    """Identity of the nearest gallery embedding for each probe (ties: the first gallery entry)."""
    d = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=2)
    return [gallery_ids[int(i)] for i in d.argmin(axis=1)]


def reid_hits(probes: np.ndarray, probe_ids: list[str], gallery: np.ndarray, gallery_ids: list[str]) -> np.ndarray:
    """1.0 where the nearest gallery identity is the probe's own, else 0.0."""
    found = nearest_identity(probes, gallery, gallery_ids)
    return np.array([float(a == b) for a, b in zip(found, probe_ids, strict=True)])


def reid_chance(probe_ids: list[str], gallery_ids: list[str]) -> float:
    """Re-ID rate of a uniform random guess over the gallery."""
    ids = np.asarray(gallery_ids)
    return float(np.mean([np.mean(ids == p) for p in probe_ids]))


def own_distances(probes: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distance between each probe and its own original's embedding."""
    return np.linalg.norm(probes - originals, axis=1)


def leaks(distances: np.ndarray, threshold: float = SAME_PERSON) -> np.ndarray:
    return (np.asarray(distances) < threshold).astype(float)


def masked_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean over `mask` of the SSIM map (grey, 7x7) of `a` vs `b` restricted to the mask; NaN for no mask."""
    from skimage.metrics import structural_similarity

    if not mask.any():
        return float("nan")
    b = np.where(mask[..., None], b, a)
    ga, gb = (np.asarray(x, np.float64) @ [0.299, 0.587, 0.114] for x in (a, b))
    _, full = structural_similarity(ga, gb, data_range=255.0, full=True, win_size=7)
    return float(full[mask].mean())


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """10 log10(255^2 / MSE) over the mask's pixels (all channels); inf when identical, NaN for no mask."""
    if not mask.any():
        return float("nan")
    mse = float(np.mean((a[mask].astype(np.float64) - b[mask].astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def cohen_kappa(a, b, n_classes: int) -> float:
    """Cohen's kappa between two label vectors (1 = full agreement, 0 = chance agreement)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a), np.asarray(b)
    if np.array_equal(a, b):
        return 1.0
    return float(cohen_kappa_score(a, b, labels=list(range(n_classes))))


def sharpness_ratio(anon: np.ndarray, orig: np.ndarray, mask: np.ndarray) -> float:
    """var(Laplacian of grey) over the face mask, anonymised / original."""
    import cv2

    def lap(x: np.ndarray) -> float:
        g = cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(cv2.Laplacian(g, cv2.CV_32F)[mask].var())

    base = lap(orig)
    return lap(anon) / base if base > 0 else float("nan")


def cluster_bootstrap(values: np.ndarray, clusters: list[str], n: int = 2000, seed: int = 0,
                      level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of mean(values), resampling whole clusters (faces) with replacement."""
    values = np.asarray(values, dtype=float)
    keys = sorted(set(clusters))
    groups = [values[[c == k for c in clusters]] for k in keys]
    sums = np.array([g.sum() for g in groups])
    counts = np.array([len(g) for g in groups])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(keys), size=(n, len(keys)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
