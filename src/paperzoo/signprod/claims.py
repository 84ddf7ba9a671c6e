"""The paper's claims, decided from what the run measured (spec: ../shared/specs/signprod.md).

Method comparisons are decided over seeds with paired t-tests (`beats`): DTW-MJE lower is better, BLEU-4
higher is better, under the honest predicted-length protocol unless the claim says otherwise. BLEU claims are
not evaluated when the back-translation evaluator cannot read the ground-truth poses (its WER on them above
claims.evaluator_wer): back-translation scores would then measure the evaluator, not the producer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from paperzoo.core import param
from paperzoo.core.claims import Claim, Claims, beats


@dataclass
class ClaimsConfig:
    """Thresholds of the claims."""

    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired tests over seeds")
    align_acc: float = param(0.8, ge=0, le=1, doc="CSA alignment accuracy against the true alignment, at least")
    monotonic: float = param(0.95, ge=0, le=1, doc="share of frame steps on which CSA's alignment never goes back")
    evaluator_wer: float = param(50.0, ge=0, doc="largest evaluator WER on ground-truth poses (%) for BLEU claims")


Seeds = dict[str, list[float]]  # "<metric>.<model>.<protocol>" -> one value per seed


def _beats(book: Claims, claim: str, seeds: Seeds, metric: str, a: str, b: str, protocol: str, alpha: float,
           higher: bool) -> None:
    ka, kb = f"{metric}.{a}.{protocol}", f"{metric}.{b}.{protocol}"
    if ka not in seeds or kb not in seeds:
        book.not_evaluated(claim, f"{ka} or {kb} not measured in this run")
        return
    book.add(beats(claim, seeds[ka], seeds[kb], names=(a, b), alpha=alpha, higher_is_better=higher))


def evaluate_claims(m: dict[str, float], seeds: Seeds, c: ClaimsConfig) -> list[Claim]:
    book = Claims(m)
    gt_wer = m.get("wer.gt.predlen", math.nan)
    readable = math.isfinite(gt_wer) and gt_wer <= c.evaluator_wer
    _beats(book, "LVMCN beats the Progressive Transformer on DTW-MJE (predicted length)", seeds, "dtw", "lvmcn", "pt",
           "predlen", c.alpha, higher=False)
    bleu_claim = "LVMCN beats the Progressive Transformer on back-translation BLEU-4 (predicted length)"
    if readable:
        _beats(book, bleu_claim, seeds, "bleu4", "lvmcn", "pt", "predlen", c.alpha, higher=True)
    else:
        book.not_evaluated(bleu_claim, f"the evaluator reads the ground-truth poses with WER {gt_wer:.1f} % "
                                       f"> {c.evaluator_wer:g} %: back-translation scores are not informative")
    _beats(book, "LVMCN beats the Progressive Transformer on DTW-MJE (anchors' ground-truth-length protocol)",
           seeds, "dtw", "lvmcn", "pt", "gtlen", c.alpha, higher=False)
    _beats(book, "the aligner helps: LVMCN beats LVMCN without CSA on DTW-MJE (predicted length)", seeds, "dtw",
           "lvmcn", "lvmcn_minus_csa", "predlen", c.alpha, higher=False)
    _beats(book, "the comparator helps: LVMCN beats LVMCN without MSC on DTW-MJE (predicted length)", seeds, "dtw",
           "lvmcn", "lvmcn_minus_msc", "predlen", c.alpha, higher=False)
    if "align_acc.lvmcn" in m:
        book.at_least("CSA's alignment matches the true gloss-frame alignment", "align_acc.lvmcn", c.align_acc)
        book.at_least("CSA's alignment is monotonic", "align_monotonic.lvmcn", c.monotonic)
    else:
        for claim in ("CSA's alignment matches the true gloss-frame alignment", "CSA's alignment is monotonic"):
            book.not_evaluated(claim, "no true gloss-frame alignment in this data (only the synthetic language has "
                                      "one) or LVMCN not trained")
    return book.items
