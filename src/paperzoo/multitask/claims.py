"""The paper's claims, decided from what the run measured.

Method comparisons use the seeds when there are at least two (paired t-test, `core.claims.beats`); with one
seed they use a paired bootstrap over the test examples (each task's examples resampled, the metric
recomputed: MCC and Pearson are not means over examples, so core's per-example bootstrap does not apply).
"""

from __future__ import annotations

import numpy as np

from paperzoo.core.claims import FAILS, HOLDS, TIED, Claim, Claims, beats, num

from .metrics import bootstrap_difference, primary
from .summary import Evidence, avg_norm_from


def _bootstrap_claim(claim: str, stat, sizes: list[int], value_a: float, value_b: float, names: tuple[str, str],
                     alpha: float, n: int) -> Claim:
    diff, lo, hi = bootstrap_difference(stat, sizes, 1 - alpha, n)
    evidence = (f"{names[0]} {num(value_a)} vs {names[1]} {num(value_b)}; paired bootstrap over "
                f"{sum(sizes)} test examples: difference {num(diff)} [{num(lo)}, {num(hi)}] ({1 - alpha:.0%})")
    verdict = HOLDS if lo > 0 else FAILS if hi < 0 else TIED
    return Claim(claim, verdict == HOLDS, evidence, verdict)


def compare(claim: str, book: Claims, ev: Evidence, key_a: str, key_b: str, tasks: list[str],
            methods: tuple[str, str], alpha: float, n_boot: int) -> Claim:
    """"A beats B" on metric keys key_a / key_b: over seeds, or by bootstrap over `tasks`' test examples."""
    why = book.missing(key_a, key_b)
    if why:
        return book.not_evaluated(claim, why)
    names = (methods[0], methods[1])
    if ev.n_seeds >= 2:
        return book.add(beats(claim, ev.seeds[key_a], ev.seeds[key_b], names=names, alpha=alpha))
    missing = [(t, m) for t in tasks for m in methods if (t, m) not in ev.examples]
    if missing:
        return book.not_evaluated(claim, f"one seed and no per-example results for {missing}")
    if key_a.startswith("avg_norm."):
        def stat(idx):
            return avg_norm_from(idx, tasks, methods[0], ev) - avg_norm_from(idx, tasks, methods[1], ev)
    else:
        metric = ev.metric[tasks[0]][0]
        (ga, pa), (_, pb) = ev.examples[(tasks[0], methods[0])], ev.examples[(tasks[0], methods[1])]

        def stat(idx):
            i = idx[0]
            return primary(metric, np.asarray(ga)[i], np.asarray(pa)[i]) - primary(metric, np.asarray(ga)[i],
                                                                                 np.asarray(pb)[i])
    sizes = [len(ev.examples[(t, methods[0])][0]) for t in tasks]
    return book.add(_bootstrap_claim(claim, stat, sizes, book.metrics[key_a], book.metrics[key_b], names, alpha,
                                     n_boot))


def evaluate_claims(m: dict[str, float], c, ev: Evidence) -> list[Claim]:
    """The spec's claims; `c` is the `claims` config section (method under test, alpha, thresholds)."""
    book = Claims(m)
    tasks = sorted(ev.metric)
    mtl, a, n = c.method, c.alpha, c.bootstrap
    per_task = []
    for t in tasks:
        metric = ev.metric[t][0]
        per_task.append(compare(f"multi-task ({mtl}) >= single-task on {t} ({metric})", book, ev,
                                f"{metric}.{t}.{mtl}", f"{metric}.{t}.single", [t], (mtl, "single"), a, n))
    worse = [cl.claim.split(" on ")[1] for cl in per_task if cl.verdict == FAILS]
    unknown = [cl for cl in per_task if cl.holds is None]
    if unknown:
        book.not_evaluated(f"multi-task ({mtl}) is not worse than single-task on any task",
                           f"{len(unknown)} per-task comparisons not evaluated")
    else:
        book.add(Claim(f"multi-task ({mtl}) is not worse than single-task on any task", not worse,
                       f"significantly worse on: {', '.join(worse)}" if worse else
                       f"no task significantly worse ({sum(cl.verdict == HOLDS for cl in per_task)} of "
                       f"{len(per_task)} better, the rest within the noise)"))
    book.check(f"{mtl} converges stably (no loss spikes, every task's loss goes down)",
               [f"spikes.{mtl}", f"loss_ratio.{mtl}"], lambda s, r: s == 0 and r < c.converge_ratio,
               lambda s, r: f"{int(s)} windows above {c.spike_ratio} x the task's best earlier window; largest "
                            f"last/first window loss ratio {num(r)} (target < {num(c.converge_ratio)})")
    compare(f"{mtl} beats fixed weights on the normalised average", book, ev, f"avg_norm.{mtl}",
            "avg_norm.mtl_fixed", tasks, (mtl, "mtl_fixed"), a, n)
    compare("the transformer (fixed-weight multi-task) beats the Bi-LSTM-attention baseline (one per task)",
            book, ev, "avg_norm.mtl_fixed", "avg_norm.bilstm", tasks, ("mtl_fixed", "bilstm"), a, n)
    compare("fine-tuning the shared encoder beats a frozen encoder with trained heads", book, ev,
            "avg_norm.mtl_fixed", "avg_norm.frozen", tasks, ("mtl_fixed", "frozen"), a, n)
    for t in [t for t in tasks if ev.kinds[t] == "summarisation"]:
        compare(f"summarisation ROUGE-L above the lead baseline on {t} ({mtl})", book, ev, f"rougeL.{t}.{mtl}",
                f"rougeL.{t}.lead", [t], (mtl, "lead"), a, n)
        compare(f"the copy distribution helps the small decoder on {t} (single-task)", book, ev,
                f"rougeL.{t}.single", f"rougeL.{t}.single_nocopy", [t], ("single", "single_nocopy"), a, n)
    book.greater("one shared model has fewer parameters than the single-task models together",
                 "params.single_total", "params.mtl", names=("single-task total", "multi-task"))
    return book.items
