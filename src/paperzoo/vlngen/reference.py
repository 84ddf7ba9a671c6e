"""The reference ray caster: every box tested against every ray, no culling — the slow, obviously complete
version of `render.BoxRenderer` that the tests and `benchmarks/vlngen_render.py` check the fast path against.

Same rays, slab test and shading as `render` (see its docstring for the maths):

    t1 = (lo - o) / d,  t2 = (hi - o) / d                          (per axis)
    solid: t_in = max_axis min(t1, t2),  t_out = min_axis max(t1, t2),  hit iff t_in <= t_out and t_in > 1e-4
    shell: t = min_axis max(t1, t2)
    nearest hit over all boxes and the shell; ties go to the lower box index and the lower axis.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .camera import N_VIEWS, Camera
from .render import LIGHT, Views, _room_material_index, view_dirs
from .scene import Scene


class ReferenceRenderer:
    """`render(position, views)` -> Views by brute force, one view at a time (tensors of rays x boxes)."""

    def __init__(self, scene: Scene, cam: Camera) -> None:
        self.scene, self.cam = scene, cam
        f32 = dict(dtype=torch.float32)
        self.lo, self.hi = torch.as_tensor(scene.box_lo, **f32), torch.as_tensor(scene.box_hi, **f32)
        self.shell_lo = torch.as_tensor(scene.shell_lo, **f32)
        self.shell_hi = torch.as_tensor(scene.shell_hi, **f32)
        self.box_material = torch.as_tensor(scene.box_material, dtype=torch.long)
        self.box_object = torch.as_tensor(scene.box_object, dtype=torch.long)
        self.room_materials = torch.as_tensor(scene.room_materials, dtype=torch.long)
        mats = scene.materials
        self.c1 = torch.tensor([m.colour for m in mats], **f32)
        self.c2 = torch.tensor([m.colour2 for m in mats], **f32)
        self.pattern = torch.tensor([m.pattern for m in mats], dtype=torch.long)
        self.scale = torch.tensor([m.scale for m in mats], **f32)
        self.light = torch.as_tensor(LIGHT, **f32)
        self.dirs = view_dirs(cam)  # (36, H, W, 3)

    def render(self, position: np.ndarray, views: range | list[int] = range(N_VIEWS)) -> Views:
        out = [self._view(np.asarray(position, dtype=np.float32), ix) for ix in views]
        rgb, depth, ids = (np.stack(x) for x in zip(*out, strict=True))
        return Views(rgb, depth, ids, np.asarray(position))

    def _view(self, position: np.ndarray, ix: int):
        o = torch.as_tensor(position)
        d = self.dirs[ix]
        with torch.inference_mode():
            rgb, t, obj = self.cast(o, d)
        return rgb.numpy(), t.numpy(), obj.numpy().astype(np.int16)

    def cast(self, o: torch.Tensor, d: torch.Tensor):
        """(rgb (..., 3), t (...), object id (...)) of rays o + t d (..., 3), testing every box."""
        inv = 1.0 / torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
        t_best, axis = torch.maximum((self.shell_lo - o) * inv, (self.shell_hi - o) * inv).min(dim=-1)
        obj, material = torch.full_like(axis, -1), torch.full_like(axis, -1)
        if len(self.lo):
            t_in, ax_in, t_out = _slabs(self.lo, self.hi, o, inv[..., None, :])  # (..., M)
            t_in = torch.where((t_in <= t_out) & (t_in > 1e-4), t_in, torch.full_like(t_in, math.inf))
            t_box, which = t_in.min(dim=-1)
            closer = t_box < t_best
            t_best = torch.where(closer, t_box, t_best)
            axis = torch.where(closer, ax_in.gather(-1, which[..., None]).squeeze(-1), axis)
            material = torch.where(closer, self.box_material[which], material)
            obj = torch.where(closer, self.box_object[which], obj)
        return self.shade(o + t_best[..., None] * d, d, axis, material), t_best, obj

    def shade(self, point: torch.Tensor, d: torch.Tensor, axis: torch.Tensor, material: torch.Tensor):
        """Textured Lambert colour of hit points (..., 3) on faces normal to `axis`, facing against d."""
        normal = torch.zeros_like(d)
        normal.scatter_(-1, axis[..., None], -torch.sign(d.gather(-1, axis[..., None])))
        p = point + 0.05 * normal
        room = _room_material_index(self.scene.spec, p[..., 0], p[..., 1], normal[..., 2])
        material = torch.where(material < 0, self.room_materials.view(-1)[room], material)
        first = torch.where(axis == 0, point[..., 1], point[..., 0])
        second = torch.where(axis == 2, point[..., 1], point[..., 2])
        sc = self.scale[material]
        ia, ib = (first / sc).floor(), (second / sc).floor()
        pat = self.pattern[material]
        checker = torch.remainder(ia + ib, 2.0)
        stripes = torch.remainder(ia, 2.0)
        planks = _hash(ia, (second / (4 * sc) + 0.5 * torch.remainder(ia, 2.0)).floor())
        mix = torch.where(pat == 1, checker, torch.where(pat == 2, stripes, torch.where(pat == 3, planks,
                                                                                        0.25 * _hash(ia, ib))))
        albedo = self.c1[material] * (1 - mix[..., None]) + self.c2[material] * mix[..., None]
        light = 0.6 + 0.4 * (normal @ self.light).clamp_min(0)
        return (albedo * light[..., None]).clamp(0, 1)


def _slabs(lo: torch.Tensor, hi: torch.Tensor, o: torch.Tensor, inv: torch.Tensor):
    """(t_in, axis of t_in, t_out) of rays against boxes, per axis with elementwise ops."""
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
