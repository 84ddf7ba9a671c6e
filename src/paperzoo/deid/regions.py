"""Masks of the face and of its medical regions of interest, from landmarks or from a user's mask file.

From the 68 iBUG points (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67); w = eye width:

    face        convex hull of jaw + brows lifted by 0.6 * brow-to-eye distance (forehead), scaled by `scale`
    periocular  per eye: hull of the brow (lifted 0.15 w), the eye corners (widened 0.35 w) and the lower lid
                (lowered 0.55 w): lids, lashes, brow and the skin around the eye
    eyes        the eye openings (lid margins), dilated by 0.15 w
    lips        outer lip contour scaled by 1.2 about its centre
    nose        hull of the nose points scaled by 1.15
    cheeks      per side: jaw 1-4 (or 12-15), the mouth corner, the nose wing and the skin under the eye
    skin        face minus eyes, brows and lips

With only the 5 points of CenterFace (eyes, nose, mouth corners; d = eye distance): ellipses around each eye
(0.45 d x 0.3 d for periocular), the mouth (corner distance x 0.35 d) and the nose; the face is the ellipse of
the box scaled by 1.3 (deface's mask).
"""

from __future__ import annotations

import numpy as np

from paperzoo.core.errors import UserError
from paperzoo.deid.detect import Face

REGIONS = ("periocular", "eyes", "brows", "lips", "nose", "cheeks", "skin")


def _poly(mask: np.ndarray, points: np.ndarray, hull: bool = True) -> None:
    import cv2

    pts = np.round(points).astype(np.int32)
    if hull:
        pts = cv2.convexHull(pts)
    cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], 1)


def _scaled(points: np.ndarray, factor: float) -> np.ndarray:
    c = points.mean(axis=0)
    return c + (points - c) * factor


def _ellipse(mask: np.ndarray, centre, axes, angle: float = 0.0) -> None:
    import cv2

    cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))),
                (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))), angle, 0, 360, 1, -1)


def _eye_parts(p: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    return (p[36:42], p[17:22]) if side == "left" else (p[42:48], p[22:27])


def _periocular68(mask: np.ndarray, p: np.ndarray) -> None:
    for side in ("left", "right"):
        eye, brow = _eye_parts(p, side)
        w = float(np.linalg.norm(eye[3] - eye[0]))
        axis = (eye[3] - eye[0]) / max(w, 1e-6)
        down = np.array([-axis[1], axis[0]])  # perpendicular, pointing down the face
        corners = np.stack([eye[0] - 0.35 * w * axis, eye[3] + 0.35 * w * axis])
        lower = eye[[3, 4, 5, 0]] + 0.55 * w * down
        _poly(mask, np.concatenate([brow - 0.15 * w * down, corners, lower]))


def _region68(name: str, mask: np.ndarray, p: np.ndarray, face: Face) -> None:
    w = float(np.linalg.norm(p[39] - p[36]))
    if name == "periocular":
        _periocular68(mask, p)
    elif name == "eyes":
        _poly(mask, _scaled(p[36:42], 1.0 + 0.3 * w / max(np.ptp(p[36:42, 0]), 1)))
        _poly(mask, _scaled(p[42:48], 1.0 + 0.3 * w / max(np.ptp(p[42:48, 0]), 1)))
    elif name == "brows":
        _poly(mask, _scaled(p[17:22], 1.25))
        _poly(mask, _scaled(p[22:27], 1.25))
    elif name == "lips":
        _poly(mask, _scaled(p[48:60], 1.2))
    elif name == "nose":
        _poly(mask, _scaled(p[27:36], 1.15))
    elif name == "cheeks":
        down = np.array([0.0, 0.3 * w])
        _poly(mask, np.concatenate([p[1:5], p[[48, 31]], p[[39, 40, 41, 36]] + down]))
        _poly(mask, np.concatenate([p[12:16], p[[54, 35]], p[[42, 47, 46, 45]] + down]))
    elif name == "skin":
        mask |= face_mask(mask.shape, face)
        for part in ("eyes", "brows", "lips"):
            hole = np.zeros_like(mask)
            _region68(part, hole, p, face)
            mask &= ~hole


def _region5(name: str, mask: np.ndarray, q: np.ndarray, face: Face) -> None:
    eye_l, eye_r, nose, mouth_l, mouth_r = q
    d = float(np.linalg.norm(eye_r - eye_l))
    angle = float(np.degrees(np.arctan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0])))
    if name in ("periocular", "eyes", "brows"):
        ax = {"periocular": (0.45, 0.3), "eyes": (0.25, 0.12), "brows": (0.3, 0.1)}[name]
        shift = np.array([0.0, -0.25 * d]) if name == "brows" else np.zeros(2)
        for eye in (eye_l, eye_r):
            _ellipse(mask, eye + shift - (np.array([0, 0.05 * d]) if name == "periocular" else 0),
                     (ax[0] * d, ax[1] * d), angle)
    elif name == "lips":
        _ellipse(mask, (mouth_l + mouth_r) / 2, (0.6 * np.linalg.norm(mouth_r - mouth_l), 0.2 * d), angle)
    elif name == "nose":
        _ellipse(mask, nose - np.array([0, 0.15 * d]), (0.25 * d, 0.4 * d), angle)
    elif name == "cheeks":
        for eye, mouth in ((eye_l, mouth_l), (eye_r, mouth_r)):
            centre = (eye + mouth) / 2 + (eye - (eye_l + eye_r) / 2) * 0.4
            _ellipse(mask, centre, (0.22 * d, 0.3 * d), angle)
    elif name == "skin":
        mask |= face_mask(mask.shape, face)
        for part in ("eyes", "lips"):
            hole = np.zeros_like(mask)
            _region5(part, hole, q, face)
            mask &= ~hole


