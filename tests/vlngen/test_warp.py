"""Warping: identity, rotation homography vs the general warp, and the Middlebury stereo pair (true disparity)."""

import numpy as np
import pytest

from paperzoo.vlngen.camera import Camera, intrinsics, rotation, view_rotation
from paperzoo.vlngen.warp import overlap_mask, rotate_view, splat, warp


def test_warp_with_the_identity_pose_is_the_identity():
    cam = Camera(24, 20)
    rng = np.random.default_rng(1)
    img = rng.random((20, 24, 3))
    depth = rng.uniform(1, 5, (20, 24))
    R, t = rotation(0.7, 0.2), np.array([1.0, 2.0, 1.5])
    w = warp(img, depth, cam.K, R, t, cam.K, R, t)
    assert w.valid.all()
    assert np.allclose(w.image, img) and np.allclose(w.depth, depth)


def test_zbuffer_keeps_the_nearest_point():
    out = splat(np.array([[1.0], [2.0], [3.0]]), np.array([0.5, 0.6, 0.7]), np.array([0.5, 0.5, 0.5]),
                np.array([3.0, 1.0, 2.0]), 2, 2)
    assert out.image[0, 0, 0] == 2.0 and out.depth[0, 0] == 1.0 and out.valid.sum() == 1


def test_rotation_homography_agrees_with_the_depth_warp():
    cam = Camera(32, 32)
    rng = np.random.default_rng(2)
    img = rng.random((32, 32, 3))
    depth = np.fromfunction(lambda i, j: 2.0 + 0.02 * i + 0.01 * j, (32, 32))  # smooth: no z-fighting
    o = np.array([0.0, 0.0, 1.5])
    a = rotate_view(img, depth, cam.K, view_rotation(12), view_rotation(13))
    b = warp(img, depth, cam.K, view_rotation(12), o, cam.K, view_rotation(13), o)
    both = a.valid & b.valid
    assert 0.35 < a.valid.mean() < 0.65  # a 30 deg yaw keeps about half of a 60 deg view
    assert np.median(np.abs(a.depth[both] - b.depth[both]) / b.depth[both]) < 0.01
    assert np.mean(np.all(np.isclose(a.image[both], b.image[both]), axis=-1)) > 0.6  # nearest samples, both ways


@pytest.fixture(scope="module")
def motorcycle():
    data = pytest.importorskip("skimage.data")
    left, right, disp = data.stereo_motorcycle()
    return left.astype(float) / 255, right.astype(float) / 255, disp


def test_stereo_pair_warp_reproduces_the_right_view(motorcycle):
    """Middlebury 2014 Motorcycle at 1/4 size: Z = f B / (d + doffs); warp left into the right camera."""
    left, right, disp = motorcycle
    f, cx, cy, doffs, baseline = 994.978, 311.193, 254.877, 31.086, 0.193001
    ok = np.isfinite(disp)
    depth = np.where(ok, f * baseline / (np.where(ok, disp, 0) + doffs), np.nan)
    K0, K1 = intrinsics(f, f, cx + 0.5, cy + 0.5), intrinsics(f, f, cx + doffs + 0.5, cy + 0.5)
    R = np.eye(3)
    w = warp(left, depth, K0, R, np.zeros(3), K1, R, np.array([baseline, 0, 0]), src_valid=ok)
    # geometry: the left pixel (r, c) lands at column c - d
    i, j = 200, 400
    target = np.argwhere(np.isclose(w.depth[i], depth[i, j]))[:, 0]
    assert np.any(np.abs(target - (j - disp[i, j])) <= 1)
    # photometry: over the pixels the warp reaches, the right image is reproduced
    err = np.abs(w.image - right).mean(-1)[w.valid]
    w0 = warp(left, depth, K0, R, np.zeros(3), K1, R, np.zeros(3), src_valid=ok)  # ignoring the baseline
    err0 = np.abs(w0.image - right).mean(-1)[w0.valid]
    assert w.valid.mean() > 0.6
    assert np.median(err) < 0.04 and np.median(err) < 0.4 * np.median(err0)


def test_overlap_mask_rejects_points_hidden_in_the_target():
    w = splat(np.ones((2, 1)), np.array([0.5, 1.5]), np.array([0.5, 0.5]), np.array([2.0, 2.0]), 2, 1)
    mask = overlap_mask(w, np.array([[2.0, 1.0]]))
    assert mask.tolist() == [[True, False]]
