"""Tight-binding input/output: Wannier90 ``seedname_hr.dat`` / ``seedname_tb.dat`` and PythTB models.

Wannier90 stores H_mn(R) = <m0|H|nR> (eV) with Wigner-Seitz degeneracies; H(k) = Σ_R e^{ik·R} H_mn(R)/deg(R).
A 2D model keeps k_z = 0, so entries with the same (R1, R2) and any R3 are summed. ``_tb.dat`` also carries the
lattice (Å) and the position matrix, whose R = 0 diagonal gives the Wannier centres; ``_hr.dat`` needs the
lattice from the caller (and optionally the centres, e.g. from ``seedname_centres.xyz``).

Both readers check the whole file: a header whose num_wann or nrpts does not match the number of matrix-element
lines is reported as such, every number must be finite, each (m, n) appears once per R block, and nothing may
follow the last block. Errors are ``DataError``s naming the file and line (exit 2 on the command line).
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.loaders import loader

from .errors import UserError
from .hamiltonian import TightBinding


class _Lines:
    """Non-blank lines with their 1-based numbers, consumed in order, with errors naming file and line."""

    def __init__(self, path: Path, skip_header: int = 1):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"Wannier90 file not found: {self.path}")
        try:
            text = self.path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"{self.path}: not a Wannier90 text file (byte {err.start} is not UTF-8 text)") from None
        if "\x00" in text:
            raise DataError(f"{self.path}: not a Wannier90 text file (it holds NUL bytes)")
        raw = text.splitlines()
        self.items = [(i + 1, ln.split()) for i, ln in enumerate(raw) if i >= skip_header and ln.strip()]
        self.pos = 0

    def error(self, lineno: int, msg: str) -> DataError:
        return DataError(f"{self.path}, line {lineno}: {msg}")

    @property
    def left(self) -> int:
        return len(self.items) - self.pos

    def next(self, what: str) -> tuple[int, list[str]]:
        if self.pos >= len(self.items):
            last = self.items[-1][0] if self.items else 1
            raise DataError(f"{self.path}, line {last + 1}: file ends early, expected {what}")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def numbers(self, what: str, count: int | None, kind=float) -> tuple[int, list]:
        lineno, tokens = self.next(what)
        if count is not None and len(tokens) != count:
            raise self.error(lineno, f"expected {what} ({count} numbers), got {len(tokens)}: {' '.join(tokens)!r}")
        try:
            values = [kind(t) for t in tokens]
        except ValueError:
            raise self.error(lineno, f"expected {what}, got {' '.join(tokens)!r}") from None
        bad = [t for t, v in zip(tokens, values, strict=True) if not math.isfinite(v)]
        if bad:
            raise self.error(lineno, f"{bad[0]!r} in {what} is not a finite number; every value of a Wannier90 "
                                     "file must be finite")
        return lineno, values

    def integer(self, what: str) -> tuple[int, int]:
        lineno, (value,) = self.numbers(what, 1, int)
        if value <= 0:
            raise self.error(lineno, f"{what} must be > 0, got {value}")
        return lineno, value

    def degeneracies(self, nrpts: int) -> np.ndarray:
        deg: list[int] = []
        while len(deg) < nrpts:
            lineno, values = self.numbers("Wigner-Seitz degeneracies (integers)", None, int)
            if len(values) > 15 or len(deg) + len(values) > nrpts:
                raise self.error(lineno, f"too many degeneracies: {nrpts} expected in total (nrpts), at most 15 "
                                         "per line")
            if min(values) <= 0:
                raise self.error(lineno, "degeneracies must be positive integers")
            deg += values
        return np.array(deg, float)

    def check_size(self, num_wann: tuple[int, int], nrpts: int, lines_of) -> None:
        """The lines left must be ``lines_of(num_wann)`` for this nrpts; if another num_wann fits, say so."""
        lineno, nw = num_wann
        if self.left == lines_of(nw):
            return
        fits = [w for w in range(1, 1 + int(math.isqrt(max(self.left, 1))) + 1) if lines_of(w) == self.left]
        if fits:
            raise self.error(lineno, f"num_wann = {nw} does not match the data: the {self.left} lines after the "
                                     f"degeneracies are what num_wann = {fits[0]} gives with nrpts = {nrpts} "
                                     f"({lines_of(nw)} expected for num_wann = {nw})")

    def finish(self, what: str) -> None:
        if self.left:
            lineno, tokens = self.items[self.pos]
            raise self.error(lineno, f"unexpected extra data after {what}: {' '.join(tokens)[:60]!r}")


def _fold_2d(entries: dict, num_wann: int) -> tuple[np.ndarray, np.ndarray]:
    rvecs = np.array(sorted(entries), int)
    return rvecs, np.stack([entries[tuple(r)] for r in rvecs]) if len(rvecs) else np.zeros((0, num_wann, num_wann))


def _validate_lattice(lattice, path) -> np.ndarray:
    lat = np.asarray(lattice, float)
    if not np.isfinite(lat).all():
        raise UserError(f"{path}: the lattice vectors must be finite numbers, got {lat.tolist()}")
    if lat.shape == (3, 3):
        if np.abs(lat[:2, 2]).max() > 1e-8 or np.abs(lat[2, :2]).max() > 1e-8:
            raise UserError(f"{path}: a 2D model needs a1, a2 in the xy plane and a3 along z, got {lat.tolist()}")
        lat = lat[:2, :2]
    if lat.shape != (2, 2) or abs(np.linalg.det(lat)) < 1e-12:
        raise UserError(f"{path}: lattice must be 2×2 (or 3×3 with a3 ∥ z) and non-singular, got {lat.tolist()}")
    return lat


def _orbitals(lines: _Lines, lineno: int, m: float, n: float, num_wann: int) -> tuple[int, int]:
    if m != int(m) or n != int(n):
        raise lines.error(lineno, f"orbital indices m n must be integers, got {m:g} {n:g}")
    m, n = int(m), int(n)
    if not (1 <= m <= num_wann and 1 <= n <= num_wann):
        raise lines.error(lineno, f"orbital indices must be in 1..{num_wann} (num_wann), got m={m}, n={n}")
    return m, n


@dataclass
class HrData:
    """The content of a ``seedname_hr.dat``: H_mn(R) / deg(R) for every R = (R1, R2, R3), in eV."""

    path: Path
    num_wann: int
    rvecs: np.ndarray  # (nrpts, 3) int
    hoppings: np.ndarray  # (nrpts, num_wann, num_wann) complex, already divided by the degeneracies


@loader("nlhall.hr_dat", kind="file", suffix="_hr.dat", doc="Wannier90 seedname_hr.dat (H(R), no lattice)")
def read_hr_dat(path) -> HrData:
    """Read and check ``seedname_hr.dat`` (header, num_wann, nrpts, degeneracies, nrpts × num_wann² lines)."""
    lines = _Lines(path)
    nw_line = lines.integer("num_wann")
    num_wann = nw_line[1]
    nrpts = lines.integer("nrpts")[1]
    deg = lines.degeneracies(nrpts)
    lines.check_size(nw_line, nrpts, lambda w: nrpts * w * w)
    rvecs, hops = np.zeros((nrpts, 3), int), np.zeros((nrpts, num_wann, num_wann), complex)
    for ir in range(nrpts):
        seen = np.zeros((num_wann, num_wann), bool)
        for _ in range(num_wann * num_wann):
            lineno, vals = lines.numbers("'R1 R2 R3 m n Re(H) Im(H)'", 7)
            if any(v != int(v) for v in vals[:3]):
                raise lines.error(lineno, "R1 R2 R3 must be integers")
            r = [int(v) for v in vals[:3]]
            m, n = _orbitals(lines, lineno, vals[3], vals[4], num_wann)
            if not seen.any():
                rvecs[ir] = r
            elif list(rvecs[ir]) != r:
                raise lines.error(lineno, f"R = {tuple(r)} starts a new block inside block {ir + 1} "
                                          f"(R = {tuple(int(x) for x in rvecs[ir])}), which needs num_wann² = "
                                          f"{num_wann * num_wann} lines")
            if seen[m - 1, n - 1]:
                raise lines.error(lineno, f"(m, n) = ({m}, {n}) appears twice in the block of R = {tuple(r)}")
            seen[m - 1, n - 1] = True
            hops[ir, m - 1, n - 1] = complex(vals[5], vals[6]) / deg[ir]
    lines.finish(f"{nrpts} R blocks of num_wann² = {num_wann * num_wann} lines")
    return HrData(Path(path), num_wann, rvecs, hops)


def load_hr_dat(path, lattice, centres_cart=None, name: str | None = None) -> TightBinding:
    """Read ``seedname_hr.dat``. ``lattice``: rows a1, a2 (Å, 2×2 or 3×3); ``centres_cart``: Wannier centres
    (num_wann, 2 or 3) in Å, default all at the origin (the Wannier90 lattice gauge)."""
    data = read_hr_dat(path)
    lat = _validate_lattice(lattice, path)
    entries: dict[tuple[int, int], np.ndarray] = {}
    for r, h in zip(data.rvecs, data.hoppings, strict=True):
        key = (int(r[0]), int(r[1]))
        entries[key] = entries.get(key, np.zeros_like(h)) + h
    rvecs, hops = _fold_2d(entries, data.num_wann)
    centres = np.zeros((data.num_wann, 2)) if centres_cart is None else np.asarray(centres_cart, float)[:, :2]
    if centres.shape != (data.num_wann, 2):
        raise UserError(f"centres must have shape ({data.num_wann}, 2 or 3), got {np.shape(centres_cart)}")
    return TightBinding(lat, centres @ np.linalg.inv(lat), rvecs, hops, name=name or Path(path).stem)


@loader("nlhall.tb_dat", kind="file", suffix="_tb.dat", doc="Wannier90 seedname_tb.dat (lattice, H(R), r(R))")
def load_tb_dat(path, name: str | None = None, use_centres: bool = True) -> TightBinding:
    """Read ``seedname_tb.dat`` (lattice, H(R), position matrix); centres from diag r(R=0) when ``use_centres``."""
    lines = _Lines(path)
    lat3 = np.array([lines.numbers(f"lattice vector a{i + 1} (3 numbers, Å)", 3)[1] for i in range(3)])
    lat = _validate_lattice(lat3, path)
    nw_line = lines.integer("num_wann")
    num_wann = nw_line[1]
    nrpts = lines.integer("nrpts")[1]
    deg = lines.degeneracies(nrpts)
    lines.check_size(nw_line, nrpts, lambda w: 2 * nrpts * (1 + w * w))
    rlist, ham = [], np.zeros((nrpts, num_wann, num_wann), complex)
    for ir in range(nrpts):
        _, r = lines.numbers("'R1 R2 R3' of a Hamiltonian block", 3, int)
        rlist.append(tuple(r))
        for _ in range(num_wann * num_wann):
            lineno, vals = lines.numbers("'m n Re(H) Im(H)'", 4)
            m, n = _orbitals(lines, lineno, vals[0], vals[1], num_wann)
            ham[ir, m - 1, n - 1] = complex(vals[2], vals[3])
    centres = np.zeros((num_wann, 2))
    for _ in range(nrpts):
        _, r = lines.numbers("'R1 R2 R3' of a position block", 3, int)
        for _ in range(num_wann * num_wann):
            lineno, vals = lines.numbers("'m n Re(x) Im(x) Re(y) Im(y) Re(z) Im(z)'", 8)
            m, n = _orbitals(lines, lineno, vals[0], vals[1], num_wann)
            if r == [0, 0, 0] and m == n:
                centres[m - 1] = vals[2], vals[4]
    lines.finish(f"{nrpts} Hamiltonian and {nrpts} position blocks (num_wann = {num_wann})")
    entries: dict[tuple[int, int], np.ndarray] = {}
    for ir, r in enumerate(rlist):
        key = (r[0], r[1])
        entries[key] = entries.get(key, np.zeros((num_wann, num_wann), complex)) + ham[ir] / deg[ir]
    rvecs, hops = _fold_2d(entries, num_wann)
    if not use_centres:
        centres[:] = 0.0
    return TightBinding(lat, centres @ np.linalg.inv(lat), rvecs, hops, name=name or Path(path).stem)


def write_hr_dat(tb: TightBinding, path, header: str = "written by paperzoo.nlhall") -> None:
    """Write ``tb`` as a Wannier90 ``_hr.dat`` (R3 = 0, degeneracy 1). Orbital positions are not stored there;
    pass ``tb.positions @ tb.lattice`` as ``centres_cart`` when reading it back."""
    n = tb.n_bands
    out = [header, f"{n:12d}", f"{len(tb.rvecs):12d}"]
    for s in range(0, len(tb.rvecs), 15):
        out.append("".join(f"{1:5d}" for _ in tb.rvecs[s:s + 15]))
    for r, h in zip(tb.rvecs, tb.hoppings, strict=True):
        for j in range(n):
            for i in range(n):
                out.append(f"{r[0]:5d}{r[1]:5d}{0:5d}{i + 1:5d}{j + 1:5d} {h[i, j].real:22.15e} {h[i, j].imag:22.15e}")
    Path(path).write_text("\n".join(out) + "\n")


def write_tb_dat(tb: TightBinding, path, c_axis: float = 20.0, header: str = "written by paperzoo.nlhall") -> None:
    """Write ``tb`` as a Wannier90 ``_tb.dat`` with the Wannier centres on the R = 0 position diagonal."""
    n = tb.n_bands
    lat3 = np.eye(3) * c_axis
    lat3[:2, :2] = tb.lattice
    out = [header] + [" ".join(f"{x:22.15e}" for x in row) for row in lat3]
    out += [f"{n:12d}", f"{len(tb.rvecs):12d}"]
    for s in range(0, len(tb.rvecs), 15):
        out.append("".join(f"{1:5d}" for _ in tb.rvecs[s:s + 15]))
    for r, h in zip(tb.rvecs, tb.hoppings, strict=True):
        out += ["", f"{r[0]:5d}{r[1]:5d}{0:5d}"]
        out += [f"{i + 1:5d}{j + 1:5d} {h[i, j].real:22.15e} {h[i, j].imag:22.15e}" for j in range(n) for i in range(n)]
    centres = tb.positions @ tb.lattice
    for r in tb.rvecs:
        out += ["", f"{r[0]:5d}{r[1]:5d}{0:5d}"]
        for j in range(n):
            for i in range(n):
                x = centres[i] if (i == j and not r.any()) else (0.0, 0.0)
                out.append(f"{i + 1:5d}{j + 1:5d}" + "".join(f" {v:22.15e} {0.0:22.15e}" for v in (*x, 0.0)))
    Path(path).write_text("\n".join(out) + "\n")


def from_pythtb(model, name: str = "pythtb") -> TightBinding:
    """A TightBinding from a PythTB ``tb_model`` (1.x attributes; 2 periodic directions; spinless or spinful)."""
    try:
        dim_k, lat, orb = model._dim_k, np.asarray(model._lat, float), np.asarray(model._orb, float)
        per, nspin = list(model._per), model._nspin
        site, hoppings = model._site_energies, model._hoppings
    except AttributeError as err:
        raise UserError(f"not a PythTB 1.x tb_model ({err}); PythTB >= 2 models are not supported yet") from None
    if dim_k != 2:
        raise UserError(f"need a 2D PythTB model (dim_k = 2), got dim_k = {dim_k}")
    lat2, orb2 = lat[np.ix_(per, per)], orb[:, per]
    norb = len(orb2)
    n = norb * nspin
    positions = np.repeat(orb2, nspin, axis=0)
    onsite = np.zeros((n, n), complex)
    full: dict[tuple[int, int], np.ndarray] = {}
    for i in range(norb):
        e = np.asarray(site[i], complex)
        onsite[i * nspin:(i + 1) * nspin, i * nspin:(i + 1) * nspin] = e if nspin == 2 else e.reshape(1, 1)
    full[(0, 0)] = onsite
    for hop in hoppings:
        amp, i, j = hop[0], hop[1], hop[2]
        r = tuple(int(x) for x in np.asarray(hop[3], int)[per]) if len(hop) > 3 else (0, 0)
        a = np.asarray(amp, complex).reshape(nspin, nspin)
        si, sj = slice(i * nspin, (i + 1) * nspin), slice(j * nspin, (j + 1) * nspin)
        full.setdefault(r, np.zeros((n, n), complex))[si, sj] += a
        full.setdefault((-r[0], -r[1]), np.zeros((n, n), complex))[sj, si] += a.conj().T
    rvecs = np.array(list(full), int)
    return TightBinding(lat2, positions, rvecs, np.stack(list(full.values())), name=name)


def to_pythtb(tb: TightBinding):
    """The PythTB ``tb_model`` of a spinless TightBinding (for cross-checks with PythTB and WannierBerri)."""
    from pythtb import tb_model

    model = tb_model(2, 2, tb.lattice.tolist(), tb.positions.tolist())
    n = tb.n_bands
    model.set_onsite([float(np.real(x)) for x in np.diagonal(tb.hoppings[_index(tb, (0, 0))])])
    for r, h in zip(tb.rvecs, tb.hoppings, strict=True):
        key = (int(r[0]), int(r[1]))
        if key < (0, 0):  # the partner -R is added by PythTB
            continue
        for i in range(n):
            for j in range(n):
                if key == (0, 0) and j <= i:
                    continue
                if h[i, j] != 0:
                    model.set_hop(complex(h[i, j]), i, j, list(key), mode="add")
    return model


def _index(tb: TightBinding, r: tuple[int, int]) -> int:
    hits = np.flatnonzero((tb.rvecs == np.array(r)).all(1))
    if len(hits) == 0:
        raise UserError(f"{tb.name}: no R = {r} block")
    return int(hits[0])
