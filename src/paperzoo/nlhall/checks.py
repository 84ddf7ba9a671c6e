"""The experiment's stages: each check computes its metrics, records its tables (CSV via ``ctx.table``) and
report section, and keeps the data its figure needs. ``experiment.run`` calls them in order.

Every check builds its own model from its config section, so a stage can be run (and tested) alone:

    found = Findings()
    dirac_check(DiracConfig(), ctx, found)
    found.metrics["bcd_analytic_max_rel_err"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperzoo.core.report import md_table

from .bcd import bcd_density, berry_curvature_dipole, berry_curvature_map, chern_number, converged_dipole
from .errors import UserError
from .fermi import Smearing
from .geometry import band_geometry
from .hallbar import extract_dipole, power_law_exponent, transverse_voltage_2w
from .hamiltonian import Domain, Hamiltonian
from .integrate import integrate
from .models import gapped_graphene, haldane, pt_antiferromagnet, tilted_dirac, tilted_dirac_bcd, wte2_like
from .responses import bcd_susceptibility_si, intrinsic_conductivity, intrinsic_density, nonlinear_drude


@dataclass
class Findings:
    """What the stages measured: flat metrics, report sections, the figures' data, and notes (skip reasons)."""

    metrics: dict[str, float] = field(default_factory=dict)
    sections: list[tuple[str, str]] = field(default_factory=list)
    plots: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def relative_zero(model: Hamiltonian, density, grid: int) -> float:
    """max |∫ density| / max |∫ |density||: how close an integral is to zero relative to its integrand's size."""
    value = integrate(model.domain, density, grid).value
    scale = float(np.abs(integrate(model.domain, lambda k: np.abs(density(k)), grid).value.sum(-1)).max())
    if scale == 0:
        raise ValueError("the integrand vanishes identically; a symmetry zero needs a nonzero scale")
    return float(np.abs(value.sum(-1)).max()) / scale


def dirac_check(d, ctx, found: Findings) -> None:
    """Tilted massive Dirac (one valley): Fermi-surface D_xz(μ) against the first-order-in-t closed form."""
    model = tilted_dirac(v=d.v, m=d.m, t=d.t, k_cut=1.5 * d.mu_max / d.v + 0.2)
    mus = np.linspace(d.mu_min, d.mu_max, d.n_mu)
    bcd = berry_curvature_dipole(model, mus, Smearing("fermi", d.k_t), grid=d.coarse,
                                 fermi_subdivision=d.fermi_subdivision)
    analytic = tilted_dirac_bcd(mus, d.m, d.t)
    rel = np.abs(bcd.dipole[:, 0] / analytic - 1)
    found.metrics["bcd_analytic_max_rel_err"] = float(rel.max())
    found.plots["dirac"] = (mus, bcd.dipole[:, 0], lambda x: tilted_dirac_bcd(x, d.m, d.t))
    ctx.log(f"tilted Dirac: max rel err {rel.max():.2e} over {d.n_mu} μ ({bcd.integration.n_points} k points)")
    table = ctx.table("dirac_bcd_vs_mu", ["mu_eV", "D_xz_nlhall_A", "D_xz_analytic_A", "rel_err"],
                      [[float(mu), float(a), float(b), float(r)]
                       for mu, a, b, r in zip(mus, bcd.dipole[:, 0], analytic, rel, strict=True)],
                      title="tilted massive Dirac, one valley: D_xz(μ)")
    found.sections.append((f"Tilted massive Dirac (one valley, k_BT = {d.k_t} eV, {d.coarse}² grid × "
                           f"{d.fermi_subdivision}² in the Fermi window)", table))


