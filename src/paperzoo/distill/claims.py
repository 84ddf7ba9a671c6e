"""The paper's claims, decided from what a run measured (thresholds from the config, comparisons by paired tests).

Classification: the joint loss beats soft-label KD and no KD; it gives the best student; the student keeps
≥ `keep` of the teacher's accuracy while being ≥ `speedup`× faster and ≥ `size_ratio`× smaller; each term helps.
Language modelling: the joint loss gives the lowest perplexity; the student's perplexity is within
`ppl_ratio`× of the teacher's; it generates ≥ `gen_speedup`× faster; each term helps.

"A beats B" uses `core.claims.beats`: a paired t-test over seeds, or with one seed a paired bootstrap over test
examples (per-window NLL for the LM); "A beats every B" holds when each comparison holds, does not hold when
any B is better, and is "not distinguishable" otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paperzoo.core import param
from paperzoo.core.claims import FAILS, HOLDS, TIED, UNKNOWN, Claim, Claims, beats, num
from paperzoo.core.metrics import seed_summary

from .methods import ABLATIONS, BASELINES

Scores = dict[str, list[float]]  # method -> one value per seed (or, with one seed, per test example)


@dataclass
class ClaimsConfig:
    """Thresholds of the classification claims."""

    keep: float = param(0.95, gt=0, le=1, doc="fraction of the teacher's accuracy the joint-loss student keeps")
    speedup: float = param(3.0, gt=0, doc="how many times lower the student's CPU latency must be")
    size_ratio: float = param(4.0, gt=0, doc="how many times fewer parameters the student must have")
    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired tests")


@dataclass
class LMClaimsConfig:
    """Thresholds of the language-model claims."""

    ppl_ratio: float = param(2.0, ge=1, doc="the joint-loss student's perplexity must be within this factor of "
                                            "the teacher's")
    gen_speedup: float = param(2.0, gt=0, doc="how many times faster the student must generate than the teacher")
    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired tests / bootstrap intervals")


def beats_all(claim: str, a: str, others: Sequence[str], scores: Scores, alpha: float, higher_is_better: bool = True,
              examples: Scores | None = None, label: dict[str, str] | None = None) -> Claim:
    """`a` beats every method in `others` (those that ran); the verdicts of the pairwise tests combined."""
    label = label or {}
    ran = [o for o in others if o in scores]
    if a not in scores or not ran:
        missing = a if a not in scores else ", ".join(others)
        return Claim(claim, None, f"not evaluated: {missing} not run (train.methods)", UNKNOWN)
    parts = []
    for o in ran:
        ex = (examples[a], examples[o]) if examples and a in examples and o in examples else None
        parts.append(beats(claim, scores[a], scores[o], names=(label.get(a, a), label.get(o, o)), alpha=alpha,
                           higher_is_better=higher_is_better, examples=ex))
    verdicts = {p.verdict for p in parts}
    verdict = next(v for v in (FAILS, UNKNOWN, TIED, HOLDS) if v in verdicts)
    evidence = "; ".join(f"vs {o}: {p.verdict}: {p.evidence}" for o, p in zip(ran, parts, strict=True))
    return Claim(claim, {HOLDS: True, FAILS: False, TIED: False, UNKNOWN: None}[verdict], evidence, verdict)


def _interval(values: Sequence[float]) -> str:
    return str(seed_summary(values)) if values else "NaN"


def evaluate_claims(m: dict[str, float], c: ClaimsConfig, seeds: Scores) -> list[Claim]:
    """Classification claims from the metrics and the per-seed accuracies of each method."""
    book = Claims(m)
    book.add(beats_all("joint feature-alignment loss beats soft-label KD alone and no KD (accuracy)", "paper",
                       ("hinton", "nokd"), seeds, c.alpha))
    book.add(beats_all("the paper's loss gives the best student among the compared methods", "paper", BASELINES,
                       seeds, c.alpha))
    book.check(f"student keeps >= {c.keep:.0%} of the teacher's accuracy", ["acc.paper", "acc.teacher"],
               lambda s, t: s / t >= c.keep,
               lambda s, t: f"{num(s)} / {num(t)} = {num(s / t)} vs target >= {num(c.keep)} "
                            f"(student over seeds: {_interval(seeds.get('paper', []))})")
    book.at_least(f"student is >= {c.speedup:g}x faster (CPU latency)", "speedup", c.speedup)
    book.at_least(f"student is >= {c.size_ratio:g}x smaller (parameters)", "size_ratio", c.size_ratio)
    book.add(beats_all("each loss term helps (removing any one lowers accuracy)", "paper", ABLATIONS, seeds,
                       c.alpha, label={a: a.replace("paper_minus_", "without ") for a in ABLATIONS}))
    return book.items


def evaluate_lm_claims(m: dict[str, float], c: LMClaimsConfig, seeds: Scores, windows: Scores) -> list[Claim]:
    """LM claims from the metrics, the per-seed perplexities and (one seed) the per-window NLL of each student."""
    book = Claims(m)
    book.add(beats_all("joint loss gives a lower-perplexity student than soft-label KD and no KD", "paper",
                       ("hinton", "nokd"), seeds, c.alpha, higher_is_better=False, examples=windows))
    book.check(f"student perplexity within {c.ppl_ratio:g}x of the teacher's", ["ppl.student_paper", "ppl.teacher"],
               lambda s, t: s <= c.ppl_ratio * t,
               lambda s, t: f"{num(s)} vs teacher {num(t)}: ratio {num(s / t)} vs target <= {num(c.ppl_ratio)}")
    book.at_least(f"student generates >= {c.gen_speedup:g}x faster than the teacher", "gen_speedup", c.gen_speedup)
    book.add(beats_all("each loss term helps (removing any one raises perplexity)", "paper", ABLATIONS, seeds,
                       c.alpha, higher_is_better=False, examples=windows,
                       label={a: a.replace("paper_minus_", "without ") for a in ABLATIONS}))
    return book.items
