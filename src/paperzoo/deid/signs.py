"""Synthetic medical signs drawn onto a face with a known mask: ground truth for the medical classifier.

Signs live in the periocular region and on the lips (the regions an ophthalmology or dermatology user keeps),
at landmark positions; w = eye width, `strength` in [0, 1] scales each drawn change:

    redness    conjunctival / lid redness: R up, G and B down inside the dilated eye opening and lid margin
    swelling   periorbital oedema: the lower lid bulges (local magnification) and turns pink
    ptosis     the upper lid of one eye droops: skin above the eye is pulled down over 40-70 % of the opening
    lesion     1-3 round pigmented or red spots (radius 0.15-0.3 w) on periocular skin or the lips
    jaundice   scleral icterus: the whites of both eyes and, faintly, the lid skin turn yellow

`draw_sign(rgb, points, sign, rng)` returns the new image and the bool mask of the pixels it changed. Every
change is confined to the periocular and lip regions (`SIGN_REGIONS`): the premise of medical-aware
de-identification is that the region a clinician marks holds the manifestation.
"""

from __future__ import annotations

import numpy as np

from paperzoo.deid.detect import Face
from paperzoo.deid.regions import _poly, _scaled, region_mask

SIGNS = ("none", "redness", "swelling", "ptosis", "lesion", "jaundice")
SIGN_REGIONS = ("periocular", "lips")


def _blend(rgb: np.ndarray, target: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float32)
    return np.clip(np.round(rgb * (1 - a) + target * a), 0, 255).astype(np.uint8)


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(sigma, 0.5))


def _eye(points: np.ndarray, side: int) -> np.ndarray:
    return points[36:42] if side == 0 else points[42:48]


def _remap(rgb: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(rgb, gx + dx.astype(np.float32), gy + dy.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def _redness(rgb, p, rng, s):
    w = float(np.linalg.norm(p[39] - p[36]))
    m = np.zeros(rgb.shape[:2], np.uint8)
    for side in (0, 1):
        _poly(m, _scaled(_eye(p, side), 1.35))
    alpha = _soft(m, 0.12 * w) * (0.45 + 0.3 * s)
    target = rgb.astype(np.float32) * np.array([1.0, 0.45, 0.5]) + np.array([90.0, 0, 0])
    return _blend(rgb, target, alpha)


def _bulge(rgb, centre, radius, amount):
    h, w = rgb.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    rx, ry = gx - centre[0], gy - centre[1]
    r2 = (rx ** 2 + ry ** 2) / radius ** 2
    f = np.where(r2 < 1, amount * (1 - r2) ** 2, 0.0)
    return _remap(rgb, -f * rx, -f * ry)


def _swelling(rgb, p, rng, s):
    w = float(np.linalg.norm(p[39] - p[36]))
    out = rgb
    m = np.zeros(rgb.shape[:2], np.uint8)
    for side in (0, 1):
        eye = _eye(p, side)
        centre = eye[[4, 5]].mean(0) + np.array([0, 0.2 * w])
        out = _bulge(out, centre, 0.55 * w, 0.35 + 0.25 * s)
        cv2_ellipse(m, centre, (0.5 * w, 0.25 * w))
    alpha = _soft(m, 0.15 * w) * (0.3 + 0.25 * s)
    return _blend(out, out.astype(np.float32) * np.array([1.08, 0.8, 0.85]) + np.array([25.0, 5, 10]), alpha)


def cv2_ellipse(mask, centre, axes):
    import cv2

    cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))),
                (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))), 0, 0, 360, 1, -1)


def _ptosis(rgb, p, rng, s):
    side = int(rng.integers(2))
    eye = _eye(p, side)
    w = float(np.linalg.norm(eye[3] - eye[0]))
    opening = max(float(np.mean(eye[[4, 5], 1]) - np.mean(eye[[1, 2], 1])), 0.15 * w)
    drop = (0.4 + 0.3 * s) * opening + 0.08 * w
    h, wd = rgb.shape[:2]
    gx, gy = np.meshgrid(np.arange(wd, dtype=np.float32), np.arange(h, dtype=np.float32))
    cx, cy = eye.mean(0)
    across = np.clip(1 - ((gx - cx) / (0.7 * w)) ** 2, 0, None)
    top = cy - 0.8 * w
    band = np.clip((gy - top) / (cy - top + 1e-6), 0, 1) * (gy <= cy + 0.1 * w)
    dy = -drop * across * band
    out = _remap(rgb, np.zeros_like(dy), dy)
    shade = np.clip(-dy / max(drop, 1e-6), 0, 1) * 0.15
    return _blend(out, out.astype(np.float32) * 0.8, shade)


def _lesion(rgb, p, rng, s):
    face = Face((0, 0, 1, 1), 1.0, "sign", points=p)
    allowed = region_mask(rgb.shape, face, ("periocular", "lips")) & ~region_mask(rgb.shape, face, ("eyes",))
    ys, xs = np.nonzero(allowed)
    w = float(np.linalg.norm(p[39] - p[36]))
    out = rgb.astype(np.float32)
    colour = np.array([95.0, 50, 40]) if rng.random() < 0.5 else np.array([175.0, 45, 55])
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(len(ys)))
        r = float(rng.uniform(0.15, 0.3)) * w
        m = np.zeros(rgb.shape[:2], np.uint8)
        cv2_ellipse(m, (xs[i], ys[i]), (r, r * rng.uniform(0.7, 1.0)))
        alpha = _soft(m, 0.3 * r) * (0.7 + 0.25 * s)
        out = out * (1 - alpha[..., None]) + colour * alpha[..., None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _jaundice(rgb, p, rng, s):
    import cv2

    w = float(np.linalg.norm(p[39] - p[36]))
    eyes = np.zeros(rgb.shape[:2], np.uint8)
    for side in (0, 1):
        _poly(eyes, _eye(p, side))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = grey[eyes.astype(bool)]
    bright = (grey > np.percentile(inside, 45)) if inside.size else grey > 255
    sclera = _soft(eyes.astype(bool) & bright, 0.04 * w) * (0.55 + 0.3 * s)
    face = Face((0, 0, 1, 1), 1.0, "sign", points=p)
    lids = _soft(region_mask(rgb.shape, face, ("periocular",)), 0.2 * w) * (0.12 + 0.1 * s)
    target = rgb.astype(np.float32) * np.array([1.0, 0.92, 0.35]) + np.array([30.0, 25, 0])
    return _blend(rgb, target, np.maximum(sclera, lids))


_DRAW = {"redness": _redness, "swelling": _swelling, "ptosis": _ptosis, "lesion": _lesion, "jaundice": _jaundice}


def draw_sign(rgb: np.ndarray, points: np.ndarray, sign: str, rng: np.random.Generator,
              strength: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(image with the sign, bool mask of changed pixels); 'none' returns the image unchanged."""
    if sign not in SIGNS:
        raise ValueError(f"unknown sign {sign!r}; valid: {', '.join(SIGNS)}")
    if sign == "none":
        return rgb.copy(), np.zeros(rgb.shape[:2], bool)
    s = float(rng.uniform(0.0, 1.0)) if strength is None else float(strength)
    out = _DRAW[sign](rgb, np.asarray(points, np.float64), rng, s)
    inside = region_mask(rgb.shape, Face((0, 0, 1, 1), 1.0, "sign", points=np.asarray(points)), SIGN_REGIONS)
    out = np.where(inside[..., None], out, rgb)
    return out, np.any(out != rgb, axis=2)
