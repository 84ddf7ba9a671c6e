"""Hall-bar read-out of the Berry curvature dipole (SI in, SI out; D in Å).

Drive E∥ along x at frequency ω ≪ 1/τ; the open transverse contacts carry no current, so
j_y = σ E⊥ + χ_yxx E∥² = 0 and, with the Drude σ = n q² τ / m*,

    E⊥(2ω) = -χ_yxx E∥² / σ = -q m* D_xz E∥² / (2ħ² n),     V⊥ = E⊥ W,  E∥ = V∥ / L

(τ cancels). For electrons (q = -e): D_xz = (2ħ² n / (e m*)) E⊥ / E∥². Amplitudes are peak values.
"""

import numpy as np

from .errors import UserError
from .units import ANGSTROM, ELECTRON, HBAR, M_E


def _check(density_m2: float, mass_ratio: float, width_m: float) -> None:
    if not density_m2 > 0:
        raise UserError(f"carrier density must be > 0 m^-2, got {density_m2}")
    if not mass_ratio > 0:
        raise UserError(f"effective mass must be > 0 (in units of m_e), got {mass_ratio}")
    if not width_m > 0:
        raise UserError(f"Hall-bar width must be > 0 m, got {width_m}")


def transverse_voltage_2w(dipole_xz_angstrom: float, drive_field_v_m, density_m2: float, mass_ratio: float,
                          width_m: float, charge: float = ELECTRON) -> np.ndarray:
    """Second-harmonic transverse voltage V⊥(2ω) (V) for drive fields E∥ (V/m)."""
    _check(density_m2, mass_ratio, width_m)
    e_par = np.asarray(drive_field_v_m, float)
    e_perp = -charge * mass_ratio * M_E * dipole_xz_angstrom * ANGSTROM * e_par**2 / (2 * HBAR**2 * density_m2)
    return e_perp * width_m


def extract_dipole(v2w_volt, drive_field_v_m, density_m2: float, mass_ratio: float, width_m: float,
                   charge: float = ELECTRON) -> float:
    """D_xz (Å) from measured V⊥(2ω) at one or more drive fields: least-squares slope of V⊥ against E∥²."""
    _check(density_m2, mass_ratio, width_m)
    v = np.atleast_1d(np.asarray(v2w_volt, float))
    e2 = np.atleast_1d(np.asarray(drive_field_v_m, float)) ** 2
    if v.shape != e2.shape or v.size == 0:
        raise UserError(f"need matching non-empty V2w and E arrays, got shapes {v.shape} and {e2.shape}")
    slope = float(np.dot(e2, v) / np.dot(e2, e2))  # V·m²/V², line through the origin
    return -slope / width_m * 2 * HBAR**2 * density_m2 / (charge * mass_ratio * M_E) / ANGSTROM


def power_law_exponent(drive, response) -> float:
    """Slope of log|response| against log(drive): 2 for a second-harmonic signal."""
    x, y = np.log(np.asarray(drive, float)), np.log(np.abs(np.asarray(response, float)))
    return float(np.polyfit(x, y, 1)[0])
