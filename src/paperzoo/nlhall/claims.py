"""The calculator's checks as claims, decided from the measured metrics with thresholds from ``cfg.claims``.

The quantities here are deterministic numerics (closed forms, integrals on fixed grids), not noisy training
runs, so point comparisons decide them; a metric that was not measured makes its claim "not evaluated".
"""

from __future__ import annotations

from dataclasses import dataclass

from paperzoo.core import param
from paperzoo.core.claims import Claim, Claims, num


@dataclass
class ClaimsConfig:
    """Thresholds of the claims."""

    analytic_rel_err: float = param(0.01, gt=0, doc="largest relative error of the tilted-Dirac D vs its closed form")
    sea_surface_rel_diff: float = param(0.01, gt=0, doc="largest relative difference of Fermi-sea and -surface D")
    chern_tol: float = param(0.01, gt=0, doc="largest distance of a Chern number from its integer")
    symmetry_zero: float = param(1e-8, gt=0, doc="largest |D| or |σ| / ∫|integrand| that counts as a symmetry zero")
    intrinsic_min_scale: float = param(1e-3, gt=0, doc="smallest |σ| / ∫|integrand| that counts as nonzero (PT model)")
    hallbar_exponent_tol: float = param(0.05, gt=0, doc="largest distance of the fitted V2w exponent from 2")
    hallbar_rel_err: float = param(0.05, gt=0, doc="largest relative error of the D extracted from the Hall bar")
    wannierberri_rel_diff: float = param(0.02, gt=0, doc="largest relative difference from WannierBerri's D")


def evaluate_claims(m: dict[str, float], c: ClaimsConfig, wannierberri_skipped: str = "") -> list[Claim]:
    """The spec's checks of the calculator (``wannierberri_skipped``: why the cross-check did not run, if so)."""
    book = Claims(m)
    book.at_most(f"tilted-Dirac BCD within {c.analytic_rel_err:.0%} of -3tm(μ²-m²)/(8πμ⁴) outside the gap",
                 "bcd_analytic_max_rel_err", c.analytic_rel_err)
    book.at_most(f"Fermi-sea and Fermi-surface BCD agree within {c.sea_surface_rel_diff:.0%} (strained graphene)",
                 "bcd_sea_surface_max_rel_diff", c.sea_surface_rel_diff)
    book.check("Haldane Chern number ±1 (topological) and 0 (trivial)",
               ["chern_haldane_topological", "chern_haldane_trivial"],
               lambda top, triv: abs(abs(top) - 1) < c.chern_tol and abs(triv) < c.chern_tol,
               lambda top, triv: f"C = {top:.4f}, {triv:.4f} (tolerance {num(c.chern_tol)})")
    book.at_most("C3 symmetry forces D = 0 (Haldane, unstrained gapped graphene)", "bcd_c3_max_abs",
                 c.symmetry_zero)
    book.check("intrinsic σ vanishes with time reversal and not in the PT-symmetric antiferromagnet",
               ["intrinsic_T_max_abs", "intrinsic_PT_rel_scale", "intrinsic_PT_max_abs"],
               lambda zero, scale, _: zero < c.symmetry_zero and scale > c.intrinsic_min_scale,
               lambda zero, scale, top: (
                   f"T-symmetric: {zero:.1e} (relative, needs < {num(c.symmetry_zero)}); PT: {top:.2e} A·m/V² "
                   f"({scale:.2f} of its ∫|integrand|, needs > {num(c.intrinsic_min_scale)}; grid change "
                   f"{m.get('intrinsic_PT_grid_rel_change', float('nan')):.1e})"))
    book.check(f"V⊥(2ω) ∝ E∥² and the Hall-bar extraction recovers D within {c.hallbar_rel_err:.0%} under the "
               "simulated noise", ["hallbar_exponent", "hallbar_extraction_rel_err"],
               lambda expo, err: abs(expo - 2) < c.hallbar_exponent_tol and err < c.hallbar_rel_err,
               lambda expo, err: f"exponent {expo:.3f}, extraction rel err {err:.2e}")
    name = f"WannierBerri gives the same D for the strained model within {c.wannierberri_rel_diff:.0%}"
    if wannierberri_skipped:
        book.not_evaluated(name, wannierberri_skipped)
    else:
        book.at_most(name, "wannierberri_rel_diff", c.wannierberri_rel_diff)
    return book.items
