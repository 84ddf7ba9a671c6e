"""Built-in 2D models (energies in eV, lengths in Å). Sources and parameter choices are in docs/nlhall.md."""

import numpy as np

from .hamiltonian import Domain, KpModel, TightBinding

S0 = np.eye(2, dtype=complex)
SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.array([[1, 0], [0, -1]], complex)


def _outer(c: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.asarray(c)[..., None, None] * m


def _dirac_valley(kx, ky, v, m, t, valley):
    """One valley; valley = -1 is the time-reversed partner H*(-k) of valley +1."""
    s = valley
    return _outer(t * s * kx, S0) + _outer(v * s * kx, SX) + _outer(v * ky, SY) + _outer(m * np.ones_like(kx), SZ)


def tilted_dirac(v: float = 1.0, m: float = 0.2, t: float = 0.05, valleys: int = 1, k_cut: float = 2.0) -> KpModel:
    """H = t k_x + v(k_x σ_x + k_y σ_y) + m σ_z (v, t in eV·Å, m in eV); ``valleys=2`` adds the time-reversed
    partner H*(-k) = -t k_x + v(-k_x σ_x + k_y σ_y) + m σ_z as a second 2×2 block. Integrated over |k_x|,|k_y| ≤ k_cut.
    """
    if valleys not in (1, 2):
        raise ValueError(f"valleys must be 1 or 2, got {valleys}")
    signs = (1, -1)[:valleys]
    n = 2 * valleys

    def h(kx, ky):
        out = np.zeros(np.shape(kx) + (n, n), complex)
        for i, s in enumerate(signs):
            out[..., 2 * i:2 * i + 2, 2 * i:2 * i + 2] = _dirac_valley(kx, ky, v, m, t, s)
        return out

    def dh(kx, ky):
        out = np.zeros(np.shape(kx) + (2, n, n), complex)
        for i, s in enumerate(signs):
            out[..., 0, 2 * i:2 * i + 2, 2 * i:2 * i + 2] = s * (t * S0 + v * SX)
            out[..., 1, 2 * i:2 * i + 2, 2 * i:2 * i + 2] = v * SY
        return out

    return KpModel(h, n, Domain.box(k_cut), dh=dh, name=f"tilted_dirac_{valleys}v")


def tilted_dirac_bcd(mu: np.ndarray, m: float, t: float, valleys: int = 1) -> np.ndarray:
    """Analytic T = 0 Berry curvature dipole D_xz (Å) of ``tilted_dirac`` to first order in t:
    D_xz = -3 t m (μ² - m²) / (8π μ⁴) per valley for |μ| > |m|, zero in the gap."""
    mu = np.asarray(mu, float)
    out = -3 * t * m * (mu**2 - m**2) / (8 * np.pi * np.maximum(mu**4, 1e-300))
    return valleys * np.where(np.abs(mu) > abs(m), out, 0.0)


HONEYCOMB_TAU = np.array([[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
NN_R = np.array([[0, 0], [-1, 0], [0, -1]])  # B images bonded to A at (0,0): bonds at 60°, 120°(mirror), -90°
NNN_R = np.array([[1, 0], [-1, 1], [0, -1]])  # a1, a2 - a1, -a2: one circulation sense


def honeycomb_lattice(a_cc: float) -> np.ndarray:
    a = np.sqrt(3) * a_cc
    return a * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def _assemble(onsite: np.ndarray, hops: list[tuple[tuple[int, int], int, int, complex]]):
    """Full (rvecs, t(R)) from on-site energies and one-directional hoppings (R, i, j, amp): <i,0|H|j,R> = amp;
    each hopping's hermitian partner is added."""
    n = len(onsite)
    full: dict[tuple[int, int], np.ndarray] = {(0, 0): np.diag(onsite).astype(complex)}
    for r, i, j, amp in hops:
        mr = (-r[0], -r[1])
        full.setdefault(r, np.zeros((n, n), complex))[i, j] += amp
        full.setdefault(mr, np.zeros((n, n), complex))[j, i] += np.conj(amp)
    rvecs = np.array(list(full.keys()), int)
    return rvecs, np.stack(list(full.values()))


def gapped_graphene(t: float = 2.7, gap: float = 0.2, strain: float = 0.0, beta: float = 3.37,
                    poisson: float = 0.165, a_cc: float = 1.42) -> TightBinding:
    """Nearest-neighbour graphene, -t Σ_δ e^{ik·δ}, staggered potential ±gap/2 (eV), uniaxial strain along the
    armchair (y) axis entering through the hoppings only: bond at angle θ to y stretches by
    ε_b = strain (cos²θ - ν sin²θ) and its hopping becomes t exp(-β ε_b). strain = 0 keeps C3; strain ≠ 0 keeps
    the mirror x → -x, so only D_xz survives.
    """
    lattice = honeycomb_lattice(a_cc)
    hops = []
    for r in NN_R:
        bond = (HONEYCOMB_TAU[1] + r - HONEYCOMB_TAU[0]) @ lattice
        cos2 = (bond[1] / np.linalg.norm(bond)) ** 2
        eps_b = strain * (cos2 - poisson * (1 - cos2))
        hops.append(((int(r[0]), int(r[1])), 0, 1, -t * np.exp(-beta * eps_b)))
    rvecs, hops = _assemble(np.array([gap / 2, -gap / 2]), hops)
    return TightBinding(lattice, HONEYCOMB_TAU, rvecs, hops, name=f"graphene_gap{gap}_strain{strain}")


def haldane(t1: float = 1.0, t2: float = 0.15, phi: float = np.pi / 2, mass: float = 0.2,
            a_cc: float = 1.0) -> TightBinding:
    """Haldane model: NN hopping -t1, NNN hopping -t2 e^{±iφ} (sign by sublattice and circulation), on-site ±mass.
    Topological (|C| = 1) for |mass| < 3√3 t2 |sin φ|."""
    hops = [((int(r[0]), int(r[1])), 0, 1, -t1) for r in NN_R]
    for r in NNN_R:
        key = (int(r[0]), int(r[1]))
        hops += [(key, 0, 0, -t2 * np.exp(1j * phi)), (key, 1, 1, -t2 * np.exp(-1j * phi))]
    rvecs, hops = _assemble(np.array([mass, -mass]), hops)
    return TightBinding(honeycomb_lattice(a_cc), HONEYCOMB_TAU, rvecs, hops, name=f"haldane_M{mass}")


def pt_antiferromagnet(t: float = 1.0, t_prime: float = 0.08, soc: float = 0.8, exchange: float = 0.6,
                       neel_angle: float = np.pi / 4, a: float = 1.0) -> KpModel:
    """4-band CuMnAs-type PT-symmetric antiferromagnet (sublattice τ ⊗ spin σ), after Šmejkal et al. 2017:

    H = -2t τ_x cos(k_x a/2) cos(k_y a/2) - t'(cos k_x a + cos k_y a)
        + λ τ_z (σ_y sin k_x a - σ_x sin k_y a) + J τ_z (n·σ),   n = (cos θ, sin θ, 0).

    P (τ_x, k → -k) and T (iσ_y K, k → -k) are each broken by J, PT is kept: bands are doubly degenerate,
    Ω = 0 and D = 0, but the intrinsic (quantum-metric) second-order conductivity survives.
    """
    n = np.array([np.cos(neel_angle), np.sin(neel_angle)])
    tx = np.kron(SX, S0)
    zsx, zsy = np.kron(SZ, SX), np.kron(SZ, SY)
    eye = np.eye(4, dtype=complex)

    def h(kx, ky):
        cx, cy = np.cos(kx * a / 2), np.cos(ky * a / 2)
        return (_outer(-2 * t * cx * cy, tx) + _outer(-t_prime * (np.cos(kx * a) + np.cos(ky * a)), eye)
                + _outer(soc * np.sin(kx * a), zsy) - _outer(soc * np.sin(ky * a), zsx)
                + _outer(exchange * np.ones_like(kx), n[0] * zsx + n[1] * zsy))

    def dh(kx, ky):
        sx, sy = np.sin(kx * a / 2), np.sin(ky * a / 2)
        cx, cy = np.cos(kx * a / 2), np.cos(ky * a / 2)
        ddx = (_outer(t * a * sx * cy, tx) + _outer(t_prime * a * np.sin(kx * a), eye)
               + _outer(soc * a * np.cos(kx * a), zsy))
        ddy = (_outer(t * a * cx * sy, tx) + _outer(t_prime * a * np.sin(ky * a), eye)
               - _outer(soc * a * np.cos(ky * a), zsx))
        return np.stack([ddx, ddy], axis=-3)

    g = 2 * np.pi / a
    domain = Domain(np.array([-np.pi / a, -np.pi / a]), np.eye(2) * g, periodic=True)
    return KpModel(h, 4, domain, dh=dh, name=f"pt_afm_theta{neel_angle:.3f}")


def wte2_like(v_x: float = 2.0, v_y: float = 1.2, tilt: float = 0.6, gap: float = 0.08, k_cut: float = 0.4
              ) -> KpModel:
    """Low-energy WTe2-like 4-band model: two anisotropic tilted massive Dirac cones related by time reversal,
    H_+ = tilt k_x + v_x k_x σ_x + v_y k_y σ_y + (gap/2) σ_z and H_- = H_+*(-k) (v in eV·Å, gap in eV).

    Illustrative parameters of the order reported for few-layer Td-WTe2 (Fermi velocities ~2-3×10⁵ m/s,
    i.e. 1-2 eV·Å; strongly tilted cones; displacement-field gaps of tens of meV). Not a fit to DFT: use a
    Wannier90 file of WTe2 for quantitative work. The mirror y -> -y leaves only D_xz.
    """

    def block(kx, ky, s):
        return (_outer(tilt * s * kx, S0) + _outer(v_x * s * kx, SX) + _outer(v_y * ky, SY)
                + _outer(gap / 2 * np.ones_like(kx), SZ))

    def h(kx, ky):
        out = np.zeros(np.shape(kx) + (4, 4), complex)
        out[..., :2, :2], out[..., 2:, 2:] = block(kx, ky, 1), block(kx, ky, -1)
        return out

    def dh(kx, ky):
        out = np.zeros(np.shape(kx) + (2, 4, 4), complex)
        for i, s in enumerate((1, -1)):
            out[..., 0, 2 * i:2 * i + 2, 2 * i:2 * i + 2] = s * (tilt * S0 + v_x * SX)
            out[..., 1, 2 * i:2 * i + 2, 2 * i:2 * i + 2] = v_y * SY
        return out

    return KpModel(h, 4, Domain.box(k_cut), dh=dh, name="wte2_like")
