"""Occupations f0(ε) and the matching Fermi-surface weights -∂f0/∂ε (energies in eV, weights in 1/eV).

``Smearing("fermi", width=kT)`` is the Fermi-Dirac distribution at k_B T = width; ``"gauss"`` is the
Gaussian-broadened step f0 = erfc((ε-μ)/w)/2. width = 0 means the sharp T = 0 step (only for Fermi-sea sums;
a Fermi-surface sum needs a finite width on a grid).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import erfc, expit

KINDS = ("fermi", "gauss")


@dataclass(frozen=True)
class Smearing:
    kind: str = "fermi"
    width: float = 0.01  # eV: k_B T for "fermi", the Gaussian σ for "gauss"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"smearing kind must be one of {KINDS}, got {self.kind!r}")
        if not self.width >= 0:
            raise ValueError(f"smearing width must be >= 0 eV, got {self.width}")

    def occupation(self, energy: np.ndarray, mu: np.ndarray | float) -> np.ndarray:
        """f0(ε - μ), dimensionless."""
        x = np.asarray(energy) - mu
        if self.width == 0:
            return (x < 0).astype(float) + 0.5 * (x == 0)
        if self.kind == "fermi":
            return expit(-x / self.width)
        return 0.5 * erfc(x / (np.sqrt(2.0) * self.width))

    def delta(self, energy: np.ndarray, mu: np.ndarray | float) -> np.ndarray:
        """-∂f0/∂ε at ε - μ, in 1/eV (integrates to 1 over ε)."""
        if self.width == 0:
            raise ValueError("a Fermi-surface quantity needs a smearing width > 0 on a k grid")
        x = (np.asarray(energy) - mu) / self.width
        if self.kind == "fermi":
            s = expit(x)
            return s * (1.0 - s) / self.width
        return np.exp(-0.5 * x * x) / (np.sqrt(2.0 * np.pi) * self.width)

    @property
    def reach(self) -> float:
        """Energy distance beyond which -∂f0/∂ε is negligible (< 1e-15 relative)."""
        return (36.0 if self.kind == "fermi" else 8.5) * self.width
