"""R2R metrics on hand-computed episodes, and the consistency metrics on constructed views."""

import math

import numpy as np
import pytest

from paperzoo.vlngen.camera import Camera, view_index
from paperzoo.vlngen.metrics import dtw, episode_metrics, neighbour_seam_error, seam_error, updown_error
from paperzoo.vlngen.render import BoxRenderer
from paperzoo.vlngen.scene import SceneSpec, make_scene
from paperzoo.vlngen.wcgen import Generated

LINE = np.abs(np.subtract.outer(np.arange(8.0), np.arange(8.0)))  # viewpoints 1 m apart on a line


def test_success_short_of_the_goal():
    m = episode_metrics([0, 1, 2, 3], [0, 1, 2], LINE)
    assert m["ne"] == 1 and m["sr"] == 1 and m["tl"] == 2
    assert m["spl"] == pytest.approx(1.0)  # 3 / max(2, 3)
    assert m["ndtw"] == pytest.approx(math.exp(-1 / 12)) and m["sdtw"] == m["ndtw"]


def test_overshoot_and_return():
    m = episode_metrics([0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 4, 3], LINE)
    assert m["ne"] == 0 and m["tl"] == 7
    assert m["spl"] == pytest.approx(3 / 7)
    assert dtw([0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 4, 3], LINE) == 4
    assert m["ndtw"] == pytest.approx(math.exp(-4 / 12))


def test_failure_scores_zero_but_ndtw_does_not():
    m = episode_metrics([0, 1, 2, 3, 4, 5], [0], LINE)
    assert m["ne"] == 5 and m["sr"] == 0 and m["spl"] == 0 and m["sdtw"] == 0
    assert m["ndtw"] == pytest.approx(math.exp(-15 / 18))


def test_unreachable_goal_is_an_error():
    d = LINE.copy()
    d[0, 5] = d[5, 0] = np.inf
    with pytest.raises(ValueError, match="unreachable"):
        episode_metrics([0, 5], [0], d)


@pytest.fixture(scope="module")
def viewpoint():
    scene = make_scene("m", SceneSpec(rooms_x=1, rooms_y=1, furniture_per_room=1), seed=5)
    cam = Camera(24, 24)
    return scene, cam, BoxRenderer(scene, cam).render(scene.nodes[0])


def test_real_views_agree_at_seams_and_shuffled_views_do_not(viewpoint):
    scene, cam, v = viewpoint
    real = Generated(v.rgb, v.depth, view_index(3))
    e, n = seam_error(real, v.position, v.depth, cam)
    assert n > 0.3 * 24 * 24 and e / n < 0.02
    assert neighbour_seam_error(real, v.position, v.depth, cam)[0] / neighbour_seam_error(
        real, v.position, v.depth, cam)[1] < 0.02
    shuffled = Generated(v.rgb[np.random.default_rng(0).permutation(36)], v.depth, view_index(3))
    e2, n2 = updown_error(shuffled, v.position, v.depth, cam)
    assert e2 / n2 > 3 * updown_error(real, v.position, v.depth, cam)[0] / n2
