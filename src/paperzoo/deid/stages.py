"""The named stages of `paperzoo run deid` (experiment.py is the recipe that calls them in order)."""

from __future__ import annotations

import numpy as np

from paperzoo.core import metrics as CM
from paperzoo.core.context import RunContext
from paperzoo.deid import benchmark as B
from paperzoo.deid import metrics as DM
from paperzoo.deid.anonymizers import ANONYMIZERS
from paperzoo.deid.classifier import CrossFitted, SignClassifier
from paperzoo.deid.data import FaceCrop, load_mema_faces, load_offline_faces
from paperzoo.deid.detect import face_chip, make_detector
from paperzoo.deid.regions import face_mask, region_mask

PSNR_IDENTICAL = 99.0  # dB reported for a region that is bit-for-bit the original's


def load_faces(d, ctx: RunContext):
    detector = make_detector(d.detector)
    if d.source == "mema":
        faces = load_mema_faces(d.path, detector, d.crop_size, log=ctx.log)
    else:
        faces = load_offline_faces(detector, d.crop_size, d.max_faces, log=ctx.log)
    if len(faces) < 2:
        from paperzoo.core.errors import UserError

        raise UserError(f"only {len(faces)} face(s) found: re-identification needs at least 2")
    ctx.log(f"{len(faces)} faces of {len({f.identity for f in faces})} identities ({d.source}, {d.detector})")
    return faces, detector


def class_names(cfg, faces: list[FaceCrop]) -> list[str]:
    if cfg.data.source == "mema":
        return ["none", *sorted({f.sign for f in faces} - {"none"})]
    return list(cfg.signs.classes)


def _roi(crop: FaceCrop, keep) -> np.ndarray:
    m = region_mask(crop.rgb.shape, crop.face, tuple(keep))
    if crop.mask is not None:
        m |= crop.mask
    return m & face_mask(crop.rgb.shape, crop.face)


def sign_sets(faces, classes, cfg, rng, ctx: RunContext):
    """(training images for the classifier, test Samples); offline: fresh sign draws for each."""
    if cfg.data.source == "mema":
        drawn = B.real_images(faces, classes)
        train = drawn
    else:
        train = B.signed_images(faces, classes, cfg.signs.train_draws, rng)
        drawn = B.signed_images(faces, classes, cfg.signs.test_draws, rng)
    rois = [_roi(f, cfg.anon.keep) for f in faces]
    test = [B.Sample(i, label, img, mask, rois[i]) for i, label, img, mask in drawn]
    ctx.log(f"{len(train)} classifier training images, {len(test)} test images ({len(classes)} classes)")
    return train, test


def train_classifier(train, faces, classes, cfg, ctx: RunContext):
    c = cfg.classifier
    chips = [face_chip(img, faces[i].face, c.chip_size) for i, _, img, _ in train]
    labels = [label for _, label, _, _ in train]
    if cfg.data.source == "mema":  # real labels: never test on an identity the model was trained on
        clf = CrossFitted.fit(chips, labels, [faces[i].identity for i, *_ in train], len(classes), C=c.C,
                              cell=c.cell)
        ctx.log("sign classifier: leave-identities-out, 2 folds (labelled photos)")
        return clf
    ctx.log(f"sign classifier: logistic regression on {len(chips)} originals with signs")
    return SignClassifier(len(classes), C=c.C, cell=c.cell).fit(chips, labels)


def anonymise_all(test, faces, a, rng, ctx: RunContext):
    donors = {i: B.swap_donors(faces, i, a.swap_k, rng, a.level) for i in range(len(faces))}

    def make(method: str, i: int):
        return donors[i] if method == "swap" else ANONYMIZERS[method](level=a.level)

    return B.anonymise(test, faces, make, list(a.methods), tuple(a.keep), a.feather, a.blend, ctx.progress)


def choose_probes(test, n_faces: int, per_face: int, rng) -> list[int]:
    """Indices of the test images embedded for re-ID: `per_face` random ones per face (0 = all)."""
    if per_face == 0:
        return list(range(len(test)))
    out = []
    for f in range(n_faces):
        idx = [i for i, s in enumerate(test) if s.face == f]
        out += sorted(rng.choice(idx, size=min(per_face, len(idx)), replace=False).tolist())
    return out


