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


Selector = Callable[[np.ndarray, float], np.ndarray]


def _split(centres: np.ndarray, cell: np.ndarray, s: int, size: np.ndarray | None = None) -> np.ndarray:
    """Centres of the s × s sub-cells of the cells at ``centres`` spanned by the rows of ``cell`` × ``size``,
    shape (N*s², 2)."""
    offsets = (np.arange(s) + 0.5) / s - 0.5
    oo = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2) @ cell
    scale = np.ones(len(centres)) if size is None else size
    return (centres[:, None, :] + scale[:, None, None] * oo[None]).reshape(-1, 2)


def integrate(domain: Domain, integrand: Integrand, grid: tuple[int, int] | int, refine_iters: int = 0,
              refine_fraction: float = 0.02, subdivision: int = 3, chunk: int = 20000,
              refine_where: Selector | None = None, where_subdivision: int = 1) -> IntegrationResult:
    """Midpoint/periodic-trapezoid rule on an n1 × n2 grid, with two optional refinements:

    - ``refine_where(centres, cell_radius) -> mask`` and ``where_subdivision`` = s: every selected cell is
      replaced by s × s sub-cells at once (e.g. the cells within reach of the Fermi surface), which equals the
      (s·n1) × (s·n2) uniform grid wherever the unselected cells contribute nothing;
    - ``refine_iters`` rounds (after that) that each split the ``refine_fraction`` × (initial cell count)
      cells of largest |contribution| into subdivision² sub-cells (WannierBerri's recursive refinement).
    """
    n1, n2 = (grid, grid) if isinstance(grid, int) else grid
    if n1 < 1 or n2 < 1:
        raise ValueError(f"grid must be >= 1 × 1, got {n1} × {n2}")
    if subdivision < 2 or where_subdivision < 1:
        raise ValueError(f"subdivision must be >= 2 and where_subdivision >= 1, got {subdivision}, {where_subdivision}")
    centres = domain.cell_centres(n1, n2)
    area0 = domain.area / (n1 * n2)
    cell = domain.vectors / np.array([[n1], [n2]])
    n_points = 0
    size = np.ones(len(centres))  # linear size of each cell in units of ``cell``
    if refine_where is not None and where_subdivision > 1:
        radius = 0.5 * float(max(np.linalg.norm(cell[0] + cell[1]), np.linalg.norm(cell[0] - cell[1])))
        mask = np.asarray(refine_where(centres, radius), bool)
        n_points += len(centres)  # the selector looked at every coarse centre
        s = where_subdivision
        centres = np.concatenate([centres[~mask], _split(centres[mask], cell, s)])
        size = np.concatenate([np.ones((~mask).sum()), np.full(mask.sum() * s * s, 1.0 / s)])
    contrib = _evaluate(integrand, centres, chunk)
    contrib = contrib * (area0 * size**2).reshape((-1,) + (1,) * (contrib.ndim - 1))
    n_points += len(centres)
    history = [(n_points, contrib.sum(0))]
    n_pick = max(1, int(round(refine_fraction * n1 * n2)))
    for _ in range(refine_iters):
        score = np.abs(contrib).reshape(len(contrib), -1).sum(1)
        pick = np.argsort(score)[-n_pick:]
        sub = _split(centres[pick], cell, subdivision, size[pick])
        sub_size = np.repeat(size[pick] / subdivision, subdivision**2)
        sub_contrib = _evaluate(integrand, sub, chunk)
        sub_contrib = sub_contrib * (area0 * sub_size**2).reshape((-1,) + (1,) * (sub_contrib.ndim - 1))
        keep = np.ones(len(centres), bool)
        keep[pick] = False
        centres = np.concatenate([centres[keep], sub])
        size = np.concatenate([size[keep], sub_size])
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