def face_mask(shape: tuple[int, ...], face: Face, scale: float = 1.1) -> np.ndarray:
    """bool (H, W): the whole face (landmark hull with forehead, or the box's ellipse x 1.3)."""
    mask = np.zeros(shape[:2], np.uint8)
    p = face.points
    if p is not None and len(p) == 68:
        eye_y = p[36:48].mean(axis=0)
        lift = (p[17:27] - eye_y) * 0.7  # forehead: brows pushed further from the eyes
        _poly(mask, _scaled(np.concatenate([p[0:17], p[17:27] + lift]), scale))
    else:
        x0, y0, x1, y1 = face.box
        _ellipse(mask, ((x0 + x1) / 2, (y0 + y1) / 2), (0.65 * (x1 - x0), 0.65 * (y1 - y0)))
    return mask.astype(bool)


def region_mask(shape: tuple[int, ...], face: Face, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """bool (H, W): union of the named medical regions of `face` (empty for no names), clipped to the image."""
    unknown = [n for n in names if n not in REGIONS]
    if unknown:
        raise UserError(f"unknown region(s) {', '.join(unknown)}; valid: {', '.join(REGIONS)}")
    mask = np.zeros(shape[:2], bool)
    for name in names:
        part = np.zeros(shape[:2], np.uint8)
        if face.points is not None and len(face.points) == 68:
            _region68(name, part, face.points, face)
        elif face.points5 is not None:
            _region5(name, part, face.points5, face)
        else:
            raise UserError(f"face at {face.as_dict()['box']} has no landmarks: cannot place region {name!r}")
        mask |= part.astype(bool)
    return mask


def parse_regions(text: str) -> tuple[str, ...]:
    """'periocular,lips' -> ('periocular', 'lips'), checked; '' or 'none' -> ()."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip().lower() != "none")
    unknown = [n for n in names if n not in REGIONS]
    if unknown:
        raise UserError(f"--keep: unknown region(s) {', '.join(unknown)}; valid: {', '.join(REGIONS)} "
                        "(comma-separated), or 'none' for whole-face anonymisation")
    return names
