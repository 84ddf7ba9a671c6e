"""Second-order responses built on the band geometry (2D; tensors σ[α, β, γ] with j_α = σ_αβγ E_β E_γ).

Carrier charge q is explicit (default electron, q = -e), so each formula below equals the one written with e
in the literature for electrons:

    BCD susceptibility (Sodemann-Fu):  χ_abc = -ε_acd q³ τ D_bd / (2ħ²(1 + iωτ))
        -> χ_yxx = -e³τ D_xz / (2ħ²(1+iωτ)),  χ_xyy = +e³τ D_yz / (2ħ²(1+iωτ))   for q = -e
    intrinsic (quantum metric):        σ_αβγ = (q³/ħ) Σ_n ∫[dk] δ(ε_n - μ) (v_α G_βγ - v_β G_αγ)   (v = ∂ε/∂k)
    nonlinear Drude:                   σ_αβγ = (q³τ²/ħ²) Σ_n ∫[dk] f0 ∂_β ∂_γ v_α               (v = velocity)

with [dk] = d²k/(2π)². SI results are in A·m/V² (2D sheet: j in A/m, E in V/m).
"""

from dataclasses import dataclass

import numpy as np

from .fermi import Smearing
from .geometry import band_geometry
from .hamiltonian import Hamiltonian
from .integrate import integrate
from .units import ANGSTROM, E_CHARGE, ELECTRON, HBAR

FOUR_PI2 = 4 * np.pi**2
LEVI_2D = np.array([[0.0, 1.0], [-1.0, 0.0]])  # ε_{a c z} for a, c in {x, y}


def bcd_susceptibility_si(dipole_angstrom: np.ndarray, tau_s: float, omega_rad_s: float = 0.0,
                          charge: float = ELECTRON) -> np.ndarray:
    """χ_abc (A·m/V², complex) from [D_xz, D_yz] in Å, relaxation time τ (s) and drive frequency ω (rad/s).

    Shape (..., 2, 2, 2); index order (a, b, c) with j_a(2ω) = χ_abc E_b E_c for E(t) = Re(E e^{iωt}).
    """
    d = np.asarray(dipole_angstrom, float) * ANGSTROM  # (..., 2) m
    pref = -charge**3 * tau_s / (2 * HBAR**2 * (1 + 1j * omega_rad_s * tau_s))
    # χ_abc = pref ε_{a c z} D_{b z}
    return pref * np.einsum("ac,...b->...abc", LEVI_2D, d)


def intrinsic_density(ham: Hamiltonian, k: np.ndarray, mu: np.ndarray, smearing: Smearing) -> np.ndarray:
    """Per-band integrand of the intrinsic term (internal units Å³/eV), shape (N, M, 2, 2, 2, n)."""
    geo = band_geometry(ham, k, metric=True)
    w = smearing.delta(geo.energy[:, None, :], mu[None, :, None])  # (N, M, n) 1/eV
    v, g = geo.velocity, geo.bcp  # (N, 2, n), (N, 2, 2, n)
    term = np.einsum("kan,kbcn->kabcn", v, g)
    term = term - np.swapaxes(term, 1, 2)  # v_α G_βγ - v_β G_αγ
    return np.einsum("kmn,kabcn->kmabcn", w, term) / FOUR_PI2


@dataclass
class Tensor3Result:
    mu: np.ndarray  # (M,) eV
    sigma_si: np.ndarray  # (M, 2, 2, 2) A·m/V²
    per_band_si: np.ndarray  # (M, 2, 2, 2, n)
    n_points: int


def intrinsic_conductivity(ham: Hamiltonian, mu, smearing: Smearing, grid: int | tuple[int, int] = 200,
                           charge: float = ELECTRON, refine_iters: int = 0) -> Tensor3Result:
    """τ-independent second-order conductivity from the band-normalised quantum metric (A·m/V²)."""
    mu = np.atleast_1d(np.asarray(mu, float))
    res = integrate(ham.domain, lambda k: intrinsic_density(ham, k, mu, smearing), grid, refine_iters=refine_iters)
    # internal Å/eV -> SI: δ 1/eV, v eV·Å, G Å²/eV, d²k 1/Å²  =>  × ANGSTROM / e ;  prefactor q³/ħ
    per_band = res.value * (charge**3 / HBAR) * ANGSTROM / E_CHARGE
    return Tensor3Result(mu, per_band.sum(-1), per_band, res.n_points)


def _drude_density(ham, k, mu, smearing, step):
    geo = band_geometry(ham, k)
    dv = np.empty((len(k), 2, 2, ham.n_bands))  # [γ, α]: ∂_γ v_α, eV·Å²
    for c in range(2):
        e = np.zeros(2)
        e[c] = step
        vel = band_geometry(ham, np.concatenate([k + e, k - e])).velocity.reshape(2, len(k), 2, -1)
        dv[:, c] = (vel[0] - vel[1]) / (2 * step)
    w = smearing.delta(geo.energy[:, None, :], mu[None, :, None])  # -f0'
    # ∫ f0 ∂_β∂_γ v_α = ∫ (-f0') v_β ∂_γ v_α  ->  [α, β, γ]
    term = np.einsum("kbn,kcan->kabcn", geo.velocity, dv)
    return np.einsum("kmn,kabcn->kmabcn", w, term) / FOUR_PI2


def nonlinear_drude(ham: Hamiltonian, mu, smearing: Smearing, tau_s: float, grid: int | tuple[int, int] = 200,
                    charge: float = ELECTRON) -> Tensor3Result:
    """Nonlinear Drude conductivity (q³τ²/ħ²) ∫[dk] f0 ∂_β∂_γ v_α in A·m/V² (vanishes with time reversal)."""
    mu = np.atleast_1d(np.asarray(mu, float))
    step = 1e-4 * float(np.sqrt(ham.domain.area))
    res = integrate(ham.domain, lambda k: _drude_density(ham, k, mu, smearing, step), grid)
    # internal eV·Å -> SI m/s: × e·Å/ħ (one ħ turns ∂ε/∂k into a velocity, one turns ∂²ε/∂k² into ∂v/∂k)
    per_band = res.value * (charge**3 * tau_s**2 / HBAR**2) * E_CHARGE * ANGSTROM / HBAR
    return Tensor3Result(mu, per_band.sum(-1), per_band, res.n_points)
