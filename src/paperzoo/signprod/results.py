"""From per-seed evaluations to the flat metrics of metrics.json and the report's tables.

Keys: `<metric>.<model>.<protocol>` (metric in dtw, bleu1..4, rougeL, wer, fid, fid_seq, mpjpe, mpjpe_sum,
len_ratio; protocol gtlen / predlen), `align_acc.<model>`, `align_monotonic.<model>`, ... Over seeds the
plain key is the mean, with `<metric>_std`, `_lo`, `_hi` (95 % t-interval) beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from paperzoo.core.context import RunContext
from paperzoo.core.metrics import seed_summary

from .evaluation import PROTOCOLS

TABLE = ("bleu1", "bleu4", "rougeL", "wer", "dtw", "fid", "mpjpe", "len_ratio")
ANCHORS = [  # PHOENIX14T test, from HybridSign's table: B1, B4, ROUGE, WER, DTW
    ("PT", 13.35, 4.31, 13.17, 96.50, None), ("GEN-OBT", 23.08, 8.01, 23.49, 81.78, None),
    ("Sign-IDD", 24.80, 9.08, 26.58, 76.66, 6.20), ("HybridSign", 25.77, 10.03, 27.97, 75.02, 4.96),
    ("ground truth", 29.76, 11.93, 28.98, 71.94, None)]


def keyed(metrics: dict[str, float], model: str) -> dict[str, float]:
    """'dtw.gtlen' -> 'dtw.<model>.gtlen'; 'align_acc' -> 'align_acc.<model>'."""
    out = {}
    for key, value in metrics.items():
        metric, _, protocol = key.partition(".")
        out[f"{metric}.{model}.{protocol}" if protocol else f"{metric}.{model}"] = value
    return out


def aggregate(per_seed: dict[str, list[dict[str, float]]], gt: dict[str, float]) -> tuple[dict[str, float],
                                                                                          dict[str, list[float]]]:
    """(flat metrics with mean/std/lo/hi over seeds, the per-seed values of every key)."""
    m = keyed(gt, "gt")
    seeds: dict[str, list[float]] = {}
    for model, runs in per_seed.items():
        for run in runs:
            for key, value in keyed(run, model).items():
                seeds.setdefault(key, []).append(value)
    for key, values in seeds.items():
        metric, _, rest = key.partition(".")
        finite = [v for v in values if math.isfinite(v)]
        if len(finite) < len(values) or not finite:
            m[key] = math.nan
            continue
        s = seed_summary(finite)
        m[key] = s.mean
        if s.n > 1:
            m[f"{metric}_std.{rest}"], m[f"{metric}_lo.{rest}"], m[f"{metric}_hi.{rest}"] = s.std, s.lo, s.hi
    return m, seeds


def _cell(m: dict[str, float], key: str) -> str:
    v = m.get(key, math.nan)
    if not math.isfinite(v):
        return "-"
    metric, _, rest = key.partition(".")
    std = m.get(f"{metric}_std.{rest}")
    return f"{v:.2f} ± {std:.2f}" if std is not None else f"{v:.2f}"


def results_table(ctx: RunContext, m: dict[str, float], models: Sequence[str], protocol: str) -> str:
    """The anchors' table (B1, B4, ROUGE, WER, DTW, FID, MPJPE) for one protocol, as markdown; CSV-exported."""
    rows = [[name] + [_cell(m, f"{k}.{name}.{protocol}") for k in TABLE] for name in ["gt", *models]]
    rows.append(["mean pose"] + ["-"] * 4 + [_cell(m, "dtw.mean_pose.gtlen"), "-", _cell(m, "mpjpe.mean_pose.gtlen"),
                                             "1.00"])
    return ctx.table(f"results_{protocol}", ["model", "BLEU-1", "BLEU-4", "ROUGE-L", "WER", "DTW-MJE", "FID",
                                             "MPJPE", "length ratio"], rows)


def variants_table(ctx: RunContext, m: dict[str, float], models: Sequence[str]) -> str:
    rows = [[name, p, _cell(m, f"fid.{name}.{p}"), _cell(m, f"fid_seq.{name}.{p}"), _cell(m, f"mpjpe.{name}.{p}"),
             _cell(m, f"mpjpe_sum.{name}.{p}")] for name in models for p in PROTOCOLS]
    return ctx.table("fid_mpjpe_variants", ["model", "protocol", "FID (test set)", "FID (per sequence, anchors)",
                                            "MPJPE (mean over joints)", "MPJPE (summed over joints, anchors)"], rows)


def alignment_table(ctx: RunContext, m: dict[str, float], models: Sequence[str]) -> str:
    rows = [[name, _cell(m, f"align_acc.{name}"), _cell(m, f"align_monotonic.{name}"),
             _cell(m, f"align_monotonic_seq.{name}"), _cell(m, f"xattn_align_acc.{name}"),
             _cell(m, f"xattn_align_monotonic.{name}")] for name in models]
    return ctx.table("alignment", ["model", "CSA accuracy", "CSA monotonic steps", "CSA monotonic sequences",
                                   "cross-attention accuracy", "cross-attention monotonic steps"], rows)


def per_seed_table(ctx: RunContext, seeds: dict[str, list[float]], seed_list: Sequence[int]) -> None:
    keys = sorted(k for k in seeds if k.split(".")[0] in ("dtw", "bleu4", "wer", "align_acc"))
    ctx.table("per_seed", ["key", *[f"seed {s}" for s in seed_list]], [[k, *seeds[k]] for k in keys])


def anchors_table() -> str:
    from paperzoo.core.report import md_table

    return md_table(["PHOENIX14T (published)", "BLEU-1", "BLEU-4", "ROUGE", "WER", "DTW"],
                    [[n, *(v if v is not None else "-" for v in row)] for n, *row in ANCHORS])


def history_tables(ctx: RunContext, histories: dict[str, dict[str, Any]]) -> None:
    for name, h in histories.items():
        terms = sorted(h["terms"])
        rows = [[e, *[h["terms"][t][i] for t in terms], h["dev"][i] if h["dev"] else math.nan]
                for i, e in enumerate(h["epoch"])]
        ctx.table(f"training_{name}", ["epoch", *terms, "dev"], rows)
