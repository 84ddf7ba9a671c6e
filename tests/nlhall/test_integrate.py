import numpy as np

from paperzoo.nlhall import Domain, Smearing, berry_curvature_dipole, converge, gapped_graphene, integrate
from paperzoo.nlhall.bcd import converged_dipole


def _peak(k, w=0.05):
    return np.exp(-(k**2).sum(1) / (2 * w * w))


def test_uniform_rule_on_a_gaussian():
    res = integrate(Domain.box(1.0), _peak, 200)
    np.testing.assert_allclose(res.value, 2 * np.pi * 0.05**2, rtol=1e-6)


def test_recursive_refinement_improves_a_peaked_integral():
    exact = 2 * np.pi * 0.02**2
    f = lambda k: _peak(k, 0.02)  # noqa: E731
    coarse = integrate(Domain.box(1.0), f, 41)
    refined = integrate(Domain.box(1.0), f, 41, refine_iters=4, refine_fraction=0.01)
    assert abs(refined.value / exact - 1) < 0.1 * abs(coarse.value / exact - 1)
    assert refined.n_points < 41**2 * 1.5


def test_converge_stops_at_tolerance():
    res = converge(Domain.box(1.0), lambda k: _peak(k, 0.1), start=8, rel_tol=1e-4)
    assert abs(res.value / (2 * np.pi * 0.01) - 1) < 1e-3
    assert len(res.history) >= 2


def test_fermi_window_subdivision_equals_fine_uniform_grid():
    model, mus, smear = gapped_graphene(strain=0.05), [0.25, 0.45], Smearing("fermi", 0.03)
    # an odd subdivision of a Γ-centred periodic grid lands exactly on the finer grid's nodes
    fine = berry_curvature_dipole(model, mus, smear, grid=180)
    window = berry_curvature_dipole(model, mus, smear, grid=60, fermi_subdivision=3)
    np.testing.assert_allclose(window.dipole[:, 0], fine.dipole[:, 0], rtol=1e-8)
    assert window.integration.n_points < 0.5 * 180**2
    res, steps = converged_dipole(model, mus, smear, rel_tol=0.01, coarse=40)
    assert np.abs(steps[-1][2] - steps[-2][2]).max() <= 0.01 * np.abs(res.dipole).max()
