"""The experiment's datasets: synthetic scenes (default), or VOC / COCO folders resized to a square size.

Every dataset offers `len()`, `batch(idx) -> (images (b, S, S, 3) uint8, masks (b, S, S) uint8, labels (b, K))`
and `class_names`. Masks are for evaluation only: training reads the image labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from paperzoo.core import param
from paperzoo.core.errors import DataError

from .formats import CocoInstances, labels_from_mask, read_coco_instances, read_voc
from .scenes import SceneSpec, make_scenes


@dataclass
class DataConfig:
    source: Literal["scenes", "voc", "coco"] = param("scenes", doc="synthetic scenes, or a VOC/COCO folder at path")
    path: str | None = param(None, path="dir", doc="VOC root (JPEGImages/...) or COCO root (annotations/...)")
    list_dir: str | None = param(None, path="dir", doc="VOC list folder (train_aug.txt, val.txt, "
                                                       "cls_labels_onehot.npy); default: the VOC root")
    train_split: str = param("train_aug", doc="training split (VOC list name / COCO train2014)")
    val_split: str = param("val", doc="validation split (VOC list name / COCO val2014)")
    limit: int = param(0, ge=0, doc="use only the first N images of each real split (0 = all)")
    size: int = param(64, ge=32, doc="square image size the model sees, px (authors: 448 crops)")
    n_train: int = param(600, ge=8, doc="synthetic training scenes")
    n_val: int = param(150, ge=8, doc="synthetic validation scenes")
    n_classes: int = param(5, ge=2, le=6, doc="synthetic object classes")
    co_occurrence: float = param(0.85, ge=0, le=1, doc="chance that an object sits on its home background")
    max_objects: int = param(2, ge=1, doc="objects per scene, at most")
    clutter: int = param(4, ge=0, doc="distractor blobs per scene, at most")
    occluders: int = param(1, ge=0, doc="occluding branches per scene, at most")
    noise: float = param(6.0, ge=0, doc="sensor noise std (0..255 scale)")
    boundary: int = param(0, ge=0, doc="width of a 255 ignore band around objects (VOC-like); 0 = none")
    seed: int = param(0, ge=0, doc="seed of the scene generator (independent of the run seed)")

    def spec(self) -> SceneSpec:
        return SceneSpec(size=self.size, n_classes=self.n_classes, co_occurrence=self.co_occurrence,
                         max_objects=self.max_objects, clutter=self.clutter, occluders=self.occluders,
                         noise=self.noise, boundary=self.boundary,
                         min_visible=max(8, int(40 * (self.size / 96) ** 2)))


def _square(image: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize an image (bilinear) and its mask (nearest) to size x size."""
    from PIL import Image

    img = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
    msk = np.asarray(Image.fromarray(mask).resize((size, size), Image.NEAREST))
    return img, msk


@dataclass
class ResizedSplit:
    """A real split read image by image (`get(i) -> image, mask, labels`) and resized on access."""

    source: object
    size: int
    class_names: tuple[str, ...]
    indices: list[int]

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, idx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        imgs, masks, labels = [], [], []
        for i in np.asarray(idx):
            image, mask, lab = self.source.get(self.indices[int(i)])
            image, mask = _square(image, mask, self.size)
            imgs.append(image)
            masks.append(mask)
            labels.append(lab)
        return np.stack(imgs), np.stack(masks), np.stack(labels).astype(np.float32)


@dataclass
class CocoSplit:
    """A COCO split: images under ROOT/<split>/ (or ROOT/images/<split>/), masks from the instance JSON."""

    root: Path
    folder: Path
    inst: CocoInstances
    ids: list[int]

    def get(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from PIL import Image, UnidentifiedImageError

        from .formats import coco_mask

        image_id = self.ids[i]
        file = self.folder / self.inst.images[image_id]["file_name"]
        try:
            with Image.open(file) as im:
                image = np.array(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"{file}: not a readable image ({exc})") from None
        mask = coco_mask(self.inst, image_id)
        if mask.shape != image.shape[:2]:
            raise DataError(f"{file}: image is {image.shape[1]}x{image.shape[0]} but its annotation says "
                            f"{mask.shape[1]}x{mask.shape[0]}")
        return image, mask, labels_from_mask(mask, len(self.inst.class_names))


def read_coco(root: Path, split: str) -> CocoSplit:
    root = Path(root)
    ann = root / "annotations" / f"instances_{split}.json"
    if not ann.is_file():
        raise DataError(f"COCO folder {root}: no {ann.relative_to(root)}; valid layout: ROOT/annotations/"
                        f"instances_<split>.json with images in ROOT/<split>/ or ROOT/images/<split>/")
    inst = read_coco_instances(ann)
    folder = next((f for f in (root / split, root / "images" / split) if f.is_dir()), None)
    if folder is None:
        raise DataError(f"COCO folder {root}: no image folder {split}/ or images/{split}/")
    ids = [i for i in sorted(inst.images) if inst.anns[i]]
    if not ids:
        raise DataError(f"{ann}: no image has an annotation")
    return CocoSplit(root, folder, inst, ids)


def load_data(cfg: DataConfig, log=lambda _m: None) -> tuple[object, object]:
    """(train, val) datasets of the configured source."""
    if cfg.source == "scenes":
        spec = cfg.spec()
        train = make_scenes(spec, cfg.n_train, cfg.seed * 2 + 1, "train")
        val = make_scenes(spec, cfg.n_val, cfg.seed * 2 + 2, "val")
        log(f"synthetic scenes: {len(train)} train / {len(val)} val, {spec.size} px, {spec.n_classes} classes "
              f"({', '.join(train.class_names)}), co-occurrence {spec.co_occurrence}")
        return train, val
    if cfg.path is None:
        raise DataError(f"data.source={cfg.source} needs data.path (the dataset's root folder)")
    splits = []
    for split in (cfg.train_split, cfg.val_split):
        if cfg.source == "voc":
            src = read_voc(Path(cfg.path), split, Path(cfg.list_dir) if cfg.list_dir else None)
            names = src.class_names
        else:
            src = read_coco(Path(cfg.path), split)
            names = src.inst.class_names
        n = len(src.names) if cfg.source == "voc" else len(src.ids)
        splits.append(ResizedSplit(src, cfg.size, tuple(names), list(range(min(n, cfg.limit) if cfg.limit else n))))
    log(f"{cfg.source} at {cfg.path}: {len(splits[0])} {cfg.train_split} / {len(splits[1])} {cfg.val_split} "
          f"images, {len(splits[0].class_names)} classes, resized to {cfg.size} px")
    return splits[0], splits[1]
