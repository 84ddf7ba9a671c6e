"""Berry curvature dipole in 2D, in both forms (the method's core; units Å):

    Fermi sea:     D_bz = Σ_n ∫ d²k/(2π)²  f0(ε_n)  ∂_b Ω_n
    Fermi surface: D_bz = Σ_n ∫ d²k/(2π)² (-∂f0/∂ε_n) v^b_n Ω_n        (v in eV·Å, Ω in Å²)

The two are equal by integration by parts (∂_b f0 = f0' v_b, no boundary term on a Brillouin zone). In 2D only
D_xz and D_yz exist; results are arrays (..., 2) = [D_xz, D_yz] per chemical potential μ (eV).
Also: Berry curvature maps and Chern numbers C = Σ_occ ∫ d²k/(2π) Ω_n.
"""

from dataclasses import dataclass

import numpy as np

from .fermi import Smearing
from .geometry import band_geometry, omega_derivative
from .hamiltonian import Domain, Hamiltonian
from .integrate import IntegrationResult, integrate

FOUR_PI2 = 4 * np.pi**2
FORMS = ("surface", "sea")


def bcd_density(ham: Hamiltonian, k: np.ndarray, mu: np.ndarray, smearing: Smearing, form: str = "surface"
                ) -> np.ndarray:
    """Per-band BCD density at k: shape (N, len(mu), 2, n), in Å³ (integrate over d²k in 1/Å² to get Å)."""
    mu = np.atleast_1d(np.asarray(mu, float))
    geo = band_geometry(ham, k)
    e = geo.energy[:, None, :]  # (N, 1, n)
    if form == "surface":
        weight = smearing.delta(e, mu[None, :, None])  # (N, M, n)
        field = geo.velocity * geo.omega[:, None, :]  # (N, 2, n)
    elif form == "sea":
        weight = smearing.occupation(e, mu[None, :, None])
        field = omega_derivative(ham, k)
    else:
        raise ValueError(f"BCD form must be one of {FORMS}, got {form!r}")
    return weight[:, :, None, :] * field[:, None, :, :] / FOUR_PI2


def fermi_window(ham: Hamiltonian, mu: np.ndarray, smearing: Smearing, safety: float = 2.0):
    """Selector for ``integrate(refine_where=...)``: cells in which some band may come within the smearing's
    reach of some μ, judged from the centre's energy and |velocity| × cell radius (× ``safety``)."""
    mu = np.atleast_1d(np.asarray(mu, float))

    def select(k: np.ndarray, radius: float) -> np.ndarray:
        geo = band_geometry(ham, k)
        spread = safety * radius * np.linalg.norm(geo.velocity, axis=1) + smearing.reach  # (N, n) eV
        dist = np.abs(geo.energy[:, None, :] - mu[None, :, None]).min(1)  # (N, n)
        return (dist < spread).any(1)

    return select


@dataclass
class BCDResult:
    mu: np.ndarray  # (M,) eV
    dipole: np.ndarray  # (M, 2) Å: D_xz, D_yz
    per_band: np.ndarray  # (M, 2, n) Å
    integration: IntegrationResult


def berry_curvature_dipole(ham: Hamiltonian, mu, smearing: Smearing, form: str = "surface",
                           grid: int | tuple[int, int] = 200, fermi_subdivision: int = 1, refine_iters: int = 0,
                           refine_fraction: float = 0.02) -> BCDResult:
    """D_xz, D_yz (Å) of a 2D model at chemical potentials ``mu`` (eV), total and per band.

    ``fermi_subdivision`` = s > 1 (surface form only) splits every cell near the Fermi surface into s × s,
    giving the (s·grid)² result at a fraction of its cost; ``refine_iters`` adds WannierBerri-style
    refinement of the largest contributions.
    """
    mu = np.atleast_1d(np.asarray(mu, float))
    if fermi_subdivision > 1 and form != "surface":
        raise ValueError("fermi_subdivision needs form='surface' (the Fermi sea is not local to the Fermi surface)")
    res = integrate(ham.domain, lambda k: bcd_density(ham, k, mu, smearing, form), grid,
                    refine_iters=refine_iters, refine_fraction=refine_fraction,
                    refine_where=fermi_window(ham, mu, smearing), where_subdivision=fermi_subdivision)
    return BCDResult(mu, res.value.sum(-1), res.value, res)


def converged_dipole(ham: Hamiltonian, mu, smearing: Smearing, rel_tol: float = 0.01, coarse: int = 60,
                     max_subdivision: int = 64) -> tuple[BCDResult, list[tuple[int, int, np.ndarray]]]:
    """Fermi-surface D to ``rel_tol``: the coarse grid stays, the Fermi-window subdivision s grows ×1.5 until
    successive D change by < rel_tol × max|D|. Returns the last result and [(s, points, D)] per step."""
    s, previous, steps = 2, None, []
    while True:
        res = berry_curvature_dipole(ham, mu, smearing, grid=coarse, fermi_subdivision=s)
        steps.append((s, res.integration.n_points, res.dipole))
        if previous is not None:
            scale = np.abs(res.dipole).max()
            if np.abs(res.dipole - previous).max() <= rel_tol * scale:
                return res, steps
        if s >= max_subdivision:
            raise RuntimeError(f"BCD not converged to {rel_tol:g} at subdivision {s}; raise max_subdivision")
        previous, s = res.dipole, min(max_subdivision, int(np.ceil(s * 1.5)))


def berry_curvature_map(ham: Hamiltonian, n: int = 100, domain: Domain | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """k points (n*n, 2) 1/Å over ``domain`` (default the model's) and Ω_n there (n*n, bands) Å²."""
    k = (domain or ham.domain).cell_centres(n, n)
    return k, band_geometry(ham, k).omega


def chern_number(ham: Hamiltonian, n_occupied: int, grid: int = 120) -> float:
    """C = (1/2π) Σ_{n < n_occupied} ∫_BZ Ω_n d²k (needs a periodic domain and a gap above band n_occupied-1)."""
    if not ham.domain.periodic:
        raise ValueError("a Chern number needs a Brillouin zone (periodic domain), not a k·p box")
    if not 0 < n_occupied < ham.n_bands:
        raise ValueError(f"n_occupied must be in 1..{ham.n_bands - 1}, got {n_occupied}")
    res = integrate(ham.domain, lambda k: band_geometry(ham, k).omega[:, :n_occupied].sum(1), grid)
    return float(res.value) / (2 * np.pi)


def temperature_scan(ham: Hamiltonian, mu, temperatures_k, rel_tol: float = 0.01, coarse: int = 60
                     ) -> np.ndarray:
    """Converged Fermi-surface D (Å), shape (len(T), len(mu), 2), Fermi-Dirac at each temperature (K > 0)."""
    from .units import kelvin_to_ev

    temps = np.atleast_1d(np.asarray(temperatures_k, float))
    if (temps <= 0).any():
        raise ValueError(f"temperatures must be > 0 K on a k grid, got {temps.tolist()}")
    return np.stack([converged_dipole(ham, mu, Smearing("fermi", kelvin_to_ev(t)), rel_tol=rel_tol,
                                      coarse=coarse)[0].dipole for t in temps])
