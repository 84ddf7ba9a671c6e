"""Camera geometry of the Matterport3D simulator: the 36 discrete views, pinhole and equirectangular projection.

World frame: x east, y north, z up (metres). A view looks along heading h (clockwise from +y, radians) and
elevation e (up positive):

    forward f = (sin h cos e, cos h cos e, sin e),  right r = (cos h, -sin h, 0),  down d = f x r
    R_wc = [r | d | f]                                  (camera axes in world coordinates, OpenCV: x right, y down)
    pinhole:  u = fx X_c/Z_c + cx,  v = fy Y_c/Z_c + cy    (pixel (i, j) has its centre at u = j + 0.5, v = i + 0.5)
    fy = (H/2) / tan(vfov/2),  fx = fy (square pixels)  -> 60 deg vertical FOV as in the simulator
    unproject: X_w = R_wc (z * K^-1 [u, v, 1]) + t      (z = metric depth along the optical axis)

The 36 views: index ix = 12 * row + k, heading k * 30 deg (k = 0..11), row 0/1/2 = elevation -30/0/+30 deg; the
heading after k = 11 is k = 0 (the wrap that WCGEN's viewpoint stage constrains from both sides).

Equirectangular: column c -> longitude (heading) lon = 2 pi (c + 0.5)/W, row r -> latitude lat = pi/2 - pi (r + 0.5)/H.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_HEADINGS = 12
N_ROWS = 3
N_VIEWS = N_HEADINGS * N_ROWS
STEP = math.radians(30.0)
ELEVATIONS = (-STEP, 0.0, STEP)


def view_index(k: int, row: int = 1) -> int:
    """Index of the view at heading step k (taken modulo 12: the 11 <-> 0 wrap) in `row` (0 down, 1 level, 2 up)."""
    if not 0 <= row < N_ROWS:
        raise ValueError(f"row must be 0, 1 or 2, got {row}")
    return row * N_HEADINGS + k % N_HEADINGS


def view_angles(ix: int) -> tuple[float, float]:
    """(heading, elevation) in radians of view `ix` (0..35)."""
    if not 0 <= ix < N_VIEWS:
        raise ValueError(f"view index must be in 0..35, got {ix}")
    return (ix % N_HEADINGS) * STEP, ELEVATIONS[ix // N_HEADINGS]


def neighbour_view(ix: int, dk: int = 1) -> int:
    """The view dk heading steps clockwise of `ix` in the same row (wrapping 11 -> 0)."""
    return view_index(ix % N_HEADINGS + dk, ix // N_HEADINGS)


def heading_of(dx: float, dy: float) -> float:
    """Simulator heading (clockwise from north, in [0, 2 pi)) of the horizontal direction (dx, dy)."""
    return math.atan2(dx, dy) % (2 * math.pi)


def rotation(heading: float, elevation: float = 0.0) -> np.ndarray:
    """R_wc (3, 3): columns are the camera's right, down and forward axes in world coordinates."""
    ch, sh, ce, se = math.cos(heading), math.sin(heading), math.cos(elevation), math.sin(elevation)
    f = np.array([sh * ce, ch * ce, se])
    r = np.array([ch, -sh, 0.0])
    return np.stack([r, np.cross(f, r), f], axis=1)


def view_rotation(ix: int) -> np.ndarray:
    """R_wc of view ix (cached: a read-only array)."""
    return _VIEW_ROTATIONS[ix]


_VIEW_ROTATIONS = np.stack([rotation(*view_angles(ix)) for ix in range(N_VIEWS)])
_VIEW_ROTATIONS.setflags(write=False)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera of `width` x `height` pixels and vertical field of view `vfov` degrees (square pixels)."""

    width: int = 64
    height: int = 64
    vfov: float = 60.0

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2:
            raise ValueError(f"camera needs at least 2x2 pixels, got {self.width}x{self.height}")
        if not 1.0 <= self.vfov <= 170.0:
            raise ValueError(f"camera vfov must be in [1, 170] degrees, got {self.vfov}")

    @property
    def f(self) -> float:
        return (self.height / 2) / math.tan(math.radians(self.vfov) / 2)

    @property
    def K(self) -> np.ndarray:
        return intrinsics(self.f, self.f, self.width / 2, self.height / 2)

    @property
    def hfov(self) -> float:
        return math.degrees(2 * math.atan(self.width / 2 / self.f))


def intrinsics(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of every pixel centre, each (H, W)."""
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return u, v


def camera_rays(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """K^-1 [u, v, 1] for every pixel centre: (H, W, 3) directions in the camera frame with unit z."""
    u, v = pixel_grid(width, height)
    x = (u - K[0, 2]) / K[0, 0]
    y = (v - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def unproject(depth: np.ndarray, K: np.ndarray, R_wc: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) of a z-depth map (H, W) seen by a camera at position t with rotation R_wc."""
    rays = camera_rays(K, depth.shape[1], depth.shape[0])
    return (rays * depth[..., None]) @ R_wc.T + np.asarray(t, dtype=float)


def project(points: np.ndarray, K: np.ndarray, R_wc: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """(u, v, z) of world points (..., 3) in a camera: continuous pixel coordinates and depth along the axis."""
    pc = (np.asarray(points, dtype=float) - np.asarray(t, dtype=float)) @ R_wc
    z = pc[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * pc[..., 0] / z + K[0, 2]
        v = K[1, 1] * pc[..., 1] / z + K[1, 2]
    return u, v, z


def world_rays(cam: Camera, ix: int) -> np.ndarray:
    """Unit world directions (H, W, 3) of the pixels of view `ix`."""
    rays = camera_rays(cam.K, cam.width, cam.height) @ view_rotation(ix).T
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def equirect_dirs(height: int, width: int) -> np.ndarray:
    """Unit world directions (H, W, 3) of an equirectangular panorama (heading = longitude, clockwise)."""
    lon = 2 * np.pi * (np.arange(width) + 0.5) / width
    lat = np.pi / 2 - np.pi * (np.arange(height) + 0.5) / height
    lon, lat = np.meshgrid(lon, lat)
    return np.stack([np.sin(lon) * np.cos(lat), np.cos(lon) * np.cos(lat), np.sin(lat)], axis=-1)


def assemble_equirect(views: np.ndarray, cam: Camera, height: int = 128, width: int = 256) -> np.ndarray:
    """An equirectangular panorama (height, width, C) from the 36 views (36, H, W, C), nearest-pixel sampling.

    Each panorama pixel takes the view whose optical axis is closest to its direction among those it projects
    into; directions outside every view (near the poles: the 36 views reach only +-60 deg) stay 0.
    """
    if views.shape[0] != N_VIEWS:
        raise ValueError(f"assemble_equirect needs the 36 views, got {views.shape[0]}")
    dirs = equirect_dirs(height, width).reshape(-1, 3)
    out = np.zeros((dirs.shape[0], *views.shape[3:]), dtype=views.dtype)
    best = np.full(dirs.shape[0], -np.inf)
    for ix in range(N_VIEWS):
        R = view_rotation(ix)
        u, v, z = project(dirs, cam.K, R, np.zeros(3))
        inside = (z > 1e-6) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        take = inside & (z > best)  # z = cos(angle to the optical axis) for unit directions
        j = np.clip(u[take].astype(int), 0, cam.width - 1)
        i = np.clip(v[take].astype(int), 0, cam.height - 1)
        out[take] = views[ix][i, j]
        best[take] = z[take]
    return out.reshape(height, width, *views.shape[3:])
