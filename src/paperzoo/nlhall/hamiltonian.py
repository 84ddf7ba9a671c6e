"""Hamiltonian inputs: vectorised k·p callables and 2D tight-binding models.

Every Hamiltonian maps Cartesian wave vectors k of shape (N, 2) in 1/Å to H(k) of shape (N, n, n) in eV and
∂H/∂k of shape (N, 2, n, n) in eV·Å, and carries the k-space ``Domain`` to integrate over: the Brillouin zone
for a lattice model, a box around the band edge for a continuum model.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import UserError

HFunc = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Domain:
    """A parallelogram origin + s·a1 + t·a2, s, t in [0, 1), in 1/Å. ``periodic``: a Brillouin zone."""

    origin: np.ndarray
    vectors: np.ndarray  # rows a1, a2
    periodic: bool

    @property
    def area(self) -> float:
        return float(abs(np.linalg.det(self.vectors)))

    def cell_centres(self, n1: int, n2: int) -> np.ndarray:
        """Centres of an n1 × n2 grid of equal cells, shape (n1*n2, 2).

        A periodic domain puts the nodes at s = i/n1 (Γ included, so the grid keeps the lattice's point
        symmetry); a box uses the midpoints (i + 1/2)/n1.
        """
        shift = 0.0 if self.periodic else 0.5
        s = (np.arange(n1) + shift) / n1
        t = (np.arange(n2) + shift) / n2
        st = np.stack(np.meshgrid(s, t, indexing="ij"), axis=-1).reshape(-1, 2)
        return self.origin + st @ self.vectors

    @staticmethod
    def box(half_width: float, centre: tuple[float, float] = (0.0, 0.0)) -> "Domain":
        """The square [-K, K]² (1/Å) around ``centre``, for continuum models."""
        if half_width <= 0:
            raise ValueError(f"box half width must be > 0 1/Å, got {half_width}")
        c = np.asarray(centre, float)
        return Domain(c - half_width, np.eye(2) * 2 * half_width, periodic=False)


def reciprocal_vectors(lattice: np.ndarray) -> np.ndarray:
    """Rows b_i with a_i · b_j = 2π δ_ij, for real-space rows a_i (Å)."""
    return 2 * np.pi * np.linalg.inv(np.asarray(lattice, float)).T


class Hamiltonian:
    """Base: subclasses give ``n_bands``, ``domain`` and ``h_and_dh(k)``."""

    n_bands: int
    domain: Domain
    name: str = "model"

    def h_and_dh(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def h(self, k: np.ndarray) -> np.ndarray:
        """H(k), (N, n, n) eV, for Cartesian k (N, 2) in 1/Å."""
        return self.h_and_dh(k)[0]


class KpModel(Hamiltonian):
    """A vectorised callable H(kx, ky) -> (..., n, n), optionally with its analytic dH(kx, ky) -> (..., 2, n, n).

    Without ``dh`` the derivative is a fourth-order central difference with step ``fd_step`` (1/Å).
    """

    def __init__(self, h: HFunc, n_bands: int, domain: Domain, dh: HFunc | None = None, name: str = "kp",
                 fd_step: float = 1e-4):
        self._h, self._dh = h, dh
        self.n_bands, self.domain, self.name, self.fd_step = n_bands, domain, name, fd_step

    def _eval(self, k: np.ndarray) -> np.ndarray:
        out = np.asarray(self._h(k[:, 0], k[:, 1]), dtype=complex)
        if out.shape != (len(k), self.n_bands, self.n_bands):
            raise UserError(f"model {self.name}: H(kx, ky) returned shape {out.shape}, expected "
                            f"({len(k)}, {self.n_bands}, {self.n_bands})")
        return out

    def h_and_dh(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.atleast_2d(np.asarray(k, float))
        h = self._eval(k)
        if self._dh is not None:
            return h, np.asarray(self._dh(k[:, 0], k[:, 1]), dtype=complex)
        step = self.fd_step
        dh = np.empty((len(k), 2) + h.shape[1:], complex)
        for a in range(2):
            e = np.zeros(2)
            e[a] = step
            dh[:, a] = (8 * (self._eval(k + e) - self._eval(k - e))
                        - (self._eval(k + 2 * e) - self._eval(k - 2 * e))) / (12 * step)
        return h, dh


class TightBinding(Hamiltonian):
    """H_ij(k) = Σ_R t_ij(R) exp(i k·(R + τ_j - τ_i)) on a 2D lattice (the Wannier-centre, "atomic" gauge).

    ``lattice``: rows a1, a2 (Å); ``positions``: orbital centres τ in reduced coordinates (n, 2);
    ``rvecs``: integer lattice vectors (M, 2); ``hoppings``: t(R) (M, n, n) in eV, with both R and -R present
    (hermiticity is checked). Using the orbital positions in the phase is what WannierBerri and PythTB do, and it
    makes the Berry curvature the one of the Wannier-interpolated bands (intracell positions included).
    """

    def __init__(self, lattice, positions, rvecs, hoppings, name: str = "tb", chunk: int = 20000):
        self.lattice = np.asarray(lattice, float).reshape(2, 2)
        self.positions = np.asarray(positions, float).reshape(-1, 2)
        self.rvecs = np.asarray(rvecs, int).reshape(-1, 2)
        self.hoppings = np.asarray(hoppings, complex)
        self.n_bands = self.positions.shape[0]
        self.name, self.chunk = name, chunk
        if self.hoppings.shape != (len(self.rvecs), self.n_bands, self.n_bands):
            raise UserError(f"{name}: hoppings shape {self.hoppings.shape} does not match "
                            f"{len(self.rvecs)} lattice vectors and {self.n_bands} orbitals")
        self.domain = Domain(np.zeros(2), reciprocal_vectors(self.lattice), periodic=True)
        self._check_hermitian()
        self._r_cart = self.rvecs @ self.lattice  # (M, 2) Å
        self._tau_cart = self.positions @ self.lattice  # (n, 2) Å

    def _check_hermitian(self) -> None:
        index = {tuple(r): i for i, r in enumerate(self.rvecs)}
        if not np.isfinite(self.hoppings).all():
            raise UserError(f"{self.name}: hoppings must be finite numbers (found NaN or Inf)")
        for i, r in enumerate(self.rvecs):
            j = index.get(tuple(-r))
            here, there = tuple(int(x) for x in r), tuple(int(-x) for x in r)
            if j is None:
                raise UserError(f"{self.name}: lattice vector {here} present but {there} missing")
            if not np.allclose(self.hoppings[i], self.hoppings[j].conj().T, atol=1e-9):
                raise UserError(f"{self.name}: t(R) != t(-R)^† for R = {here}; H would not be hermitian")

    def h_and_dh(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.atleast_2d(np.asarray(k, float))
        n = self.n_bands
        h = np.empty((len(k), n, n), complex)
        dh = np.empty((len(k), 2, n, n), complex)
        flat = self.hoppings.reshape(len(self.rvecs), n * n)
        dtau = self._tau_cart[None, :, :] - self._tau_cart[:, None, :]  # τ_j - τ_i, (n, n, 2)
        for s in range(0, len(k), self.chunk):
            kk = k[s:s + self.chunk]
            phase_r = np.exp(1j * kk @ self._r_cart.T)  # (B, M)
            h_lat = (phase_r @ flat).reshape(-1, n, n)
            dh_lat = np.stack([((1j * phase_r * self._r_cart[:, a]) @ flat).reshape(-1, n, n) for a in range(2)], 1)
            phase_tau = np.exp(1j * np.einsum("ka,ija->kij", kk, dtau))  # (B, n, n)
            h[s:s + self.chunk] = h_lat * phase_tau
            dh[s:s + self.chunk] = (dh_lat + 1j * np.moveaxis(dtau, -1, 0)[None] * h_lat[:, None]) * phase_tau[:, None]
        return h, dh
