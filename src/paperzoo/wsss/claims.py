"""The paper's claims, decided from what a `wsss` run measured.

Method-vs-method claims use `beats`: over seeds (paired t-test) when the run has two or more, else a paired
bootstrap over images of the per-image scores (per-image mIoU, per-image background false-activation rate,
per-image share of far-activated patches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paperzoo.core import param
from paperzoo.core.claims import HOLDS, Claim, Claims, beats

NAMES = {"cam": "CAM", "lam": "LAM", "lam_gcr": "LAM+GCR", "lam_lir": "LAM+LIR", "lam_more": "LAM+MoRe"}


@dataclass
class ClaimsConfig:
    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the method comparisons")
    voc_miou: float = param(0.764, gt=0, le=1, doc="the paper's VOC val segmentation mIoU (MoRe)")
    voc_tolerance: float = param(0.02, ge=0, doc="how far below the paper's VOC mIoU still counts as reproduced")


def _beats(book: Claims, evidence: dict[str, Any], text: str, metric: str, a: str, b: str, alpha: float,
           higher: bool = True) -> Claim:
    keys = (f"{metric}.{a}", f"{metric}.{b}")
    why = book.missing(*keys)
    if why:
        return book.not_evaluated(text, why)
    seeds = evidence["seeds"][metric]
    images = evidence["images"]
    examples = (images[a][metric], images[b][metric]) if metric in images.get(a, {}) else None
    return book.add(beats(text, seeds[a], seeds[b], names=(NAMES[a], NAMES[b]), alpha=alpha,
                          higher_is_better=higher, examples=examples))


def _ordering(text: str, parts: list[Claim]) -> Claim:
    """A chain of 'A beats B' claims: holds if all hold, does not hold if any does not, else not distinguishable."""
    evidence = "; ".join(f"{p.claim}: {p.verdict} ({p.evidence})" for p in parts)
    if any(p.holds is None for p in parts):
        return Claim(text, None, "not evaluated: " + evidence)
    if all(p.verdict == HOLDS for p in parts):
        return Claim(text, True, evidence)
    if any(p.verdict == "does not hold" for p in parts):
        return Claim(text, False, evidence)
    return Claim(text, False, evidence, "not distinguishable")


def evaluate_claims(m: dict[str, float], evidence: dict[str, Any], cfg) -> list[Claim]:
    c, book = cfg.claims, Claims(m)
    _beats(book, evidence, "LAM with MoRe beats LAM without it in pseudo-label mIoU", "pseudo_miou", "lam_more",
           "lam", c.alpha)
    _beats(book, evidence, "LAM beats CAM in pseudo-label mIoU", "pseudo_miou", "lam", "cam", c.alpha)
    _beats(book, evidence, "MoRe lowers LAM's false activation of background (artifact rate)", "artifact_rate",
           "lam_more", "lam", c.alpha, higher=False)
    _beats(book, evidence, "MoRe lowers LAM's activation of patches far from any object", "far_activation",
           "lam_more", "lam", c.alpha, higher=False)
    _beats(book, evidence, "GCR alone improves LAM's pseudo-labels", "pseudo_miou", "lam_gcr", "lam", c.alpha)
    _beats(book, evidence, "LIR alone improves LAM's pseudo-labels", "pseudo_miou", "lam_lir", "lam", c.alpha)
    scratch = Claims(m)
    parts = [_beats(scratch, evidence, "MoRe > LAM", "seg_miou", "lam_more", "lam", c.alpha),
             _beats(scratch, evidence, "LAM > CAM", "seg_miou", "lam", "cam", c.alpha)]
    book.add(_ordering("the final segmentation mIoU follows the same ordering (MoRe > LAM > CAM)", parts))
    text = f"MoRe reaches the paper's VOC val mIoU ({c.voc_miou:.3f}, within {c.voc_tolerance:.2f})"
    if cfg.data.source != "voc" or cfg.model.weights is None:
        book.not_evaluated(text, "needs the VOC data (data.source=voc, data.path) and pretrained ViT-B/16 weights "
                                 "(model.weights); this run trains a small ViT from scratch on "
                                 f"{cfg.data.source}")
    else:
        book.at_least(text, "seg_miou.lam_more", c.voc_miou - c.voc_tolerance)
    return book.items
