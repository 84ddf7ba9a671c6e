import numpy as np
import pytest

from paperzoo.nlhall import (
    Smearing,
    bcd_density,
    berry_curvature_dipole,
    chern_number,
    gapped_graphene,
    haldane,
    integrate,
    tilted_dirac,
    tilted_dirac_bcd,
)

MUS = np.array([0.3, 0.4, 0.6])


def test_tilted_dirac_matches_analytic_formula():
    res = berry_curvature_dipole(tilted_dirac(v=1.0, m=0.2, t=0.05, k_cut=1.0), MUS, Smearing("fermi", 0.003),
                                 grid=320)
    expected = tilted_dirac_bcd(MUS, m=0.2, t=0.05)
    np.testing.assert_allclose(res.dipole[:, 0], expected, rtol=0.01)
    # the spec's numbers (-7.35e-3, -5.59e-3, -2.95e-3 Å) pin the sign convention
    np.testing.assert_allclose(res.dipole[:, 0], [-7.35e-3, -5.59e-3, -2.95e-3], rtol=0.01)
    assert np.abs(res.dipole[:, 1]).max() < 1e-10 * np.abs(res.dipole[:, 0]).max()


def test_time_reversed_valley_doubles_the_dipole_and_gap_gives_zero():
    one = berry_curvature_dipole(tilted_dirac(valleys=1, k_cut=1.0), [0.1, 0.4], Smearing("fermi", 0.003), grid=240)
    two = berry_curvature_dipole(tilted_dirac(valleys=2, k_cut=1.0), [0.1, 0.4], Smearing("fermi", 0.003), grid=240)
    np.testing.assert_allclose(two.dipole, 2 * one.dipole, rtol=1e-8, atol=1e-14)
    assert abs(one.dipole[0, 0]) < 1e-6 * abs(one.dipole[1, 0])  # μ = 0.1 is inside the gap (|m| = 0.2)
    np.testing.assert_allclose(two.per_band.sum(-1), two.dipole)


def test_sea_equals_surface_strained_graphene():
    model, smear = gapped_graphene(strain=0.05), Smearing("fermi", 0.05)
    mus = [0.25, 0.45]
    surface = berry_curvature_dipole(model, mus, smear, form="surface", grid=240).dipole[:, 0]
    sea = berry_curvature_dipole(model, mus, smear, form="sea", grid=240).dipole[:, 0]
    assert np.abs(surface).min() > 1e-3
    np.testing.assert_allclose(sea, surface, rtol=0.01)


def _relative_zero(model, mus, smear, grid):
    dens = lambda k: bcd_density(model, k, mus, smear)  # noqa: E731
    value = integrate(model.domain, dens, grid).value.sum(-1)
    scale = integrate(model.domain, lambda k: np.abs(dens(k)), grid).value.sum(-1).max()
    return np.abs(value).max() / scale


@pytest.mark.parametrize("model", [gapped_graphene(strain=0.0), haldane(mass=0.2)])
def test_c3_symmetric_models_have_zero_dipole(model):
    assert _relative_zero(model, np.array([0.3, 0.6, 1.0]), Smearing("fermi", 0.05), 90) < 1e-8


def test_strain_breaks_c3_only_dxz_survives():
    res = berry_curvature_dipole(gapped_graphene(strain=0.05), [0.3], Smearing("fermi", 0.05), grid=120)
    assert abs(res.dipole[0, 0]) > 1e-3
    assert abs(res.dipole[0, 1]) < 1e-10 * abs(res.dipole[0, 0])  # mirror x -> -x forbids D_yz


def test_chern_numbers_haldane():
    assert abs(abs(chern_number(haldane(mass=0.2), 1, grid=90)) - 1) < 1e-3
    assert abs(chern_number(haldane(mass=1.5), 1, grid=90)) < 1e-3
    flipped = chern_number(haldane(mass=0.2, phi=-np.pi / 2), 1, grid=90)
    assert abs(flipped + chern_number(haldane(mass=0.2), 1, grid=90)) < 1e-3


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="form"):
        berry_curvature_dipole(tilted_dirac(), [0.3], Smearing(), form="volume", grid=4)
    with pytest.raises(ValueError, match="smearing kind"):
        Smearing("lorentz", 0.1)
    with pytest.raises(ValueError, match="width > 0"):
        berry_curvature_dipole(tilted_dirac(), [0.3], Smearing("fermi", 0.0), grid=4)
    with pytest.raises(ValueError, match="Brillouin zone"):
        chern_number(tilted_dirac(), 1)


def test_wte2_like_model_mirror_and_valley_structure():
    from paperzoo.nlhall import band_geometry, wte2_like

    model = wte2_like()
    k = np.random.default_rng(5).normal(scale=0.1, size=(20, 2))
    geo = band_geometry(model, k)
    flipped = band_geometry(model, -k)
    # valley 2 is the time-reversed copy: its curvature at -k is minus valley 1's at k
    np.testing.assert_allclose(np.sort(flipped.energy, 1), np.sort(geo.energy, 1), atol=1e-12)
    res = berry_curvature_dipole(model, [0.1], Smearing("fermi", 0.003), grid=60, fermi_subdivision=3)
    assert abs(res.dipole[0, 0]) > 0.05 and abs(res.dipole[0, 1]) < 1e-10 * abs(res.dipole[0, 0])


def test_temperature_scan_smooths_towards_zero_temperature_formula():
    from paperzoo.nlhall.bcd import temperature_scan

    model = tilted_dirac(k_cut=1.0)
    d = temperature_scan(model, [0.4], [20.0, 300.0, 1500.0], rel_tol=0.005)
    exact = tilted_dirac_bcd(np.array([0.4]), 0.2, 0.05)[0]
    assert d.shape == (3, 1, 2)
    assert abs(d[0, 0, 0] / exact - 1) < 0.01  # 20 K: k_BT = 1.7 meV << μ - m
    assert abs(d[2, 0, 0] / exact - 1) > abs(d[0, 0, 0] / exact - 1)  # 1500 K smears visibly
    with pytest.raises(ValueError, match="temperatures"):
        temperature_scan(model, [0.4], [0.0])
