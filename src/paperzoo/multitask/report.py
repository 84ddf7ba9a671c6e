"""Tables (exported as CSV) and report sections of a multitask run."""

from __future__ import annotations

from paperzoo.core import RunContext
from paperzoo.core.report import fmt

from .pipeline import MethodResult, Prepared


def record_tables(ctx: RunContext, by: dict[str, MethodResult], prep: Prepared) -> None:
    """Every curve of the first seed: per-step task losses, weights and step times, and gradient cosines."""
    for method, r in by.items():
        for group, h in r.history.items():
            if not h or not h["loss"]:
                continue
            name = f"{method}" if group == "all" else f"{method}.{group}"
            ctx.table(f"curve.{name}", ["step", *[f"loss.{t}" for t in h["tasks"]],
                                        *[f"weight.{t}" for t in h["tasks"]], "step_s"],
                      [[i + 1, *lo, *w, s] for i, (lo, w, s) in enumerate(zip(h["loss"], h["weights"], h["step_time"],
                                                                            strict=True))],
                      title=f"training curve of {name}")
            if h["cosine"]:
                T = len(h["tasks"])
                pairs = [(i, j) for i in range(T) for j in range(i + 1, T)]
                ctx.table(f"cosine.{name}", ["step", *[f"{h['tasks'][i]}~{h['tasks'][j]}" for i, j in pairs]],
                          [[s + 1, *[c[i][j] for i, j in pairs]] for s, c in zip(h["cos_steps"], h["cosine"],
                                                                                   strict=True)],
                          title=f"gradient cosine between tasks, {name}")


def _results_table(ctx: RunContext, by: dict[str, MethodResult], prep: Prepared, m: dict) -> str:
    tasks = list(prep.tasks)
    headers = ["method", *[f"{t} ({prep.tasks[t].metric})" for t in tasks], "avg_norm"]
    rows = []
    for method in by:
        row = [method]
        for t in tasks:
            metric = prep.tasks[t].metric
            key = f"{metric}.{t}.{method}"
            std = m.get(f"{metric}_std.{t}.{method}")
            row.append("" if key not in m else fmt(m[key]) + (f" ± {fmt(std)}" if std is not None else ""))
        row.append(m.get(f"avg_norm.{method}", float("nan")))
        rows.append(row)
    return ctx.table("results", headers, rows, title="headline metric per task and method (mean over seeds)")


def _examples(ctx: RunContext, by: dict[str, MethodResult], prep: Prepared, method: str, n: int = 5) -> str:
    out = []
    for t, d in prep.tasks.items():
        if d.kind != "summarisation":
            continue
        shown = [x for x in (method, "single", "lead") if x in by and t in by[x].tasks]
        rows = [[d.test_x[i][:160] + ("…" if len(d.test_x[i]) > 160 else ""), d.test_y[i],
                 *[by[x].tasks[t].hyps[i] for x in shown]] for i in range(min(n, len(d.test_x)))]
        out.append(f"**{t}**\n\n" + ctx.table(f"examples.{t}", ["source", "reference", *shown], rows,
                                              title=f"example summaries, {t}"))
    return "\n".join(out)


def report_sections(ctx: RunContext, cfg, prep: Prepared, by: dict[str, MethodResult], m: dict, ev,
                    ) -> list[tuple[str, str]]:
    e, t = cfg.encoder, cfg.train
    setup = (f"Shared encoder: {'all' if not e.layers else e.layers} blocks of "
             f"{e.path or 'all-MiniLM-L6-v2'}, {e.frozen_layers} frozen (embeddings included) and cached once, "
             f"{e.max_len} tokens per input. {t.steps} steps of {t.batch_size} examples per task "
             f"({t.batch_for('summarisation')} for summarisation); seeds "
             f"{list(cfg.seeds)}. Claims decided "
             + ("by paired t-tests over seeds." if ev.n_seeds >= 2 else
                "by paired bootstraps over test examples (one seed).")
             + " GPT-3/GPT-4 and BERT-base, the paper's other baselines, are not available offline; not run.")
    sizes = ctx.table("tasks", ["task", "kind", "metric", "train", "test", "source"],
                      [[n, d.kind, d.metric, len(d.train_x), len(d.test_x), d.source] for n, d in prep.tasks.items()],
                      title="tasks")
    cost = ctx.table("cost", ["method", "parameters", "trainable", "train s", "examples/s"],
                     [[k, r.params, r.trainable, r.train_s, r.examples / r.train_s if r.train_s else float("nan")]
                      for k, r in by.items() if r.params], title="parameters and training cost (first seed)")
    ratios = {k.split(".", 1)[1]: v for k, v in m.items() if k.startswith("step_time_ratio.")}
    ratio_text = ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
    cos = {k.split(".", 1)[1]: v for k, v in m.items() if k.startswith("cos_mean.")}
    return [("Set-up", setup + "\n\n" + sizes),
            ("Per-task results", _results_table(ctx, by, prep, m)
             + "\navg_norm: mean over tasks of the headline metric rescaled to 0 = chance, 1 = perfect."),
            ("Gradient cosine between tasks", "Mean pairwise cosine over training: "
             + (", ".join(f"{k} {v:.3f}" for k, v in cos.items()) or "not recorded") + "."),
            ("Parameters and throughput", cost + (f"\nStep time relative to fixed weights: {ratio_text}."
                                                 if ratios else "")),
            ("Example summaries", _examples(ctx, by, prep, cfg.claims.method) or "no summarisation task"),
            ("Stability", ", ".join(f"{k.split('.', 1)[1]}: {int(v)} spikes" for k, v in m.items()
                                    if k.startswith("spikes.")) or "not measured")]

