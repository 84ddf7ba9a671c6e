"""VOC palette PNGs, VOC folders (good and malformed, through the CLI: exit 2), cls_labels_onehot.npy, COCO."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paperzoo.core.errors import DataError
from paperzoo.wsss.formats import (
    coco_mask,
    decode_rle,
    read_cls_labels,
    read_coco_instances,
    read_mask_png,
    read_voc,
    voc_palette,
    write_palette_png,
)


def test_palette_has_the_voc_colours():
    pal = voc_palette()
    assert pal[0].tolist() == [0, 0, 0] and pal[1].tolist() == [128, 0, 0] and pal[15].tolist() == [192, 128, 128]
    assert pal[255].tolist() == [224, 224, 192]


def test_palette_png_round_trip(tmp_path):
    mask = np.random.default_rng(0).integers(0, 21, (13, 17)).astype(np.uint8)
    mask[0, :5] = 255
    write_palette_png(tmp_path / "m.png", mask)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P"
    np.testing.assert_array_equal(read_mask_png(tmp_path / "m.png"), mask)
    rgb = voc_palette()[mask]  # the same mask rendered in colour reads back to the indices
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_mask_png(tmp_path / "rgb.png"), mask)


def make_voc(root: Path, n: int = 3, size=(20, 24)) -> Path:
    rng = np.random.default_rng(1)
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClassAug").mkdir()
    names = [f"2007_{i:06d}" for i in range(n)]
    for i, name in enumerate(names):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "JPEGImages" / f"{name}.jpg")
        mask = np.zeros(size, dtype=np.uint8)
        mask[2:8, 3:9] = i + 1
        mask[10, :] = 255
        write_palette_png(root / "SegmentationClassAug" / f"{name}.png", mask)
    for split in ("train_aug", "val"):
        (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root


def test_voc_reader_derives_labels_from_masks_or_reads_the_onehot_file(tmp_path):
    root = make_voc(tmp_path / "voc")
    ds = read_voc(root, "train_aug")
    assert len(ds) == 3 and ds.labels[1].nonzero()[0].tolist() == [1]
    image, mask, lab = ds.get(2)
    assert image.shape == (20, 24, 3) and mask.shape == (20, 24) and mask[3, 4] == 3 and lab[2] == 1
    table = {n: np.eye(20, dtype=np.float32)[7] for n in ds.names}
    np.save(root / "cls_labels_onehot.npy", table, allow_pickle=True)
    assert read_voc(root, "val").labels[:, 7].tolist() == [1, 1, 1]
    assert set(read_cls_labels(root / "cls_labels_onehot.npy")) == set(ds.names)


@pytest.mark.parametrize("damage", ["missing_list", "wrong_size", "outside_palette"])
def test_malformed_voc_folders_exit_2_naming_the_file(tmp_path, damage, paperzoo_cli):
    root = make_voc(tmp_path / "voc")
    if damage == "missing_list":
        (root / "val.txt").unlink()
        expected = "val.txt"
    elif damage == "wrong_size":
        write_palette_png(root / "SegmentationClassAug" / "2007_000001.png", np.zeros((5, 5), np.uint8))
        expected = "2007_000001.png"
    else:
        bad = Image.fromarray(np.full((20, 24), 42, np.uint8), mode="L")
        bad.save(root / "SegmentationClassAug" / "2007_000002.png")
        expected = "outside the palette"
    code, text = paperzoo_cli("run", "wsss", "--preset", "smoke", "--out", tmp_path / "run", "--set", "data.source=voc",
                              "--set", f"data.path={root}")
    assert code == 2, text[-2000:]
    flat = text.replace(" ", "")  # the console may fold a long path over lines
    assert expected.replace(" ", "") in flat and "Traceback" not in text
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_refused_pickle_in_the_onehot_file_is_a_data_error(tmp_path):
    np.save(tmp_path / "cls_labels_onehot.npy", np.array([{"a": 1}, print], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="cls_labels_onehot"):
        read_cls_labels(tmp_path / "cls_labels_onehot.npy")


def _encode_rle_string(runs):
    """COCO's compressed RLE writer (the inverse of the reader under test), for the round trip."""
    out = []
    for i, x in enumerate(runs):
        if i > 2:
            x -= runs[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = not ((c & 0x10 and x == -1) or (not c & 0x10 and x == 0))
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def test_coco_polygons_rle_and_crowd(tmp_path):
    h, w = 6, 5
    region = np.zeros((h, w), bool)
    region[1:4, 2:4] = True
    flat = region.T.ravel()  # column-major, runs start with zeros
    runs, value, count = [], False, 0
    for v in flat:
        if v != value:
            runs.append(count)
            value, count = v, 0
        count += 1
    runs.append(count)
    np.testing.assert_array_equal(decode_rle(runs, h, w), region)
    np.testing.assert_array_equal(decode_rle(_encode_rle_string(runs), h, w), region)
    doc = {"images": [{"id": 7, "height": h, "width": w, "file_name": "a.jpg"}],
           "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                            "segmentation": [[0.0, 0.0, 2.0, 0.0, 2.0, 2.0, 0.0, 2.0]]},
                           {"id": 2, "image_id": 7, "category_id": 90, "iscrowd": 0,
                            "segmentation": {"counts": runs, "size": [h, w]}},
                           {"id": 3, "image_id": 7, "category_id": 1, "iscrowd": 1,
                            "segmentation": {"counts": [28, 2], "size": [h, w]}}]}
    (tmp_path / "inst.json").write_text(json.dumps(doc))
    inst = read_coco_instances(tmp_path / "inst.json")
    assert inst.class_names == ("person", "toothbrush") and inst.class_of == {1: 1, 90: 2}
    mask = coco_mask(inst, 7)
    assert mask[0, 0] == 1 and mask[2, 2] == 2 and mask[5, 4] == 255 and mask[5, 0] == 0
