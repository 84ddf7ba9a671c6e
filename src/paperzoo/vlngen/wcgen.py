"""WCGEN (arXiv 2412.06413): world-consistent generation of the 36 views of every viewpoint of a scene.

Viewpoints are generated in breadth-first order over the navigation graph; node B is entered from a generated
neighbour A along heading h_AB (view ix_t = the level view nearest h_AB).

Trajectory stage (view ix_t of B):
    W      = z-buffer( warp(G_A[v], D_A[v], pose_A[v] -> pose_B[ix_t]) for every generated neighbour A, level view v )
    G_B[ix_t] = img2img( inpaint(W, holes(W), hint = real view), strength s )
Viewpoint stage (the other 35 views, rotating by 30 deg):
    level row, k = ix_t+1 ... ix_t+11:  G_B[k] = inpaint(warp(G_B[k-1] -> k))     (rotation about the camera centre)
    the last heading (the wrap) warps from both neighbours:  warp(G_B[k-1]) (+) warp(G_B[ix_t])
    up / down rows:  G_B[k, +-30] = inpaint(warp(G_B[k, 0]) (+) warp(G_B[k-1, +-30]))
Loop closure: a viewpoint is generated once; every generated neighbour contributes to its trajectory stage.

Modes (one class each, overriding small methods):
    WCGen             ours: true relative poses, metric depth, holes = pixels the warp does not reach
    AuthorsWCGen      the authors' code: heuristic translation t = [dh, -de, 3.5 |(dh, de)|] in the camera frame,
                      no warp when the heading turns by more than 30 deg, holes filled with the real target view
                      then img2img at strength 0.95, fixed blurred masks (45 % new for a yaw step, 85 % up/down)
    IndependentGen    PanoGen-style baseline: every view generated on its own (text2img)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .camera import N_HEADINGS, Camera, heading_of, neighbour_view, view_index, view_rotation
from .generators import Generator
from .render import Views
from .warp import Warped, cloud, rotate_view, splat_cloud


@dataclass
class Generated:
    """The generated 36 views of one viewpoint, the depth the generator used, and the trajectory-stage view."""

    rgb: np.ndarray  # (36, H, W, 3)
    depth: np.ndarray  # (36, H, W)
    entry_view: int


def bfs_order(adjacency: list[list[int]], root: int = 0) -> list[tuple[int, int | None]]:
    """(node, parent) in breadth-first order from `root` (parent None for the root), over one component."""
    seen, out, queue = {root}, [], deque([(root, None)])
    while queue:
        node, parent = queue.popleft()
        out.append((node, parent))
        for nb in adjacency[node]:
            if nb not in seen:
                seen.add(nb)
                queue.append((nb, node))
    return out


def merge(parts: list[Warped]) -> Warped:
    """Z-buffer several warps of the same target view: the nearest sample wins at every pixel."""
    out = parts[0]
    for w in parts[1:]:
        nearer = w.depth < out.depth
        out = Warped(np.where(nearer[..., None], w.image, out.image), np.where(nearer, w.depth, out.depth),
                     out.valid | w.valid)
    return out


class WCGen:
    """Ours: warp with the true relative poses and metric depth, fill exactly the holes, close loops."""

    name = "wcgen"
    strength = 0.1  # img2img after filling the trajectory view (regeneration)

    def __init__(self, gen: Generator, cam: Camera, strength: float | None = None) -> None:
        self.gen, self.cam = gen, cam
        if strength is not None:
            self.strength = strength

    # ---- extension points
    def pose(self, ix: int, position: np.ndarray, origin: np.ndarray, entry_heading: float) -> tuple:
        """(R_wc, t) of view ix at `position`, as this mode believes it relative to the source at `origin`."""
        return view_rotation(ix), np.asarray(position, dtype=float)

    def warp_allowed(self, turn: float) -> bool:
        return True

    def trajectory_sources(self, generated_neighbours: list[int], parent: int) -> list[int]:
        """The viewpoints warped into the trajectory view: every generated neighbour (loop closure)."""
        return generated_neighbours

    def source_views(self, entry: int) -> list[int]:
        """The views of a source viewpoint warped into the trajectory view: its whole level row."""
        return list(range(N_HEADINGS, 2 * N_HEADINGS))

    def fill(self, warped: Warped, hint: np.ndarray, depth: np.ndarray, rng: np.random.Generator,
             prompt: str, fixed: np.ndarray | None = None) -> np.ndarray:
        """Inpaint the holes of a warped view (the trajectory view and every rotation step)."""
        return self.gen.inpaint(warped.image, warped.holes, prompt, depth, hint, rng)

    def refine(self, img: np.ndarray, depth: np.ndarray, prompt: str, rng: np.random.Generator) -> np.ndarray:
        return self.gen.img2img(img, prompt, depth, self.strength, rng)

    def rotation_mask(self, warped: Warped, direction: str) -> np.ndarray | None:
        """The region to regenerate after a rotation step; None = exactly the holes of the warp."""
        return None

    # ---- the method
    def generate_scene(self, real: dict[int, Views], adjacency: list[list[int]], positions: np.ndarray,
                       rng: np.random.Generator, root: int = 0) -> dict[int, Generated]:
        out: dict[int, Generated] = {}
        entry_heading: dict[int, float] = {}
        for node, parent in bfs_order(adjacency, root):
            if parent is None:
                entry = view_index(0)
                entry_heading[node] = 0.0
                depth = self._depths(real[node])
                view = self.gen.text2img(self._prompt(real[node], entry), depth[entry], real[node].rgb[entry], rng)
            else:
                h = heading_of(*(positions[node] - positions[parent])[:2])
                entry_heading[node] = h
                entry = view_index(round(h / (2 * math.pi / N_HEADINGS)))
                depth = self._depths(real[node])
                sources = [nb for nb in adjacency[node] if nb in out]
                view = self.trajectory_view(node, self.trajectory_sources(sources, parent), entry, out, real,
                                            positions, entry_heading, depth, rng)
            out[node] = self.viewpoint_stage(real[node], depth, entry, view, rng)
        return out

    def trajectory_view(self, node: int, sources: list[int], entry: int, done: dict[int, Generated],
                        real: dict[int, Views], positions: np.ndarray, entry_heading: dict[int, float],
                        depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        hint, prompt = real[node].rgb[entry], self._prompt(real[node], entry)
        parts, size = [], (self.cam.width, self.cam.height)
        for src in sources:
            turn = abs((entry_heading[node] - entry_heading[src] + math.pi) % (2 * math.pi) - math.pi)
            if not self.warp_allowed(turn):
                continue
            R_t, t_t = self.pose(entry, positions[node], positions[src], entry_heading[node] - entry_heading[src])
            views = self.source_views(entry)
            pts, vals = cloud([done[src].rgb[v] for v in views], [done[src].depth[v] for v in views], self.cam.K,
                              [view_rotation(v) for v in views], positions[src])
            w = splat_cloud(pts, vals, self.cam.K, R_t, t_t, size)
            parts.append(Warped(w.image.reshape(hint.shape), w.depth, w.valid))
        if not parts:
            empty = Warped(np.zeros_like(hint), np.full(hint.shape[:2], np.inf), np.zeros(hint.shape[:2], bool))
            return self.refine(self.fill(empty, hint, depth[entry], rng, prompt), depth[entry], prompt, rng)
        return self.refine(self.fill(merge(parts), hint, depth[entry], rng, prompt), depth[entry], prompt, rng)

    def viewpoint_stage(self, real: Views, depth: np.ndarray, entry: int, first: np.ndarray,
                        rng: np.random.Generator) -> Generated:
        rgb = np.zeros_like(real.rgb)
        rgb[entry] = first
        k0 = entry % N_HEADINGS
        for step in range(1, N_HEADINGS):  # the level row, clockwise from the entry view
            ix = view_index(k0 + step)
            srcs = [neighbour_view(ix, -1)] + ([entry] if step == N_HEADINGS - 1 else [])  # the wrap: both sides
            rgb[ix] = self._rotate_into(ix, srcs, rgb, real, depth, rng, "right")
        for row, direction in ((2, "up"), (0, "down")):
            for step in range(N_HEADINGS):
                ix = view_index(k0 + step, row)
                srcs = [view_index(k0 + step)] + ([neighbour_view(ix, -1)] if step else [])
                if step == N_HEADINGS - 1:
                    srcs.append(view_index(k0, row))
                rgb[ix] = self._rotate_into(ix, srcs, rgb, real, depth, rng, direction)
        return Generated(rgb, depth, entry)

    def _rotate_into(self, ix: int, srcs: list[int], rgb: np.ndarray, real: Views, depth: np.ndarray,
                     rng: np.random.Generator, direction: str) -> np.ndarray:
        warped = merge([rotate_view(rgb[s], depth[s], self.cam.K, view_rotation(s), view_rotation(ix)) for s in srcs])
        return self.fill(warped, real.rgb[ix], depth[ix], rng, self._prompt(real, ix),
                         self.rotation_mask(warped, direction))

    def _depths(self, real: Views) -> np.ndarray:
        return np.stack([self.gen.depth(real.rgb[v], real.depth[v]) for v in range(len(real.depth))])

    def _prompt(self, real: Views, ix: int) -> str:
        return f"a room, mostly {self.gen.caption(real.rgb[ix])}"


class AuthorsWCGen(WCGen):
    """The authors' published code: heuristic translation, target-view fill + img2img 0.95, fixed blurred masks."""

    name = "wcgen_authors"
    strength = 0.95
    max_turn = math.radians(30.0)
    translation_scale = 3.5
    mask_fraction = {"right": 0.45, "up": 0.85, "down": 0.85}

    def pose(self, ix: int, position: np.ndarray, origin: np.ndarray, entry_heading: float) -> tuple:
        R = view_rotation(ix)
        dh, de = float(entry_heading), 0.0
        t_cam = np.array([dh, -de, self.translation_scale * math.hypot(dh, de)])
        return R, np.asarray(origin, dtype=float) + R @ t_cam  # not the true position of the viewpoint

    def warp_allowed(self, turn: float) -> bool:
        return turn <= self.max_turn + 1e-9

    def trajectory_sources(self, generated_neighbours: list[int], parent: int) -> list[int]:
        return [parent]  # the previous viewpoint of the trajectory only

    def source_views(self, entry: int) -> list[int]:
        return [entry]  # the view at the same heading

    def fill(self, warped: Warped, hint: np.ndarray, depth: np.ndarray, rng: np.random.Generator,
             prompt: str, fixed: np.ndarray | None = None) -> np.ndarray:
        if fixed is None:  # trajectory stage: holes take the real target view (img2img follows)
            return np.where(warped.holes[..., None], hint, warped.image)
        filled = self.gen.inpaint(warped.image, (fixed > 0.5) | warped.holes, prompt, depth, hint, rng)
        m = np.maximum(fixed, warped.holes.astype(float))[..., None]
        return (m * filled + (1 - m) * warped.image).astype(warped.image.dtype)

    def rotation_mask(self, warped: Warped, direction: str) -> np.ndarray:
        return fixed_mask(warped.valid.shape, direction, self.mask_fraction[direction])


