"""Band geometry at a batch of k points, from one batched eigendecomposition (no loop over k).

With v^a_nm = <n|∂_a H|m> (eV·Å) and Δ_nm = ε_n - ε_m (eV), for band n (partners m ≠ n, degenerate
partners |Δ| < ``degen_tol`` excluded):

    velocity        v^a_n   = v^a_nn                                          (eV·Å, = ħ × velocity)
    Berry curvature Ω_n     = -2 Im Σ_m v^x_nm v^y_mn / Δ_nm²                 (Å², Ω = ∇×A, A = i<u|∇u>)
    quantum metric  g^n_ab  =    Re Σ_m v^a_nm v^b_mn / Δ_nm²                 (Å²)
    band-normalised G^n_ab  =  2 Re Σ_m v^a_nm v^b_mn / Δ_nm³                 (Å²/eV, Berry-connection polarisability)

Check: H = v(k_x σ_x + k_y σ_y) + m σ_z gives Ω = -v² m / (2E³) on the upper band, E = √(v²k² + m²).
"""

from dataclasses import dataclass

import numpy as np

from .hamiltonian import Hamiltonian


@dataclass
class BandGeometry:
    energy: np.ndarray  # (N, n) eV
    velocity: np.ndarray  # (N, 2, n) eV·Å
    omega: np.ndarray  # (N, n) Å²
    metric: np.ndarray | None = None  # (N, 2, 2, n) Å²
    bcp: np.ndarray | None = None  # band-normalised quantum metric G, (N, 2, 2, n) Å²/eV


def band_geometry(ham: Hamiltonian, k: np.ndarray, metric: bool = False, degen_tol: float = 1e-6) -> BandGeometry:
    """Bands, velocities, Berry curvature (and quantum metrics with ``metric=True``) at Cartesian k (N, 2) 1/Å."""
    h, dh = ham.h_and_dh(np.atleast_2d(np.asarray(k, float)))
    energy, u = np.linalg.eigh(h)
    ud = np.conj(np.swapaxes(u, -1, -2))
    vmat = ud[:, None] @ dh @ u[:, None]  # (N, 2, n, n): <n|∂_a H|m>
    velocity = np.real(np.diagonal(vmat, axis1=-2, axis2=-1))
    gap = energy[:, :, None] - energy[:, None, :]  # Δ_nm
    far = np.abs(gap) > degen_tol
    inv = np.where(far, 1.0 / np.where(far, gap, 1.0), 0.0)
    inv2 = inv * inv
    # v^a_nm v^b_mn summed over m with the weights; vmat[:, b, m, n] = conj(vmat[:, b, n, m])
    vx, vy = vmat[:, 0], vmat[:, 1]
    omega = -2.0 * np.imag(np.einsum("knm,kmn,knm->kn", vx, vy, inv2))
    geo = BandGeometry(energy, velocity, omega)
    if metric:
        prod = np.einsum("kanm,kbmn->kabnm", vmat, vmat)  # (N, 2, 2, n, m)
        geo.metric = np.real(np.einsum("kabnm,knm->kabn", prod, inv2))
        geo.bcp = 2.0 * np.real(np.einsum("kabnm,knm->kabn", prod, inv2 * inv))
    return geo


def omega_derivative(ham: Hamiltonian, k: np.ndarray, step: float | None = None) -> np.ndarray:
    """∂_b Ω_n (Å³), shape (N, 2, n), by a fourth-order central difference of the Kubo Ω in k.

    Bands are labelled by energy order, so this is valid away from band crossings. ``step`` defaults to 1e-4 of
    the domain size (1/Å).
    """
    k = np.atleast_2d(np.asarray(k, float))
    if step is None:
        step = 1e-4 * float(np.sqrt(ham.domain.area))
    out = np.empty((len(k), 2, ham.n_bands))
    for b in range(2):
        e = np.zeros(2)
        e[b] = step
        shifted = np.concatenate([k + e, k - e, k + 2 * e, k - 2 * e])
        om = band_geometry(ham, shifted).omega.reshape(4, len(k), -1)
        out[:, b] = (8 * (om[0] - om[1]) - (om[2] - om[3])) / (12 * step)
    return out
