"""One photo in, one de-identified photo and its report out: detect, landmark, choose the regions, compose.

Used by `paperzoo deid anonymize` and by anyone scripting it:

    deid = Deidentifier.build(method="blur", keep=("periocular", "lips"))
    result = deid.run(read_image("in.jpg"))          # raises NoFace / FaceNotAnonymized, never half-done
    write_image(Path("out.jpg"), result.picture, result.rgb)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError, UserError
from paperzoo.deid.anonymizers import ANONYMIZERS, Anonymizer, Generative, Swap, load_inpainter
from paperzoo.deid.detect import Detector, make_detector
from paperzoo.deid.images import Picture, read_image
from paperzoo.deid.medaware import MedicalAware


class NoFace(DataError):
    """No face was found: the photo is not written (it might hold a face the detector missed)."""


@dataclass
class Result:
    picture: Picture
    rgb: np.ndarray
    report: dict = field(default_factory=dict)


def load_donors(folder: Path, detector: Detector, limit: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rgb, 68 landmarks) of the largest face in each photo of `folder` (donors for --method swap)."""
    if not folder.is_dir():
        raise UserError(f"--donors {folder}: not a folder of face photos")
    donors = []
    for path in sorted(folder.iterdir()):
        if len(donors) >= limit or not path.is_file():
            continue
        rgb = read_image(path).rgb
        faces = detector.detect(rgb)
        if faces:
            donors.append((rgb, max(faces, key=lambda f: f.width).points))
    if not donors:
        raise UserError(f"--donors {folder}: no face found in any photo there")
    return donors


def make_anonymizer(method: str, level: float = 1.0, donors=(), k: int = 3, inpainter: str | None = None
                    ) -> Anonymizer:
    """An anonymiser by name (see `anonymizers.ANONYMIZERS`)."""
    if method not in ANONYMIZERS:
        raise UserError(f"unknown --method {method!r}; valid: {', '.join(ANONYMIZERS)}")
    if method == "swap":
        return Swap(donors, k=k, level=level)
    if method == "generative":
        return Generative(load_inpainter(inpainter) if inpainter else None, level=level)
    return ANONYMIZERS[method](level=level)


@dataclass
class Deidentifier:
    detector: Detector
    composer: MedicalAware

    @classmethod
    def build(cls, method: str = "blur", keep: tuple[str, ...] = ("periocular", "lips"), level: float = 1.0,
              detector: str = "centerface", threshold: float | None = None, blend: str = "feather",
              max_keep: float = 0.6, donors: Path | None = None, k: int = 3, inpainter: str | None = None
              ) -> Deidentifier:
        kw = {} if threshold is None else {"threshold": threshold}
        det = make_detector(detector, **kw)
        donor_faces = load_donors(donors, det) if donors is not None else []
        anon = make_anonymizer(method, level, donor_faces, k, inpainter)
        return cls(det, MedicalAware(anon, keep=keep, blend=blend, max_keep=max_keep))

    def run(self, pic: Picture, user_mask: np.ndarray | None = None) -> Result:
        faces = self.detector.detect(pic.rgb)
        name = str(pic.path) if pic.path else "image"
        if not faces:
            rejected = "; ".join(f"{why}" for _, why in self.detector.rejected[:3])
            raise NoFace(f"{name}: no face found by the {self.detector.name} detector"
                         + (f" (rejected: {rejected})" if rejected else "")
                         + "; nothing written. If it shows a face, try --detector cnn or a lower --threshold")
        rgb = self.composer.apply(pic.rgb, faces, user_mask)
        report = {"source": str(pic.path) if pic.path else None, "size": [int(pic.rgb.shape[1]),
                  int(pic.rgb.shape[0])], "mode": pic.mode, "detector": self.detector.name,
                  "method": self.composer.anonymizer.name, "level": self.composer.anonymizer.level,
                  "keep": list(self.composer.keep), "blend": self.composer.blend,
                  "faces": [r.as_dict() for r in self.composer.results],
                  "rejected_detections": [{**f.as_dict(), "why": why} for f, why in self.detector.rejected]}
        return Result(pic, rgb, report)
