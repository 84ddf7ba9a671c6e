"""paperzoo.nlhall: nonlinear Hall effect calculator for 2D materials (arXiv 2412.09298).

Quantum geometry (Berry curvature, its dipole, quantum metrics) of 2D band structures, the second-order
responses they produce, and the Hall-bar read-out. Units: eV, Å, ħ = 1 inside; see ``units``.
"""

from .bcd import (
    BCDResult,
    bcd_density,
    berry_curvature_dipole,
    berry_curvature_map,
    chern_number,
    converged_dipole,
    temperature_scan,
)
from .fermi import Smearing
from .geometry import BandGeometry, band_geometry, omega_derivative
from .hallbar import extract_dipole, transverse_voltage_2w
from .hamiltonian import Domain, Hamiltonian, KpModel, TightBinding
from .integrate import converge, integrate
from .models import gapped_graphene, haldane, pt_antiferromagnet, tilted_dirac, tilted_dirac_bcd, wte2_like
from .responses import bcd_susceptibility_si, intrinsic_conductivity, nonlinear_drude
from .tbio import from_pythtb, load_hr_dat, load_tb_dat, to_pythtb, write_hr_dat, write_tb_dat

__all__ = [
    "BCDResult", "BandGeometry", "Domain", "Hamiltonian", "KpModel", "Smearing", "TightBinding",
    "band_geometry", "bcd_density", "bcd_susceptibility_si", "berry_curvature_dipole", "berry_curvature_map",
    "chern_number", "converge", "converged_dipole", "extract_dipole", "from_pythtb", "gapped_graphene",
    "haldane", "integrate", "intrinsic_conductivity", "load_hr_dat", "load_tb_dat", "nonlinear_drude",
    "omega_derivative", "pt_antiferromagnet", "temperature_scan", "tilted_dirac", "tilted_dirac_bcd",
    "to_pythtb", "transverse_voltage_2w", "write_hr_dat", "write_tb_dat", "wte2_like",
]
