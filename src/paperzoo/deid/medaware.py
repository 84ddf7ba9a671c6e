"""Medical-aware de-identification (MeMa, arXiv 2412.10804): remove the identity, keep the medical region.

    y = M_med ⊙ x + (1 - M_med) ⊙ A(x, M_face)

x is the photo, A an anonymiser (blur, pixelate, mask, inpaint, swap, generative) applied inside the face
mask M_face, and M_med the medical region of interest: landmark regions (periocular, lips, ...) or a user's
mask. M_med is exactly 1 on the region, so its pixels are kept bit for bit; outside it the blend is seamless:

    feather   M_med = max(0, 1 - d / f) at distance d from the region (f = feather * face width): a ramp
              of a few pixels instead of a hard seam
    poisson   A is Poisson-blended (cv2.seamlessClone) into x on M_face minus the region, so the anonymised
              skin takes the region's colours at the border; the region itself is then pasted back

The privacy level is the anonymiser's (see `anonymizers`). A face whose kept region covers more than
`max_keep` of M_face is refused (`FaceNotAnonymized`) rather than written out barely changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from paperzoo.core.errors import UserError
from paperzoo.deid.anonymizers import Anonymizer
from paperzoo.deid.detect import Face
from paperzoo.deid.regions import face_mask, region_mask


class FaceNotAnonymized(UserError):
    """A face this configuration cannot anonymise; the image must not be written."""


def soft_keep(roi: np.ndarray, feather_px: float) -> np.ndarray:
    """M_med as float (H, W): 1 on `roi`, a linear ramp to 0 over `feather_px` pixels outside it."""
    import cv2

    if not roi.any():
        return np.zeros(roi.shape, np.float32)
    if feather_px <= 0:
        return roi.astype(np.float32)
    dist = cv2.distanceTransform((~roi).astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(1.0 - dist / feather_px, 0.0, 1.0).astype(np.float32)


def compose(x: np.ndarray, anonymized: np.ndarray, roi: np.ndarray, face: np.ndarray, feather_px: float = 0.0,
            blend: str = "feather") -> np.ndarray:
    """y = M_med ⊙ x + (1 - M_med) ⊙ A(x, M_face); uint8 (H, W, 3), `roi` pixels equal to x exactly."""
    if blend == "poisson" and (face & ~roi).sum() > 16:
        anonymized = _poisson(x, anonymized, face & ~roi)
    elif blend not in ("feather", "poisson"):
        raise UserError(f"blend must be 'feather' or 'poisson', got {blend!r}")
    m = soft_keep(roi, feather_px if blend == "feather" else 0.0)[..., None]
    y = np.round(m * x.astype(np.float32) + (1 - m) * anonymized.astype(np.float32))
    y = np.clip(y, 0, 255).astype(np.uint8)
    y[roi] = x[roi]  # exact, whatever the float arithmetic did
    return y


def _poisson(x: np.ndarray, content: np.ndarray, region: np.ndarray) -> np.ndarray:
    import cv2

    ys, xs = np.nonzero(region)
    h, w = region.shape
    if ys.min() < 2 or xs.min() < 2 or ys.max() > h - 3 or xs.max() > w - 3:  # seamlessClone needs a margin
        region = region.copy()
        region[:2], region[-2:], region[:, :2], region[:, -2:] = False, False, False, False
        ys, xs = np.nonzero(region)
    if len(ys) < 16:
        return content
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    out = cv2.seamlessClone(content, x, region.astype(np.uint8) * 255, centre, cv2.NORMAL_CLONE)
    return np.where(region[..., None], out, content)


@dataclass
class FaceResult:
    """What happened to one face: its detection, the regions kept and their share of the face."""

    face: Face
    kept: tuple[str, ...]
    keep_fraction: float
    user_mask: bool = False

    def as_dict(self) -> dict:
        return {**self.face.as_dict(), "regions_kept": list(self.kept) + (["user mask"] if self.user_mask else []),
                "keep_fraction": round(self.keep_fraction, 4), "notes": self.face.notes}


@dataclass
class MedicalAware:
    """The composition for every face of an image: anonymise M_face, keep M_med (regions and/or a mask)."""

    anonymizer: Anonymizer
    keep: tuple[str, ...] = ("periocular", "lips")
    feather: float = 0.03  # ramp width as a fraction of the face width
    blend: str = "feather"
    max_keep: float = 0.6
    face_scale: float = 1.1
    results: list[FaceResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < self.max_keep <= 1 or self.feather < 0:
            raise UserError(f"max_keep must be in (0, 1] and feather >= 0, got {self.max_keep}, {self.feather}")

    def masks(self, shape: tuple[int, ...], face: Face, user_mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """(M_face, M_med) as bool (H, W); M_med is clipped to M_face."""
        m_face = face_mask(shape, face, self.face_scale)
        m_med = region_mask(shape, face, self.keep) if self.keep else np.zeros(shape[:2], bool)
        if user_mask is not None:
            m_med |= user_mask
        return m_face, m_med & m_face

    def apply(self, x: np.ndarray, faces: list[Face], user_mask: np.ndarray | None = None) -> np.ndarray:
        """The de-identified image; `self.results` says per face what was kept. Raises FaceNotAnonymized."""
        y = x.copy()
        self.results = []
        keep_all = np.zeros(x.shape[:2], bool)
        for face in faces:
            m_face, m_med = self.masks(x.shape, face, user_mask)
            frac = float(m_med.sum() / max(m_face.sum(), 1))
            if frac > self.max_keep:
                raise FaceNotAnonymized(f"face at {face.as_dict()['box']}: the kept region covers {frac:.0%} of "
                                        f"the face (limit {self.max_keep:.0%}); keep fewer regions or raise "
                                        "--max-keep")
            a = self.anonymizer.anonymize(y, m_face, face)
            y = compose(y, a, m_med, m_face, self.feather * face.width, self.blend)
            keep_all |= m_med
            self.results.append(FaceResult(face, self.keep, frac, user_mask is not None))
        y[keep_all] = x[keep_all]  # a neighbour's face mask never overwrites this face's kept region
        return y
