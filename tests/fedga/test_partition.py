"""Partition invariants: disjoint, reproducible, equal sizes for the naive Dirichlet, histograms add up."""

import numpy as np
import pytest

from paperzoo.fedga.partition import histograms, naive_dirichlet, niid_dirichlet, shards, used_fraction


def _labels(n=6000, c=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(c, size=n, p=np.linspace(1, 2, c) / np.linspace(1, 2, c).sum())


def _disjoint_valid(parts, n):
    flat = np.concatenate(parts)
    assert len(flat) == len(np.unique(flat)) and flat.min() >= 0 and flat.max() < n


@pytest.mark.parametrize("alpha", [0.05, 0.5, 10.0])
def test_naive_dirichlet_equal_sizes_and_accounting(alpha):
    y = _labels()
    parts = naive_dirichlet(y, 50, alpha, np.random.default_rng(1), 10)
    _disjoint_valid(parts, len(y))
    sizes = np.array([len(p) for p in parts])
    # nums = round(const * ratios) and every client's ratios sum to 1: sizes equal up to rounding (<= C/2 each way)
    assert sizes.max() - sizes.min() <= 10
    hist = histograms(y, parts, 10)
    assert np.array_equal(hist.sum(1), sizes)
    assert np.all(hist.sum(0) <= np.bincount(y, minlength=10))
    # the most demanded class is (almost) used up; the rest is unused and reported
    used = hist.sum(0) / np.bincount(y, minlength=10)
    assert used.max() > 0.98
    assert np.isclose(used_fraction(parts, len(y)), sizes.sum() / len(y)) and used_fraction(parts, len(y)) < 1


def test_partitions_reproducible_and_seed_dependent():
    y = _labels()
    for make in (lambda s: naive_dirichlet(y, 20, 0.3, np.random.default_rng(s)),
                 lambda s: niid_dirichlet(y, 20, 0.3, np.random.default_rng(s), min_size=10),
                 lambda s: shards(y, 20, 2, np.random.default_rng(s))):
        a, b, c = make(7), make(7), make(8)
        assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
        assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_small_alpha_is_more_skewed():
    y = _labels()
    def missing(alpha):
        return (histograms(y, naive_dirichlet(y, 50, alpha, np.random.default_rng(0)), 10) == 0).mean()
    assert missing(0.05) > missing(10.0)


def test_niid_dirichlet_min_size_and_full_coverage():
    y = _labels()
    parts = niid_dirichlet(y, 30, 0.1, np.random.default_rng(2), min_size=20)
    _disjoint_valid(parts, len(y))
    assert min(len(p) for p in parts) >= 20
    assert used_fraction(parts, len(y)) == 1.0
    with pytest.raises(ValueError, match="min_size"):
        niid_dirichlet(y, 30, 0.1, np.random.default_rng(2), min_size=1000)


def test_shards_sizes_and_few_classes():
    y = _labels()
    parts = shards(y, 30, 2, np.random.default_rng(3))
    _disjoint_valid(parts, len(y))
    assert {len(p) for p in parts} == {2 * (len(y) // 60)}
    assert (histograms(y, parts, 10) > 0).sum(1).max() <= 4  # two label-sorted shards span at most 4 classes


def test_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        naive_dirichlet(_labels(), 10, 0.0, np.random.default_rng(0))
