"""A vectorised ray caster for the box scenes: RGB, metric z-depth and object ids of the simulator's 36 views.

Rays r(t) = o + t d with d = R_wc K^-1 [u, v, 1] (unit z in the camera), so the hit parameter t *is* the z-depth.
Solids (walls, furniture) by the slab test, the shell (floor, ceiling, outer walls) from inside:

    t1 = (lo - o) / d,  t2 = (hi - o) / d                          (per axis)
    solid: t_in = max_axis min(t1, t2),  t_out = min_axis max(t1, t2),  hit iff t_in <= t_out and t_in > 0
    shell: t = min_axis max(t1, t2)                                 (the exit from the room box)
    shade = albedo(texture(material, surface coords)) * (0.6 + 0.4 max(0, n . l))   (view-independent Lambert)

Small views test every box against every ray at once; from 96x96 on, each box is tested only on the pixel block
its projection covers. Batched in torch over pixels, so it uses every intra-op thread. `trimesh_depth` casts the
same rays with trimesh (+ `embreex`) over the scene's triangles: the depth-only reference that the tests and
`benchmarks/vlngen_render.py` compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .camera import N_VIEWS, Camera, camera_rays, view_rotation
from .scene import CEILING, FLOOR, WALL, Scene

LIGHT = np.array([0.35, 0.6, 0.72]) / np.linalg.norm([0.35, 0.6, 0.72])


@dataclass
class Views:
    """The rendered views of one viewpoint: rgb (V, H, W, 3) in [0, 1], z-depth (V, H, W) metres, ids (V, H, W)."""

    rgb: np.ndarray
    depth: np.ndarray
    ids: np.ndarray
    position: np.ndarray


class BoxRenderer:
    """Renders a `Scene` with torch; `render(position, views)` -> Views. Reuse one per scene and camera: the ray
    directions of the 36 views are the same at every viewpoint and are computed once."""

    block_pixels = 96 * 96  # from this view size on, each box is tested only on its projected pixel block

    def __init__(self, scene: Scene, cam: Camera, device: str = "cpu") -> None:
        self.scene, self.cam, self.device = scene, cam, device
        f32 = dict(dtype=torch.float32, device=device)
        self.lo = torch.as_tensor(scene.box_lo, **f32)
        self.hi = torch.as_tensor(scene.box_hi, **f32)
        self.corners = np.stack([np.where(np.array(bits, bool), scene.box_hi, scene.box_lo)
                                 for bits in np.ndindex(2, 2, 2)], axis=1)  # (M, 8, 3)
        self.shell_lo = torch.as_tensor(scene.shell_lo, **f32)
        self.shell_hi = torch.as_tensor(scene.shell_hi, **f32)
        self.box_material = torch.as_tensor(scene.box_material, dtype=torch.long, device=device)
        self.box_object = torch.as_tensor(scene.box_object, dtype=torch.long, device=device)
        self.room_materials = torch.as_tensor(scene.room_materials, dtype=torch.long, device=device)
        mats = scene.materials
        self.c1 = torch.tensor([m.colour for m in mats], **f32)
        self.c2 = torch.tensor([m.colour2 for m in mats], **f32)
        self.pattern = torch.tensor([m.pattern for m in mats], dtype=torch.long, device=device)
        self.scale = torch.tensor([m.scale for m in mats], **f32)
        self.light = torch.as_tensor(LIGHT, **f32)
        rays = camera_rays(cam.K, cam.width, cam.height)
        self.rotations = np.stack([view_rotation(ix) for ix in range(N_VIEWS)])
        dirs = np.einsum("hwc,vrc->vhwr", rays, self.rotations)  # (36, H, W, 3): R_wc K^-1 [u, v, 1]
        self.dirs = torch.as_tensor(dirs, **f32)
        self.inv = 1.0 / torch.where(self.dirs.abs() < 1e-12, torch.full_like(self.dirs, 1e-12), self.dirs)

    def render(self, position: np.ndarray, views: range | list[int] = range(N_VIEWS)) -> Views:
        views = list(views)
        o = torch.as_tensor(np.asarray(position, dtype=np.float32), device=self.device)
        with torch.no_grad():
            d, inv = self.dirs[views], self.inv[views]
            t1, t2 = (self.shell_lo - o) * inv, (self.shell_hi - o) * inv
            t_best, axis = torch.maximum(t1, t2).min(dim=-1)  # (V, H, W): the exit from the shell
            obj = torch.full_like(axis, -1)
            material = torch.full_like(axis, -1)
            if self.cam.width * self.cam.height >= self.block_pixels:  # big views: each box on its screen block
                for k, ix in enumerate(views):
                    for box, rows, cols in self._screen_boxes(np.asarray(position, dtype=float), ix):
                        self._hit_box(box, o, inv[k, rows, cols], t_best[k, rows, cols], axis[k, rows, cols],
                                      material[k, rows, cols], obj[k, rows, cols])
            elif len(self.lo):  # small views: every box against every ray at once
                self._hit_all(o, inv, t_best, axis, material, obj)
            rgb = self.shade(o + t_best[..., None] * d, d, axis, material)
        return Views(rgb.numpy(), t_best.numpy(), obj.numpy().astype(np.int16), np.asarray(position))

    def _screen_boxes(self, position: np.ndarray, ix: int):
        """(box, row slice, column slice) of every box whose projection meets view ix: its bounding pixel block."""
        R, K, W, H = self.rotations[ix], self.cam.K, self.cam.width, self.cam.height
        pc = (self.corners - position) @ R  # (M, 8, 3) camera coordinates
        for m in range(len(pc)):
            z = pc[m, :, 2]
            if np.all(z <= 1e-3):
                continue
            if np.any(z <= 1e-3):  # straddles the camera plane: test the whole view
                yield m, slice(0, H), slice(0, W)
                continue
            u = K[0, 0] * pc[m, :, 0] / z + K[0, 2]
            v = K[1, 1] * pc[m, :, 1] / z + K[1, 2]
            c0, c1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, W)
            r0, r1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, H)
            if c0 < c1 and r0 < r1:
                yield m, slice(r0, r1), slice(c0, c1)

    def _hit_box(self, m: int, o: torch.Tensor, inv: torch.Tensor, t_best: torch.Tensor, axis: torch.Tensor,
                 material: torch.Tensor, obj: torch.Tensor) -> None:
        """Slab test of box m on a block of rays; updates the block's nearest hit in place."""
        t_in, ax_in, t_out = _slabs(self.lo[m], self.hi[m], o, inv)
        closer = (t_in <= t_out) & (t_in > 1e-4) & (t_in < t_best)
        t_best.copy_(torch.where(closer, t_in, t_best))
        axis.copy_(torch.where(closer, ax_in, axis))
        material.copy_(torch.where(closer, self.box_material[m], material))
        obj.copy_(torch.where(closer, self.box_object[m], obj))

    def _hit_all(self, o: torch.Tensor, inv: torch.Tensor, t_best: torch.Tensor, axis: torch.Tensor,
                 material: torch.Tensor, obj: torch.Tensor) -> None:
        t_in, ax_in, t_out = _slabs(self.lo, self.hi, o, inv[..., None, :])  # (..., M)
        t_in = torch.where((t_in <= t_out) & (t_in > 1e-4), t_in, torch.full_like(t_in, math.inf))
        t_box, which = t_in.min(dim=-1)
        closer = t_box < t_best
        t_best.copy_(torch.where(closer, t_box, t_best))
        axis.copy_(torch.where(closer, ax_in.gather(-1, which[..., None]).squeeze(-1), axis))
        material.copy_(torch.where(closer, self.box_material[which], material))
        obj.copy_(torch.where(closer, self.box_object[which], obj))

    def cast(self, o: torch.Tensor, d: torch.Tensor):
        """(rgb (N, 3), t (N,), object id (N,)) of arbitrary rays o + t d (N, 3), testing every box."""
        inv = 1.0 / torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
        t_best, axis = torch.maximum((self.shell_lo - o) * inv, (self.shell_hi - o) * inv).min(dim=-1)
        obj, material = torch.full_like(axis, -1), torch.full_like(axis, -1)
        for m in range(len(self.lo)):
            self._hit_box(m, o, inv, t_best, axis, material, obj)
        return self.shade(o + t_best[..., None] * d, d, axis, material), t_best, obj

    def shade(self, point: torch.Tensor, d: torch.Tensor, axis: torch.Tensor, material: torch.Tensor):
        """Textured Lambert colour of hit points (..., 3) on faces normal to `axis`, facing against d."""
        normal = torch.zeros_like(d)
        normal.scatter_(-1, axis[..., None], -torch.sign(d.gather(-1, axis[..., None])))
        structural = material < 0
        material = torch.where(structural, self._room_material(point + 0.05 * normal, normal), material)
        albedo = self._texture(material, point, axis)
        light = 0.6 + 0.4 * (normal @ self.light).clamp_min(0)
        return (albedo * light[..., None]).clamp(0, 1)

    def _room_material(self, p: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
        s = self.scene.spec
        ix = (p[..., 0] / s.room_size).floor().clamp(0, s.rooms_x - 1).long()
        iy = (p[..., 1] / s.room_size).floor().clamp(0, s.rooms_y - 1).long()
        kind = torch.where(normal[..., 2] > 0.5, FLOOR, torch.where(normal[..., 2] < -0.5, CEILING, WALL))
        return self.room_materials[iy * s.rooms_x + ix, kind]

    def _texture(self, material: torch.Tensor, p: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
        """Albedo from the material's pattern over the two surface coordinates (a, b) of the hit point."""
        first = torch.where(axis == 0, p[..., 1], p[..., 0])
        second = torch.where(axis == 2, p[..., 1], p[..., 2])
        sc = self.scale[material]
        ia, ib = (first / sc).floor(), (second / sc).floor()
        noise = _hash(ia, ib)
        pat = self.pattern[material]
        checker = torch.remainder(ia + ib, 2.0)
        stripes = torch.remainder(ia, 2.0)
        planks = _hash(ia, (second / (4 * sc) + 0.5 * torch.remainder(ia, 2.0)).floor())
        mix = torch.where(pat == 1, checker, torch.where(pat == 2, stripes, torch.where(pat == 3, planks,
                                                                                        0.25 * noise)))
        return self.c1[material] * (1 - mix[..., None]) + self.c2[material] * mix[..., None]


def _slabs(lo: torch.Tensor, hi: torch.Tensor, o: torch.Tensor, inv: torch.Tensor):
    """(t_in, axis of t_in, t_out) of rays against boxes, per axis with elementwise ops (no size-3 reductions)."""
    t = []
    for k in range(3):
        a, b = (lo[..., k] - o[k]) * inv[..., k], (hi[..., k] - o[k]) * inv[..., k]
        t.append((torch.minimum(a, b), torch.maximum(a, b)))
    t_in, ax = t[0][0], torch.zeros_like(t[0][0], dtype=torch.long)
    for k in (1, 2):
        bigger = t[k][0] > t_in
        t_in = torch.where(bigger, t[k][0], t_in)
        ax = torch.where(bigger, k, ax)
    t_out = torch.minimum(torch.minimum(t[0][1], t[1][1]), t[2][1])
    return t_in, ax, t_out


def _hash(i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """A deterministic pseudo-random value in [0, 1) per integer cell (i, j)."""
    x = torch.sin(torch.remainder(i, 1024.0) * 12.9898 + torch.remainder(j, 1024.0) * 78.233) * 43758.5453
    return x - x.floor()


def scene_mesh(scene: Scene):
    """The scene as one trimesh.Trimesh (12 triangles a box; the shell's faces point inward)."""
    import trimesh

    parts = []
    for lo, hi in zip(scene.box_lo, scene.box_hi, strict=True):
        parts.append(trimesh.creation.box(bounds=np.stack([lo, hi])))
    shell = trimesh.creation.box(bounds=np.stack([scene.shell_lo, scene.shell_hi]))
    shell.invert()
    parts.append(shell)
    return trimesh.util.concatenate(parts)


def trimesh_depth(scene: Scene, cam: Camera, position: np.ndarray, views: range | list[int] = range(N_VIEWS),
                  engine: str = "auto") -> np.ndarray:
    """z-depth (V, H, W) of the same views by trimesh's ray casting (`engine`: auto, triangle or embree)."""
    import trimesh

    mesh = scene_mesh(scene)
    if engine == "triangle":
        caster = trimesh.ray.ray_triangle.RayMeshIntersector(mesh)
    elif engine == "embree":
        caster = trimesh.ray.ray_pyembree.RayMeshIntersector(mesh)
    else:
        caster = mesh.ray
    rays = camera_rays(cam.K, cam.width, cam.height).reshape(-1, 3)
    out = np.full((len(list(views)), rays.shape[0]), np.inf)
    for k, ix in enumerate(views):
        R = view_rotation(ix)
        d = rays @ R.T
        origins = np.broadcast_to(np.asarray(position, dtype=float), d.shape)
        loc, ray_idx, _ = caster.intersects_location(origins, d / np.linalg.norm(d, axis=1, keepdims=True),
                                                     multiple_hits=False)
        out[k, ray_idx] = (loc - position) @ R[:, 2]
    return out.reshape(-1, cam.height, cam.width)
