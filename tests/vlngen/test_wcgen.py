"""WCGEN's stages on a small scene: consistency ordering of the modes, the wrap, masks, generators, BFS order."""

import numpy as np
import pytest

from paperzoo.vlngen.camera import Camera
from paperzoo.vlngen.generators import RestyleGenerator, apply_style, fit_style, random_style
from paperzoo.vlngen.metrics import reprojection_error, seam_error, updown_error
from paperzoo.vlngen.render import BoxRenderer
from paperzoo.vlngen.scene import SceneSpec, edge_heading, make_scene
from paperzoo.vlngen.wcgen import MODES, bfs_order, fixed_mask


@pytest.fixture(scope="module")
def world():
    scene = make_scene("w", SceneSpec(rooms_x=2, rooms_y=1), seed=11)
    cam = Camera(20, 20)
    r = BoxRenderer(scene, cam)
    real = {n: r.render(scene.nodes[n]) for n in range(len(scene.nodes))}
    out = {}
    for name, cls in MODES.items():
        gen = RestyleGenerator(0.02, depth_model="authors" if name == "wcgen_authors" else "gt")
        out[name] = cls(gen, cam).generate_scene(real, scene.adjacency(), scene.nodes, np.random.default_rng(0))
    return scene, cam, real, out


def _mean(fn, gens, scene, real, cam):
    parts = [fn(gens[n], scene.nodes[n], real[n].depth, cam) for n in gens]
    return sum(p[0] for p in parts) / sum(p[1] for p in parts)


def test_every_viewpoint_is_generated_once_in_bfs_order(world):
    scene, _, _, out = world
    order = bfs_order(scene.adjacency(), 0)
    assert sorted(n for n, _ in order) == list(range(len(scene.nodes)))
    assert all(p is None or p in dict(order[:i]) for i, (_, p) in enumerate(order))
    assert all(set(g) == set(range(len(scene.nodes))) for g in out.values())


def test_world_consistent_generation_beats_per_view_generation(world):
    scene, cam, real, out = world
    seam = {m: _mean(seam_error, g, scene, real, cam) for m, g in out.items()}
    updown = {m: _mean(updown_error, g, scene, real, cam) for m, g in out.items()}
    assert seam["wcgen"] < 0.3 * seam["independent"]
    assert updown["wcgen"] < 0.3 * updown["independent"]
    reproj = {}
    for m, g in out.items():
        parts = [reprojection_error(g[a], g[b], scene.nodes[a], scene.nodes[b], real[a].depth, real[b].depth, cam,
                                    heading=edge_heading(scene, a, b)) for a, b in scene.edges]
        reproj[m] = sum(p[0] for p in parts) / sum(p[1] for p in parts)
    assert reproj["wcgen"] < reproj["wcgen_authors"] and reproj["wcgen"] < reproj["independent"]


def test_generation_is_deterministic_in_its_seed(world):
    scene, cam, real, out = world
    again = MODES["wcgen"](RestyleGenerator(0.02), cam).generate_scene(real, scene.adjacency(), scene.nodes,
                                                                        np.random.default_rng(0))
    assert all(np.array_equal(again[n].rgb, out["wcgen"][n].rgb) for n in again)


def test_the_wrap_view_is_constrained_by_both_neighbours(world):
    """The last level heading warps from its left neighbour and from the first view: fewer holes to invent."""
    scene, cam, real, _ = world
    calls = []

    class Spy(MODES["wcgen"]):
        def _rotate_into(self, ix, srcs, rgb, real_v, depth, rng, direction):
            calls.append((ix, list(srcs)))
            return super()._rotate_into(ix, srcs, rgb, real_v, depth, rng, direction)

    method = Spy(RestyleGenerator(0.02), cam)
    depth = method._depths(real[0])
    method.viewpoint_stage(real[0], depth, 14, real[0].rgb[14], np.random.default_rng(3))
    level = [c for c in calls if 12 <= c[0] < 24]
    assert [ix for ix, _ in level] == [15, 16, 17, 18, 19, 20, 21, 22, 23, 12, 13]  # clockwise from the entry
    assert level[-1] == (13, [12, 14])  # the wrap: its left neighbour and the entry view
    assert all(len(srcs) == 1 for _, srcs in level[:-1])
    up = [c for c in calls if c[0] >= 24]
    assert up[0] == (26, [14]) and up[-1] == (25, [13, 24, 26])  # up row: below, left and (at the wrap) first


def test_fixed_masks_cover_the_authors_fractions():
    right = fixed_mask((40, 40), "right", 0.45)
    up = fixed_mask((40, 40), "up", 0.85)
    down = fixed_mask((40, 40), "down", 0.85)
    assert (right > 0.5).mean() == pytest.approx(0.45, abs=0.03)
    assert (up > 0.5).mean() == pytest.approx(0.85, abs=0.03) and up[0, 0] == 1 and up[-1, 0] == 0
    assert down[-1, 0] == 1 and down[0, 0] == 0


def test_style_fit_recovers_a_known_colour_transform():
    rng = np.random.default_rng(4)
    A, b = random_style(rng, 0.5)
    src = rng.random((500, 3)) * 0.6 + 0.2
    dst = src @ A + b
    A2, b2 = fit_style(src, dst, ridge=0.0)
    assert np.allclose(A2, A, atol=1e-8) and np.allclose(b2, b, atol=1e-8)


def test_inpaint_changes_only_the_mask_and_authors_depth_is_bounded():
    rng = np.random.default_rng(5)
    img, hint = rng.random((10, 10, 3)), rng.random((10, 10, 3))
    mask = np.zeros((10, 10), bool)
    mask[:, 6:] = True
    out = RestyleGenerator().inpaint(img, mask, "", np.ones((10, 10)), hint, rng)
    assert np.array_equal(out[~mask], img[~mask]) and not np.allclose(out[mask], img[mask])
    d = RestyleGenerator(depth_model="authors").depth(img, rng.uniform(0.5, 9, (10, 10)))
    assert d.max() == pytest.approx(4.0) and d.min() > 0
    pytest.importorskip("cv2")
    telea = RestyleGenerator().inpaint(img.astype(np.float32), mask, "", np.ones((10, 10)), None, rng)
    assert telea.shape == img.shape and np.allclose(telea[~mask], img[~mask], atol=1 / 255)
    assert apply_style(img, np.eye(3), np.zeros(3)).shape == img.shape
