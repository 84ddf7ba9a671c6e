"""Task samplers: their probabilities by formula, and empirical frequencies that follow them."""

import numpy as np
import pytest

from paperzoo.multitask.samplers import SAMPLERS, AnnealedSampler, make_sampler

TASKS, SIZES = ["a", "b", "c"], [900, 90, 10]


@pytest.mark.parametrize("kind, expected", [
    ("proportional", np.array(SIZES) / 1000),
    ("uniform", np.full(3, 1 / 3)),
    ("temperature", np.sqrt(SIZES) / np.sqrt(SIZES).sum()),  # temperature 2: N^(1/2)
    ("explicit", np.array([0.2, 0.3, 0.5])),
])
def test_empirical_frequencies_follow_the_probabilities(kind, expected):
    s = make_sampler(kind, TASKS, SIZES, seed=3, temperature=2.0, probabilities=[2, 3, 5])
    assert np.allclose(s.probabilities(0), expected)
    n = 20000
    draws = [s.next() for _ in range(n)]
    counts = np.array([draws.count(t) for t in TASKS], dtype=float)
    # 4 standard errors of a binomial proportion
    assert np.all(np.abs(counts / n - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-9)


def test_annealed_sampler_goes_from_proportional_towards_uniform():
    s = AnnealedSampler(TASKS, SIZES, seed=0, total_steps=11)
    assert s.exponent(0) == 1.0 and s.exponent(10) == pytest.approx(0.2) and s.exponent(50) == pytest.approx(0.2)
    assert np.allclose(s.probabilities(0), np.array(SIZES) / 1000)
    p_end = np.array(SIZES, float) ** 0.2
    assert np.allclose(s.probabilities(10), p_end / p_end.sum())
    draws_late = []
    s.step = 10
    for _ in range(3000):
        s.step = 10  # stay at the last step's distribution
        draws_late.append(s.next())
    assert draws_late.count("c") / 3000 == pytest.approx(p_end[2] / p_end.sum(), abs=0.03)


def test_samplers_are_seeded_and_validate_their_input():
    s1, s2 = make_sampler("proportional", TASKS, SIZES, seed=7), make_sampler("proportional", TASKS, SIZES, seed=7)
    assert [s1.next() for _ in range(50)] == [s2.next() for _ in range(50)]
    with pytest.raises(ValueError, match="unknown sampler"):
        make_sampler("roundrobin", TASKS, SIZES)
    with pytest.raises(ValueError, match="one size per task"):
        make_sampler("uniform", TASKS, SIZES[:2])
    with pytest.raises(ValueError, match="3 non-negative"):
        make_sampler("explicit", TASKS, SIZES, probabilities=[1, -1, 1])
    assert set(SAMPLERS) == {"proportional", "uniform", "temperature", "annealed", "explicit"}
