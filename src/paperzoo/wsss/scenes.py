"""Synthetic scenes for weakly supervised segmentation, built so that localisation artifacts really occur.

Each of the K object classes has a shape, a colour/texture and a *home background* it almost always sits on
(a boat on water, a cow on grass, ...): with probability `co_occurrence` the scene's background region under an
object is its home. A classifier trained from image labels alone can then score a class from its background,
which is exactly what makes CAM/LAM light up irrelevant patches. Clutter (distractor blobs in class-like
colours, thin occluding branches), partial occlusion between objects, lighting changes and sensor noise make
the problem harder. Textures come from scikit-image's bundled images (brick, grass, gravel), nothing is
downloaded.

    image  (H, W, 3) uint8        what the model sees
    mask   (H, W) uint8           0 background, c + 1 for class c, 255 ignore (optional boundary band)
    labels (K,) float32           image-level multi-hot labels (training signal); a class counts when at
                                  least `min_visible` of its pixels are visible
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CLASSES = ("boat", "cow", "car", "window", "bird", "plant")
BACKGROUNDS = ("water", "grass", "road", "wall", "sky", "sand")
HOME = {"boat": "water", "cow": "grass", "car": "road", "window": "wall", "bird": "sky", "plant": "sand"}
IGNORE = 255


@dataclass(frozen=True)
class SceneSpec:
    """How scenes are drawn (the experiment's `data.*` keys map onto these fields)."""

    size: int = 96
    n_classes: int = 5
    co_occurrence: float = 0.85
    max_objects: int = 2
    clutter: int = 4
    occluders: int = 1
    min_visible: int = 40
    object_scale: tuple[float, float] = (0.35, 0.6)
    noise: float = 6.0
    boundary: int = 0  # width of the 255 ignore band around objects (VOC draws one); 0 = none

    def __post_init__(self) -> None:
        if not 2 <= self.n_classes <= len(CLASSES):
            raise ValueError(f"data.n_classes must be in [2, {len(CLASSES)}], got {self.n_classes}")
        if self.size < 32:
            raise ValueError(f"data.size must be >= 32 pixels, got {self.size}")
        if not 1 <= self.max_objects <= self.n_classes:
            raise ValueError(f"data.max_objects must be in [1, n_classes], got {self.max_objects}")


@dataclass
class SceneSet:
    """A batch of scenes: images (N, H, W, 3) uint8, masks (N, H, W) uint8, labels (N, K) float32."""

    images: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    names: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, idx: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """images (b, H, W, 3) uint8, masks (b, H, W) uint8, labels (b, K) of the given scenes."""
        idx = np.asarray(idx)
        return self.images[idx], self.masks[idx], self.labels[idx]

    def subset(self, idx: np.ndarray | list[int]) -> SceneSet:
        idx = np.asarray(idx)
        return SceneSet(self.images[idx], self.masks[idx], self.labels[idx], self.class_names,
                        [self.names[i] for i in idx])


@lru_cache(maxsize=1)
def _textures() -> dict[str, np.ndarray]:
    """Grey textures in [0, 1] from scikit-image's bundled files (no download)."""
    from paperzoo.core.data import require

    require("wsss-textures")  # a clear message when scikit-image is missing
    from skimage import data

    return {name: getattr(data, name)().astype(np.float32) / 255.0 for name in ("brick", "grass", "gravel")}


def _crop(tex: np.ndarray, size: int, rng: np.random.Generator, zoom: int = 2) -> np.ndarray:
    """A random (size, size) window of a texture, subsampled by `zoom` (coarser texture at small sizes)."""
    span = size * zoom
    y, x = rng.integers(0, tex.shape[0] - span), rng.integers(0, tex.shape[1] - span)
    return tex[y:y + span:zoom, x:x + span:zoom]


def _tint(gray: np.ndarray, rgb: tuple[float, float, float], contrast: float) -> np.ndarray:
    base = np.asarray(rgb, dtype=np.float32)
    return np.clip(base[None, None, :] * (1 - contrast + 2 * contrast * gray[..., None]), 0, 1)


def background(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size, 3) float background texture of the given kind."""
    tex = _textures()
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == "water":
        phase = rng.uniform(0, 2 * np.pi)
        waves = 0.5 + 0.5 * np.sin(2 * np.pi * (6 * yy + 1.5 * np.sin(2 * np.pi * 2 * xx + phase)))
        return _tint(0.6 * waves + 0.4 * _crop(tex["gravel"], size, rng), (0.15, 0.35, 0.7), 0.35)
    if kind == "grass":
        return _tint(_crop(tex["grass"], size, rng), (0.25, 0.55, 0.2), 0.45)
    if kind == "road":
        return _tint(_crop(tex["gravel"], size, rng), (0.45, 0.45, 0.45), 0.4)
    if kind == "wall":
        return _tint(_crop(tex["brick"], size, rng), (0.65, 0.3, 0.2), 0.45)
    if kind == "sky":
        grad = 0.6 + 0.4 * yy + 0.1 * _crop(tex["gravel"], size, rng, zoom=4)
        return _tint(grad / 1.1, (0.55, 0.75, 0.95), 0.25)
    if kind == "sand":
        ripples = 0.5 + 0.5 * np.sin(2 * np.pi * (9 * xx + 3 * yy))
        return _tint(0.5 * ripples + 0.5 * _crop(tex["gravel"], size, rng, zoom=3), (0.85, 0.75, 0.5), 0.3)
    raise ValueError(f"unknown background {kind!r}; valid: {', '.join(BACKGROUNDS)}")


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, -s], [s, c]], dtype=np.float32).T


def _polygon_mask(points: np.ndarray, size: int) -> np.ndarray:
    from skimage.draw import polygon

    mask = np.zeros((size, size), dtype=bool)
    rr, cc = polygon(points[:, 1], points[:, 0], shape=(size, size))
    mask[rr, cc] = True
    return mask


def _ellipse_mask(cx: float, cy: float, rx: float, ry: float, angle: float, size: int) -> np.ndarray:
    from skimage.draw import ellipse

    mask = np.zeros((size, size), dtype=bool)
    rr, cc = ellipse(cy, cx, max(ry, 1), max(rx, 1), shape=(size, size), rotation=angle)
    mask[rr, cc] = True
    return mask


def shape_mask(name: str, cx: float, cy: float, r: float, angle: float, size: int) -> np.ndarray:
    """The silhouette of class `name` centred at (cx, cy) with radius r (pixels), rotated by `angle`."""
    centre = np.array([cx, cy], dtype=np.float32)
    if name == "boat":  # hull + sail
        hull = np.array([[-1, 0.1], [1, 0.1], [0.6, 0.55], [-0.6, 0.55]], dtype=np.float32)
        sail = np.array([[-0.1, 0.05], [-0.1, -0.9], [0.65, 0.05]], dtype=np.float32)
        return (_polygon_mask(_rotate(hull * r, angle * 0.2) + centre, size)
                | _polygon_mask(_rotate(sail * r, angle * 0.2) + centre, size))
    if name == "cow":  # body + head + legs
        body = _ellipse_mask(cx, cy, r, 0.55 * r, angle * 0.3, size)
        hx = cx + 0.95 * r * np.cos(angle * 0.3)
        head = _ellipse_mask(hx, cy - 0.35 * r, 0.32 * r, 0.28 * r, 0, size)
        legs = np.zeros_like(body)
        for dx in (-0.6, 0.5):
            leg = np.array([[-0.08, 0.3], [0.08, 0.3], [0.08, 0.95], [-0.08, 0.95]], dtype=np.float32)
            legs |= _polygon_mask(leg * r + centre + np.array([dx * r, 0], dtype=np.float32), size)
        return body | head | legs
    if name == "car":  # body + cabin + wheels
        body = np.array([[-1, -0.05], [1, -0.05], [1, 0.4], [-1, 0.4]], dtype=np.float32)
        cabin = np.array([[-0.55, -0.05], [-0.35, -0.45], [0.4, -0.45], [0.6, -0.05]], dtype=np.float32)
        m = _polygon_mask(body * r + centre, size) | _polygon_mask(cabin * r + centre, size)
        for dx in (-0.6, 0.6):
            m |= _ellipse_mask(cx + dx * r, cy + 0.42 * r, 0.22 * r, 0.22 * r, 0, size)
        return m
    if name == "window":  # square frame with a cross
        square = np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]], dtype=np.float32)
        return _polygon_mask(_rotate(square * r, angle * 0.15) + centre, size)
    if name == "bird":  # chevron wings + body
        wings = np.array([[-1, -0.4], [0, 0.1], [1, -0.4], [0.95, -0.15], [0, 0.4], [-0.95, -0.15]],
                         dtype=np.float32)
        body = _ellipse_mask(cx, cy + 0.2 * r, 0.18 * r, 0.3 * r, 0, size)
        return _polygon_mask(_rotate(wings * r, angle * 0.4) + centre, size) | body
    if name == "plant":  # pot + leaves
        pot = np.array([[-0.35, 0.35], [0.35, 0.35], [0.25, 0.95], [-0.25, 0.95]], dtype=np.float32)
        m = _polygon_mask(pot * r + centre, size)
        for a in (-0.7, 0.0, 0.7):
            m |= _ellipse_mask(cx + 0.45 * r * np.sin(a), cy - 0.25 * r, 0.2 * r, 0.55 * r, a, size)
        return m
    raise ValueError(f"unknown class {name!r}; valid: {', '.join(CLASSES)}")


_COLOURS = {"boat": (0.92, 0.92, 0.88), "cow": (0.45, 0.3, 0.18), "car": (0.85, 0.15, 0.12),
            "window": (0.95, 0.85, 0.35), "bird": (0.12, 0.12, 0.18), "plant": (0.2, 0.6, 0.25)}
_TEXTURE_OF = {"boat": "gravel", "cow": "grass", "car": "gravel", "window": "brick", "bird": "grass",
               "plant": "grass"}


def object_pixels(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float appearance of a class: its colour, lightly modulated by a texture."""
    colour = np.clip(np.asarray(_COLOURS[name]) + rng.normal(0, 0.05, 3), 0, 1)
    out = _tint(_crop(_textures()[_TEXTURE_OF[name]], size, rng), tuple(colour), 0.25)
    if name == "window":  # dark cross bars
        c = size // 2
        out[c - 1:c + 1, :] *= 0.3
        out[:, c - 1:c + 1] *= 0.3
    return out


def _region_layout(spec: SceneSpec, homes: list[str], rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """(H, W) region index map and the background kind of each region (1 or 2 horizontal bands)."""
    size = spec.size
    kinds = []
    for home in homes[:2]:
        kinds.append(home if rng.random() < spec.co_occurrence else str(rng.choice(BACKGROUNDS)))
    if len(kinds) == 1 and rng.random() < 0.4:
        kinds.append(str(rng.choice(BACKGROUNDS)))
    if len(kinds) == 1 or kinds[0] == kinds[1]:
        return np.zeros((size, size), dtype=np.int64), kinds[:1]
    split = int(rng.uniform(0.35, 0.65) * size)
    wobble = (3 * np.sin(np.linspace(0, rng.uniform(2, 6), size) + rng.uniform(0, 6))).astype(int)
    rows = np.arange(size)[:, None]
    regions = (rows >= split + wobble[None, :]).astype(np.int64)
    if rng.random() < 0.5:  # which band holds the first object's background
        regions = 1 - regions
    return regions, kinds


def _place(region: np.ndarray, r: float, rng: np.random.Generator) -> tuple[float, float]:
    """A centre inside `region` (a boolean map) at least ~r/2 from the border, or anywhere if none fits."""
    size = region.shape[0]
    lo, hi = int(r * 0.6), int(size - r * 0.6)
    ys, xs = np.nonzero(region[lo:hi, lo:hi])
    if len(ys) == 0:
        return float(rng.uniform(lo, hi)), float(rng.uniform(lo, hi))
    i = rng.integers(len(ys))
    return float(xs[i] + lo), float(ys[i] + lo)


def _clutter(img: np.ndarray, n: int, rng: np.random.Generator) -> None:
    """Distractor blobs in class-like colours (no class shape), drawn on the background."""
    size = img.shape[0]
    for _ in range(n):
        colour = np.clip(np.asarray(_COLOURS[str(rng.choice(CLASSES))]) * rng.uniform(0.6, 1.1), 0, 1)
        r = rng.uniform(0.03, 0.09) * size
        m = _ellipse_mask(rng.uniform(0, size), rng.uniform(0, size), r, r * rng.uniform(0.3, 1), rng.uniform(0, 3),
                          size)
        img[m] = 0.5 * img[m] + 0.5 * colour


def _occluder(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """A thin dark branch across the scene; it hides what is under it (the mask turns to background)."""
    from skimage.draw import line_aa

    size = img.shape[0]
    r0, c0, r1, c1 = (int(v) for v in rng.integers(0, size, 4))
    width = max(1, size // 48)
    for off in range(-width, width + 1):
        rr, cc, _ = line_aa(np.clip(r0 + off, 0, size - 1), c0, np.clip(r1 + off, 0, size - 1), c1)
        img[rr, cc] = (0.25, 0.18, 0.1)
        mask[rr, cc] = 0


def draw_scene(spec: SceneSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene: image (H, W, 3) uint8, mask (H, W) uint8, image labels (K,) float32."""
    size, names = spec.size, CLASSES[:spec.n_classes]
    n_obj = 1 + int(rng.integers(spec.max_objects)) if spec.max_objects > 1 else 1
    chosen = [int(c) for c in rng.choice(spec.n_classes, n_obj, replace=False)]
    regions, kinds = _region_layout(spec, [HOME[names[c]] for c in chosen], rng)
    img = np.zeros((size, size, 3), dtype=np.float32)
    for i, kind in enumerate(kinds):
        img[regions == i] = background(kind, size, rng)[regions == i]
    _clutter(img, int(rng.integers(spec.clutter + 1)), rng)
    mask = np.zeros((size, size), dtype=np.uint8)
    for j, c in enumerate(chosen):
        r = rng.uniform(*spec.object_scale) * size / 2
        home_region = regions == min(j, len(kinds) - 1)
        cx, cy = _place(home_region, r, rng)
        m = shape_mask(names[c], cx, cy, r, rng.uniform(-np.pi, np.pi), size)
        img[m] = object_pixels(names[c], size, rng)[m]
        mask[m] = c + 1
    for _ in range(int(rng.integers(spec.occluders + 1))):
        _occluder(img, mask, rng)
    gain, bias = rng.uniform(0.8, 1.15), rng.uniform(-0.06, 0.06)
    noise = rng.standard_normal(img.shape, dtype=np.float32) * spec.noise
    img = np.clip((img * gain + bias) * 255 + noise, 0, 255).astype(np.uint8)
    labels = np.zeros(spec.n_classes, dtype=np.float32)
    for c in chosen:
        labels[c] = float((mask == c + 1).sum() >= spec.min_visible)
        if not labels[c]:
            mask[mask == c + 1] = 0  # a class too hidden to be labelled is background in the ground truth
    if spec.boundary:
        mask = _ignore_band(mask, spec.boundary)
    return img, mask, labels


def _ignore_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Mark pixels within `width` of a class boundary as 255 (VOC's convention)."""
    from scipy.ndimage import grey_dilation, grey_erosion

    k = 2 * width + 1
    edge = grey_dilation(mask, size=k) != grey_erosion(mask, size=k)
    out = mask.copy()
    out[edge] = IGNORE
    return out


def make_scenes(spec: SceneSpec, n: int, seed: int, prefix: str = "scene") -> SceneSet:
    """`n` scenes from `seed`; every scene has at least one labelled class (redrawn otherwise)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, spec.size, spec.size, 3), dtype=np.uint8)
    masks = np.zeros((n, spec.size, spec.size), dtype=np.uint8)
    labels = np.zeros((n, spec.n_classes), dtype=np.float32)
    for i in range(n):
        while True:
            img, mask, lab = draw_scene(spec, rng)
            if lab.any():
                break
        images[i], masks[i], labels[i] = img, mask, lab
    return SceneSet(images, masks, labels, CLASSES[:spec.n_classes], [f"{prefix}_{i:05d}" for i in range(n)])
