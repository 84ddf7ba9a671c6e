"""Re-ID, leak, kappa, SSIM/PSNR and the cluster bootstrap against direct computations."""

import numpy as np
import pytest

from paperzoo.deid import metrics as DM


def _brute_reid(probes, ids, gallery, gids):
    hits = []
    for p, pid in zip(probes, ids, strict=True):
        best, best_d = None, np.inf
        for g, gid in zip(gallery, gids, strict=True):
            d = np.sqrt(((p - g) ** 2).sum())
            if d < best_d:
                best, best_d = gid, d
        hits.append(float(best == pid))
    return np.array(hits)


def test_reid_hits_and_chance_match_a_brute_force_count():
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(9, 3))
    gids = ["a", "a", "a", "b", "c", "d", "e", "f", "g"]
    ids = [gids[i] for i in rng.integers(0, 9, 40)]
    probes = np.stack([gallery[gids.index(i)] for i in ids]) + rng.normal(scale=0.8, size=(40, 3))
    hits = DM.reid_hits(probes, ids, gallery, gids)
    assert np.array_equal(hits, _brute_reid(probes, ids, gallery, gids))
    assert 0 < hits.mean() < 1
    expected = np.mean([3 / 9 if i == "a" else 1 / 9 for i in ids])
    assert DM.reid_chance(ids, gids) == pytest.approx(expected)


def test_leaks_and_distances():
    a = np.zeros((3, 128))
    b = np.zeros((3, 128))
    b[0, 0], b[1, 0], b[2, 0] = 0.1, 0.6, 2.0
    d = DM.own_distances(a, b)
    assert np.allclose(d, [0.1, 0.6, 2.0])
    assert list(DM.leaks(d)) == [1.0, 0.0, 0.0]  # strictly below dlib's 0.6


def _kappa_by_hand(a, b, k):
    a, b = np.asarray(a), np.asarray(b)
    po = np.mean(a == b)
    pe = sum(np.mean(a == c) * np.mean(b == c) for c in range(k))
    return (po - pe) / (1 - pe)


def test_cohen_kappa_matches_the_formula():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.7, a, rng.integers(0, 4, 200))
    assert DM.cohen_kappa(a, b, 4) == pytest.approx(_kappa_by_hand(a, b, 4))
    assert DM.cohen_kappa(a, a, 4) == 1.0
    assert abs(DM.cohen_kappa(a, rng.integers(0, 4, 200), 4)) < 0.15


def test_masked_ssim_and_psnr():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:30, 10:30] = True
    y = x.copy()
    y[~mask] = 0
    assert DM.masked_ssim(x, y, mask) == pytest.approx(1.0)  # a change outside the region never counts
    w = x.copy()
    w[mask] = 255 - w[mask]
    assert DM.masked_ssim(x, w, mask) < 0.2
    assert DM.masked_psnr(x, y, mask) == float("inf")
    z = x.astype(int)
    z[mask] += 10
    z = np.clip(z, 0, 255).astype(np.uint8)
    mse = np.mean((z[mask].astype(float) - x[mask].astype(float)) ** 2)
    assert DM.masked_psnr(x, z, mask) == pytest.approx(10 * np.log10(255 ** 2 / mse))
    assert np.isnan(DM.masked_ssim(x, z, np.zeros_like(mask)))


def test_cluster_bootstrap_resamples_whole_faces():
    values = np.array([1, 1, 1, 1, 0, 0], float)
    lo, hi = DM.cluster_bootstrap(values, ["a", "a", "a", "a", "b", "b"], n=4000, seed=0)
    assert lo == 0.0 and hi == 1.0  # two clusters: a resample can hold only "a" or only "b"
    lo, hi = DM.cluster_bootstrap(np.ones(10), list("abcdefghij"), n=500)
    assert lo == hi == 1.0


def test_sharpness_ratio_drops_for_a_blurred_face():
    import cv2

    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    m = np.ones((64, 64), bool)
    assert DM.sharpness_ratio(x, x, m) == pytest.approx(1.0)
    assert DM.sharpness_ratio(cv2.GaussianBlur(x, (0, 0), 3), x, m) < 0.1