def fixed_mask(shape: tuple[int, int], direction: str, fraction: float, blur: float = 0.05) -> np.ndarray:
    """The authors' inpainting mask: the new `fraction` of the image (right side, or top/bottom), edge blurred."""
    H, W = shape
    if direction == "right":
        x = (np.arange(W) + 0.5) / W
        ramp = np.clip((x - (1 - fraction)) / blur + 0.5, 0, 1)
        return np.broadcast_to(ramp[None, :], shape).copy()
    y = (np.arange(H) + 0.5) / H
    ramp = np.clip(((fraction - y) if direction == "up" else (y - (1 - fraction))) / blur + 0.5, 0, 1)
    return np.broadcast_to(ramp[:, None], shape).copy()


class IndependentGen(WCGen):
    """PanoGen-style baseline: each of the 36 views is generated on its own, nothing is warped."""

    name = "independent"

    def generate_scene(self, real: dict[int, Views], adjacency: list[list[int]], positions: np.ndarray,
                       rng: np.random.Generator, root: int = 0) -> dict[int, Generated]:
        out = {}
        for node, _ in bfs_order(adjacency, root):
            depth = self._depths(real[node])
            rgb = np.stack([self.gen.text2img(self._prompt(real[node], v), depth[v], real[node].rgb[v], rng)
                            for v in range(len(depth))])
            out[node] = Generated(rgb, depth, view_index(0))
        return out


MODES: dict[str, type[WCGen]] = {c.name: c for c in (WCGen, AuthorsWCGen, IndependentGen)}

__all__ = ["MODES", "AuthorsWCGen", "Generated", "IndependentGen", "WCGen", "bfs_order", "fixed_mask", "merge"]
