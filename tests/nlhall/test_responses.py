import numpy as np
import pytest

from paperzoo.core import UserError
from paperzoo.nlhall import (
    Smearing,
    bcd_susceptibility_si,
    extract_dipole,
    gapped_graphene,
    intrinsic_conductivity,
    nonlinear_drude,
    pt_antiferromagnet,
    tilted_dirac,
    transverse_voltage_2w,
)
from paperzoo.nlhall.hallbar import power_law_exponent
from paperzoo.nlhall.units import E_CHARGE, HBAR, M_E

MUS = np.array([-1.0, -0.5, 0.1, 0.5, 1.0])


def test_chi_pins_sodemann_fu_sign_for_electrons():
    d = np.array([0.7, -0.2])  # Å
    tau = 1e-13
    chi = bcd_susceptibility_si(d, tau)
    np.testing.assert_allclose(chi[1, 0, 0], -E_CHARGE**3 * tau * d[0] * 1e-10 / (2 * HBAR**2))
    np.testing.assert_allclose(chi[0, 1, 1], +E_CHARGE**3 * tau * d[1] * 1e-10 / (2 * HBAR**2))
    np.testing.assert_allclose(bcd_susceptibility_si(d, tau, charge=E_CHARGE), -chi)  # holes: q³ flips
    assert chi[0, 0, 0] == 0 and chi[1, 1, 1] == 0
    w = 3e12
    np.testing.assert_allclose(bcd_susceptibility_si(d, tau, w), chi / (1 + 1j * w * tau))


def test_intrinsic_term_vanishes_with_time_reversal_and_not_in_pt_model():
    smear = Smearing("fermi", 0.02)
    pt = intrinsic_conductivity(pt_antiferromagnet(), MUS, smear, grid=90)
    assert np.abs(pt.sigma_si).max() > 1e-15
    for model, mus in ((gapped_graphene(strain=0.05), [0.3, 0.5]), (tilted_dirac(valleys=2, k_cut=1.0), [0.3])):
        tr = intrinsic_conductivity(model, mus, smear, grid=90)
        per_band_scale = np.abs(tr.per_band_si).max()
        assert np.abs(tr.sigma_si).max() < 1e-8 * np.abs(pt.sigma_si).max()
        assert np.abs(tr.sigma_si).max() <= 1e-8 * max(per_band_scale, 1e-300) or per_band_scale < 1e-25


def test_intrinsic_tensor_is_antisymmetric_in_first_two_indices():
    res = intrinsic_conductivity(pt_antiferromagnet(neel_angle=0.3), MUS, Smearing("fermi", 0.02), grid=60)
    np.testing.assert_allclose(res.sigma_si, -np.swapaxes(res.sigma_si, 1, 2), atol=1e-30)


def test_nonlinear_drude_zero_with_time_reversal_nonzero_without():
    smear = Smearing("fermi", 0.02)
    tr = nonlinear_drude(gapped_graphene(strain=0.05), [0.4], smear, 1e-13, grid=90)
    pt = nonlinear_drude(pt_antiferromagnet(neel_angle=0.3), MUS, smear, 1e-13, grid=60)
    assert np.abs(pt.sigma_si).max() > 1e-13
    assert np.abs(tr.sigma_si).max() < 1e-8 * np.abs(pt.sigma_si).max()
    # τ² scaling
    pt2 = nonlinear_drude(pt_antiferromagnet(neel_angle=0.3), MUS, smear, 2e-13, grid=60)
    np.testing.assert_allclose(pt2.sigma_si, 4 * pt.sigma_si, rtol=1e-12)


def test_hallbar_round_trip_scaling_and_sign():
    d, n, mass, width = 0.35, 2e16, 0.3, 5e-6
    fields = np.array([1e3, 2e3, 4e3, 8e3])
    v = transverse_voltage_2w(d, fields, n, mass, width)
    assert abs(power_law_exponent(fields, v) - 2) < 1e-10
    np.testing.assert_allclose(extract_dipole(v, fields, n, mass, width), d, rtol=1e-12)
    # electrons: E⊥ = e m* D E² / (2ħ² n) > 0 for D > 0
    np.testing.assert_allclose(v[0], E_CHARGE * mass * M_E * d * 1e-10 * fields[0] ** 2 / (2 * HBAR**2 * n) * width)
    noisy = v * (1 + 0.01 * np.random.default_rng(0).normal(size=v.size))
    assert abs(extract_dipole(noisy, fields, n, mass, width) / d - 1) < 0.03


def test_hallbar_bad_input():
    with pytest.raises(UserError, match="density"):
        transverse_voltage_2w(0.1, [1.0], -1.0, 0.3, 1e-6)
    with pytest.raises(UserError, match="matching"):
        extract_dipole([1e-6, 2e-6], [1.0], 1e16, 0.3, 1e-6)
