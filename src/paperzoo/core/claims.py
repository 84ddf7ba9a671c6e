"""One way to state a paper's claim and decide it from what a run measured.

A claim has one of four verdicts:

    holds                the measurement supports it
    does not hold        the measurement contradicts it
    not distinguishable  "A beats B" where the difference is within the noise (a test or interval decides)
    not evaluated        this run cannot decide it (metric not measured, preset too small, ...): say why

Thresholds come from the experiment's config, never from literals in the claim code, and evidence is
formatted the same way everywhere: `value vs target`, `a (A) vs b (B)`, or `mean ± std [lo, hi] (n=…)` with
the test's p-value. A metric that is missing or NaN turns its claim into "not evaluated", so no claim is
dropped silently.

    claims = Claims(metrics)
    claims.at_least("LSTM + PE exceeds the accuracy target", "acc_snr_ge10_pe", cfg.claims.accuracy)
    claims.greater("estimation helps", "acc_snr_ge10_pe", "acc_snr_ge10_nope", names=("PE", "no PE"))
    claims.add(beats("joint loss beats Hinton KD", acc_paper_seeds, acc_hinton_seeds, names=("joint", "KD")))
    return claims.items
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from paperzoo.core import metrics as M

HOLDS, FAILS, TIED, UNKNOWN = "holds", "does not hold", "not distinguishable", "not evaluated"
VERDICTS = (HOLDS, FAILS, TIED, UNKNOWN)
_HOLDS_OF = {HOLDS: True, FAILS: False, TIED: False, UNKNOWN: None}


@dataclass
class Claim:
    """A claim of the paper and its verdict. `holds`: True / False / None (not evaluated).

    `verdict` is derived from `holds` when not given; "not distinguishable" has holds=False (the claim is not
    established) but is reported as its own verdict.
    """

    claim: str
    holds: bool | None
    evidence: str
    verdict: str = ""

    def __post_init__(self) -> None:
        if not self.verdict:
            self.verdict = {True: HOLDS, False: FAILS, None: UNKNOWN}[self.holds]
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if _HOLDS_OF[self.verdict] is not self.holds:
            raise ValueError(f"verdict {self.verdict!r} needs holds={_HOLDS_OF[self.verdict]}, got {self.holds}")
        if self.holds is None and not self.evidence:
            raise ValueError(f"claim {self.claim!r} is not evaluated: its evidence must say why")

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "holds": self.holds, "verdict": self.verdict, "evidence": self.evidence}


def num(value: float, digits: int = 4) -> str:
    """A number for evidence text: `digits` significant digits, scientific when tiny or huge."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    value = float(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _finite(*values: Any) -> bool:
    return all(v is not None and isinstance(v, int | float) and math.isfinite(v) for v in values)


def not_evaluated(claim: str, reason: str) -> Claim:
    return Claim(claim, None, f"not evaluated: {reason}", UNKNOWN)


def threshold(claim: str, value: float, target: float, at_least: bool = True) -> Claim:
    """`value >= target` (or `<=` when at_least=False); NaN -> not evaluated."""
    if not _finite(value, target):
        return not_evaluated(claim, f"value {num(value)} or target {num(target)} is not a finite number")
    ok = value >= target if at_least else value <= target
    return Claim(claim, bool(ok), f"{num(value)} vs target {'>=' if at_least else '<='} {num(target)}")


def compare(claim: str, a: float, b: float, names: tuple[str, str] = ("A", "B"),
            higher_is_better: bool = True) -> Claim:
    """Point comparison a > b (a < b when lower is better), for quantities without run-to-run noise."""
    if not _finite(a, b):
        return not_evaluated(claim, f"{names[0]} = {num(a)}, {names[1]} = {num(b)}: not both finite")
    ok = a > b if higher_is_better else a < b
    return Claim(claim, bool(ok), f"{num(a)} ({names[0]}) vs {num(b)} ({names[1]})")


