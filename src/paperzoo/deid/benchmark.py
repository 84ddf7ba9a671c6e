"""The benchmark's stages: sign-bearing test images, every anonymiser x {whole face, medical-aware}, and the
identity / medical measurements of each variant (see `metrics` for the definitions).

A *variant* is `<anonymiser>_<scope>`, scope "face" (the whole face mask anonymised) or "medaware" (the
medical region kept: y = M_med ⊙ x + (1 - M_med) ⊙ A(x, M_face)); `none_face` and `none_medaware` are the
untouched images (the same pixels, reported under both names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from paperzoo.deid import metrics as DM
from paperzoo.deid.anonymizers import Anonymizer, Swap
from paperzoo.deid.classifier import SignClassifier
from paperzoo.deid.data import FaceCrop
from paperzoo.deid.detect import Detector, embed, face_chip, iou
from paperzoo.deid.medaware import MedicalAware
from paperzoo.deid.signs import draw_sign

SCOPES = ("face", "medaware")


@dataclass
class Sample:
    """One test image: which face, its sign label, the pixels, the sign's mask and the kept ROI."""

    face: int
    label: int
    rgb: np.ndarray
    sign_mask: np.ndarray
    roi: np.ndarray


def signed_images(faces: list[FaceCrop], signs: list[str], draws: int, rng: np.random.Generator
                  ) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(face index, label, image, sign mask) for every face x sign x draw (random strength and placement)."""
    out = []
    for i, crop in enumerate(faces):
        for _ in range(draws):
            for label, sign in enumerate(signs):
                img, mask = draw_sign(crop.rgb, crop.face.points, sign, rng)
                out.append((i, label, img, mask))
    return out


def real_images(faces: list[FaceCrop], signs: list[str]) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Labelled photos (MeMa-style folder): the sign is the label file's, its mask unknown."""
    return [(i, signs.index(c.sign), c.rgb, np.zeros(c.rgb.shape[:2], bool)) for i, c in enumerate(faces)]


def variant_names(methods: Iterable[str]) -> list[str]:
    return ["none_face", "none_medaware"] + [f"{m}_{s}" for m in methods for s in SCOPES]


def anonymise(samples: list[Sample], faces: list[FaceCrop], make: Callable[[str, int], Anonymizer],
              methods: list[str], keep: tuple[str, ...], feather: float, blend: str,
              progress=lambda it, **_: it) -> dict[str, list[np.ndarray]]:
    """{variant: images in sample order}; `make(method, face_index)` builds the anonymiser for one face."""
    out: dict[str, list[np.ndarray]] = {v: [] for v in variant_names(methods)}
    for s in progress(samples, desc="anonymise"):
        crop = faces[s.face]
        out["none_face"].append(s.rgb)
        out["none_medaware"].append(s.rgb)
        for m in methods:
            anon = make(m, s.face)
            for scope in SCOPES:
                composer = MedicalAware(anon, keep=keep if scope == "medaware" else (), feather=feather,
                                        blend=blend, max_keep=1.0)
                extra = crop.mask if scope == "medaware" else None
                out[f"{m}_{scope}"].append(composer.apply(s.rgb, [crop.face], extra))
    return out


def swap_donors(faces: list[FaceCrop], target: int, k: int, rng: np.random.Generator, level: float = 1.0) -> Swap:
    """A k-Same swap for face `target` with k donors of other identities, chosen at random."""
    others = [i for i, f in enumerate(faces) if f.identity != faces[target].identity]
    chosen = rng.choice(others, size=min(k, len(others)), replace=False) if others else []
    return Swap([(faces[i].rgb, faces[i].face.points) for i in chosen], k=k, level=level)


def identity_metrics(variants: dict[str, list[np.ndarray]], samples: list[Sample], probe_idx: list[int],
                     faces: list[FaceCrop], detector: Detector, jitters: int = 0,
                     progress=lambda it, **_: it) -> dict[str, dict[str, np.ndarray]]:
    """Per variant and probe: re-ID hit (vs the gallery of originals), own distance, detected-after flag."""
    gallery = np.stack([embed(f.rgb, f.face, jitters) for f in faces])
    gallery_ids = [f.identity for f in faces]
    probe_ids = [faces[samples[i].face].identity for i in probe_idx]
    own = gallery[[samples[i].face for i in probe_idx]]
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in progress(list(variants), desc="identity"):
        if name == "none_medaware":  # the same pixels as none_face
            out[name] = out["none_face"]
            continue
        emb = np.stack([embed(variants[name][i], faces[samples[i].face].face, jitters) for i in probe_idx])
        found = [_detected(detector, variants[name][i], faces[samples[i].face].face.box) for i in probe_idx]
        dist = DM.own_distances(emb, own)
        out[name] = {"hit": DM.reid_hits(emb, probe_ids, gallery, gallery_ids), "dist": dist,
                     "leak": DM.leaks(dist), "detected": np.array(found, float)}
    return out


def _detected(detector: Detector, rgb: np.ndarray, box, min_iou: float = 0.3) -> bool:
    return any(iou(f.box, box) >= min_iou for f in detector.detect(rgb))


def medical_metrics(variants: dict[str, list[np.ndarray]], samples: list[Sample], faces: list[FaceCrop],
                    clf: SignClassifier, chip_size: int, progress=lambda it, **_: it) -> dict[str, dict]:
    """Per variant and sample: SSIM and squared error inside the ROI, classifier prediction, sharpness ratio."""
    from paperzoo.deid.regions import face_mask

    out = {}
    fmasks = [face_mask(f.rgb.shape, f.face) for f in faces]
    ids = [faces[s.face].identity for s in samples]
    for name in progress(list(variants), desc="medical"):
        imgs = variants[name]
        chips = [face_chip(img, faces[s.face].face, chip_size) for img, s in zip(imgs, samples, strict=True)]
        pred = clf.predict(chips, ids)
        ssim = [DM.masked_ssim(img, s.rgb, s.roi) for img, s in zip(imgs, samples, strict=True)]
        mse = [float(np.mean((img[s.roi].astype(float) - s.rgb[s.roi].astype(float)) ** 2)) if s.roi.any()
               else float("nan") for img, s in zip(imgs, samples, strict=True)]
        sharp = [DM.sharpness_ratio(img, s.rgb, fmasks[s.face]) for img, s in zip(imgs, samples, strict=True)]
        out[name] = {"pred": pred, "ssim": np.array(ssim), "mse": np.array(mse), "sharp": np.array(sharp)}
    return out
