"""The experiment's figures, one function each, drawn in core's house style inside ``ctx.figure``."""

from __future__ import annotations

from typing import Any

import numpy as np

from paperzoo.core.figures import legend


def draw_all(ctx, plots: dict[str, Any]) -> None:
    """Every figure whose data the stages left in ``plots``."""
    for key, draw in (("map", curvature_map), ("dirac", bcd_vs_mu), ("chi", chi_vs_mu),
                      ("intrinsic", intrinsic_vs_mu), ("hallbar", v2w_vs_drive)):
        if key in plots:
            draw(ctx, plots[key])


def curvature_map(ctx, maps: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Ω of the conduction band over the whole zone (symmetric log colours) and around one valley."""
    from matplotlib.colors import SymLogNorm

    with ctx.figure("berry_curvature_map", "Berry curvature of the conduction band: whole zone and one valley",
                    ncols=2, figsize=(11, 4.5), layout="constrained") as (fig, axes):
        for ax, (k, omega), title in zip(axes, maps, ("Brillouin zone (symlog colours)", "zoom on one valley"),
                                         strict=True):
            top = float(np.abs(omega).max())
            norm = SymLogNorm(linthresh=1e-3 * top, vmin=-top, vmax=top) if "symlog" in title else None
            sc = ax.tripcolor(k[:, 0], k[:, 1], omega, cmap="RdBu_r", shading="gouraud", norm=norm,
                              **({} if norm else {"vmin": -top, "vmax": top}))
            fig.colorbar(sc, ax=ax, label="Ω (Å²)")
            ax.grid(False)
            ax.set(xlabel="k_x (1/Å)", ylabel="k_y (1/Å)", title=title, aspect="equal")
        fig.suptitle("Berry curvature, conduction band of strained gapped graphene")


def bcd_vs_mu(ctx, data: tuple) -> None:
    mu, numeric, analytic = data
    with ctx.figure("bcd_vs_mu", "Berry curvature dipole of the tilted Dirac model against the closed form") \
            as (fig, ax):
        mm = np.linspace(0.0, float(mu.max()), 400)
        ax.plot(mm, analytic(mm), "k-", label="analytic, first order in t")
        ax.plot(mu, numeric, "o", label="nlhall (Fermi surface)")
        ax.set(xlabel="μ (eV)", ylabel="D_xz (Å)", title="tilted massive Dirac, one valley")
        legend(ax)


def chi_vs_mu(ctx, data: tuple) -> None:
    mu, chi, tau_ps = data
    with ctx.figure("chi_vs_mu", "BCD nonlinear Hall susceptibility χ_yxx of strained graphene") as (fig, ax):
        ax.plot(mu, chi, "o-")
        ax.set(xlabel="μ (eV)", ylabel="χ_yxx (A·m/V²)", title=f"strained graphene, τ = {tau_ps:g} ps, ωτ ≪ 1")


def intrinsic_vs_mu(ctx, data: tuple) -> None:
    mu, sigma = data
    with ctx.figure("intrinsic_vs_mu", "Quantum-metric (intrinsic) second-order conductivity of the PT model") \
            as (fig, ax):
        ax.plot(mu, sigma[:, 1, 0, 0], "o-", label="σ_yxx")
        ax.plot(mu, sigma[:, 0, 1, 1], "s-", label="σ_xyy")
        ax.set(xlabel="μ (eV)", ylabel="σ (A·m/V²)", title="intrinsic term, PT antiferromagnet")
        legend(ax)


def v2w_vs_drive(ctx, data: tuple) -> None:
    fields, noisy, fit = data
    with ctx.figure("v2w_vs_drive", "Second-harmonic transverse voltage against drive field") as (fig, ax):
        ax.loglog(fields, np.abs(noisy) * 1e6, "o", label="simulated readings")
        ax.loglog(fields, np.abs(fit) * 1e6, "-", label="E² fit")
        ax.set(xlabel="E∥ (V/m)", ylabel="|V⊥(2ω)| (µV)", title="Hall bar, strained graphene")
        legend(ax)
