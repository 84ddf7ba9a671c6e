"""The paper's claims, decided from the sweep's final-round metrics by paired tests over seeds.

At a given (alpha, seed) every algorithm shares the partition, initial model and client sampling, so FedGA and a
rival are compared paired by seed (``core.claims.beats``: one-sided paired t-tests at ``claims.alpha``). A claim
over a grid holds when FedGA wins every comparison, does not hold when a rival is significantly better in one,
and is "not distinguishable" otherwise; the evidence counts each outcome and lists the comparisons not won.
"""

from __future__ import annotations

import numpy as np

from paperzoo.core.claims import FAILS, HOLDS, TIED, UNKNOWN, Claim, Claims, beats, not_evaluated

VARIANTS = ("fedprox", "fedrl", "climb", "fedntd")  # the paper's "four variants" of FedAvg
Table = dict[tuple[str, float], dict[str, np.ndarray]]


def evaluate_claims(m: dict[str, float], table: Table, alphas: tuple[float, ...], algorithms: tuple[str, ...],
                    c, speed_rounds: int = 1, weak: frozenset[tuple[str, float]] = frozenset()) -> list[Claim]:
    """Every claim of the paper (and the engines'), from the metrics and the seed arrays ``table``.

    ``weak``: the (algorithm, alpha) pairs with a seed that ended near chance; the claims that compare them say so.
    """
    book = Claims(m)
    rivals = [r for r in ("fedavg", *VARIANTS) if r in algorithms]
    names = [f"FedGA's macro-F1 beats {', '.join(rivals)} at every alpha (paired over seeds)",
             f"FedGA's accuracy beats {', '.join(rivals)} at every alpha (paired over seeds)",
             "FedGA keeps EA closer to 1 than FedAvg at every alpha (mean |log EA|, paired over seeds)",
             "FedGA's macro-F1 margin over FedAvg grows as alpha increases (abstract)",
             "Rare classes are not forgotten: FedGA's worst-class accuracy beats FedAvg's, never below it"]
    if "fedga" not in algorithms or "fedavg" not in algorithms:
        for name in names:
            book.not_evaluated(name, "fedga and fedavg must both be in sweep.algorithms")
    else:
        book.add(beats_everywhere(names[0], table, "f1", rivals, alphas, c.alpha))
        book.add(beats_everywhere(names[1], table, "acc", rivals, alphas, c.alpha))
        book.add(beats_everywhere(names[2], table, "ea_logabs", ["fedavg"], alphas, c.alpha, higher_is_better=False))
        book.add(margin_grows(names[3], table, alphas, c.alpha))
        book.add(not_forgotten(names[4], table, alphas, c.alpha))
    if weak:
        note = " [near chance in some seed: " + ", ".join(f"{a}@{al:g}" for a, al in sorted(weak)) + "]"
        for claim in book.items:
            claim.evidence += note
    engine_claims(book, c, speed_rounds)
    return book.items


