"""`paperzoo run nlhall`: checks of the nonlinear Hall calculator against closed forms, symmetry, topology,
an independent code (WannierBerri) and a simulated Hall-bar measurement; optionally D(μ) of the user's own
Wannier90 model (``data.path``). The stages live in ``checks.py``, the claims in ``claims.py``, the figures in
``figures.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperzoo.core import Experiment, Outcome, RunContext, param, register

from . import checks, figures
from .claims import ClaimsConfig, evaluate_claims
from .errors import UserError
from .hamiltonian import TightBinding
from .tbio import load_hr_dat, load_tb_dat


@dataclass
class DiracConfig:
    """The analytic regression case: H = t k_x + v(k_x σ_x + k_y σ_y) + m σ_z, one valley."""

    v: float = param(1.0, gt=0, doc="Dirac velocity v (eV·Å)")
    m: float = param(0.2, doc="mass m (eV), nonzero")
    t: float = param(0.05, doc="tilt t (eV·Å), nonzero and small: the closed form is first order in t")
    mu_min: float = param(0.25, doc="lowest chemical potential (eV), outside the gap: |m| < mu_min")
    mu_max: float = param(0.8, doc="highest chemical potential (eV)")
    n_mu: int = param(12, ge=1, doc="chemical potentials between mu_min and mu_max")
    k_t: float = param(0.003, gt=0, doc="Fermi-Dirac k_B T (eV)")
    coarse: int = param(80, ge=4, doc="coarse k grid per direction")
    fermi_subdivision: int = param(5, ge=1, doc="s: cells near the Fermi surface are split s × s")

    def __post_init__(self) -> None:
        if self.m == 0 or self.t == 0:
            raise ValueError(f"dirac.m and dirac.t must be nonzero (D = 0 otherwise), got m={self.m}, t={self.t}")
        if not abs(self.m) < self.mu_min < self.mu_max:
            raise ValueError(f"need |m| < mu_min < mu_max (outside the gap), got m={self.m}, "
                             f"mu=[{self.mu_min}, {self.mu_max}]")


@dataclass
class GrapheneConfig:
    """Strained gapped graphene: the model of the sea/surface check, the χ(μ) scan and the Hall bar."""

    gap: float = param(0.2, gt=0, doc="staggered-potential gap (eV)")
    strain: float = param(0.05, ge=-0.25, le=0.25, doc="uniaxial strain along the armchair axis (fraction)")
    k_t: float = param(0.02, gt=0, doc="Fermi-Dirac k_B T (eV)")
    mu_min: float = param(0.15, doc="lowest chemical potential of the scan (eV)")
    mu_max: float = param(0.6, doc="highest chemical potential of the scan (eV)")
    n_mu: int = param(10, ge=1, doc="chemical potentials of the scan")
    rel_tol: float = param(0.002, gt=0, lt=1, doc="convergence of the Fermi-surface D (relative)")
    sea_grid: int = param(400, ge=4, doc="uniform grid per direction of the Fermi-sea evaluation")
    check_mu: tuple[float, ...] = param((0.2, 0.3, 0.4, 0.5), nonempty=True,
                                        doc="where sea, surface and WannierBerri are compared (eV)")

    def __post_init__(self) -> None:
        if not self.mu_min < self.mu_max:
            raise ValueError(f"graphene.mu_min must be < graphene.mu_max, got {self.mu_min}, {self.mu_max}")


@dataclass
class DeviceConfig:
    """The simulated Hall bar."""

    density_cm2: float = param(1e12, gt=0, doc="carrier density (cm⁻²)")
    mass_ratio: float = param(0.1, gt=0, doc="effective mass m*/m_e")
    width_um: float = param(5.0, gt=0, doc="Hall-bar width (µm)")
    tau_ps: float = param(1.0, gt=0, doc="relaxation time τ (ps)")
    mu: float = param(0.3, doc="chemical potential (eV) at which D is taken from the strained model")
    fields_v_m: tuple[float, ...] = param((250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0), gt=0,
                                          doc="drive fields E∥ (V/m), at least two")
    noise: float = param(0.02, ge=0, doc="relative noise on each simulated V2w reading")

    def __post_init__(self) -> None:
        if len(set(self.fields_v_m)) < 2:
            raise ValueError(f"device.fields_v_m needs at least two different fields, got {list(self.fields_v_m)}")


@dataclass
class DataConfig:
    """A user's own Wannier90 model, analysed in addition to the checks."""

    path: str | None = param(None, path="file", doc="a Wannier90 seedname_tb.dat or seedname_hr.dat (2D)")
    lattice: tuple[float, ...] = param((), doc="a1x a1y a2x a2y in Å, needed for a _hr.dat")
    mu_min: float = param(-0.5, doc="lowest chemical potential (eV; the file's energies are absolute)")
    mu_max: float = param(0.5, doc="highest chemical potential (eV)")
    n_mu: int = param(21, ge=1, doc="chemical potentials between mu_min and mu_max")
    k_t: float = param(0.02, gt=0, doc="Fermi-Dirac k_B T (eV)")
    rel_tol: float = param(0.01, gt=0, lt=1, doc="convergence of D (relative)")

    def __post_init__(self) -> None:
        if not self.mu_min < self.mu_max:
            raise ValueError(f"data.mu_min must be < data.mu_max, got {self.mu_min}, {self.mu_max}")
        if self.path is None:
            return
        name = Path(self.path).name
        if not name.endswith(("_tb.dat", "_hr.dat")):
            raise ValueError(f"data.path must be a Wannier90 seedname_tb.dat or seedname_hr.dat, got {name}")
        if name.endswith("_hr.dat") and len(self.lattice) != 4:
            raise ValueError(f"data.lattice must give a1x a1y a2x a2y (Å) for the _hr.dat file {name}, e.g. "
                             "--set 'data.lattice=[2.46,0,1.23,2.13]'")


