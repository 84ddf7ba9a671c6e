"""Readers of the real WSSS data layouts: PASCAL VOC 2012 (+ SBD "aug" masks) and MS COCO instance JSON.

VOC, as the authors' code expects it:

    ROOT/JPEGImages/<name>.jpg
    ROOT/SegmentationClassAug/<name>.png     class index per pixel (palette "P" or grey "L" PNG), 255 = ignore
    LISTS/train_aug.txt, LISTS/val.txt       one image name per line (LISTS = ROOT, ROOT/ImageSets/Segmentation
                                             or an explicit folder)
    LISTS/cls_labels_onehot.npy              optional: {name: (20,) multi-hot}; else derived from the masks

COCO: `annotations/instances_<split>.json` with polygon or RLE segmentations; categories are mapped, in id
order, to 1..80 (0 = background); crowd regions become 255 (ignore), as WSSS evaluation does.

Every malformed input raises `DataError` naming the file, what is wrong and what is valid.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.loaders import loader

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
IGNORE = 255


def voc_palette(n: int = 256) -> np.ndarray:
    """The VOC colour map (n, 3) uint8: the bits of the class index spread over R, G, B from the high bit down."""
    pal = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        pal[i] = (r, g, b)
    return pal


def write_palette_png(path: Path, mask: np.ndarray) -> None:
    """Save a class-index mask (H, W) uint8 as a VOC palette PNG (atomically)."""
    from PIL import Image

    from paperzoo.core.io import atomic_write_bytes

    img = Image.fromarray(np.asarray(mask, dtype=np.uint8), mode="P")
    img.putpalette(voc_palette().ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())


@loader("wsss.voc_mask", kind="file", suffix=".png", doc="VOC segmentation mask (palette or grey PNG)")
def read_mask_png(path: Path, n_classes: int = 21) -> np.ndarray:
    """A VOC mask as (H, W) uint8 class indices; values must be < n_classes or 255."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            mode = img.mode
            arr = np.array(img)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable PNG mask ({type(exc).__name__}: {exc})") from None
    if mode == "RGB":  # a colour-rendered mask: map colours back through the palette
        arr = _colours_to_index(arr, path)
    elif mode not in ("P", "L"):
        raise DataError(f"{path}: mask PNG has mode {mode!r}; valid: a palette (P) or grey (L) index image")
    bad = np.setdiff1d(np.unique(arr), np.r_[np.arange(n_classes), IGNORE])
    if bad.size:
        raise DataError(f"{path}: label values {bad[:8].tolist()} are outside the palette; valid: 0..{n_classes - 1} "
                        f"and {IGNORE} (ignore)")
    return arr.astype(np.uint8)


def _colours_to_index(rgb: np.ndarray, path: Path) -> np.ndarray:
    pal = voc_palette().astype(np.int64)
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    lookup = {int((r << 16) | (g << 8) | b): i for i, (r, g, b) in enumerate(pal) if i < 21 or i == IGNORE}
    out = np.zeros(code.shape, dtype=np.uint8)
    for value in np.unique(code):
        if int(value) not in lookup:
            raise DataError(f"{path}: colour #{int(value):06x} is not a VOC palette colour (label outside the "
                            "palette); valid: the 21 class colours and the ignore colour")
        out[code == value] = lookup[int(value)]
    return out


@loader("wsss.voc_cls_labels", kind="file", suffix=".npy", doc="VOC cls_labels_onehot.npy (dict name -> multi-hot)")
def read_cls_labels(path: Path) -> dict[str, np.ndarray]:
    """`cls_labels_onehot.npy`: a 0-d object array holding {name: (20,) multi-hot}, read with a restricted unpickler."""
    from numpy.lib import format as npy_format

    from paperzoo.core.errors import UserError
    from paperzoo.core.safe_pickle import restricted_load

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            header = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
            if version not in header:
                raise DataError(f"{path}: .npy format version {version} is not supported; valid: 1.0, 2.0")
            shape, _, dtype = header[version](fh)
            if not dtype.hasobject:
                raise DataError(f"{path}: holds a {dtype} array of shape {shape}; expected the dict of labels")
            value = restricted_load(fh.read())
    except DataError:
        raise
    except UserError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a .npy file ({exc})") from None
    table = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    if not isinstance(table, dict) or not table:
        raise DataError(f"{path}: expected a non-empty dict {{image name: multi-hot labels}}, "
                        f"got {type(table).__name__}")
    return {str(k): np.asarray(v, dtype=np.float32).ravel() for k, v in table.items()}