def graphene_check(g, tau_ps: float, ctx, found: Findings) -> None:
    """Strained gapped graphene: converged Fermi-surface D, its Fermi-sea form, and the D(μ), χ(μ) scan."""
    model, smear = gapped_graphene(gap=g.gap, strain=g.strain), Smearing("fermi", g.k_t)
    check_mu = np.array(g.check_mu)
    t0 = time.perf_counter()
    surf, steps = converged_dipole(model, check_mu, smear, rel_tol=g.rel_tol)
    t_surf = time.perf_counter() - t0
    sea = berry_curvature_dipole(model, check_mu, smear, form="sea", grid=g.sea_grid)
    diff = np.abs(sea.dipole[:, 0] / surf.dipole[:, 0] - 1)
    found.metrics.update({"bcd_sea_surface_max_rel_diff": float(diff.max()), "graphene_bcd_converge_s": t_surf,
                          "graphene_bcd_converge_points": float(surf.integration.n_points)})
    ctx.log(f"strained graphene: surface converged in {t_surf:.2f}s; sea/surface max rel diff {diff.max():.2e}")
    scan_mu = np.linspace(g.mu_min, g.mu_max, g.n_mu)
    scan, _ = converged_dipole(model, scan_mu, smear, rel_tol=g.rel_tol)
    chi = bcd_susceptibility_si(scan.dipole, tau_ps * 1e-12)[:, 1, 0, 0].real
    found.plots["chi"] = (scan_mu, chi, tau_ps)
    found.metrics["graphene_bcd_max_abs"] = float(np.abs(scan.dipole[:, 0]).max())
    ctx.table("graphene_bcd_vs_mu", ["mu_eV", "D_xz_A", "D_yz_A", "chi_yxx_A_m_per_V2"],
              [[float(mu), float(dd[0]), float(dd[1]), float(c)]
               for mu, dd, c in zip(scan_mu, scan.dipole, chi, strict=True)],
              title=f"strained graphene D(μ) and χ_yxx(μ), τ = {tau_ps} ps, converged to {g.rel_tol:g}")
    ctx.table("graphene_convergence", ["fermi_subdivision", "k_points", "D_xz_first_mu_A"],
              [[s, n, float(dd[0, 0])] for s, n, dd in steps], title="Fermi-window convergence steps")
    table = ctx.table("graphene_sea_vs_surface", ["mu_eV", "D_xz_surface_A", "D_xz_sea_A", "rel_diff"],
                      [[float(mu), float(a), float(b), float(r)]
                       for mu, a, b, r in zip(check_mu, surf.dipole[:, 0], sea.dipole[:, 0], diff, strict=True)],
                      title="strained graphene: Fermi-surface (converged) vs Fermi-sea D_xz")
    found.sections.append((f"Strained gapped graphene (gap {g.gap} eV, strain {g.strain}, k_BT = {g.k_t} eV)",
                           table + "\n\nFermi-window convergence steps (subdivision, k points): "
                           f"{[(s, n) for s, n, _ in steps]}"))


def wannierberri_check(cfg, strain: float, ctx, found: Findings) -> None:
    """WannierBerri (Fermi sea, uniform grid) and nlhall (converged) on the same strained model."""
    if not cfg.wannierberri:
        found.notes["wannierberri"] = "the cross-check is off in this run (wannierberri=false)"
        return
    from .crosscheck import wannierberri_bcd

    model = gapped_graphene(gap=cfg.wannierberri_gap, strain=strain)
    mus, k_t = np.array(cfg.wannierberri_mu), cfg.wannierberri_k_t
    try:
        t0 = time.perf_counter()
        theirs = wannierberri_bcd(model, mus, k_t, cfg.wannierberri_grid, form="sea")
        t_wb = time.perf_counter() - t0
    except UserError as err:  # the optional package is missing
        found.notes["wannierberri"] = f"the cross-check could not run: {err}"
        ctx.log(f"WannierBerri cross-check skipped: {err}")
        return
    t0 = time.perf_counter()
    ours, _ = converged_dipole(model, mus, Smearing("fermi", k_t), rel_tol=1e-3)
    t_ours = time.perf_counter() - t0
    rel = np.abs(theirs[:, 0] / ours.dipole[:, 0] - 1)
    found.metrics.update({"wannierberri_rel_diff": float(rel.max()), "wannierberri_time_s": t_wb,
                          "nlhall_converged_time_s": t_ours})
    ctx.log(f"WannierBerri: max rel diff {rel.max():.2e}; {t_wb:.1f}s vs nlhall {t_ours:.2f}s")
    table = ctx.table("wannierberri_crosscheck", ["mu_eV", "D_xz_nlhall_A", "D_xz_wannierberri_A", "rel_diff"],
                      [[float(mu), float(a), float(b), float(r)]
                       for mu, a, b, r in zip(mus, ours.dipole[:, 0], theirs[:, 0], rel, strict=True)],
                      title="WannierBerri vs nlhall, strained graphene")
    found.sections.append((f"WannierBerri cross-check (gap {cfg.wannierberri_gap} eV, strain {strain}, k_BT = "
                           f"{k_t} eV; WannierBerri Fermi sea on a {cfg.wannierberri_grid}² grid)",
                           table + f"\n\nWall time: WannierBerri {t_wb:.1f} s, nlhall (converged to 0.1%) "
                           f"{t_ours:.2f} s."))