@dataclass
class NlhallConfig:
    dirac: DiracConfig = field(default_factory=DiracConfig)
    graphene: GrapheneConfig = field(default_factory=GrapheneConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    symmetry_grid: int = param(90, ge=4, doc="grid per direction of the symmetry-zero checks")
    chern_grid: int = param(90, ge=4, doc="grid per direction of the Chern numbers")
    pt_grid: int = param(150, ge=4, doc="grid per direction of the PT antiferromagnet's responses")
    pt_k_t: float = param(0.02, gt=0, doc="Fermi-Dirac k_B T (eV) of the PT model")
    pt_n_mu: int = param(24, ge=4, doc="chemical potentials in [-1, 1] eV of the PT model")
    map_grid: int = param(150, ge=4, doc="grid per direction of the Berry-curvature maps")
    speed_points: int = param(200_000, ge=16, doc="k points of the speed measurement")
    wannierberri: bool = param(True, doc="cross-check against WannierBerri (needs the nlhall-check extra)")
    wannierberri_grid: int = param(240, ge=4, doc="WannierBerri's uniform grid per direction")
    # a wider gap than graphene.gap, so that WannierBerri's uniform grid converges within the quick preset's
    # budget (benchmarks/nlhall_vs_wannierberri.py runs the 0.2 eV default)
    wannierberri_gap: float = param(0.6, gt=0, doc="gap (eV) of the strained model of the cross-check")
    wannierberri_k_t: float = param(0.03, gt=0, doc="Fermi-Dirac k_B T (eV) of the cross-check")
    wannierberri_mu: tuple[float, ...] = param((0.4, 0.5, 0.6, 0.7), nonempty=True,
                                               doc="chemical potentials (eV) of the cross-check")


def load_user_model(cfg: DataConfig) -> TightBinding:
    """The TightBinding of ``data.path`` (a Wannier90 _tb.dat, or _hr.dat with ``data.lattice``)."""
    path = Path(cfg.path)
    if path.name.endswith("_tb.dat"):
        return load_tb_dat(path)
    if path.name.endswith("_hr.dat"):
        if len(cfg.lattice) != 4:
            raise UserError("data.lattice must give a1x a1y a2x a2y (Å) for a _hr.dat file")
        return load_hr_dat(path, np.reshape(cfg.lattice, (2, 2)))
    raise UserError(f"data.path must end in _tb.dat or _hr.dat, got {path.name}")


def run(cfg: NlhallConfig, ctx: RunContext) -> Outcome:
    user_model = load_user_model(cfg.data) if cfg.data.path else None  # a bad file fails before any work
    found = checks.Findings()
    tau_ps = cfg.device.tau_ps
    checks.dirac_check(cfg.dirac, ctx, found)
    checks.graphene_check(cfg.graphene, tau_ps, ctx, found)
    checks.wannierberri_check(cfg, cfg.graphene.strain, ctx, found)
    checks.symmetry_check(cfg, cfg.graphene.gap, found)
    checks.intrinsic_check(cfg, cfg.graphene, tau_ps, ctx, found)
    checks.hallbar_check(cfg.device, cfg.graphene, ctx.seed, ctx, found)
    checks.speed_check(cfg.speed_points, cfg.graphene, found)
    checks.wte2_check(ctx, found)
    checks.curvature_maps(cfg.graphene, cfg.map_grid, found)
    if user_model is not None:
        checks.user_model_check(user_model, cfg.data, ctx, found)
    found.metrics.setdefault("wannierberri_rel_diff", float("nan"))
    figures.draw_all(ctx, found.plots)
    claims = evaluate_claims(found.metrics, cfg.claims, found.notes.get("wannierberri", ""))
    return Outcome(metrics=found.metrics, claims=claims, sections=found.sections)


SMOKE = {"dirac.n_mu": 4, "dirac.coarse": 40, "dirac.fermi_subdivision": 3, "dirac.k_t": 0.01, "graphene.k_t": 0.05,
         "graphene.n_mu": 3, "graphene.sea_grid": 150, "graphene.rel_tol": 0.02, "symmetry_grid": 30,
         "chern_grid": 40, "pt_grid": 40, "pt_n_mu": 6, "map_grid": 40, "speed_points": 20_000,
         "wannierberri": False}
FULL = {"dirac.n_mu": 40, "dirac.fermi_subdivision": 9, "graphene.n_mu": 40, "graphene.rel_tol": 0.0005,
        "graphene.sea_grid": 800, "pt_grid": 400, "pt_n_mu": 80, "map_grid": 300, "wannierberri_grid": 400}

register(Experiment(
    name="nlhall",
    paper="2412.09298",
    title="Nonlinear Hall effect in 2D materials: Berry curvature dipole, quantum metric, Hall-bar read-out",
    config=NlhallConfig,
    presets={"smoke": SMOKE, "quick": {}, "full": FULL},
    run=run,
))
