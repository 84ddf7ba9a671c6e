"""Shared fixtures: the astronaut photo (ships with scikit-image) and its detected face."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut():
    """(rgb 512x512, Face with 68 landmarks) of scikit-image's astronaut, detected by CenterFace."""
    from paperzoo.core.data import require
    from paperzoo.deid.detect import make_detector
    from paperzoo.deid.images import read_image

    rgb = read_image(require("deid-astronaut")).rgb
    faces = make_detector("centerface").detect(rgb)
    assert len(faces) == 1
    return rgb, faces[0]


@pytest.fixture(scope="session")
def template_face():
    """A synthetic frontal face: 68 iBUG landmarks at known positions on a 200x200 canvas (no model needed)."""
    from paperzoo.deid.detect import Face

    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([100 - 70 * np.cos(t), 95 + 80 * np.sin(t)], 1)
    brow_l = np.stack([np.linspace(45, 88, 5), [72, 66, 64, 65, 68]], 1)
    brow_r = np.stack([np.linspace(112, 155, 5), [68, 65, 64, 66, 72]], 1)
    bridge = np.stack([[100] * 4, np.linspace(80, 115, 4)], 1)
    nose = np.stack([np.linspace(88, 112, 5), [122, 125, 127, 125, 122]], 1)

    def eye(cx):
        return np.array([[cx - 14, 88], [cx - 7, 83], [cx + 3, 83], [cx + 14, 88], [cx + 3, 93], [cx - 7, 93]],
                        float)

    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    lips = np.stack([100 - 24 * np.cos(ang), 150 - 10 * np.sin(ang)], 1)
    inner = np.stack([100 - 15 * np.cos(ang[::12 // 8][:8]), 150 - 4 * np.sin(ang[::12 // 8][:8])], 1)
    pts = np.concatenate([jaw, brow_l, brow_r, bridge, nose, eye(70), eye(130), lips, inner])
    assert pts.shape == (68, 2)
    return Face((30.0, 55.0, 170.0, 180.0), 1.0, "template", points=pts)