def symmetry_check(cfg, gap: float, found: Findings) -> None:
    """C3-symmetric models have D = 0; the Haldane model's Chern number is ±1 / 0 on either side of the phase."""
    mus, smear = np.array([0.3, 0.6, 1.0]), Smearing("fermi", 0.05)
    zeros = [relative_zero(model, lambda k, m=model: bcd_density(m, k, mus, smear), cfg.symmetry_grid)
             for model in (haldane(mass=0.2), gapped_graphene(gap=gap, strain=0.0))]
    found.metrics["bcd_c3_max_abs"] = float(max(zeros))
    found.metrics["chern_haldane_topological"] = chern_number(haldane(mass=0.2), 1, cfg.chern_grid)
    found.metrics["chern_haldane_trivial"] = chern_number(haldane(mass=1.5), 1, cfg.chern_grid)


def intrinsic_check(cfg, g, tau_ps: float, ctx, found: Findings) -> None:
    """The τ-independent (quantum-metric) term: finite in the PT antiferromagnet, zero with time reversal;
    the nonlinear Drude term alongside."""
    # Néel vector along [110]: the bands stay gapped (along [100] a protected Dirac crossing makes G diverge)
    pt, smear = pt_antiferromagnet(neel_angle=np.pi / 4), Smearing("fermi", cfg.pt_k_t)
    mus = np.linspace(-1.0, 1.0, cfg.pt_n_mu)
    intr = intrinsic_conductivity(pt, mus, smear, grid=cfg.pt_grid)
    coarser = intrinsic_conductivity(pt, mus, smear, grid=max(4, (2 * cfg.pt_grid) // 3))
    top = float(np.abs(intr.sigma_si).max())
    best = int(np.argmax(np.abs(intr.sigma_si[:, 1, 0, 0])))
    found.metrics.update({
        "intrinsic_PT_max_abs": top,
        "intrinsic_PT_grid_rel_change": float(np.abs(intr.sigma_si - coarser.sigma_si).max() / top),
        "intrinsic_PT_rel_scale": relative_zero(
            pt, lambda k: intrinsic_density(pt, k, mus[best:best + 1], smear)[:, :, 1, 0, 0], cfg.pt_grid)})
    graphene, g_smear = gapped_graphene(gap=g.gap, strain=g.strain), Smearing("fermi", g.k_t)
    t_zeros = []
    for model, mu in ((graphene, np.array(g.check_mu)), (tilted_dirac(valleys=2, k_cut=1.0), np.array([0.3, 0.5]))):
        for c in ((1, 0, 0), (0, 1, 1), (1, 0, 1), (0, 1, 0)):
            t_zeros.append(relative_zero(
                model, lambda k, m=model, mu=mu, c=c: intrinsic_density(m, k, mu, g_smear)[:, :, c[0], c[1], c[2]],
                cfg.symmetry_grid))
    found.metrics["intrinsic_T_max_abs"] = float(max(t_zeros))
    found.plots["intrinsic"] = (mus, intr.sigma_si)
    drude_pt = nonlinear_drude(pt, mus, smear, tau_ps * 1e-12, grid=cfg.pt_grid)
    drude_t = nonlinear_drude(graphene, np.array(g.check_mu), g_smear, tau_ps * 1e-12, grid=cfg.symmetry_grid)
    found.metrics["drude_PT_max_abs"] = float(np.abs(drude_pt.sigma_si).max())
    found.metrics["drude_T_over_PT"] = float(np.abs(drude_t.sigma_si).max() / found.metrics["drude_PT_max_abs"])
    rows = [[float(mu), float(a[1, 0, 0]), float(a[0, 1, 1]), float(b[0, 0, 0]), float(b[1, 1, 1])]
            for mu, a, b in zip(mus, intr.sigma_si, drude_pt.sigma_si, strict=True)]
    headers = ["mu_eV", "sigma_yxx_intrinsic", "sigma_xyy_intrinsic", "sigma_xxx_drude", "sigma_yyy_drude"]
    ctx.table("pt_intrinsic_vs_mu", headers, rows, title="PT antiferromagnet: intrinsic and Drude σ (A·m/V²)")
    found.sections.append((f"PT antiferromagnet: τ-independent (intrinsic) vs nonlinear Drude (τ = {tau_ps} ps), "
                           "A·m/V²", md_table(headers, rows[::2])))


def hallbar_check(dev, g, seed: int, ctx, found: Findings) -> None:
    """Predict V⊥(2ω) of a device from the strained model's D, add noise, extract D back."""
    model, smear = gapped_graphene(gap=g.gap, strain=g.strain), Smearing("fermi", g.k_t)
    d_true = float(converged_dipole(model, [dev.mu], smear, rel_tol=g.rel_tol)[0].dipole[0, 0])
    fields = np.array(dev.fields_v_m)
    args = (dev.density_cm2 * 1e4, dev.mass_ratio, dev.width_um * 1e-6)
    clean = transverse_voltage_2w(d_true, fields, *args)
    noisy = clean * (1 + dev.noise * np.random.default_rng(seed).standard_normal(len(fields)))
    d_back = extract_dipole(noisy, fields, *args)
    found.metrics.update({"hallbar_extraction_rel_err": abs(d_back / d_true - 1),
                          "hallbar_exponent": power_law_exponent(fields, noisy),
                          "hallbar_v2w_max_uV": float(np.abs(clean).max() * 1e6)})
    fit = transverse_voltage_2w(d_back, fields, *args)
    found.plots["hallbar"] = (fields, noisy, fit)
    ctx.table("hallbar_v2w", ["E_parallel_V_per_m", "V2w_clean_V", "V2w_noisy_V", "V2w_fit_V"],
              [[float(e), float(a), float(b), float(c)] for e, a, b, c in zip(fields, clean, noisy, fit, strict=True)],
              title=f"Hall bar: D_xz = {d_true:.4e} Å at μ = {dev.mu} eV, extracted {d_back:.4e} Å")


def speed_check(points: int, g, found: Findings) -> None:
    """k points per second of the full geometry (bands, velocities, Ω, g, G) for the strained model."""
    side = int(np.sqrt(points))
    k = gapped_graphene(gap=g.gap, strain=g.strain).domain.cell_centres(side, side)
    t0 = time.perf_counter()
    band_geometry(gapped_graphene(gap=g.gap, strain=g.strain), k, metric=True)
    found.metrics["kpoints_per_s"] = len(k) / (time.perf_counter() - t0)


def wte2_check(ctx, found: Findings) -> None:
    """The WTe2-like tilted 4-band model (illustrative parameters, see docs): converged D_xz(μ)."""
    mus = np.linspace(0.05, 0.3, 6)
    res, _ = converged_dipole(wte2_like(), mus, Smearing("fermi", 0.005), rel_tol=0.01)
    found.metrics["wte2_like_bcd_max_abs"] = float(np.abs(res.dipole[:, 0]).max())
    table = ctx.table("wte2_like_bcd_vs_mu", ["mu_eV", "D_xz_A", "D_yz_A"],
                      [[float(mu), float(dd[0]), float(dd[1])] for mu, dd in zip(mus, res.dipole, strict=True)],
                      title="WTe2-like model, k_BT = 5 meV")
    found.sections.append(("WTe2-like model (illustrative parameters, k_BT = 5 meV)", table))


def curvature_maps(g, grid: int, found: Findings) -> None:
    """Berry curvature of the strained model's conduction band over the zone and around one valley."""
    model = gapped_graphene(gap=g.gap, strain=g.strain)
    k_full, om_full = berry_curvature_map(model, grid)
    valley = k_full[np.argmin(om_full[:, 1])]
    k_zoom, om_zoom = berry_curvature_map(model, grid, Domain.box(0.1, tuple(valley)))
    found.plots["map"] = [(k_full, om_full[:, 1]), (k_zoom, om_zoom[:, 1])]


def user_model_check(model: Hamiltonian, data, ctx, found: Findings) -> None:
    """Converged D(μ) of the user's Wannier90 model (``data.path``)."""
    mus = np.linspace(data.mu_min, data.mu_max, data.n_mu)
    res, _ = converged_dipole(model, mus, Smearing("fermi", data.k_t), rel_tol=data.rel_tol)
    ctx.log(f"user model {model.name}: {model.n_bands} bands, converged with {res.integration.n_points} k points")
    found.metrics["user_bcd_max_abs"] = float(np.abs(res.dipole).max())
    table = ctx.table("user_model_bcd_vs_mu", ["mu_eV", "D_xz_A", "D_yz_A"],
                      [[float(mu), float(dd[0]), float(dd[1])] for mu, dd in zip(mus, res.dipole, strict=True)],
                      title=f"{data.path}: D(μ), k_BT = {data.k_t} eV")
    found.sections.append((f"Wannier90 model {data.path} (k_BT = {data.k_t} eV, converged to {data.rel_tol:g} "
                           f"with {res.integration.n_points} k points)", table))
