"""Anonymisers A(x, M_face): replace the face region of an image, leave every other pixel as it was.

Each anonymiser is a small subclass of `Anonymizer` that overrides `render` (the replacement content);
the base class pastes it inside the face mask. `level` in (0, 1] is the privacy level:

    blur       Gaussian blur, sigma = level * face width / 8
    pixelate   mean over blocks, round(8 + 24 (1 - level)) blocks across the face
    mask       constant grey fill
    inpaint    Telea fast-marching inpainting of the face from its border (classical, OpenCV)
    swap       k-Same-style identity swap: the mean of k donor faces, each warped triangle by triangle
               (Delaunay on 68 landmarks + forehead) onto this face's landmarks, colour-matched in Lab
    generative a hook: any callable inpaint(rgb, mask) -> rgb (e.g. a DeepPrivacy2-style in-painter)

For mask, inpaint, swap and generative the level blends: level * A + (1 - level) * x (below 1 it leaks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from paperzoo.core.errors import UserError
from paperzoo.deid.detect import Face


class Anonymizer:
    """Base class: `anonymize(rgb, mask, face)` = x outside `mask`, `render(...)` inside."""

    name = "base"
    blends = True  # level blends the rendering with the original (False: level is the strength)

    def __init__(self, level: float = 1.0) -> None:
        if not 0 < level <= 1:
            raise UserError(f"privacy level must be in (0, 1], got {level}")
        self.level = float(level)

    def render(self, rgb: np.ndarray, mask: np.ndarray, face: Face) -> np.ndarray:
        raise NotImplementedError

    def anonymize(self, rgb: np.ndarray, mask: np.ndarray, face: Face) -> np.ndarray:
        """uint8 (H, W, 3): the face region replaced, every pixel outside `mask` unchanged."""
        content = self.render(rgb, mask, face).astype(np.float32)
        if self.blends and self.level < 1:
            content = self.level * content + (1 - self.level) * rgb.astype(np.float32)
        out = rgb.copy()
        out[mask] = np.clip(np.round(content[mask]), 0, 255).astype(np.uint8)
        return out


def _window(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return slice(0, 0), slice(0, 0)
    h, w = mask.shape
    return (slice(max(0, ys.min() - pad), min(h, ys.max() + pad + 1)),
            slice(max(0, xs.min() - pad), min(w, xs.max() + pad + 1)))


class Blur(Anonymizer):
    name = "blur"
    blends = False

    def render(self, rgb, mask, face):
        import cv2

        sigma = max(1.0, self.level * face.width / 8)
        win = _window(mask, int(3 * sigma) + 1)
        out = rgb.copy()
        out[win] = cv2.GaussianBlur(rgb[win], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        return out


class Pixelate(Anonymizer):
    name = "pixelate"
    blends = False

    def render(self, rgb, mask, face):
        import cv2

        blocks = round(8 + 24 * (1 - self.level))
        size = max(2, int(round(face.width / blocks)))
        win = _window(mask, 0)
        crop = rgb[win]
        h, w = crop.shape[:2]
        small = cv2.resize(crop, (max(1, w // size), max(1, h // size)), interpolation=cv2.INTER_AREA)
        out = rgb.copy()
        out[win] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        return out


class MaskOut(Anonymizer):
    name = "mask"

    def __init__(self, level: float = 1.0, colour: tuple[int, int, int] = (128, 128, 128)) -> None:
        super().__init__(level)
        self.colour = colour

    def render(self, rgb, mask, face):
        return np.broadcast_to(np.array(self.colour, np.uint8), rgb.shape)


class Inpaint(Anonymizer):
    name = "inpaint"

    def render(self, rgb, mask, face):
        import cv2

        win = _window(mask, 8)
        out = rgb.copy()
        radius = max(3, int(face.width / 20))
        out[win] = cv2.inpaint(rgb[win], mask[win].astype(np.uint8), radius, cv2.INPAINT_TELEA)
        return out


def warp_points(points: np.ndarray) -> np.ndarray:
    """68 landmarks plus 10 forehead points (the brows pushed away from the eyes), for triangle warps."""
    eyes = points[36:48].mean(axis=0)
    return np.concatenate([points, points[17:27] + (points[17:27] - eyes) * 0.7])


def warp_face(src: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, shape: tuple[int, ...],
              triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-affine warp of `src` taking src_pts onto dst_pts; (float image, bool coverage)."""
    import cv2

    out = np.zeros((*shape[:2], 3), np.float32)
    cover = np.zeros(shape[:2], np.uint8)
    H, W = shape[:2]
    for tri in triangles:
        s, d = src_pts[tri].astype(np.float32), dst_pts[tri].astype(np.float32)
        x, y, w, h = cv2.boundingRect(d)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x1 <= x0 or y1 <= y0:
            continue
        m = cv2.getAffineTransform(s, d - np.float32([x0, y0]))
        patch = cv2.warpAffine(src, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tri_mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.round(d - [x0, y0]).astype(np.int32), 1)
        sel = tri_mask.astype(bool) & (cover[y0:y1, x0:x1] == 0)
        out[y0:y1, x0:x1][sel] = patch[sel]
        cover[y0:y1, x0:x1][sel] = 1
    return out, cover.astype(bool)