def _list_file(root: Path, split: str, list_dir: Path | None) -> Path:
    places = [list_dir] if list_dir else [root, root / "ImageSets" / "Segmentation"]
    for place in places:
        if place is not None and (place / f"{split}.txt").is_file():
            return place / f"{split}.txt"
    looked = ", ".join(str(p / f"{split}.txt") for p in places if p is not None)
    raise DataError(f"VOC folder {root}: no list file {split}.txt (looked in {looked}); valid splits are files "
                    "such as train_aug.txt, train.txt, val.txt with one image name per line")


@dataclass
class VOCDataset:
    """A VOC split read lazily: `get(i)` returns image (H, W, 3) uint8, mask (H, W) uint8, labels (20,)."""

    root: Path
    names: list[str]
    labels: np.ndarray
    class_names: tuple[str, ...] = VOC_CLASSES
    mask_dir: str = "SegmentationClassAug"

    def __len__(self) -> int:
        return len(self.names)

    def get(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from PIL import Image, UnidentifiedImageError

        name = self.names[i]
        img_file = self.root / "JPEGImages" / f"{name}.jpg"
        try:
            with Image.open(img_file) as im:
                image = np.array(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"{img_file}: not a readable image ({exc})") from None
        mask_file = self.root / self.mask_dir / f"{name}.png"
        mask = read_mask_png(mask_file, len(self.class_names) + 1) if mask_file.is_file() else None
        if mask is None:
            mask = np.full(image.shape[:2], IGNORE, dtype=np.uint8)
        elif mask.shape != image.shape[:2]:
            raise DataError(f"{mask_file}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {img_file.name} is "
                            f"{image.shape[1]}x{image.shape[0]}; a mask must have its image's size")
        return image, mask, self.labels[i]


def labels_from_mask(mask: np.ndarray, n_classes: int) -> np.ndarray:
    """Multi-hot image labels (n_classes,) of the classes present in a mask (0 = background, 255 ignored)."""
    present = np.unique(mask)
    present = present[(present > 0) & (present != IGNORE)].astype(int) - 1
    out = np.zeros(n_classes, dtype=np.float32)
    out[present] = 1
    return out


def read_voc(root: Path, split: str = "train_aug", list_dir: Path | None = None,
             mask_dir: str = "SegmentationClassAug") -> VOCDataset:
    """Open a VOC split; checks the list, that every listed image exists, and reads or derives image labels."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"VOC folder {root} does not exist; give the folder holding JPEGImages/")
    if not (root / "JPEGImages").is_dir():
        raise DataError(f"VOC folder {root}: no JPEGImages/ inside; valid layout: ROOT/JPEGImages/<name>.jpg, "
                        f"ROOT/{mask_dir}/<name>.png, ROOT/<split>.txt")
    lst = _list_file(root, split, Path(list_dir) if list_dir else None)
    try:
        names = [line.split()[0] for line in lst.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise DataError(f"{lst}: not a text file of image names") from None
    if not names:
        raise DataError(f"{lst}: the list is empty; it needs one image name per line")
    missing = [n for n in names if not (root / "JPEGImages" / f"{n}.jpg").is_file()]
    if missing:
        raise DataError(f"{lst}: {len(missing)} listed images are missing from {root / 'JPEGImages'} "
                        f"(first: {missing[0]}.jpg)")
    _check_sizes(root, names, mask_dir)
    onehot = lst.parent / "cls_labels_onehot.npy"
    table = read_cls_labels(onehot) if onehot.is_file() else None
    labels = np.zeros((len(names), len(VOC_CLASSES)), dtype=np.float32)
    for i, name in enumerate(names):
        if table is not None and name in table:
            labels[i] = table[name][:len(VOC_CLASSES)]
        else:
            mask_file = root / mask_dir / f"{name}.png"
            if not mask_file.is_file():
                raise DataError(f"{mask_file}: missing, and {onehot} has no labels for {name}; image labels come "
                                "from one of the two")
            labels[i] = labels_from_mask(read_mask_png(mask_file), len(VOC_CLASSES))
    return VOCDataset(root, names, labels, mask_dir=mask_dir)


def _check_sizes(root: Path, names: list[str], mask_dir: str) -> None:
    """Every mask must have its image's size (PIL reads only the headers here)."""
    from PIL import Image, UnidentifiedImageError

    for name in names:
        img_file, mask_file = root / "JPEGImages" / f"{name}.jpg", root / mask_dir / f"{name}.png"
        if not mask_file.is_file():
            continue
        try:
            with Image.open(img_file) as im, Image.open(mask_file) as mk:
                if im.size != mk.size:
                    raise DataError(f"{mask_file}: mask is {mk.size[0]}x{mk.size[1]} but its image {img_file.name} "
                                    f"is {im.size[0]}x{im.size[1]}; a mask must have its image's size")
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"{img_file} or {mask_file}: not a readable image ({exc})") from None


