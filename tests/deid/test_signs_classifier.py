"""Synthetic signs change exactly the pixels of their mask; the classifier learns them; label loaders."""

import json

import numpy as np
import pytest

from paperzoo.core.errors import DataError
from paperzoo.deid.classifier import CrossFitted, SignClassifier, chip_features
from paperzoo.deid.regions import region_mask
from paperzoo.deid.signs import SIGN_REGIONS, SIGNS, draw_sign


@pytest.mark.parametrize("sign", SIGNS)
def test_sign_mask_is_the_set_of_changed_pixels_near_the_eyes_or_lips(astronaut, sign):
    rgb, face = astronaut
    out, mask = draw_sign(rgb, face.points, sign, np.random.default_rng(0), strength=1.0)
    assert np.array_equal(mask, np.any(out != rgb, axis=2))
    if sign == "none":
        assert not mask.any()
        return
    assert mask.sum() > 30
    assert not (mask & ~region_mask(rgb.shape, face, SIGN_REGIONS)).any(), "a sign stays inside its regions"


def test_signs_are_reproducible_from_the_seed(astronaut):
    rgb, face = astronaut
    a, _ = draw_sign(rgb, face.points, "lesion", np.random.default_rng(5))
    b, _ = draw_sign(rgb, face.points, "lesion", np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_classifier_separates_two_colour_classes_and_cross_fitting_hides_identities():
    rng = np.random.default_rng(0)
    chips = [np.clip(rng.normal(100 + 40 * (i % 2), 10, (16, 16, 3)), 0, 255).astype(np.uint8) for i in range(40)]
    labels = [i % 2 for i in range(40)]
    assert chip_features(chips[:1], 4).shape == (1, 16 * 4)
    clf = SignClassifier(2, cell=4).fit(chips[:30], labels[:30])
    assert np.mean(clf.predict(chips[30:]) == np.array(labels[30:])) == 1.0
    ids = [f"p{i // 4}" for i in range(40)]
    cf = CrossFitted.fit(chips, labels, ids, 2, folds=2, cell=4)
    for _model, seen in cf.models:
        assert len(seen) == 5
    assert np.mean(cf.predict(chips, ids) == np.array(labels)) > 0.9


def _mema(tmp_path, astronaut, rows):
    from PIL import Image

    rgb, _ = astronaut
    (tmp_path / "images").mkdir()
    for name in {r["image"] for r in rows}:
        Image.fromarray(rgb).save(tmp_path / "images" / name)
    return tmp_path


def test_mema_folder_with_csv_or_json_labels(tmp_path, astronaut):
    from paperzoo.deid.data import load_mema

    rows = [{"image": "a.png", "identity": "p1", "sign": "redness"}, {"image": "b.png", "identity": "p2",
                                                                       "sign": "none"}]
    folder = _mema(tmp_path, astronaut, rows)
    (folder / "labels.json").write_text(json.dumps(rows))
    items = load_mema(folder)
    assert [i.sign for i in items] == ["redness", "none"] and items[0].path.name == "a.png"
    (folder / "labels.csv").write_text("image,identity\na.png,p1\n")
    with pytest.raises(DataError, match="missing column"):
        load_mema(folder)
    (folder / "labels.csv").write_text("image,identity,sign\nmissing.png,p1,none\n")
    with pytest.raises(DataError, match="missing.png"):
        load_mema(folder)


@pytest.mark.parametrize("seed", [0, 1])
def test_sign_classifier_of_the_quick_preset_ends_above_chance(seed):
    from paperzoo.core.metrics import near_chance
    from paperzoo.deid.benchmark import signed_images
    from paperzoo.deid.data import load_offline_faces
    from paperzoo.deid.detect import face_chip, make_detector

    faces = _faces_cache.setdefault("f", load_offline_faces(make_detector("centerface"), 160, 4, log=lambda m: None))
    rng = np.random.default_rng(seed)
    train = signed_images(faces, list(SIGNS), 3, rng)
    test = signed_images(faces, list(SIGNS), 1, rng)
    chips = [face_chip(img, faces[i].face, 64) for i, _, img, _ in train]
    clf = SignClassifier(len(SIGNS)).fit(chips, [label for _, label, _, _ in train])
    pred = clf.predict([face_chip(img, faces[i].face, 64) for i, _, img, _ in test])
    acc = float(np.mean(pred == np.array([label for _, label, _, _ in test])))
    assert not near_chance(acc, len(SIGNS), len(test)), acc


_faces_cache: dict = {}