def measure_identity(variants, test, probes, faces, detector, c, ctx: RunContext):
    return B.identity_metrics(variants, test, probes, faces, detector, c.jitters, ctx.progress)


def measure_medicine(variants, test, faces, clf, c, ctx: RunContext):
    return B.medical_metrics(variants, test, faces, clf, c.chip_size, ctx.progress)


def summarise(ident, med, test, faces, probes, classes, cfg, ctx: RunContext):
    """Flat metrics (keys `<metric>.<variant>`) and the per-example scores the claims need."""
    m: dict[str, float] = {}
    labels = np.array([s.label for s in test])
    base = med["none_face"]["pred"]
    clusters = [faces[test[i].face].identity for i in probes]
    gallery_ids = [f.identity for f in faces]
    m["reid_chance"] = DM.reid_chance(clusters, gallery_ids)
    examples: dict[str, np.ndarray] = {}
    for v in med:
        r, md = ident[v], med[v]
        m[f"reid.{v}"] = float(r["hit"].mean())
        m[f"reid_lo.{v}"], m[f"reid_hi.{v}"] = DM.cluster_bootstrap(r["hit"], clusters, seed=ctx.seed,
                                                                    level=1 - cfg.claims.alpha)
        m[f"leak.{v}"] = float(r["leak"].mean())
        m[f"dist.{v}"] = float(r["dist"].mean())
        m[f"detect_after.{v}"] = float(r["detected"].mean())
        m[f"ssim_roi.{v}"] = float(np.nanmean(md["ssim"]))
        mse = float(np.nanmean(md["mse"]))
        m[f"psnr_roi.{v}"] = PSNR_IDENTICAL if mse == 0 else min(PSNR_IDENTICAL, 10 * np.log10(255**2 / mse))
        m[f"acc_sign.{v}"] = float(np.mean(md["pred"] == labels))
        m[f"kappa.{v}"] = DM.cohen_kappa(md["pred"], base, len(classes))
        m[f"kappa_truth.{v}"] = DM.cohen_kappa(md["pred"], labels, len(classes))
        m[f"quality.{v}"] = float(np.nanmedian(md["sharp"]))
        examples[f"hit.{v}"], examples[f"correct.{v}"] = r["hit"], (md["pred"] == labels).astype(float)
    signed = [s for s in test if s.sign_mask.any()]
    m["sign_in_roi"] = float(np.mean([(s.sign_mask & s.roi).sum() / s.sign_mask.sum() for s in signed])) \
        if signed else float("nan")
    m.update({"n_faces": len(faces), "n_identities": len(set(gallery_ids)), "n_probes": len(probes),
              "n_test_images": len(test), "n_classes": len(classes)})
    if CM.near_chance(m["acc_sign.none_face"], len(classes), len(test)):
        ctx.warn(f"the sign classifier is near chance on the originals ({m['acc_sign.none_face']:.2f}, "
                 f"{len(classes)} classes): the kappa comparisons say little")
    ctx.log(f"originals: sign accuracy {m['acc_sign.none_face']:.3f}, re-ID {m['reid.none_face']:.3f} "
            f"(chance {m['reid_chance']:.3f})")
    return m, examples


def report_tables(ctx: RunContext, m, med, test, classes, variants) -> list[tuple[str, str]]:
    keys = ("reid", "leak", "dist", "detect_after", "ssim_roi", "psnr_roi", "acc_sign", "kappa", "kappa_truth",
            "quality")
    rows = [[v, *(m[f"{k}.{v}"] for k in keys)] for v in variants]
    summary = ctx.table("variants", ["variant", *keys], rows, title="Identity and medical metrics per variant")
    labels = np.array([s.label for s in test])
    per_sign = [[v, *(float(np.mean(med[v]["pred"][labels == c] == c)) if (labels == c).any() else float("nan")
                      for c in range(len(classes)))] for v in variants]
    signs = ctx.table("per_sign", ["variant", *classes], per_sign, title="Sign classifier recall per class")
    note = (f"Re-ID chance level: {m['reid_chance']:.3f} ({int(m['n_probes'])} probes, gallery of "
            f"{int(m['n_faces'])} originals of {int(m['n_identities'])} identities). "
            f"{m['sign_in_roi']:.0%} of the drawn sign pixels lie inside the kept region.\n\n")
    return [("Variants", note + summary), ("Sign recall per class", signs)]
