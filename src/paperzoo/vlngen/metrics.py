"""Consistency of generated views, and the R2R navigation metrics.

Consistency (images in [0, 1], errors are mean absolute RGB differences over the pixels seen by both views):

    reprojection  e_AB = mean_{p in O} |G_B(p) - warp(G_A -> B)(p)|,  O = pixels of B reached by A's level views at
                  B's own true depth (within 5 %): true poses and metric depth, whatever the mode used; over B's
                  level views facing the walking direction (within 60 deg)
    seam          the same between the last and first view of the rotation (the 11 <-> 0 wrap in generation order)
    up/down       between each level view and the +-30 deg views above and below it
    depth         median |Z_warp - Z_B| / Z_B of the generator's depth warped with the mode's own pose model, in the
                  view B was entered by, from the viewpoint it was generated from (median over steps, mean over scenes)

Navigation over the graph's geodesic distances d (shortest paths, metres), R = reference path, Q = the agent's:

    NE   = d(q_last, r_last)                  SR = [NE < 3 m]
    SPL  = SR * L(R) / max(L(Q), L(R))        (L = walked length)
    DTW  = min over monotone alignments of sum d(r_i, q_j);   nDTW = exp(-DTW / (|R| * 3 m));   SDTW = SR * nDTW
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .camera import N_HEADINGS, Camera, view_index, view_rotation
from .warp import Warped, cloud, overlap_mask, rotate_view, splat_cloud, warp
from .wcgen import Generated, merge

SUCCESS_M = 3.0


def _pair_error(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    n = int(mask.sum())
    return (float(np.abs(a[mask] - b[mask]).mean()) * n if n else 0.0), n


def facing(heading: float, within_deg: float) -> list[int]:
    """Level views whose heading is within `within_deg` of `heading` (radians)."""
    out = []
    for k in range(N_HEADINGS):
        diff = abs((k * 2 * math.pi / N_HEADINGS - heading + math.pi) % (2 * math.pi) - math.pi)
        if math.degrees(diff) <= within_deg + 1e-9:
            out.append(view_index(k))
    return out


def reprojection_error(gen_a: Generated, gen_b: Generated, pos_a: np.ndarray, pos_b: np.ndarray,
                       depth_a: np.ndarray, depth_b: np.ndarray, cam: Camera,
                       heading: float | None = None) -> tuple[float, int]:
    """(summed error, pixel count) of A's level views warped into B's level views, true poses and depths.

    With the walking `heading` A -> B, only B's views within 60 deg of it (where A sees most of what B sees)
    receive A's views within 90 deg: the same pixels, a fraction of the work.
    """
    total, count = 0.0, 0
    targets = facing(heading, 60) if heading is not None else list(range(N_HEADINGS, 2 * N_HEADINGS))
    sources = facing(heading, 90) if heading is not None else list(range(N_HEADINGS, 2 * N_HEADINGS))
    pts, vals = cloud([gen_a.rgb[v] for v in sources], [depth_a[v] for v in sources], cam.K,
                      [view_rotation(v) for v in sources], pos_a)
    for t in targets:
        w = splat_cloud(pts, vals, cam.K, view_rotation(t), pos_b, (cam.width, cam.height))
        s, n = _pair_error(w.image.reshape(gen_b.rgb[t].shape), gen_b.rgb[t], overlap_mask(w, depth_b[t]))
        total, count = total + s, count + n
    return total, count


def _rotation_error(gen: Generated, src: int, dst: int, pos: np.ndarray, depth: np.ndarray,
                    cam: Camera) -> tuple[float, int]:
    w = rotate_view(gen.rgb[src], depth[src], cam.K, view_rotation(src), view_rotation(dst))
    return _pair_error(w.image, gen.rgb[dst], overlap_mask(w, depth[dst]))


def seam_error(gen: Generated, pos: np.ndarray, depth: np.ndarray, cam: Camera) -> tuple[float, int]:
    """The wrap: the last level view of the rotation (entry - 1) against the first (entry)."""
    k0 = gen.entry_view % N_HEADINGS
    return _rotation_error(gen, view_index(k0 - 1), view_index(k0), pos, depth, cam)


def neighbour_seam_error(gen: Generated, pos: np.ndarray, depth: np.ndarray, cam: Camera) -> tuple[float, int]:
    """Every adjacent level pair k -> k+1 (the wrap included)."""
    parts = [_rotation_error(gen, view_index(k), view_index(k + 1), pos, depth, cam) for k in range(N_HEADINGS)]
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def updown_error(gen: Generated, pos: np.ndarray, depth: np.ndarray, cam: Camera) -> tuple[float, int]:
    parts = [_rotation_error(gen, view_index(k), view_index(k, row), pos, depth, cam)
             for k in range(N_HEADINGS) for row in (0, 2)]
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def depth_error(method, gen_a: Generated, gen_b: Generated, pos_a: np.ndarray, pos_b: np.ndarray,
                rel_heading: float, cam: Camera) -> float:
    """Median relative depth disagreement in B's entry view after warping A's generator depth with the mode's
    pose model (A = the viewpoint B was generated from, `rel_heading` = the turn between their entry headings)."""
    t = gen_b.entry_view
    R_t, t_t = method.pose(t, pos_b, pos_a, rel_heading)
    parts = [warp(gen_a.depth[v][..., None], gen_a.depth[v], cam.K, view_rotation(v), pos_a, cam.K, R_t, t_t)
             for v in method.source_views(t)]
    w: Warped = merge(parts)
    ok = w.valid & np.isfinite(gen_b.depth[t])
    if not ok.any():
        return float("nan")
    return float(np.median(np.abs(w.depth[ok] - gen_b.depth[t][ok]) / gen_b.depth[t][ok]))


# ---------------------------------------------------------------------------------------------- navigation


def path_length(path: Sequence[int], dist: np.ndarray) -> float:
    return float(sum(dist[a, b] for a, b in zip(path, path[1:], strict=False)))


def dtw(reference: Sequence[int], query: Sequence[int], dist: np.ndarray) -> float:
    """Dynamic time warping cost between two node sequences under the geodesic distance matrix."""
    n, m = len(reference), len(query)
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = dist[reference[i - 1], query[j - 1]] + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return float(cost[n, m])


def episode_metrics(reference: Sequence[int], query: Sequence[int], dist: np.ndarray,
                    threshold: float = SUCCESS_M) -> dict[str, float]:
    """NE, SR, SPL, nDTW, SDTW and the trajectory length of one episode (R2R definitions)."""
    if not reference or not query:
        raise ValueError("reference and query paths must be non-empty")
    ne = float(dist[query[-1], reference[-1]])
    if not math.isfinite(ne):
        raise ValueError(f"goal {reference[-1]} is unreachable from {query[-1]}")
    success = float(ne < threshold)
    tl, gt = path_length(query, dist), path_length(reference, dist)
    spl = success * gt / max(tl, gt) if max(tl, gt) > 0 else success
    ndtw = math.exp(-dtw(reference, query, dist) / (len(reference) * threshold))
    return {"ne": ne, "sr": success, "spl": spl, "ndtw": ndtw, "sdtw": success * ndtw, "tl": tl}