@loader("wsss.voc", kind="dir", doc="PASCAL VOC 2012 layout (JPEGImages, SegmentationClassAug, train_aug.txt)")
def load_voc(root: Path) -> VOCDataset:
    """The `train_aug` split of a VOC folder (the training split of the authors' protocol)."""
    return read_voc(root, "train_aug")


# ---------------------------------------------------------------------------------------------- COCO


@dataclass
class CocoInstances:
    """Parsed instance annotations: image records by id, contiguous class index by category id, anns by image."""

    images: dict[int, dict]
    class_of: dict[int, int]
    class_names: tuple[str, ...]
    anns: dict[int, list[dict]]


@loader("wsss.coco_instances", kind="file", suffix=".json", doc="COCO instances_<split>.json")
def read_coco_instances(path: Path) -> CocoInstances:
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not COCO instance JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("images", "annotations",
                                                                                 "categories")):
        raise DataError(f"{path}: COCO instance JSON needs lists 'images', 'annotations' and 'categories'")
    try:
        cats = sorted(doc["categories"], key=lambda c: int(c["id"]))
        class_of = {int(c["id"]): i + 1 for i, c in enumerate(cats)}
        images = {int(im["id"]): im for im in doc["images"]}
        anns: dict[int, list[dict]] = {i: [] for i in images}
        for a in doc["annotations"]:
            if int(a["image_id"]) not in images or int(a["category_id"]) not in class_of:
                raise DataError(f"{path}: annotation {a.get('id')} points to an unknown image or category")
            anns[int(a["image_id"])].append(a)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: malformed COCO record ({type(exc).__name__}: {exc})") from None
    return CocoInstances(images, class_of, tuple(str(c.get("name", c["id"])) for c in cats), anns)


def decode_rle(counts: list[int] | str, h: int, w: int) -> np.ndarray:
    """COCO run-length encoding (column-major runs, starting with zeros), plain list or compressed string."""
    runs = _rle_string(counts) if isinstance(counts, str) else [int(c) for c in counts]
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for run in runs:
        if value:
            flat[pos:pos + run] = True
        pos += run
        value = not value
    if pos != h * w:
        raise ValueError(f"RLE covers {pos} pixels, the image has {h * w}")
    return flat.reshape(w, h).T


def _rle_string(s: str) -> list[int]:
    """COCO's compressed RLE: 5-bit groups + 48, bit 0x20 = more groups follow, bit 0x10 of the last = sign;
    from the third run on, each value is stored as the difference to the run two before."""
    runs: list[int] = []
    i = 0
    while i < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def coco_mask(inst: CocoInstances, image_id: int) -> np.ndarray:
    """(H, W) uint8 class-index mask of one image: instances in file order, crowd regions 255."""
    from skimage.draw import polygon

    im = inst.images[image_id]
    h, w = int(im["height"]), int(im["width"])
    mask = np.zeros((h, w), dtype=np.uint8)
    for a in inst.anns[image_id]:
        seg = a["segmentation"]
        if isinstance(seg, list):
            region = np.zeros((h, w), dtype=bool)
            for poly in seg:
                xy = np.asarray(poly, dtype=float).reshape(-1, 2)
                rr, cc = polygon(xy[:, 1], xy[:, 0], shape=(h, w))
                region[rr, cc] = True
        else:
            region = decode_rle(seg["counts"], *seg["size"])
        mask[region] = IGNORE if a.get("iscrowd") else inst.class_of[int(a["category_id"])]
    return mask