def beats(claim: str, a: Sequence[float], b: Sequence[float], names: tuple[str, str] = ("A", "B"),
          alpha: float = 0.05, higher_is_better: bool = True,
          examples: tuple[Sequence[float], Sequence[float]] | None = None, pairs: str = "seeds") -> Claim:
    """"A beats B", decided by statistics rather than one draw.

    With >= 2 paired seeds (or other paired units, named by `pairs`: "scenes", "folds"): one-sided paired
    t-tests; holds if p(A better) < alpha, does not hold if p(B better) < alpha, else not distinguishable.
    With one seed and per-example scores `examples`
    (score_a, score_b on the same test examples): paired bootstrap interval of the difference; holds if it
    lies above 0, does not hold if below, else not distinguishable. One seed and no examples: not evaluated.
    """
    xa, xb = [float(v) for v in a], [float(v) for v in b]
    if len(xa) != len(xb) or not xa:
        return not_evaluated(claim, f"need paired results, got {len(xa)} and {len(xb)} values")
    if not _finite(*xa, *xb):
        return not_evaluated(claim, "a result is NaN or infinite")
    sa, sb = M.seed_summary(xa), M.seed_summary(xb)
    if len(xa) >= 2:
        p_gt, p_lt = M.paired_test(xa, xb)
        p_better, p_worse = (p_gt, p_lt) if higher_is_better else (p_lt, p_gt)
        evidence = (f"{names[0]} {sa} vs {names[1]} {sb}; paired t-test over {pairs}: "
                    f"p({names[0]} better) = {num(p_better, 2)}, p({names[1]} better) = {num(p_worse, 2)}")
        return _decide(claim, p_better < alpha, p_worse < alpha, evidence)
    if examples is None:
        return not_evaluated(claim, f"one seed ({num(xa[0])} vs {num(xb[0])}) and no per-example scores: "
                                    "run more seeds to decide")
    diff, lo, hi = M.paired_bootstrap(*examples, level=1 - alpha)
    evidence = (f"{names[0]} {num(xa[0])} vs {names[1]} {num(xb[0])}; paired bootstrap over "
                f"{len(examples[0])} examples: difference {num(diff)} [{num(lo)}, {num(hi)}] "
                f"({1 - alpha:.0%} interval)")
    above, below = lo > 0, hi < 0  # the interval of a - b excludes 0 on one side
    return _decide(claim, above if higher_is_better else below, below if higher_is_better else above, evidence)


def _decide(claim: str, better: bool, worse: bool, evidence: str) -> Claim:
    if better:
        return Claim(claim, True, evidence, HOLDS)
    if worse:
        return Claim(claim, False, evidence, FAILS)
    return Claim(claim, False, evidence, TIED)


class Claims:
    """Claims decided over a flat metrics dict; a missing or NaN metric makes its claim "not evaluated"."""

    def __init__(self, metrics: dict[str, float]) -> None:
        self.metrics = metrics
        self.items: list[Claim] = []

    def missing(self, *keys: str) -> str | None:
        """Why these metrics cannot decide a claim, or None when all are present and finite."""
        absent = [k for k in keys if k not in self.metrics]
        if absent:
            return f"{', '.join(absent)} not measured in this run"
        bad = [k for k in keys if not _finite(self.metrics[k])]
        return f"{', '.join(bad)} is NaN in this run" if bad else None

    def add(self, claim: Claim) -> Claim:
        self.items.append(claim)
        return claim

    def not_evaluated(self, claim: str, reason: str) -> Claim:
        return self.add(not_evaluated(claim, reason))

    def at_least(self, claim: str, key: str, target: float) -> Claim:
        return self._threshold(claim, key, target, True)

    def at_most(self, claim: str, key: str, target: float) -> Claim:
        return self._threshold(claim, key, target, False)

    def _threshold(self, claim: str, key: str, target: float, at_least: bool) -> Claim:
        why = self.missing(key)
        if why:
            return self.not_evaluated(claim, why)
        made = threshold(claim, self.metrics[key], target, at_least)
        return self.add(Claim(claim, made.holds, f"{key} = {made.evidence}", made.verdict))

    def greater(self, claim: str, key_a: str, key_b: str, names: tuple[str, str] | None = None,
                higher_is_better: bool = True) -> Claim:
        why = self.missing(key_a, key_b)
        if why:
            return self.not_evaluated(claim, why)
        return self.add(compare(claim, self.metrics[key_a], self.metrics[key_b], names or (key_a, key_b),
                                higher_is_better))

    def check(self, claim: str, keys: Sequence[str], holds: Callable[..., bool],
              evidence: Callable[..., str]) -> Claim:
        """A claim over several metrics: `holds(*values)` and `evidence(*values)` get the values of `keys`."""
        why = self.missing(*keys)
        if why:
            return self.not_evaluated(claim, why)
        values = [self.metrics[k] for k in keys]
        return self.add(Claim(claim, bool(holds(*values)), evidence(*values)))
