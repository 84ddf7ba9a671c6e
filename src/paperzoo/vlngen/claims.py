"""The paper's claims, decided from what the run measured (spec: ../shared/specs/vlngen.md).

Consistency claims compare modes over the measured scenes (paired by scene: the evidence's "over seeds" reads
"over scenes" there); navigation claims compare augmentations over agent seeds (paired by seed). Both use
`core.claims.beats`, so a difference within the
noise is "not distinguishable", and one scene or one seed is "not evaluated".
"""

from __future__ import annotations

from dataclasses import dataclass

from paperzoo.core import Claim, param
from paperzoo.core.claims import Claims, beats


@dataclass
class ClaimsConfig:
    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired tests")


def evaluate_claims(m: dict[str, float], c: ClaimsConfig, per_scene: dict[str, dict[str, list[float]]],
                    scores: dict[str, list[dict[str, float]]]) -> list[Claim]:
    book = Claims(m)

    def lower(claim: str, key: str, a: str, b: str) -> None:
        xa, xb = per_scene.get(key, {}).get(a, []), per_scene.get(key, {}).get(b, [])
        book.add(beats(claim, xa, xb, names=(a, b), alpha=c.alpha, higher_is_better=False))

    lower("world-consistent generation has a lower reprojection error than per-view generation (paired over scenes)",
          "reproj_err", "wcgen", "independent")
    lower("world-consistent generation has a lower seam error at the wrap than per-view generation (over scenes)",
          "seam_err", "wcgen", "independent")
    lower("true-pose warping (ours) is more consistent across viewpoints than the authors' code (over scenes)",
          "reproj_err", "wcgen", "wcgen_authors")

    def better(claim: str, key: str, a: str, b: str) -> None:
        book.add(beats(claim, [s[key] for s in scores.get(a, [])], [s[key] for s in scores.get(b, [])],
                       names=(a, b), alpha=c.alpha))

    better("WCGEN augmentation improves SR on unseen scenes over no augmentation", "sr", "wcgen", "none")
    better("WCGEN augmentation improves SR more than inconsistent (per-view) augmentation", "sr", "wcgen",
           "independent")
    better("WCGEN augmentation improves SPL more than inconsistent (per-view) augmentation", "spl", "wcgen",
           "independent")
    better("inconsistent augmentation still improves SR over none", "sr", "independent", "none")
    return book.items
