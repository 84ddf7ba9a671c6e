"""The report's tables, each recorded with ``ctx.table`` so ``paperzoo export RUN --csv`` writes it as CSV."""

from __future__ import annotations

import math

from paperzoo.core import metrics as M

from .sweep import METRICS


def _interval(v) -> str:
    s = M.seed_summary(v)
    return f"{s.mean:.4f} [{s.lo:.4f}, {s.hi:.4f}]" if s.n > 1 else f"{s.mean:.4f}"


def final_table(ctx, table: dict, algorithms, alphas) -> str:
    """Final-round accuracy / macro-F1 / mean |log EA| / worst-class accuracy per (algorithm, alpha)."""
    rows = []
    for algo in algorithms:
        for alpha in alphas:
            e = table[(algo, alpha)]
            row = [algo, alpha]
            for m in METRICS:
                s = M.seed_summary(e[m])
                row += [round(s.mean, 5), round(s.lo, 5), round(s.hi, 5)]
            rows.append(row)
    ctx.table("final", ["algorithm", "alpha", *[f"{m}{x}" for m in METRICS for x in ("", "_lo", "_hi")]], rows,
              title="final round, mean over seeds with 95 % t-interval")
    grid = [[algo, *[f"{_interval(table[(algo, a)]['acc'])} / {_interval(table[(algo, a)]['f1'])} / "
                     f"{table[(algo, a)]['ea_logabs'].mean():.3f} / {table[(algo, a)]['minclass_acc'].mean():.3f}"
                     for a in alphas]] for algo in algorithms]
    from paperzoo.core.report import md_table

    return md_table(["algorithm", *[f"alpha={a:g}" for a in alphas]], grid)


def history_table(ctx, results: dict) -> None:
    """Every evaluated round of every run: the curves behind the figures."""
    rows = [[algo, alpha, seed, h["round"], *[round(h[m], 6) for m in METRICS]]
            for (algo, alpha, seed), r in sorted(results.items()) for h in r["history"]]
    ctx.table("history", ["algorithm", "alpha", "seed", "round", *METRICS], rows,
              title="global test metrics per evaluated round")


def per_class_table(ctx, table: dict, algorithms, alphas) -> None:
    rows = []
    for algo in algorithms:
        for alpha in alphas:
            e = table[(algo, alpha)]
            for c in range(e["ea"].shape[1]):
                acc, ea = e["per_class_acc"][:, c], e["ea"][:, c]
                rows.append([algo, alpha, c, _round(acc.mean()), _round(ea.mean())])
    ctx.table("per_class", ["algorithm", "alpha", "class", "accuracy", "ea"], rows,
              title="final per-class accuracy and error asymmetry, mean over seeds")


def _round(v: float) -> float | None:
    return None if math.isnan(v) else round(float(v), 5)


def report_sections(ctx, results: dict, table: dict, metrics: dict, cfg, seeds: list[int], part_rows: list,
                    protocol: str) -> list[tuple[str, str]]:
    """The report's sections: final results, partitions, engine check, protocol; every table also as CSV."""
    algorithms, alphas = cfg.sweep.algorithms, cfg.sweep.alphas
    history_table(ctx, results)
    per_class_table(ctx, table, algorithms, alphas)
    sections = [(f"Final round over seeds {seeds}: accuracy [95 % CI] / macro-F1 [95 % CI] / mean |log EA| / "
                 "worst-class accuracy", final_table(ctx, table, algorithms, alphas))]
    sections.append(("Partitions (first seed)", ctx.table(
        "partitions", ["alpha", "partition", "used fraction", "min client size", "max client size",
                       "missing classes / client", "empty clients"], part_rows)))
    if "engine_speedup" in metrics:
        keys = ["rounds_per_s_inprocess", "rounds_per_s_flower", "engine_speedup", "engines_identical",
                "engines_max_metric_diff", "engines_max_weight_diff", "engine_threads", "flower_wall_s"]
        sections.append(("Engine check (fedga, middle alpha, in-process vs Flower simulation)", ctx.table(
            "engines", ["quantity", "value"], [[k, metrics[k]] for k in keys])))
    sections.append(("Protocol", protocol))
    return sections
