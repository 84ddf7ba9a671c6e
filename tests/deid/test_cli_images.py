"""`paperzoo deid anonymize`: good photos are written with a sidecar; bad input is refused file by file."""

import json

import numpy as np
import pytest
from PIL import Image

from paperzoo.core.errors import DataError
from paperzoo.deid.images import encode_image, read_image, read_mask


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut):
    rgb, _ = astronaut
    d = tmp_path_factory.mktemp("photos")
    Image.fromarray(rgb).save(d / "astronaut.jpg", quality=95)
    Image.fromarray(rgb).convert("L").save(d / "grey.png")
    return d, rgb


def test_anonymize_writes_image_and_sidecar_and_keeps_the_region(photos, tmp_path, paperzoo_cli):
    d, rgb = photos
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path / "o", "--keep", "periocular",
                             "--method", "pixelate")
    assert code == 0, out
    side = json.loads((tmp_path / "o" / "astronaut.jpg.json").read_text())
    assert len(side["faces"]) == 1 and side["faces"][0]["regions_kept"] == ["periocular"]
    assert side["method"] == "pixelate" and 0 < side["faces"][0]["keep_fraction"] < 0.6
    written = read_image(tmp_path / "o" / "astronaut.jpg").rgb
    source = read_image(d / "astronaut.jpg").rgb
    from paperzoo.deid.detect import Face
    from paperzoo.deid.regions import face_mask, region_mask

    f = side["faces"][0]
    face = Face(tuple(f["box"]), 1, "x", points=None)
    assert np.abs(written.astype(int) - source.astype(int))[face_mask(rgb.shape, face)].mean() > 5
    # the JPEG re-encoding moves kept pixels a little; the region itself was copied, not anonymised
    from paperzoo.deid.detect import make_detector

    real = make_detector("centerface").detect(source)[0]
    roi = region_mask(rgb.shape, real, ("periocular",))
    assert np.abs(written.astype(int) - source.astype(int))[roi].mean() < 3


def test_grey_scale_photo_is_anonymised_and_stays_grey(photos, tmp_path, paperzoo_cli):
    d, _ = photos
    code, out = paperzoo_cli("deid", "anonymize", d / "grey.png", "--out", tmp_path, "--method", "blur")
    assert code == 0, out
    with Image.open(tmp_path / "grey.png") as im:
        assert im.mode == "L"
    assert json.loads((tmp_path / "grey.png.json").read_text())["mode"] == "L"


def test_bad_files_are_reported_and_nothing_is_written_for_them(photos, tmp_path, paperzoo_cli):
    d, rgb = photos
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "notes.png").write_text("this is not an image\n")
    whole = (d / "astronaut.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(bad / "noface.png")
    (bad / "good.jpg").write_bytes(whole)
    out_dir = tmp_path / "out"
    code, out = paperzoo_cli("deid", "anonymize", bad, "--out", out_dir)
    assert code == 2
    assert "notes.png" in out and "truncated.jpg" in out and "truncated" in out and "noface.png" in out
    assert "no face" in out and "Traceback" not in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.jpg", "good.jpg.json"]


def test_unreadable_mask_file_and_huge_image_are_refused(photos, tmp_path, paperzoo_cli):
    d, _ = photos
    (tmp_path / "mask.png").write_bytes(b"\x89PNG broken")
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path / "o", "--mask",
                             tmp_path / "mask.png")
    assert code == 2 and "mask.png" in out and not (tmp_path / "o" / "astronaut.jpg").exists()
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path / "o2", "--max-pixels", "1000")
    assert code == 2 and "MP" in out and "--max-pixels" in out and not (tmp_path / "o2").exists()


def test_user_mask_is_kept_and_a_mask_of_the_wrong_size_refused(photos, tmp_path, paperzoo_cli):
    d, rgb = photos
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[150:170, 200:260] = 255  # a patch on the face
    Image.fromarray(mask).save(tmp_path / "m.png")
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path / "o", "--keep", "none",
                             "--mask", tmp_path / "m.png", "--method", "mask")
    assert code == 0, out
    written = read_image(tmp_path / "o" / "astronaut.jpg").rgb.astype(int)
    source = read_image(d / "astronaut.jpg").rgb.astype(int)
    assert np.abs(written - source)[152:168, 202:258].mean() < 3
    Image.fromarray(mask[:100]).save(tmp_path / "small.png")
    with pytest.raises(DataError, match="must have the image's size"):
        read_mask(tmp_path / "small.png", rgb.shape[:2])


def test_unknown_method_and_region_exit_2(photos, tmp_path, paperzoo_cli):
    d, _ = photos
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path, "--method", "smudge")
    assert code == 2 and "valid: blur" in out
    code, out = paperzoo_cli("deid", "anonymize", d / "astronaut.jpg", "--out", tmp_path, "--keep", "ears")
    assert code == 2 and "periocular" in out


def test_read_image_applies_exif_rotation_and_drops_metadata(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    exif[0x010F] = "SecretCam"
    im.save(tmp_path / "r.jpg", exif=exif.tobytes())
    pic = read_image(tmp_path / "r.jpg")
    assert pic.rgb.shape == (40, 20, 3)
    data = encode_image(pic, pic.rgb, ".jpg")
    assert b"SecretCam" not in data and b"Exif" not in data


def test_rgba_keeps_alpha_and_16_bit_is_refused(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 3] = 77
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    pic = read_image(tmp_path / "a.png")
    assert pic.mode == "RGBA"
    back = Image.open(__import__("io").BytesIO(encode_image(pic, pic.rgb, ".png")))
    assert back.mode == "RGBA" and np.asarray(back)[..., 3].min() == 77
    Image.fromarray(np.zeros((10, 10), np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(DataError, match="16-bit"):
        read_image(tmp_path / "deep.png")
