"""Camera conventions: pixel <-> ray round trips, the 36-view indexing and its 11 <-> 0 wrap, equirect assembly."""

import math

import numpy as np
import pytest

from paperzoo.vlngen.camera import (
    Camera,
    assemble_equirect,
    camera_rays,
    heading_of,
    neighbour_view,
    project,
    rotation,
    unproject,
    view_angles,
    view_index,
    view_rotation,
)


def test_pixel_to_ray_to_pixel_round_trip_under_any_pose():
    cam = Camera(37, 29, 60.0)
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 9.0, (29, 37))
    R, t = rotation(1.1, -0.3), np.array([2.0, -1.0, 1.5])
    pts = unproject(depth, cam.K, R, t)
    u, v, z = project(pts, cam.K, R, t)
    uu, vv = np.meshgrid(np.arange(37) + 0.5, np.arange(29) + 0.5)
    assert np.allclose(u, uu) and np.allclose(v, vv) and np.allclose(z, depth)


def test_vertical_fov_is_sixty_degrees_and_matches_the_simulators_focal_length():
    cam = Camera(640, 480, 60.0)
    assert cam.f == pytest.approx(240 / math.tan(math.radians(30)))
    rays = camera_rays(cam.K, 640, 480)
    top, bottom = rays[0, 320], rays[-1, 320]
    angle = math.degrees(math.acos(top @ bottom / np.linalg.norm(top) / np.linalg.norm(bottom)))
    assert angle == pytest.approx(60.0 * (479 / 480), rel=2e-3)  # pixel centres sit half a pixel inside the edges


def test_rotation_is_orthonormal_and_looks_along_heading_clockwise_from_north():
    for h, e in [(0, 0), (math.pi / 2, 0), (0.3, 0.5)]:
        R = rotation(h, e)
        assert np.allclose(R.T @ R, np.eye(3)) and np.linalg.det(R) == pytest.approx(1)
    assert np.allclose(rotation(0, 0)[:, 2], [0, 1, 0])  # north
    assert np.allclose(rotation(math.pi / 2, 0)[:, 2], [1, 0, 0])  # east: clockwise
    assert np.allclose(rotation(0, 0)[:, 1], [0, 0, -1])  # image down is world down
    assert heading_of(1.0, 0.0) == pytest.approx(math.pi / 2)


def test_view_indexing_and_the_heading_wrap():
    assert view_index(0, 0) == 0 and view_index(11, 1) == 23 and view_index(12, 1) == 12
    assert neighbour_view(23, 1) == 12 and neighbour_view(12, -1) == 23  # 11 -> 0 and back, level row
    assert neighbour_view(11, 1) == 0 and neighbour_view(35, 1) == 24
    h, e = view_angles(14)
    assert h == pytest.approx(math.radians(60)) and e == 0
    assert view_angles(30)[1] == pytest.approx(math.radians(30))
    assert view_angles(5)[1] == pytest.approx(-math.radians(30))
    with pytest.raises(ValueError):
        view_angles(36)


def test_equirect_assembly_takes_each_direction_from_the_view_that_looks_there():
    cam = Camera(16, 16)
    views = np.broadcast_to(np.arange(36, dtype=float)[:, None, None, None], (36, 16, 16, 1)).copy()
    pano = assemble_equirect(views, cam, 36, 72)[..., 0]
    for ix in (0, 12, 17, 23, 30):
        h, e = view_angles(ix)
        col = int(h / (2 * math.pi) * 72)
        row = int((math.pi / 2 - e) / math.pi * 36)
        assert pano[row, col] == ix
    assert pano[0].max() == 0  # the zenith is outside every view (they reach +-60 deg)
    assert np.allclose(view_rotation(5), rotation(*view_angles(5)))
