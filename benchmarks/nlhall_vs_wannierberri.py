"""Wall time to a 1%-accurate Berry curvature dipole: paperzoo.nlhall vs WannierBerri, same model, same machine.

Model: strained gapped graphene (gap 0.2 eV, 5% strain), Fermi-Dirac k_B T, several chemical potentials.
Reference: nlhall's Fermi-window-refined result converged to 1e-4. Each code runs a ladder of uniform grids
(nlhall also its Fermi-window refinement); "time to 1%" is the cumulative wall time of the ladder up to the
first grid whose every D_xz is within 1% of the reference (what a user pays without knowing the grid in
advance), and the time of that one grid alone. WannierBerri runs serially (parallel=False), uniform grid, no
adaptive refinement.
Run: python benchmarks/nlhall_vs_wannierberri.py [--kt 0.05] [--max-wb-grid 800] [--wb-forms surface sea]
"""

import argparse
import time

import numpy as np

from paperzoo.nlhall import Smearing, berry_curvature_dipole, gapped_graphene
from paperzoo.nlhall.bcd import converged_dipole
from paperzoo.nlhall.crosscheck import wannierberri_bcd


def ladder(name, grids, compute, reference, tol):
    total, rows = 0.0, []
    for g in grids:
        t0 = time.perf_counter()
        d = compute(g)
        dt = time.perf_counter() - t0
        total += dt
        err = float(np.abs(d / reference - 1).max())
        rows.append((g, dt, total, err))
        print(f"  {name:28s} grid {g!s:>10s}  {dt:8.2f} s  (cumulative {total:8.2f} s)  max rel err {err:.2e}",
              flush=True)
        if err < tol:
            return total, dt, rows
    return float("nan"), float("nan"), rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kt", type=float, default=0.05, help="k_B T in eV")
    p.add_argument("--mu", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5])
    p.add_argument("--tol", type=float, default=0.01)
    p.add_argument("--max-wb-grid", type=int, default=800)
    p.add_argument("--wb-forms", nargs="+", default=["surface"], choices=["surface", "sea"],
                   help="WannierBerri's Fermi-sea form is several times slower per k point than its surface form")
    a = p.parse_args()
    model, mus, smear = gapped_graphene(gap=0.2, strain=0.05), np.array(a.mu), Smearing("fermi", a.kt)
    ref_res, _ = converged_dipole(model, mus, smear, rel_tol=1e-4)
    ref = ref_res.dipole[:, 0]
    print(f"reference D_xz (Å) at mu={a.mu}: {ref}")
    grids = [g for g in (100, 150, 200, 300, 400, 600, 800, 1200) if g <= a.max_wb_grid]
    out = {}
    out["nlhall uniform (surface)"] = ladder(
        "nlhall uniform (surface)", grids,
        lambda g: berry_curvature_dipole(model, mus, smear, grid=g).dipole[:, 0], ref, a.tol)
    out["nlhall Fermi-window"] = ladder(
        "nlhall Fermi-window", [(60, s) for s in (2, 3, 5, 8, 12, 18, 27)],
        lambda gs: berry_curvature_dipole(model, mus, smear, grid=gs[0], fermi_subdivision=gs[1]).dipole[:, 0],
        ref, a.tol)
    for form in a.wb_forms:
        out[f"WannierBerri uniform ({form})"] = ladder(
            f"WannierBerri uniform ({form})", grids,
            lambda g, f=form: wannierberri_bcd(model, mus, a.kt, g, form=f)[:, 0], ref, a.tol)
    print("\ntime to reach 1% (cumulative ladder / single final grid), seconds:")
    for name, (total, single, _) in out.items():
        print(f"  {name:30s} {total:10.2f} / {single:8.2f}")
    wb = min((out[k] for k in out if k.startswith("WannierBerri")), key=lambda r: np.nan_to_num(r[0], nan=np.inf))
    for name in ("nlhall uniform (surface)", "nlhall Fermi-window"):
        print(f"ratio WannierBerri(best) / {name}: cumulative {wb[0] / out[name][0]:.1f}x, "
              f"single grid {wb[1] / out[name][1]:.1f}x")


if __name__ == "__main__":
    main()
