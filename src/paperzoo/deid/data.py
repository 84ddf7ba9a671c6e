"""Faces for the benchmark: the offline photos that ship in packages, and MeMa-style labelled folders.

Offline (fetched by `make data`, never committed): scikit-image's astronaut (Eileen Collins, public domain),
the face_recognition 1.3.0 sdist's test photos (Obama x5, Biden), the insightface 2.1 wheel's test images
(a group photo of six, Tom Hanks) and OpenCV's samples (Messi, a basketball player in two frames):
17 faces of 12 identities. Each face is cut out as a square crop (2x the detector's box) resized to a fixed
size, and carries its 68 landmarks in crop coordinates.

MeMa-style folder (the real benchmark's data is not public; this is the layout we read):

    DIR/images/<name>.jpg|png            photos
    DIR/labels.csv or DIR/labels.json    one row per image: image, identity, sign[, mask]
    DIR/masks/<name>.png                 optional medical-region masks (white = keep), or the `mask` column
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError, UserError
from paperzoo.core.loaders import loader
from paperzoo.deid.detect import Detector, Face, landmarks, plausible
from paperzoo.deid.images import SUFFIXES, read_image, read_mask

# (data source, file inside it, identity, face centre as a fraction of width and height)
OFFLINE_FACES = [  # ordered so that the first few are different people (the smoke preset takes 4)
    ("deid-astronaut", "", "eileen_collins", 0.44, 0.23),
    ("deid-face-recognition", "obama.jpg", "obama", 0.54, 0.23),
    ("deid-face-recognition", "biden.jpg", "biden", 0.59, 0.17),
    ("deid-insightface", "Tom_Hanks_54745.png", "tom_hanks", 0.42, 0.51),
    *[("deid-insightface", "t1.jpg", f"group_{i}", cx, cy)
      for i, (cx, cy) in enumerate([(0.09, 0.37), (0.25, 0.23), (0.40, 0.39), (0.62, 0.47), (0.75, 0.15),
                                    (0.92, 0.38)])],
    ("deid-opencv-samples", "messi5.jpg", "messi", 0.44, 0.33),
    ("deid-opencv-samples", "basketball1.png", "basketball_player", 0.14, 0.24),
    ("deid-face-recognition", "obama2.jpg", "obama", 0.53, 0.36),
    ("deid-face-recognition", "obama3.jpg", "obama", 0.54, 0.19),
    ("deid-face-recognition", "obama_partial_face.jpg", "obama", 0.18, 0.22),
    ("deid-face-recognition", "obama_partial_face2.jpg", "obama", 0.84, 0.23),
    ("deid-opencv-samples", "basketball2.png", "basketball_player", 0.14, 0.24),
]


@dataclass
class FaceCrop:
    """One face: a square RGB crop, its face (box + 68 landmarks in crop pixels), identity, label, ROI mask."""

    name: str
    rgb: np.ndarray
    face: Face
    identity: str
    sign: str = "none"
    mask: np.ndarray | None = None  # a user/label-file medical region (bool, crop size), if any


def crop_face(rgb: np.ndarray, face: Face, size: int = 256, scale: float = 2.0,
              mask: np.ndarray | None = None) -> tuple[np.ndarray, Face, np.ndarray | None]:
    """A `size` x `size` crop centred on the face, side = scale x the box; landmarks recomputed on the crop."""
    import cv2

    x0, y0, x1, y1 = face.box
    side = scale * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    k = size / side
    m = np.float32([[k, 0, size / 2 - k * cx], [0, k, size / 2 - k * cy]])
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(127, 127, 127))
    box = tuple(float(v) for v in (k * (x0 - cx) + size / 2, k * (y0 - cy) + size / 2,
                                   k * (x1 - cx) + size / 2, k * (y1 - cy) + size / 2))
    new = Face(box, face.score, face.detector, points=landmarks(crop, box, 68))
    cmask = None
    if mask is not None:
        cmask = cv2.warpAffine(mask.astype(np.uint8), m, (size, size), flags=cv2.INTER_NEAREST) > 0
    return crop, new, cmask


def _nearest(faces: list[Face], shape, cx: float, cy: float) -> Face | None:
    h, w = shape[:2]
    best, dist = None, 0.1
    for f in faces:
        d = np.hypot((f.box[0] + f.box[2]) / 2 / w - cx, (f.box[1] + f.box[3]) / 2 / h - cy)
        if d < dist:
            best, dist = f, d
    return best


def load_offline_faces(detector: Detector, size: int = 256, max_faces: int = 0, log=print) -> list[FaceCrop]:
    """The offline faces as crops (every source must be present: `make data` fetches them)."""
    from paperzoo.core.data import require

    crops, cache = [], {}
    for source, file, identity, cx, cy in OFFLINE_FACES[:max_faces or None]:
        path = require(source) / file if file else require(source)
        if path not in cache:
            pic = read_image(path)
            cache[path] = (pic.rgb, detector.detect(pic.rgb))
        rgb, faces = cache[path]
        face = _nearest(faces, rgb.shape, cx, cy)
        if face is None:
            log(f"WARNING: no {detector.name} face near ({cx}, {cy}) in {path.name}; skipped")
            continue
        crop, cface, _ = crop_face(rgb, face, size)
        why = plausible(cface.points, cface.box)
        if why:
            log(f"WARNING: landmarks of {path.name} ({identity}) implausible on the crop: {why}")
        crops.append(FaceCrop(f"{path.stem}_{identity}", crop, cface, identity))
    return crops


def _rows_csv(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a CSV label file "
                        "with columns image, identity, sign[, mask]") from None
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    return rows


def _rows_json(path: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON label file ({str(exc).splitlines()[0]}); expected a list of "
                        '{"image": ..., "identity": ..., "sign": ...}') from None
    if isinstance(data, dict):
        data = data.get("images", data.get("labels"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: expected a list of objects with image, identity, sign (or {{'images': [...]}})")
    return [{k: str(v) for k, v in r.items()} for r in data]


def _check_rows(path: Path, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    if not rows:
        raise DataError(f"{path}: no label rows; expected one row per image with image, identity, sign")
    missing = [k for k in ("image", "identity", "sign") if k not in rows[0]]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(rows[0]) or 'none'} "
                        "(needed: image, identity, sign[, mask])")
    for i, r in enumerate(rows, 2):
        if not r.get("image") or not r.get("identity") or r.get("sign") in (None, ""):
            raise DataError(f"{path}: row {i} has an empty image, identity or sign: {r}")
    return rows


@loader("deid.labels_csv", kind="file", suffix=".csv", doc="MeMa-style label CSV: image, identity, sign[, mask]")
def load_labels_csv(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    return _check_rows(path, _rows_csv(path))


@loader("deid.labels_json", kind="file", suffix=".json", doc="MeMa-style label JSON: [{image, identity, sign}]")
def load_labels_json(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    return _check_rows(path, _rows_json(path))


@dataclass
class LabelledImage:
    path: Path
    identity: str
    sign: str
    mask: Path | None


@loader("deid.mema", kind="dir", doc="MeMa-style folder: images/ + labels.csv|labels.json (+ masks/)")
def load_mema(folder: str | Path) -> list[LabelledImage]:
    """The rows of a MeMa-style folder, every image and mask path checked to exist."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; data.path must be a MeMa-style folder (images/ + labels.csv)")
    csv_file, json_file = folder / "labels.csv", folder / "labels.json"
    if csv_file.is_file():
        rows = load_labels_csv(csv_file)
    elif json_file.is_file():
        rows = load_labels_json(json_file)
    else:
        raise DataError(f"{folder}: no labels.csv or labels.json (columns image, identity, sign[, mask]); "
                        f"found {', '.join(sorted(p.name for p in folder.iterdir())) or 'an empty folder'}")
    out = []
    for r in rows:
        img = _resolve(folder, r["image"], "images")
        if img.suffix.lower() not in SUFFIXES:
            raise DataError(f"{folder}: label row image {r['image']!r} is not an image file ({', '.join(SUFFIXES)})")
        mask = _resolve(folder, r["mask"], "masks") if r.get("mask") else None
        if mask is None and (folder / "masks" / f"{img.stem}.png").is_file():
            mask = folder / "masks" / f"{img.stem}.png"
        out.append(LabelledImage(img, r["identity"], r["sign"], mask))
    return out


def _resolve(folder: Path, name: str, sub: str) -> Path:
    for cand in (folder / name, folder / sub / name):
        if cand.is_file():
            return cand
    raise DataError(f"{folder}: labelled file {name!r} not found (looked in {folder} and {folder / sub})")


def load_mema_faces(folder: str | Path, detector: Detector, size: int = 256, log=print) -> list[FaceCrop]:
    """Crops of the largest face of every labelled image (an image without a face is skipped, with a warning)."""
    crops = []
    for item in load_mema(folder):
        pic = read_image(item.path)
        faces = detector.detect(pic.rgb)
        if not faces:
            log(f"WARNING: {item.path}: no face found; skipped")
            continue
        face = max(faces, key=lambda f: f.width)
        mask = read_mask(item.mask, pic.rgb.shape[:2]) if item.mask else None
        crop, cface, cmask = crop_face(pic.rgb, face, size, mask=mask)
        crops.append(FaceCrop(item.path.stem, crop, cface, item.identity, item.sign, cmask))
    if len({c.identity for c in crops}) < 2:
        raise UserError(f"{folder}: need faces of at least 2 identities for re-identification, found "
                        f"{len({c.identity for c in crops})}")
    return crops
