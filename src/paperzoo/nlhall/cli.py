"""`paperzoo nlhall bcd FILE`: the Berry curvature dipole D(μ) of a user's own 2D Wannier90 model.

    paperzoo nlhall bcd graphene_tb.dat --mu 0.2:0.6:21 --kT 0.02 --grid 100 -o D.csv
    paperzoo nlhall bcd graphene_hr.dat --lattice 2.46,0,1.23,2.13 --mu 0.3 --kT 0.02 --converge 0.005

D is integrated on the Fermi surface (the ∂f/∂ε form), on a ``grid`` × ``grid`` mesh of the cell whose cells
near the Fermi surface are split ``subdivision`` × ``subdivision``; ``--converge TOL`` instead raises the
subdivision until D changes by less than TOL × max|D|. The CSV (and the printed table) states the file,
temperature, grid, subdivision and number of k points with the numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer

from paperzoo.core.errors import UserError

app = typer.Typer(help="Nonlinear Hall tools (arXiv 2412.09298).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Nonlinear Hall tools (arXiv 2412.09298)."""


def parse_mu(text: str) -> np.ndarray:
    """``MIN:MAX:N`` (N evenly spaced values) or ``A,B,C`` (a list) or one number, in eV."""
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            lo, hi, count = float(lo), float(hi), int(n)
            if count < 1 or not lo <= hi:
                raise ValueError
            values = np.linspace(lo, hi, count)
        else:
            values = np.array([float(t) for t in text.split(",")])
    except ValueError:
        raise UserError(f"--mu {text!r}: expected MIN:MAX:N (N ≥ 1 points, MIN ≤ MAX), a list A,B,C or one "
                        "number, in eV") from None
    if not np.isfinite(values).all():
        raise UserError(f"--mu {text!r}: chemical potentials must be finite numbers (eV)")
    return values


def parse_lattice(text: str | None, path: Path) -> np.ndarray | None:
    """``a1x,a1y,a2x,a2y`` in Å (needed for a _hr.dat, which holds no lattice)."""
    if text is None:
        if path.name.endswith("_hr.dat"):
            raise UserError(f"{path}: a _hr.dat file holds no lattice; pass --lattice a1x,a1y,a2x,a2y (Å), e.g. "
                            "--lattice 2.46,0,1.23,2.13")
        return None
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise UserError(f"--lattice {text!r}: expected four finite numbers a1x,a1y,a2x,a2y (Å)")
    return np.reshape(values, (2, 2))


def load_model(path: Path, lattice: np.ndarray | None):
    from .tbio import load_hr_dat, load_tb_dat

    if path.name.endswith("_tb.dat"):
        if lattice is not None:
            raise UserError(f"{path}: a _tb.dat file carries its own lattice; drop --lattice")
        return load_tb_dat(path)
    if path.name.endswith("_hr.dat"):
        return load_hr_dat(path, lattice)
    raise UserError(f"{path}: expected a Wannier90 seedname_tb.dat or seedname_hr.dat file")


def dipole_table(model, mus: np.ndarray, k_t: float, grid: int, subdivision: int, converge: float | None):
    """(rows [μ, D_xz, D_yz], header lines stating how D was computed)."""
    from .bcd import berry_curvature_dipole, converged_dipole
    from .fermi import Smearing
    from .units import K_B_EV

    smear = Smearing("fermi", k_t)
    if converge is None:
        res = berry_curvature_dipole(model, mus, smear, grid=grid, fermi_subdivision=subdivision)
    else:
        try:
            res, steps = converged_dipole(model, mus, smear, rel_tol=converge, coarse=grid)
        except RuntimeError as err:
            raise UserError(f"{err}; raise --grid or loosen --converge") from None
        subdivision = steps[-1][0]
    how = [f"model: {model.name} ({model.n_bands} bands)",
           f"Fermi-Dirac k_B T = {k_t:g} eV (T = {k_t / K_B_EV:.1f} K)",
           f"grid: {grid} x {grid} cells, Fermi-window cells split {subdivision} x {subdivision} "
           f"(as fine as {grid * subdivision} x {grid * subdivision} there)"
           + (f", converged to {converge:g} x max|D|" if converge is not None else ""),
           f"k points: {res.integration.n_points}",
           "D_bz = Σ_n ∫ d²k/(2π)² (-∂f0/∂ε_n) v^b_n Ω_n in Å (the Fermi-surface form)"]
    rows = [[float(mu), float(d[0]), float(d[1])] for mu, d in zip(mus, res.dipole, strict=True)]
    return rows, how


@app.command()
def bcd(
    path: Path = typer.Argument(..., help="a Wannier90 seedname_tb.dat or seedname_hr.dat of a 2D model"),
    mu: str = typer.Option(..., "--mu", help="chemical potentials (eV, absolute as in the file): MIN:MAX:N or A,B,C"),
    k_t: float = typer.Option(0.02, "--kT", help="Fermi-Dirac k_B T (eV)"),
    grid: int = typer.Option(100, "--grid", help="k grid per direction of the cell"),
    subdivision: int = typer.Option(4, "--subdivision", help="split of the cells near the Fermi surface"),
    converge: float | None = typer.Option(None, "--converge", help="raise the subdivision until D changes < TOL"),
    lattice: str | None = typer.Option(None, "--lattice", help="a1x,a1y,a2x,a2y in Å (needed for a _hr.dat)"),
    output: Path | None = typer.Option(None, "-o", "--output", help="write D(μ) as CSV here"),
) -> None:
    """Berry curvature dipole D_xz(μ), D_yz(μ) of a 2D Wannier90 model."""
    from rich.console import Console
    from rich.table import Table

    from paperzoo.core.io import atomic_write_text

    if not (math.isfinite(k_t) and k_t > 0):
        raise UserError(f"--kT must be a finite number > 0 (eV), got {k_t}")
    if grid < 4 or subdivision < 1:
        raise UserError(f"--grid must be ≥ 4 and --subdivision ≥ 1, got {grid} and {subdivision}")
    if converge is not None and not (0 < converge < 1):
        raise UserError(f"--converge must be in (0, 1), got {converge}")
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        raise UserError(f"-o {output}: needs a file path in an existing folder")
    mus = parse_mu(mu)
    model = load_model(path, parse_lattice(lattice, path))
    rows, how = dipole_table(model, mus, k_t, grid, subdivision, converge)
    table = Table("μ (eV)", "D_xz (Å)", "D_yz (Å)", title=f"Berry curvature dipole of {path}")
    for r in rows:
        table.add_row(f"{r[0]:.4f}", f"{r[1]:.6e}", f"{r[2]:.6e}")
    console = Console()
    console.print(table)
    for line in how:
        console.print(line, highlight=False)
    if output is not None:
        lines = [f"# Berry curvature dipole of {path}"] + [f"# {h}" for h in how] + ["mu_eV,D_xz_A,D_yz_A"]
        lines += [f"{r[0]:.10g},{r[1]:.10e},{r[2]:.10e}" for r in rows]
        atomic_write_text(output, "\n".join(lines) + "\n")
        console.print(f"wrote {output}", highlight=False)
