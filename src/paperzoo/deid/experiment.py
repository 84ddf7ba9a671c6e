"""`paperzoo run deid`: every anonymiser x {whole face, medical-aware} on faces with medical signs.

Identity: re-identification against a gallery of the originals, leak rate at dlib's 0.6, mean distance,
detection after anonymisation. Medicine: SSIM/PSNR inside the kept region, a sign classifier's accuracy and
Cohen's kappa (vs the truth and vs its own predictions on the originals). Realism: a sharpness ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.deid import data as _loaders  # noqa: F401  (registers the image, mask and label loaders)
from paperzoo.deid.anonymizers import ANONYMIZERS
from paperzoo.deid.regions import REGIONS
from paperzoo.deid.signs import SIGNS

METHODS = tuple(m for m in ANONYMIZERS if m != "generative")  # no generative weights ship offline


@dataclass
class DataConfig:
    source: Literal["offline", "mema"] = param("offline", doc="offline faces with synthetic signs, or a "
                                               "MeMa-style labelled folder (data.path)")
    path: str | None = param(None, path="dir", doc="MeMa-style folder: images/ + labels.csv|labels.json")
    max_faces: int = param(0, ge=0, doc="use the first N offline faces (0 = all 17)")
    crop_size: int = param(256, ge=128, le=1024, doc="side of the square face crops (pixels)")
    detector: Literal["centerface", "hog", "cnn", "haar"] = param("centerface", doc="face detector")

    def __post_init__(self) -> None:
        if self.source == "mema" and not self.path:
            raise ValueError("data.source=mema needs data.path (a folder with images/ and labels.csv)")


@dataclass
class SignsConfig:
    classes: list[str] = param(list(SIGNS), choices=SIGNS, nonempty=True, doc="sign classes drawn (offline)")
    train_draws: int = param(6, ge=1, doc="classifier training images per face and class (originals)")
    test_draws: int = param(1, ge=1, doc="test images per face and class")


@dataclass
class AnonConfig:
    methods: list[str] = param(list(METHODS), choices=METHODS, nonempty=True, doc="anonymisers compared")
    keep: list[str] = param(["periocular", "lips"], choices=REGIONS, nonempty=True,
                            doc="medical regions kept by the medical-aware variants")
    level: float = param(1.0, gt=0, le=1, doc="privacy level of every anonymiser (1 = strongest)")
    feather: float = param(0.03, ge=0, le=0.5, doc="blend ramp outside the kept region, x face width")
    blend: Literal["feather", "poisson"] = param("feather", doc="seam blending at the kept region's border")
    swap_k: int = param(3, ge=1, doc="swap: donor faces averaged (k-Same)")


@dataclass
class IdentityConfig:
    probes_per_face: int = param(2, ge=0, doc="test images per face embedded for re-ID (0 = all)")
    jitters: int = param(0, ge=0, doc="dlib embedding jitters (0 = one pass)")


@dataclass
class ClassifierConfig:
    chip_size: int = param(64, ge=16, le=256, doc="aligned face chip side fed to the sign classifier")
    cell: int = param(4, ge=1, doc="feature block side (pixels of the chip)")
    C: float = param(0.1, gt=0, doc="inverse L2 strength of the logistic regression")


@dataclass
class ClaimsConfig:
    ssim_roi: float = param(0.99, gt=0, le=1, doc="SSIM inside the kept region the medical-aware variants reach")
    kappa_margin: float = param(0.05, ge=0, le=1, doc="kappa may fall this far below the originals'")
    alpha: float = param(0.05, gt=0, lt=1, doc="test level (bootstrap intervals at 1 - alpha)")
    method: str = param("swap", choices=METHODS, doc="the medical-aware anonymiser the headline claims test")


@dataclass
class DeidConfig:
    data: DataConfig = field(default_factory=DataConfig)
    signs: SignsConfig = field(default_factory=SignsConfig)
    anon: AnonConfig = field(default_factory=AnonConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    threads: int = param(1, ge=0, doc="torch intra-op threads (0 = torch's default; deid runs on OpenCV/dlib)")

    def __post_init__(self) -> None:
        if self.claims.method not in self.anon.methods:
            raise ValueError(f"claims.method={self.claims.method!r} must be one of anon.methods {self.anon.methods}")
        if self.classifier.chip_size % self.classifier.cell:
            raise ValueError(f"classifier.chip_size ({self.classifier.chip_size}) must be a multiple of "
                             f"classifier.cell ({self.classifier.cell})")
        if "none" not in self.signs.classes or len(self.signs.classes) < 2:
            raise ValueError("signs.classes needs 'none' and at least one sign")


def run(cfg: DeidConfig, ctx: RunContext) -> Outcome:
    from paperzoo.deid import stages as S
    from paperzoo.deid.claims import evaluate_claims
    from paperzoo.deid.figures import draw_figures

    rng = np.random.default_rng(ctx.seed)
    faces, detector = S.load_faces(cfg.data, ctx)
    classes = S.class_names(cfg, faces)
    train, test = S.sign_sets(faces, classes, cfg, rng, ctx)
    clf = S.train_classifier(train, faces, classes, cfg, ctx)
    variants = S.anonymise_all(test, faces, cfg.anon, rng, ctx)
    probes = S.choose_probes(test, len(faces), cfg.identity.probes_per_face, rng)
    ident = S.measure_identity(variants, test, probes, faces, detector, cfg.identity, ctx)
    med = S.measure_medicine(variants, test, faces, clf, cfg.classifier, ctx)
    m, examples = S.summarise(ident, med, test, faces, probes, classes, cfg, ctx)
    sections = S.report_tables(ctx, m, med, test, classes, list(variants))
    draw_figures(ctx, m, variants, test, faces, classes, cfg.claims.method)
    return Outcome(metrics=m, claims=evaluate_claims(m, cfg.claims, examples), sections=sections)


EXPERIMENT = register(Experiment(
    name="deid",
    paper="2412.10804",
    title="Medical-aware face de-identification: identity removed, medical region kept (MeMa benchmark harness)",
    config=DeidConfig,
    run=run,
    presets={
        "smoke": {"data.max_faces": 4, "signs.classes": ["none", "redness", "lesion"], "signs.train_draws": 2,
                  "identity.probes_per_face": 1, "anon.methods": ["blur", "swap"], "data.crop_size": 160},
        "quick": {},
        "full": {"signs.train_draws": 20, "signs.test_draws": 4, "identity.probes_per_face": 0,
                 "identity.jitters": 1},
    },
))
