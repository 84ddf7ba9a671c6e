"""Depth-based forward warping of one view into another camera: the geometry of WCGEN's trajectory stage.

For a source view (image I_s, z-depth Z_s, intrinsics K_s, pose (R_s, t_s)) and a target camera (K_t, R_t, t_t):

    X   = R_s (Z_s K_s^-1 [u_s, v_s, 1]) + t_s           (depth -> world point cloud)
    p_t = K_t R_t^T (X - t_t) = Z_t [u_t, v_t, 1]          (rigid transform + projection)
    I_t[round(v_t), round(u_t)] = I_s[v_s, u_s]  for the smallest Z_t landing on that pixel  (z-buffer)

A pure rotation about the camera centre (the viewpoint stage) needs no depth: it is the homography
H = K R_dst^T R_src K^-1, applied backwards (each target pixel samples its source pixel), z_dst = z_src / (R_rel d)_z.

Target pixels that no source pixel reaches are holes (`valid == False`): disocclusions, the part of the target
frustum the source never saw, and cracks where the warp magnifies. The generator fills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .camera import camera_rays, project, unproject


@dataclass
class Warped:
    """A warped image (H, W, C), its z-depth in the target camera (inf at holes) and the valid mask (H, W)."""

    image: np.ndarray
    depth: np.ndarray
    valid: np.ndarray

    @property
    def holes(self) -> np.ndarray:
        return ~self.valid


def splat(values: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray, width: int, height: int,
          fill: float = 0.0) -> Warped:
    """Z-buffered nearest-pixel splatting of per-point `values` (N, C) at continuous pixel coordinates (u, v)."""
    values = values.reshape(len(z.ravel()), -1)
    u, v, z = u.ravel(), v.ravel(), z.ravel()
    ok = np.isfinite(u) & np.isfinite(v) & (z > 1e-6) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    j, i, zz, vals = u[ok].astype(np.int64), v[ok].astype(np.int64), z[ok], values[ok]
    pix = i * width + j
    order = np.lexsort((zz, pix))  # by pixel, nearest first
    pix, zz, vals = pix[order], zz[order], vals[order]
    first = np.ones(pix.shape[0], dtype=bool)
    first[1:] = pix[1:] != pix[:-1]
    image = np.full((height * width, values.shape[1]), fill, dtype=values.dtype)
    depth = np.full(height * width, np.inf)
    image[pix[first]] = vals[first]
    depth[pix[first]] = zz[first]
    valid = np.isfinite(depth)
    return Warped(image.reshape(height, width, -1), depth.reshape(height, width), valid.reshape(height, width))


def warp(image: np.ndarray, depth: np.ndarray, K_src: np.ndarray, R_src: np.ndarray, t_src: np.ndarray,
         K_dst: np.ndarray, R_dst: np.ndarray, t_dst: np.ndarray, size: tuple[int, int] | None = None,
         src_valid: np.ndarray | None = None) -> Warped:
    """Forward-warp `image` (H, W, C) with z-depth `depth` (H, W) into the target camera; size = (width, height)."""
    if image.shape[:2] != depth.shape:
        raise ValueError(f"image {image.shape[:2]} and depth {depth.shape} must have the same height and width")
    width, height = size or (image.shape[1], image.shape[0])
    good = np.isfinite(depth) & (depth > 0)
    if src_valid is not None:
        good &= src_valid
    d = np.where(good, depth, 1.0)
    points = unproject(d, K_src, R_src, t_src)[good]
    u, v, z = project(points, K_dst, R_dst, t_dst)
    out = splat(image[good], u, v, z, width, height)
    out.image = out.image.reshape(height, width, *image.shape[2:])
    return out


def overlap_mask(warped: Warped, target_depth: np.ndarray, rel_tol: float = 0.05) -> np.ndarray:
    """Target pixels seen by both cameras: reached by the warp at (nearly) the target's own depth."""
    with np.errstate(invalid="ignore"):
        close = np.abs(warped.depth - target_depth) <= rel_tol * target_depth
    return warped.valid & close & np.isfinite(target_depth)


def cloud(images: list[np.ndarray], depths: list[np.ndarray], K: np.ndarray, rotations: list[np.ndarray],
          t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) and their values (N, C) of several views taken at the same position `t`."""
    pts, vals = [], []
    for img, d, R in zip(images, depths, rotations, strict=True):
        good = np.isfinite(d) & (d > 0)
        pts.append(unproject(np.where(good, d, 1.0), K, R, t)[good])
        vals.append(img[good].reshape(int(good.sum()), -1))
    return np.concatenate(pts), np.concatenate(vals)


def splat_cloud(points: np.ndarray, values: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray,
                size: tuple[int, int]) -> Warped:
    """Project a point cloud into a camera with a z-buffer; size = (width, height)."""
    u, v, z = project(points, K, R, t)
    return splat(values, u, v, z, *size)


@lru_cache(maxsize=64)
def _rotation_map(key: bytes, K_key: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    R_rel = np.frombuffer(key).reshape(3, 3)
    K = np.frombuffer(K_key).reshape(3, 3)
    d = camera_rays(K, width, height) @ R_rel.T  # target rays in the source frame
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * d[..., 0] / d[..., 2] + K[0, 2]
        v = K[1, 1] * d[..., 1] / d[..., 2] + K[1, 2]
        ok = (d[..., 2] > 1e-6) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        factor = np.where(ok, 1.0 / d[..., 2], np.inf)
    src = np.where(ok, np.clip(v, 0, height - 1).astype(np.int64) * width + np.clip(u, 0, width - 1).astype(np.int64),
                   0)
    return src, ok, factor


def rotate_view(image: np.ndarray, depth: np.ndarray, K: np.ndarray, R_src: np.ndarray,
                R_dst: np.ndarray) -> Warped:
    """View (H, W, C) with z-depth, re-seen from the same centre with rotation R_dst (exact, nearest sampling)."""
    H, W = depth.shape
    R_rel = np.ascontiguousarray(np.round(R_src.T @ R_dst, 12))
    src, ok, factor = _rotation_map(R_rel.tobytes(), np.ascontiguousarray(K, dtype=float).tobytes(), W, H)
    flat = image.reshape(H * W, -1)
    out = np.where(ok[..., None], flat[src], 0).astype(image.dtype).reshape(image.shape)
    z = np.where(ok, depth.reshape(-1)[src] * factor, np.inf)
    valid = ok & np.isfinite(z)
    return Warped(out, np.where(valid, z, np.inf), valid)
