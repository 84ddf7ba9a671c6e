"""Units of paperzoo.nlhall.

Internally hbar = 1 and every quantity uses electron-volts and angstroms:
energies in eV, wave vectors in 1/Å, band velocities hbar*v = dε/dk in eV·Å, Berry curvature in Å²,
band-normalised quantum metric G in Å²/eV, Berry curvature dipole in Å (2D). Functions whose names end in
``_si`` return SI values. Carrier charge ``q`` is explicit wherever a response depends on it; the default is the
electron, ``q = -E_CHARGE``.
"""

E_CHARGE = 1.602176634e-19  # C (exact, SI 2019)
HBAR = 1.054571817e-34  # J·s
M_E = 9.1093837015e-31  # kg
K_B_EV = 8.617333262e-5  # eV/K
ANGSTROM = 1e-10  # m
ELECTRON = -E_CHARGE  # the default carrier charge q


def kelvin_to_ev(temperature_k: float) -> float:
    """k_B T in eV for a temperature in kelvin."""
    return K_B_EV * temperature_k
