"""A fast ray caster for the box scenes: RGB, metric z-depth and object ids of the simulator's 36 views.

Camera (see `camera`): view ix looks along heading h, elevation e; R_wc = [right | down | forward], pixel centres
(u, v) = (j + 0.5, i + 0.5). Rays r(t) = o + t d with d = R_wc K^-1 [u, v, 1] (unit z in the camera), so the hit
parameter t *is* the z-depth. Solids (walls, furniture) by the slab test, the shell (floor, ceiling, outer walls)
from inside:

    t1 = (lo - o) / d,  t2 = (hi - o) / d                          (per axis a; 1/d precomputed per pixel)
    solid: t_in = max_a min(t1, t2),  t_out = min_a max(t1, t2),  hit iff t_in <= t_out and t_in > 1e-4
    shell: t = min_a max(t1, t2)                                    (the exit from the room box)
    pixel: the nearest hit; ties go to the lower box index, the face to the first axis attaining t_in
    shade = albedo(texture(material, surface coords)) * (0.6 + 0.4 max(0, n . l))   (view-independent Lambert)

What makes it fast (the output is bit-identical to `reference.ReferenceRenderer`, which tests every box on every
ray; `tests/vlngen/test_render.py` checks it):

- Screen-space culling. Box m is tested only on the pixel block that its projection covers in view ix: the
  8 corners in camera coordinates, the box clipped at the plane z = 1e-5 (the crossing points of its 12 edges
  added), projected, and the bounding pixel block taken with a one-pixel margin. All boxes of all views at once
  in numpy; boxes behind the camera or off-screen get empty blocks.
- Deferred shading. The hit loop keeps only t and the winning box per pixel (two in-place updates per box); the
  face axis is recomputed once for the winners, then materials, textures and light are evaluated once per pixel.
  The light n . l has six values (three axes, two signs): a table.
- Cache-sized passes over planar float32 planes (rays stored (V, 3, H, W)): views are processed in chunks of
  about 65k rays (256 KB a plane), so every elementwise op runs on data that stays in cache; small views are
  batched into one chunk so Python overhead is paid once per chunk, not per view. `torch.inference_mode`.

`trimesh_depth` casts the same rays with trimesh (+ `embreex`) over the scene's triangles: the depth-only peer
that the tests and `benchmarks/vlngen_render.py` compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .camera import N_VIEWS, Camera, camera_rays, view_rotation
from .scene import CEILING, FLOOR, WALL, Scene, SceneSpec

LIGHT = np.array([0.35, 0.6, 0.72]) / np.linalg.norm([0.35, 0.6, 0.72])
NEAR = 1e-4  # hits closer than this z-depth (metres) are ignored
CLIP = 1e-5  # boxes are clipped at this camera z before projecting them (< NEAR: every counted hit is kept)
# the 12 edges of a box whose corners are ordered as np.ndindex(2, 2, 2): corners differing in one bit
EDGES = np.array([(i, i | bit) for i in range(8) for bit in (4, 2, 1) if not i & bit])


@dataclass
class Views:
    """The rendered views of one viewpoint: rgb (V, H, W, 3) in [0, 1], z-depth (V, H, W) metres, ids (V, H, W)."""

    rgb: np.ndarray
    depth: np.ndarray
    ids: np.ndarray
    position: np.ndarray


def view_dirs(cam: Camera) -> torch.Tensor:
    """Ray directions R_wc K^-1 [u, v, 1] of the 36 views, float32 (36, H, W, 3)."""
    rays = camera_rays(cam.K, cam.width, cam.height)
    rotations = np.stack([view_rotation(ix) for ix in range(N_VIEWS)])
    return torch.as_tensor(np.einsum("hwc,vrc->vhwr", rays, rotations), dtype=torch.float32)


def inverse(d: torch.Tensor) -> torch.Tensor:
    """1 / d with components below 1e-12 in magnitude replaced by 1e-12 (so slab tests stay finite)."""
    return 1.0 / torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)


class BoxRenderer:
    """Renders a `Scene` with torch; `render(position, views)` -> Views. Reuse one per scene and camera: the ray
    directions of the 36 views are the same at every viewpoint and are computed once."""

    chunk_rays = 1 << 16  # rays per pass (views are grouped to about this many): a float32 plane is 256 KB

    def __init__(self, scene: Scene, cam: Camera, device: str = "cpu") -> None:
        self.scene, self.cam, self.device = scene, cam, device
        self.lo, self.hi = scene.box_lo.astype(np.float32), scene.box_hi.astype(np.float32)
        self.shell_lo, self.shell_hi = scene.shell_lo.astype(np.float32), scene.shell_hi.astype(np.float32)
        self.corners = np.stack([np.where(np.array(bits, bool), scene.box_hi, scene.box_lo)
                                 for bits in np.ndindex(2, 2, 2)], axis=1)  # (M, 8, 3)
        self.rotations = np.stack([view_rotation(ix) for ix in range(N_VIEWS)])
        f32, i64 = dict(dtype=torch.float32, device=device), dict(dtype=torch.long, device=device)
        dirs = view_dirs(cam).to(device)
        self.dirs = dirs.permute(0, 3, 1, 2).contiguous()  # (36, 3, H, W): planar, one plane per axis
        self.inv = inverse(dirs).permute(0, 3, 1, 2).contiguous()
        none = np.array([-1])  # entry 0 of the box tables: no box hit (win holds 1 + the box index)
        self.box_material = torch.as_tensor(np.concatenate([none, scene.box_material]), **i64)
        self.box_object = torch.as_tensor(np.concatenate([none, scene.box_object]), **i64)
        self.room_materials = torch.as_tensor(scene.room_materials, **i64).reshape(-1)
        mats = scene.materials
        # one row per material: scale, 4 scale, one-hot pattern (plain, checker, stripes, planks), colour, colour2
        self.material_table = torch.tensor([[m.scale, 4 * np.float32(m.scale), *np.eye(4)[m.pattern], *m.colour,
                                             *m.colour2] for m in mats], **f32)
        sign = torch.tensor([-1.0, 0.0, 1.0], **f32)  # n . l of a face normal to axis a with sign s: s l_a
        self.light = (0.6 + 0.4 * (sign[None, :] * torch.as_tensor(LIGHT, **f32)[:, None]).clamp_min(0)).reshape(-1)

    def render(self, position: np.ndarray, views: range | list[int] = range(N_VIEWS)) -> Views:
        views = list(views)
        o = np.asarray(position, dtype=np.float32)
        n, H, W = len(views), self.cam.height, self.cam.width
        blocks = self.screen_blocks(np.asarray(position, dtype=float), views)
        rgb = torch.empty(n, H, W, 3, dtype=torch.float32, device=self.device)
        depth = torch.empty(n, H, W, dtype=torch.float32, device=self.device)
        ids = torch.empty(n, H, W, dtype=torch.long, device=self.device)
        step = max(1, self.chunk_rays // (H * W))
        with torch.inference_mode():
            for s in range(0, n, step):
                chunk = views[s:s + step]
                if chunk == list(range(chunk[0], chunk[0] + len(chunk))):  # consecutive views: no copy
                    inv, dirs = self.inv[chunk[0]:chunk[0] + len(chunk)], self.dirs[chunk[0]:chunk[0] + len(chunk)]
                else:
                    inv, dirs = self.inv[chunk], self.dirs[chunk]
                t, axis = self._shell(o, inv)
                win = torch.zeros_like(axis)
                for k in range(len(chunk)):
                    self._hit_boxes(o, blocks[s + k], inv[k], t[k], win[k])
                axis = self._box_axis(o, inv, win, axis)
                depth[s:s + step] = t
                ids[s:s + step] = _take(self.box_object, win)
                self.shade(o, dirs, t, axis, win, out=rgb[s:s + step])
        return Views(rgb.cpu().numpy(), depth.cpu().numpy(), ids.cpu().numpy().astype(np.int16),
                     np.asarray(position))

    def screen_blocks(self, position: np.ndarray, views: list[int]) -> np.ndarray:
        """(V, M, 4) pixel blocks [row0, row1, col0, col1) that box m can cover in each view (empty: off-screen)."""
        K, W, H = self.cam.K, self.cam.width, self.cam.height
        pc = np.einsum("mkc,vcr->vmkr", self.corners - position, self.rotations[views])  # camera coordinates
        a, b = pc[:, :, EDGES[:, 0]], pc[:, :, EDGES[:, 1]]  # (V, M, 12, 3) edge end points
        cross = (a[..., 2] > CLIP) != (b[..., 2] > CLIP)
        s = (CLIP - a[..., 2]) / np.where(cross, b[..., 2] - a[..., 2], 1.0)
        pts = np.concatenate([pc, a + s[..., None] * (b - a)], axis=2)  # corners, then crossings of z = CLIP
        ok = np.concatenate([pc[..., 2] > CLIP, cross], axis=2)
        z = np.where(ok, np.maximum(pts[..., 2], CLIP), 1.0)
        u = K[0, 0] * pts[..., 0] / z + K[0, 2]
        v = K[1, 1] * pts[..., 1] / z + K[1, 2]
        bounds = []
        for x, size in ((v, H), (u, W)):
            lo = np.floor(np.where(ok, x, np.inf).min(axis=-1))
            hi = np.ceil(np.where(ok, x, -np.inf).max(axis=-1)) + 1
            bounds += [np.clip(lo, 0, size), np.clip(hi, 0, size)]
        return np.stack(bounds, axis=-1).astype(np.int64)

    def _shell(self, o: np.ndarray, inv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, axis) of the exit from the shell for rays with inverse directions inv (V, 3, H, W)."""
        t = axis = None
        A, B = self.shell_lo - o, self.shell_hi - o
        for a in range(3):
            exit_a = torch.maximum(inv[:, a] * float(A[a]), inv[:, a] * float(B[a]))
            if t is None:
                t, axis = exit_a, torch.zeros_like(exit_a, dtype=torch.long)
            else:
                axis += (exit_a < t) * (a - axis)  # the first axis attaining the minimum
                t = torch.minimum(t, exit_a)
        return t, axis

    def _hit_boxes(self, o: np.ndarray, blocks: np.ndarray, inv: torch.Tensor, t: torch.Tensor,
                   win: torch.Tensor) -> None:
        """Slab test of every box on its block of one view (inv (3, H, W)); updates t and win (H, W) in place.

        win holds 1 + the index of the nearest box so far (0: none). Boxes come in increasing index and a box
        wins only by being strictly closer, so the winner is the largest index that was ever closer: a maximum.
        Misses get t_in + 1e30 (never closer than the shell) instead of a masked select, which is slow on CPU.
        """
        A, B = self.lo - o, self.hi - o  # float32, as the reference computes them
        for m in np.flatnonzero((blocks[:, 0] < blocks[:, 1]) & (blocks[:, 2] < blocks[:, 3])):
            r0, r1, c0, c1 = blocks[m]
            rays, tb, wb = inv[:, r0:r1, c0:c1], t[r0:r1, c0:c1], win[r0:r1, c0:c1]
            t_in = t_out = None
            for a in range(3):
                x, y = rays[a] * float(A[m, a]), rays[a] * float(B[m, a])
                near, far = torch.minimum(x, y), torch.maximum(x, y)
                t_in = near if t_in is None else torch.maximum(t_in, near)
                t_out = far if t_out is None else torch.minimum(t_out, far)
            t_hit = t_in + ((t_in > t_out) | (t_in <= NEAR)) * 1e30
            torch.maximum(wb, (t_hit < tb) * int(m + 1), out=wb)
            torch.minimum(tb, t_hit, out=tb)

    def _box_axis(self, o: np.ndarray, inv: torch.Tensor, win: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
        """The entry face's axis (first axis attaining t_in) where a box won (win > 0); the shell's elsewhere."""
        if not len(self.lo):
            return axis
        A = torch.as_tensor(np.concatenate([np.zeros((1, 3), np.float32), self.lo - o]).T.copy(), device=self.device)
        B = torch.as_tensor(np.concatenate([np.zeros((1, 3), np.float32), self.hi - o]).T.copy(), device=self.device)
        t_in = ax = None
        for a in range(3):
            near = torch.minimum(inv[:, a] * _take(A[a], win), inv[:, a] * _take(B[a], win))
            if t_in is None:
                t_in, ax = near, torch.zeros_like(axis)
            else:
                ax += (near > t_in) * (a - ax)
                t_in = torch.maximum(t_in, near)
        return axis + (win > 0) * (ax - axis)

    def shade(self, o: np.ndarray, dirs: torch.Tensor, t: torch.Tensor, axis: torch.Tensor, win: torch.Tensor,
              out: torch.Tensor) -> None:
        """Textured Lambert colour (V, H, W, 3) into `out` of the hits o + t d (dirs (V, 3, H, W)) on faces normal
        to `axis`. Selections by axis and pattern are one-hot products (x * 1 + y * 0 is exact), cheaper than
        torch.where; the material's parameters come from one row gather."""
        px, py, pz = (t * dirs[:, a] + float(o[a]) for a in range(3))
        e0, e1, e2 = ((axis == a).float() for a in range(3))
        s = -torch.sign(dirs[:, 0] * e0 + dirs[:, 1] * e1 + dirs[:, 2] * e2)  # the face normal along its axis
        off = 0.05 * s  # a point 5 cm off the face, inside the room the face belongs to
        room = _room_material_index(self.scene.spec, px + off * e0, py + off * e1, s * e2)
        material = _take(self.box_material, win)  # -1: walls, the shell
        material += (material < 0) * (_take(self.room_materials, room) - material)
        sc, sc4, plain, checkered, striped, planked, *colours = (
            self.material_table.index_select(0, material.reshape(-1)).T.reshape(-1, *material.shape))
        first = py * e0 + px * (1 - e0)
        second = py * e2 + pz * (1 - e2)
        ia, ib = (first / sc).floor(), (second / sc).floor()
        stripes = _mod(ia, 2.0)
        mix = (_mod(ia + ib, 2.0) * checkered + stripes * striped
               + _hash(ia, (second / sc4 + 0.5 * stripes).floor()) * planked + 0.25 * _hash(ia, ib) * plain)
        light = _take(self.light, axis * 3 + (s + 1).long())
        rest = 1 - mix
        for c in range(3):
            out[..., c] = ((colours[c] * rest + colours[3 + c] * mix) * light).clamp(0, 1)


def _take(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """table[index] for a 1-D table (index_select: several times faster than advanced indexing on CPU)."""
    return table.index_select(0, index.reshape(-1)).view(index.shape)


def _mod(x: torch.Tensor, n: float) -> torch.Tensor:
    """x mod n for integer-valued x (exact, as torch.remainder, for |x| < 2^24 and n a power of two)."""
    return x - (x / n).floor() * n


def _room_material_index(spec: SceneSpec, x: torch.Tensor, y: torch.Tensor, nz: torch.Tensor) -> torch.Tensor:
    """Flat index into room_materials (n_rooms, 3) of the structural surface at (x, y) with normal z-component nz."""
    ix = (x / spec.room_size).floor().clamp(0, spec.rooms_x - 1).long()
    iy = (y / spec.room_size).floor().clamp(0, spec.rooms_y - 1).long()
    kind = WALL + (nz > 0.5) * (FLOOR - WALL) + (nz < -0.5) * (CEILING - WALL)
    return (iy * spec.rooms_x + ix) * 3 + kind


def _hash(i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """A deterministic pseudo-random value in [0, 1) per integer cell (i, j)."""
    x = torch.sin(_mod(i, 1024.0) * 12.9898 + _mod(j, 1024.0) * 78.233) * 43758.5453
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
                  engine: str = "auto", rows: slice = slice(None)) -> np.ndarray:
    """z-depth (V, h, W) of the same views (pixel `rows` only) by trimesh's ray casting (`engine`: auto, triangle
    or embree)."""
    import trimesh

    mesh = scene_mesh(scene)
    if engine == "triangle":
        caster = trimesh.ray.ray_triangle.RayMeshIntersector(mesh)
    elif engine == "embree":
        caster = trimesh.ray.ray_pyembree.RayMeshIntersector(mesh)
    else:
        caster = mesh.ray
    rays = camera_rays(cam.K, cam.width, cam.height)[rows]
    height = rays.shape[0]
    rays = rays.reshape(-1, 3)
    out = np.full((len(list(views)), rays.shape[0]), np.inf)
    for k, ix in enumerate(views):
        R = view_rotation(ix)
        d = rays @ R.T
        origins = np.broadcast_to(np.asarray(position, dtype=float), d.shape)
        loc, ray_idx, _ = caster.intersects_location(origins, d / np.linalg.norm(d, axis=1, keepdims=True),
                                                     multiple_hits=False)
        out[k, ray_idx] = (loc - position) @ R[:, 2]
    return out.reshape(-1, height, cam.width)