def match_colour(content: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift and scale each Lab channel of `content` inside `mask` to the target's mean and std there."""
    import cv2

    if mask.sum() < 10:
        return content
    a = cv2.cvtColor(np.clip(content, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    ma, sa = a[mask].mean(0), a[mask].std(0) + 1e-3
    mb, sb = b[mask].mean(0), b[mask].std(0)
    a = (a - ma) * (sb / sa) + mb
    return cv2.cvtColor(np.clip(a, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)


class Swap(Anonymizer):
    """Identity swap with the mean of `k` donor faces (k-Same; k = 1 is a plain face swap)."""

    name = "swap"

    def __init__(self, donors: Sequence[tuple[np.ndarray, np.ndarray]] = (), k: int = 3,
                 level: float = 1.0) -> None:
        super().__init__(level)
        if k < 1:
            raise UserError(f"swap needs k >= 1 donor faces, got k={k}")
        self.donors, self.k = list(donors), k  # (rgb, 68 landmarks) of people other than the target

    def render(self, rgb, mask, face):
        from scipy.spatial import Delaunay

        if face.points is None or len(face.points) != 68:
            raise UserError("swap needs 68 landmarks on the face (use --landmarks 68)")
        chosen = range(min(self.k, len(self.donors)))
        if not chosen:
            raise UserError("swap has no donor faces: give --donors FOLDER (photos of consenting people) or "
                            "choose another --method")
        dst = warp_points(face.points)
        tris = Delaunay(dst).simplices
        acc = np.zeros((*rgb.shape[:2], 3), np.float32)
        count = np.zeros(rgb.shape[:2], np.float32)
        for i in chosen:
            img, pts = self.donors[i]
            warped, cover = warp_face(img.astype(np.float32), warp_points(pts), dst, rgb.shape, tris)
            acc[cover] += warped[cover]
            count[cover] += 1
        covered = count > 0
        content = rgb.astype(np.float32).copy()
        content[covered] = acc[covered] / count[covered, None]
        inside = mask & covered
        content = match_colour(content, rgb, inside)
        if (mask & ~covered).any():  # face-mask pixels no donor triangle reached: fill from the border
            import cv2

            holes = (mask & ~covered).astype(np.uint8)
            content = cv2.inpaint(np.clip(content, 0, 255).astype(np.uint8), holes, 3,
                                  cv2.INPAINT_TELEA).astype(np.float32)
        return content


class Generative(Anonymizer):
    """Hook for a generative in-painter: `inpaint(rgb uint8 (H, W, 3), mask bool (H, W)) -> rgb`."""

    name = "generative"

    def __init__(self, inpaint: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 level: float = 1.0) -> None:
        super().__init__(level)
        if inpaint is None:
            raise UserError("the generative anonymiser needs an in-painter: --inpainter package.module:function "
                            "(a callable inpaint(rgb, mask) -> rgb); no generative weights ship offline")
        self.inpaint = inpaint

    def render(self, rgb, mask, face):
        out = np.asarray(self.inpaint(rgb.copy(), mask.copy()))
        if out.shape != rgb.shape:
            raise UserError(f"the in-painter returned shape {out.shape}, expected {rgb.shape}")
        return out


ANONYMIZERS: dict[str, type[Anonymizer]] = {c.name: c for c in (Blur, Pixelate, MaskOut, Inpaint, Swap,
                                                                Generative)}


def load_inpainter(spec: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """'package.module:function' -> the callable (imported, never eval'ed)."""
    import importlib

    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise UserError(f"--inpainter expects package.module:function, got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"--inpainter {spec}: cannot load it ({exc})") from None
    if not callable(fn):
        raise UserError(f"--inpainter {spec} is not callable")
    return fn
