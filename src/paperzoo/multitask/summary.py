"""From per-seed method results to the flat metrics of metrics.json and the evidence the claims are decided on.

Keys: `<metric>.<task>.<method>` (mean over seeds; `<metric>_std/_lo/_hi.<task>.<method>` with >= 2 seeds),
`avg_norm.<method>` (mean over tasks of the chance-normalised headline metric), `params.mtl`,
`params.single_total`, `step_time_ratio.<rule>_over_fixed` (median step time), `throughput.<method>`
(training examples / s), `spikes.<method>` and `loss_ratio.<method>` (stability, see `stability`),
`cos_mean.<method>` (mean pairwise gradient cosine between tasks over training).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from paperzoo.core.metrics import seed_summary

from .metrics import normalised, primary
from .pipeline import SUMMARY_ONLY, MethodResult, Prepared


@dataclass
class Evidence:
    """Per-seed values of every metric key, and the first seed's per-example results for bootstraps."""

    seeds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    examples: dict[tuple[str, str], tuple[list, list]] = field(default_factory=dict)
    metric: dict[str, tuple[str, int]] = field(default_factory=dict)  # task -> (headline metric, n classes)
    kinds: dict[str, str] = field(default_factory=dict)
    n_seeds: int = 1


def avg_norm(result: MethodResult, ev: Evidence) -> float:
    return float(np.mean([normalised(ev.metric[t][0], r.metrics[ev.metric[t][0]], ev.metric[t][1])
                          for t, r in result.tasks.items()]))


def avg_norm_from(idx: list[np.ndarray], tasks: list[str], method: str, ev: Evidence) -> float:
    """avg_norm of `method` recomputed on the resampled test indices `idx` (one array per task)."""
    vals = []
    for t, i in zip(tasks, idx, strict=True):
        metric, n_classes = ev.metric[t]
        gold, pred = ev.examples[(t, method)]
        vals.append(normalised(metric, primary(metric, np.asarray(gold)[i], np.asarray(pred)[i]), n_classes))
    return float(np.mean(vals))


def stability(loss: list[list[float]], window_frac: float, spike_ratio: float) -> tuple[int, float]:
    """(spikes, loss ratio) of per-step task losses: windows of `window_frac` of the steps; a spike is a window
    mean above spike_ratio x the lowest earlier window mean of that task; the ratio is the largest
    last-window / first-window mean over tasks (< 1: every task's loss went down)."""
    arr = np.asarray(loss, dtype=float)
    n = arr.shape[0]
    w = max(1, int(round(window_frac * n)))
    with warnings.catch_warnings():  # a sampled task may be absent from a window: NaN, never a spike
        warnings.simplefilter("ignore", RuntimeWarning)
        windows = [np.nanmean(arr[i:i + w], axis=0) for i in range(0, n - w + 1, w)] or [np.nanmean(arr, axis=0)]
        means = np.vstack(windows)  # (n_windows, T)
        spikes = sum(int(means[k, t] > spike_ratio * np.nanmin(means[:k, t]))
                     for t in range(means.shape[1]) for k in range(1, means.shape[0]))
        ratio = float(np.nanmax(means[-1] / means[0]))
    return spikes, ratio


def _task_keys(method: str, result: MethodResult) -> dict[str, float]:
    return {f"{k}.{t}.{method}": v for t, r in result.tasks.items() for k, v in r.metrics.items()}


def _stability_keys(method: str, res: MethodResult, claims) -> dict[str, float]:
    out: dict[str, float] = {}
    hist = res.history.get("all")
    if hist and hist["loss"]:
        out[f"spikes.{method}"], out[f"loss_ratio.{method}"] = stability(hist["loss"], claims.window,
                                                                         claims.spike_ratio)
        cos = [np.asarray(c) for c in hist["cosine"]]
        if cos and cos[0].shape[0] > 1:
            off = ~np.eye(cos[0].shape[0], dtype=bool)
            out[f"cos_mean.{method}"] = float(np.mean([c[off].mean() for c in cos]))
    return out


def summarise(results: dict[tuple[int, str], MethodResult], prep: Prepared, claims) -> tuple[dict, Evidence]:
    """Flat metrics (means over seeds with spread) and the evidence for the claims."""
    ev = Evidence(metric={t: (d.metric, d.n_classes) for t, d in prep.tasks.items()},
                  kinds={t: d.kind for t, d in prep.tasks.items()})
    seeds = sorted({s for s, _ in results})
    ev.n_seeds = len(seeds)
    for (seed, method), res in sorted(results.items()):
        keys = _task_keys(method, res) | _stability_keys(method, res, claims)
        if method not in SUMMARY_ONLY:
            keys[f"avg_norm.{method}"] = avg_norm(res, ev)
        if res.train_s > 0:
            keys[f"throughput.{method}"] = res.examples / res.train_s
        for k, v in keys.items():
            ev.seeds[k].append(v)
        if seed == seeds[0]:
            ev.examples.update({(t, method): (r.gold, r.pred) for t, r in res.tasks.items()})
    m: dict[str, float] = {}
    for key, values in ev.seeds.items():
        s = seed_summary(values)
        m[key] = s.mean
        if s.n >= 2:
            metric, rest = key.split(".", 1)
            m.update({f"{metric}_std.{rest}": s.std, f"{metric}_lo.{rest}": s.lo, f"{metric}_hi.{rest}": s.hi})
    m.update(_cost_keys(results, seeds[0]))
    return m, ev


def _cost_keys(results: dict[tuple[int, str], MethodResult], seed: int) -> dict[str, float]:
    out: dict[str, float] = {}
    by = {method: r for (s, method), r in results.items() if s == seed}
    mtl = next((by[k] for k in by if k.startswith("mtl_")), None)
    if mtl is not None:
        out["params.mtl"], out["params_trainable.mtl"] = float(mtl.params), float(mtl.trainable)
    if "single" in by:
        out["params.single_total"] = float(by["single"].params)
        out["params_trainable.single_total"] = float(by["single"].trainable)
    if "bilstm" in by:
        out["params.bilstm"] = float(by["bilstm"].params)
    fixed = by.get("mtl_fixed")
    if fixed is not None and fixed.history.get("all"):
        base = float(np.median(fixed.history["all"]["step_time"]))
        for method, r in by.items():
            if method.startswith("mtl_") and method not in ("mtl_fixed", "mtl_sampled") and r.history.get("all"):
                out[f"step_time_ratio.{method[4:]}_over_fixed"] = float(np.median(r.history["all"]["step_time"])) / base
    return out
