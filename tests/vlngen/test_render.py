"""The vectorised box ray caster against closed forms and against trimesh's ray casting of the same triangles."""

import numpy as np
import pytest

from paperzoo.vlngen.camera import Camera
from paperzoo.vlngen.reference import ReferenceRenderer
from paperzoo.vlngen.render import BoxRenderer
from paperzoo.vlngen.scene import SceneSpec, make_scene


@pytest.fixture(scope="module")
def scene():
    return make_scene("t", SceneSpec(rooms_x=2, rooms_y=1), seed=3)


def test_depth_in_an_empty_room_is_the_closed_form():
    spec = SceneSpec(rooms_x=1, rooms_y=1, room_size=6.0, furniture_per_room=0)
    empty = make_scene("empty", spec, seed=0)
    cam = Camera(9, 9)
    pos = np.array([3.0, 2.0, 1.5])
    v = BoxRenderer(empty, cam).render(pos, [12, 4])  # north level; heading 120 deg looking 30 deg down
    assert v.depth[0, 4, 4] == pytest.approx(6.0 - 2.0, rel=1e-5)  # the centre ray meets the north wall
    assert v.depth[1, 4, 4] == pytest.approx(1.5 / np.sin(np.radians(30)), rel=1e-5)  # ... the floor
    assert (v.ids == -1).all()


def test_every_pixel_hits_something_and_colours_are_in_range(scene):
    v = BoxRenderer(scene, Camera(12, 12)).render(scene.nodes[1])
    assert v.rgb.shape == (36, 12, 12, 3) and np.isfinite(v.depth).all() and (v.depth > 0).all()
    assert 0 <= v.rgb.min() and v.rgb.max() <= 1


@pytest.mark.parametrize("size, views", [(24, range(36)), (100, [0, 5, 13, 22, 30, 35])])
def test_fast_path_equals_the_brute_force_reference(scene, size, views):
    """Culling, deferred shading and chunking change nothing: depth and ids bit-exact, RGB within 1e-6."""
    cam = Camera(size, size)
    wall_lo, wall_hi = scene.box_lo[0], scene.box_hi[0]  # an interior wall: stand 2 cm from it
    near_wall = np.array([wall_lo[0] - 0.02, (wall_lo[1] + wall_hi[1]) / 2, 1.5])
    fast, ref = BoxRenderer(scene, cam), ReferenceRenderer(scene, cam)
    for position in (scene.nodes[0], scene.nodes[7], near_wall):
        a, b = fast.render(position, views), ref.render(position, views)
        np.testing.assert_array_equal(a.depth, b.depth)
        np.testing.assert_array_equal(a.ids, b.ids)
        assert np.abs(a.rgb - b.rgb).max() <= 1e-6
    assert (a.depth < 0.1).any()  # the wall 2 cm away fills part of some view: the near-plane clipping was used


def test_screen_blocks_skip_boxes_behind_the_camera(scene):
    fast = BoxRenderer(scene, Camera(32, 32))
    blocks = fast.screen_blocks(scene.nodes[0], [13])[0]  # (M, 4)
    shown = (blocks[:, 0] < blocks[:, 1]) & (blocks[:, 2] < blocks[:, 3])
    ids = fast.render(scene.nodes[0], [13]).ids[0]
    seen = np.unique(ids[ids >= 0])
    furniture_boxes = np.flatnonzero(scene.box_object >= 0)
    assert shown[furniture_boxes[np.isin(scene.box_object[furniture_boxes], seen)]].all()
    assert 0 < shown.sum() < len(blocks)  # some boxes are culled in a 60 degree view


@pytest.mark.parametrize("size", [24, 100])
def test_depth_matches_trimesh_ray_casting(scene, size):
    pytest.importorskip("trimesh")
    from paperzoo.vlngen.render import trimesh_depth

    cam = Camera(size, size)
    views = [0, 13, 17, 30]
    ours = BoxRenderer(scene, cam).render(scene.nodes[2], views).depth
    theirs = trimesh_depth(scene, cam, scene.nodes[2], views)
    both = np.isfinite(theirs)
    assert both.mean() > 0.99
    close = np.isclose(ours[both], theirs[both], rtol=1e-4, atol=1e-4)
    assert close.mean() > 0.995  # rays grazing an edge may pick the neighbouring face


def test_the_navigation_graph_is_connected_and_edges_are_short(scene):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(scene.nodes)
    e = np.array(scene.edges)
    assert n >= 10
    m = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    assert connected_components(m, directed=False)[0] == 1
    lengths = np.linalg.norm(scene.nodes[e[:, 0]] - scene.nodes[e[:, 1]], axis=1)
    assert lengths.max() <= scene.spec.edge_length + 1e-9