def _ms(v: np.ndarray) -> str:
    return f"{v.mean():.4f}±{v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def beats_everywhere(claim: str, table: Table, metric: str, rivals: list[str], alphas: tuple[float, ...],
                     level: float, higher_is_better: bool = True) -> Claim:
    """FedGA vs each rival at each alpha by ``beats``; holds only if every comparison does."""
    verdicts: dict[str, list[str]] = {HOLDS: [], TIED: [], FAILS: [], UNKNOWN: []}
    ahead = 0
    for alpha in alphas:
        ours = table[("fedga", alpha)][metric]
        for rival in rivals:
            theirs = table[(rival, alpha)][metric]
            v = beats(claim, ours, theirs, ("FedGA", rival), level, higher_is_better)
            sign = 1 if higher_is_better else -1
            ahead += bool(sign * (ours.mean() - theirs.mean()) > 0)
            verdicts[v.verdict].append(f"{rival}@{alpha:g}: {_ms(ours)} vs {_ms(theirs)}")
    n = len(alphas) * len(rivals)
    if verdicts[UNKNOWN]:
        return not_evaluated(claim, f"{len(verdicts[UNKNOWN])}/{n} comparisons cannot be tested (one seed: set "
                                    "seeds to two or more)")
    evidence = (f"FedGA significantly better (p < {level:g}) in {len(verdicts[HOLDS])}/{n}, not distinguishable in "
                f"{len(verdicts[TIED])}, significantly worse in {len(verdicts[FAILS])}; ahead on seed means in "
                f"{ahead}/{n}")
    for label, key in (("worse", FAILS), ("tied", TIED)):
        if verdicts[key]:
            evidence += f"; {label}: " + "; ".join(verdicts[key][:8]) + (" ..." if len(verdicts[key]) > 8 else "")
    verdict = FAILS if verdicts[FAILS] else HOLDS if len(verdicts[HOLDS]) == n else TIED
    return Claim(claim, verdict == HOLDS, evidence, verdict)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def margin_grows(claim: str, table: Table, alphas: tuple[float, ...], level: float) -> Claim:
    """Holds when the margins rise with alpha (Spearman rho > 0) and the largest alpha's margin beats the
    smallest's by a paired test over seeds; does not hold when both say the opposite."""
    if len(alphas) < 3:
        return not_evaluated(claim, f"needs at least 3 alphas, the sweep has {len(alphas)}")
    order = sorted(alphas)
    margin = {a: table[("fedga", a)]["f1"] - table[("fedavg", a)]["f1"] for a in order}
    rho = spearman(np.array(order), np.array([margin[a].mean() for a in order]))
    test = beats(claim, margin[order[-1]], margin[order[0]], (f"margin@{order[-1]:g}", f"margin@{order[0]:g}"),
                 level)
    if test.verdict == UNKNOWN:
        return test
    evidence = ("F1 margin by alpha " + ", ".join(f"{a:g}: {margin[a].mean():+.4f}" for a in order)
                + f"; Spearman rho = {rho:.2f}; {test.evidence}")
    if test.verdict == HOLDS and rho > 0:
        return Claim(claim, True, evidence, HOLDS)
    if test.verdict == FAILS and rho < 0:
        return Claim(claim, False, evidence, FAILS)
    return Claim(claim, False, evidence, TIED)


def not_forgotten(claim: str, table: Table, alphas: tuple[float, ...], level: float) -> Claim:
    """Worst-class accuracy: holds if FedGA is significantly better at some alpha and significantly worse at
    none; does not hold if it is significantly worse somewhere."""
    rows = {alpha: beats(claim, table[("fedga", alpha)]["minclass_acc"], table[("fedavg", alpha)]["minclass_acc"],
                         ("FedGA", "FedAvg"), level) for alpha in alphas}
    if any(v.verdict == UNKNOWN for v in rows.values()):
        return not_evaluated(claim, "one seed: set seeds to two or more")
    evidence = "worst-class accuracy FedGA vs FedAvg: " + "; ".join(
        f"{a:g}: {_ms(table[('fedga', a)]['minclass_acc'])} vs {_ms(table[('fedavg', a)]['minclass_acc'])} "
        f"({v.verdict})" for a, v in rows.items())
    if any(v.verdict == FAILS for v in rows.values()):
        return Claim(claim, False, evidence, FAILS)
    if any(v.verdict == HOLDS for v in rows.values()):
        return Claim(claim, True, evidence, HOLDS)
    return Claim(claim, False, evidence, TIED)


def engine_claims(book: Claims, c, speed_rounds: int) -> None:
    """Both engines equal on the check federation (issue 20), and the in-process engine's speed."""
    same = (f"Flower and the in-process engine give the same metrics and weights (tolerance "
            f"{c.engine_tolerance:g}; 0 = bit-identical)")
    fast = f"In-process engine >= {c.speedup_vs_flower:g}x Flower's rounds/s (between aggregations)"
    if speed_rounds == 0:
        book.not_evaluated(same, "speed_rounds=0 skips the engine check")
        book.not_evaluated(fast, "speed_rounds=0 skips the engine check")
        return
    book.check(same, ["engines_max_metric_diff", "engines_max_weight_diff"],
               lambda d, w: d <= c.engine_tolerance and w <= c.engine_tolerance,
               lambda d, w: f"largest difference: metrics {d:.3g}, weights {w:.3g}")
    book.check(fast, ["rounds_per_s_inprocess", "rounds_per_s_flower", "engine_speedup"],
               lambda a, b, s: s >= c.speedup_vs_flower,
               lambda a, b, s: f"{a:.2f} vs {b:.2f} rounds/s = {s:.1f}x")
