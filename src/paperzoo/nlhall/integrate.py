"""Brillouin-zone integration: uniform grids, a convergence loop, and adaptive refinement of the cells that
carry the largest contributions (WannierBerri-style recursive refinement).

An *integrand* maps Cartesian k (N, 2) to densities (N, ...); the integral is Σ_cells density(centre) × area.
Points are evaluated in chunks, never one k point at a time.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .hamiltonian import Domain

Integrand = Callable[[np.ndarray], np.ndarray]


@dataclass
class IntegrationResult:
    value: np.ndarray
    n_points: int  # k points evaluated in total
    grid: tuple[int, int]
    history: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (points so far, value) per stage


def _evaluate(integrand: Integrand, k: np.ndarray, chunk: int) -> np.ndarray:
    parts = [integrand(k[s:s + chunk]) for s in range(0, len(k), chunk)]
    return np.concatenate(parts, axis=0)


def integrate(domain: Domain, integrand: Integrand, grid: tuple[int, int] | int, refine_iters: int = 0,
              refine_fraction: float = 0.02, subdivision: int = 3, chunk: int = 20000) -> IntegrationResult:
    """Midpoint/periodic-trapezoid rule on an n1 × n2 grid, then ``refine_iters`` rounds that each split the
    ``refine_fraction`` × (initial cell count) cells of largest |contribution| into subdivision² sub-cells."""
    n1, n2 = (grid, grid) if isinstance(grid, int) else grid
    if n1 < 1 or n2 < 1:
        raise ValueError(f"grid must be >= 1 × 1, got {n1} × {n2}")
    if subdivision < 2:
        raise ValueError(f"subdivision must be >= 2, got {subdivision}")
    centres = domain.cell_centres(n1, n2)
    area0 = domain.area / (n1 * n2)
    contrib = _evaluate(integrand, centres, chunk) * area0
    level = np.zeros(len(centres), int)
    n_points = len(centres)
    history = [(n_points, contrib.sum(0))]
    cell = domain.vectors / np.array([[n1], [n2]])
    n_pick = max(1, int(round(refine_fraction * n1 * n2)))
    offsets = (np.arange(subdivision) + 0.5) / subdivision - 0.5
    oo = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2)  # (s², 2)
    for _ in range(refine_iters):
        score = np.abs(contrib).reshape(len(contrib), -1).sum(1)
        pick = np.argsort(score)[-n_pick:]
        scale = float(subdivision) ** -level[pick]
        sub = centres[pick, None, :] + scale[:, None, None] * (oo @ cell)[None]
        sub = sub.reshape(-1, 2)
        sub_level = np.repeat(level[pick] + 1, len(oo))
        sub_area = area0 * float(subdivision) ** (-2 * sub_level)
        sub_contrib = _evaluate(integrand, sub, chunk)
        sub_contrib = sub_contrib * sub_area.reshape((-1,) + (1,) * (sub_contrib.ndim - 1))
        keep = np.ones(len(centres), bool)
        keep[pick] = False
        centres = np.concatenate([centres[keep], sub])
        level = np.concatenate([level[keep], sub_level])
        contrib = np.concatenate([contrib[keep], sub_contrib])
        n_points += len(sub)
        history.append((n_points, contrib.sum(0)))
    return IntegrationResult(contrib.sum(0), n_points, (n1, n2), history)


def converge(domain: Domain, integrand: Integrand, start: int = 32, rel_tol: float = 0.01, max_grid: int = 2048,
             growth: float = 1.5, **refine) -> IntegrationResult:
    """Grow an n × n grid by ``growth`` until two successive results differ by < rel_tol (relative to the
    largest |value|); the result's ``history`` lists every grid's value. Raises if max_grid is reached first."""
    n, previous, history, total = start, None, [], 0
    while True:
        res = integrate(domain, integrand, n, **refine)
        total += res.n_points
        history.append((res.n_points, res.value))
        if previous is not None:
            scale = np.max(np.abs(res.value))
            change = np.max(np.abs(res.value - previous))
            if change <= rel_tol * scale or scale == 0:
                return IntegrationResult(res.value, total, res.grid, history)
        if n >= max_grid:
            raise RuntimeError(f"no convergence to {rel_tol:g} by a {n}×{n} grid; raise max_grid or the smearing")
        previous = res.value
        n = min(max_grid, int(np.ceil(n * growth)))
