import numpy as np
import pytest

from paperzoo.nlhall import band_geometry, gapped_graphene, haldane, omega_derivative, pt_antiferromagnet, tilted_dirac

RNG = np.random.default_rng(0)


def test_massive_dirac_berry_curvature_closed_form():
    v, m = 1.3, 0.2
    model = tilted_dirac(v=v, m=m, t=0.0)
    k = RNG.normal(scale=0.4, size=(50, 2))
    geo = band_geometry(model, k)
    energy = np.sqrt(v**2 * (k**2).sum(1) + m**2)
    np.testing.assert_allclose(geo.omega[:, 1], -v**2 * m / (2 * energy**3), rtol=1e-10)
    np.testing.assert_allclose(geo.omega[:, 0], +v**2 * m / (2 * energy**3), rtol=1e-10)
    np.testing.assert_allclose(geo.energy[:, 1], energy, rtol=1e-12)


def test_tilt_shifts_velocity_not_curvature():
    k = RNG.normal(scale=0.4, size=(20, 2))
    flat, tilted = band_geometry(tilted_dirac(t=0.0), k), band_geometry(tilted_dirac(t=0.3), k)
    np.testing.assert_allclose(tilted.omega, flat.omega, rtol=1e-10)
    np.testing.assert_allclose(tilted.velocity[:, 0] - flat.velocity[:, 0], 0.3, atol=1e-12)


def _unit_vector_derivatives(k, v, m, h=1e-5):
    def dhat(kk):
        d = np.stack([v * kk[:, 0], v * kk[:, 1], np.full(len(kk), m)], 1)
        return d / np.linalg.norm(d, axis=1, keepdims=True)
    return [(dhat(k + h * e) - dhat(k - h * e)) / (2 * h) for e in np.eye(2)]


def test_quantum_metric_two_band_identity():
    """For H = d·σ: g_ab = ∂_a d̂ · ∂_b d̂ / 4 on both bands, and G = g / E on the upper band (Δ = 2E)."""
    v, m = 1.0, 0.25
    k = RNG.normal(scale=0.5, size=(30, 2))
    geo = band_geometry(tilted_dirac(v=v, m=m, t=0.0), k, metric=True)
    dd = _unit_vector_derivatives(k, v, m)
    for a in range(2):
        for b in range(2):
            expected = (dd[a] * dd[b]).sum(1) / 4
            np.testing.assert_allclose(geo.metric[:, a, b, 1], expected, rtol=1e-6, atol=1e-10)
            np.testing.assert_allclose(geo.metric[:, a, b, 0], expected, rtol=1e-6, atol=1e-10)
            np.testing.assert_allclose(geo.bcp[:, a, b, 1], expected / geo.energy[:, 1], rtol=1e-6, atol=1e-10)
            np.testing.assert_allclose(geo.bcp[:, a, b, 0], -expected / geo.energy[:, 1], rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("model", [gapped_graphene(strain=0.05), haldane(), pt_antiferromagnet()])
def test_analytic_dh_matches_finite_difference(model):
    k = RNG.normal(size=(8, 2))
    _, dh = model.h_and_dh(k)
    for a in range(2):
        e = np.zeros(2)
        e[a] = 1e-6
        fd = (model.h(k + e) - model.h(k - e)) / 2e-6
        np.testing.assert_allclose(dh[:, a], fd, atol=1e-7)


def test_velocity_is_energy_gradient():
    model = gapped_graphene(strain=0.05)
    k = RNG.normal(size=(10, 2))
    geo = band_geometry(model, k)
    for a in range(2):
        e = np.zeros(2)
        e[a] = 1e-6
        fd = (band_geometry(model, k + e).energy - band_geometry(model, k - e).energy) / 2e-6
        np.testing.assert_allclose(geo.velocity[:, a], fd, atol=1e-6)


def test_omega_derivative_matches_closed_form():
    v, m = 1.0, 0.2
    k = RNG.normal(scale=0.3, size=(10, 2))
    d_omega = omega_derivative(tilted_dirac(v=v, m=m, t=0.0), k)
    energy = np.sqrt((k**2).sum(1) + m**2)
    # ∂_b(-m/(2E³)) = 3 m k_b / (2 E⁵) on the upper band
    np.testing.assert_allclose(d_omega[:, :, 1], 3 * m * k / (2 * energy[:, None] ** 5), rtol=1e-6)


def test_pt_model_bands_are_doubly_degenerate_with_zero_pair_curvature():
    geo = band_geometry(pt_antiferromagnet(), RNG.uniform(-3, 3, size=(40, 2)))
    np.testing.assert_allclose(geo.energy[:, 0], geo.energy[:, 1], atol=1e-9)
    np.testing.assert_allclose(geo.omega[:, 0] + geo.omega[:, 1], 0.0, atol=1e-8)
