"""Experiment `induction`: train the two-layer model, probe it, compare with the associative-memory theory.

A recipe: ``run`` trains every model (``train.train_phases``), then calls the named stages below; the theory
and designed prompts live in ``evaluate.py``, the (T, N, K) formation grid in ``grid.py``, the claims in
``claims.py`` and the figures in ``figures.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from paperzoo.core import Experiment, Outcome, RunContext, UserError, param, register
from paperzoo.core.metrics import near_chance

from . import figures
from .claims import ClaimsConfig, evaluate_claims
from .data import BigramTriggerData, corpus_bigram, dirichlet_bigram
from .evaluate import accuracy_at, crossover, designed_prompts  # noqa: F401  (crossover re-exported)
from .grid import GRID_HEADERS, GridConfig, grid_metrics, grid_phases
from .memory import THEORY_TERMS
from .model import ModelConfig
from .probes import bigram_kl, induction_attention, memory_recall, previous_token_attention, stored_bigram_correlation
from .train import Phase, TrainConfig, train_phases

METRIC_KEYS = ("icl_acc", "prev_token_attn", "theory_logit_pearson", "crossover_trained", "crossover_theory",
               "len4x_acc_ape", "len4x_acc_rel", "icl_acc_3layer_nope", "icl_acc_min_grid",
               "prev_token_attn_min_grid")


@dataclass
class DataConfig:
    vocab: int = param(32, ge=4, doc="vocabulary size N")
    seq_len: int = param(64, ge=8, doc="training sequence length T")
    n_triggers: int = param(5, ge=1, doc="trigger tokens K per sequence (each with a fixed output)")
    trigger_mode: Literal["sampled", "frequent"] = param("sampled", choices=("sampled", "frequent"),
                                                         doc="triggers sampled from π_u, or the K most frequent")
    output_mode: Literal["uniform", "bigram"] = param("uniform", choices=("uniform", "bigram"),
                                                      doc="trigger outputs uniform, or from π_b(·|q)")
    n_heldout_outputs: int = param(4, ge=0, doc="tokens never used as outputs in training (the OOD test)")
    dirichlet_alpha: float = param(1.0, gt=0, doc="concentration of the Dirichlet prior of π_b")
    corpus: str | None = param(None, doc="text file: character bigrams of its `vocab` most frequent characters")
    smoothing: float = param(0.01, gt=0, doc="add-s smoothing of the corpus bigrams")
    seed: int = param(0, ge=0, doc="seed of the Dirichlet prior (independent of the run seed)")

    def __post_init__(self) -> None:
        if not 1 <= self.n_triggers < self.vocab:
            raise ValueError(f"data.n_triggers must be in [1, vocab-1], got {self.n_triggers}")


@dataclass
class EvalConfig:
    n_probes: int = param(8, ge=1, doc="query tokens a of the designed prompts")
    n_backgrounds: int = param(4, ge=1, doc="random backgrounds per (a, n)")
    max_count: int = param(8, ge=1, doc="count sweep n = 0..max_count")
    conflict_max: int = param(3, ge=0, doc="conflict grid n_b, n_b' = 0..conflict_max")
    length_factors: list[int] = param([1, 2, 4], doc="prompt lengths of the length sweep, in units of T (has 4)")
    batch_size: int = param(512, ge=1, doc="sequences of every accuracy measurement")

    def __post_init__(self) -> None:
        if 4 not in self.length_factors or any(f < 1 for f in self.length_factors):
            raise ValueError(f"eval.length_factors must be >= 1 and contain 4, got {self.length_factors}")


@dataclass
class InductionConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    relative: bool = param(True, doc="also train the relative-bias model for the length sweep")
    three_layer: bool = param(True, doc="also train the 3-layer model without positional encoding")
    three_layer_steps: int = param(1600, ge=1, doc="training steps of the 3-layer model")
    three_layer_lr: float = param(0.003, gt=0, doc="learning rate of the 3-layer model (at train.lr = 0.01 its "
                                  "ICL accuracy collapses mid-training on 2 of 5 seeds; docs/induction.md)")
    threads: int = param(1, ge=0, le=2, doc="torch threads (tiny matrices: 1 avoids contention on shared CPUs)")

    def __post_init__(self) -> None:
        if self.model.n_layers != 2:
            raise ValueError(f"model.n_layers must be 2 (the paper's model; three_layer=true adds the 3-layer "
                             f"variant), got {self.model.n_layers}")
        if self.model.pos not in ("ape", "sin"):
            raise ValueError(f"model.pos of the main model must be an absolute encoding, ape or sin, got "
                             f"{self.model.pos!r} (relative=true trains the relative-bias model alongside)")


# ---------------------------------------------------------------------------------------------- stages


def make_data(cfg: DataConfig) -> tuple[BigramTriggerData, str]:
    if cfg.corpus:
        pi_b, chars = corpus_bigram(cfg.corpus, cfg.vocab, cfg.smoothing)
        source = f"character bigrams of {cfg.corpus} ({len(chars)} characters)"
    else:
        pi_b = dirichlet_bigram(cfg.vocab, cfg.dirichlet_alpha, cfg.seed)
        source = f"Dirichlet({cfg.dirichlet_alpha}) prior, seed {cfg.seed}"
    n_held = min(cfg.n_heldout_outputs, pi_b.shape[0] - 2)
    try:
        data = BigramTriggerData(pi_b, cfg.n_triggers, cfg.trigger_mode, cfg.output_mode, n_held)
    except ValueError as err:  # e.g. a corpus with fewer characters than triggers
        raise UserError(f"data ({source}): {err}") from None
    return data, source


def phases(cfg: InductionConfig, data: BigramTriggerData) -> list[Phase]:
    """Every model the run trains, in order: APE (the paper's), relative, three-layer, then the grid cells."""
    max_len = max(cfg.model.max_len, max(cfg.eval.length_factors) * cfg.data.seq_len)
    base, T = replace(cfg.model, max_len=max_len), cfg.data.seq_len
    out = [Phase("ape", base, cfg.train, data, T)]
    if cfg.relative:
        out.append(Phase("rel", replace(base, pos="rel"), cfg.train, data, T))
    if cfg.three_layer:
        three = replace(base, pos="none", n_layers=3, train_all_outputs=True)
        schedule = replace(cfg.train, steps=cfg.three_layer_steps, lr=cfg.three_layer_lr)
        out.append(Phase("3layer_nope", three, schedule, data, T))
    return out + grid_phases(cfg.grid, cfg.data, cfg.model, cfg.train)


def probe_main(ape, data, T: int, ev: EvalConfig, seed: int) -> tuple[dict[str, float], list]:
    """ICL, OOD and attention metrics of the main model, memory recall and the stored bigram."""
    m: dict[str, float] = {}
    m["icl_acc"], maps, batch = accuracy_at(ape, data, T, ev.batch_size, seed)
    m["prev_token_attn"] = previous_token_attention(maps[0])
    m["induction_attn"] = induction_attention(maps[1], batch.tokens)
    if data.heldout.numel():
        m["ood_acc"] = accuracy_at(ape, data, T, ev.batch_size, seed, ood=True)[0]
    m.update(memory_recall(ape, T))
    m["bigram_kl"] = bigram_kl(ape, data.pi_b)
    m["bigram_memory_pearson"] = stored_bigram_correlation(ape, data.pi_b)
    return m, maps


def theory_stage(ape, data, cfg: InductionConfig, seed: int) -> tuple[dict[str, float], dict]:
    """Count sweeps (median and rarest b) and conflict grid against the extended theory; the term ablation."""
    ev, T = cfg.eval, cfg.data.seq_len
    sweep = designed_prompts(ape, data, ev, T, seed + 1)
    rare = designed_prompts(ape, data, ev, T, seed + 2, quantile=1.0, conflicts=False)
    s, w = sweep["strengths"], sweep["weight_strengths"]
    m = {"theory_logit_pearson": sweep["pearson"], "theory_margin_pearson": sweep["margin_pearson"],
         "theory_logit_pearson_true_bigram": sweep["pearson_pi_b"],
         "theory_logit_pearson_closed_form": sweep["pearson_terms"]["closed_form"],
         "crossover_trained": sweep["crossover_trained"], "crossover_theory": sweep["crossover_theory"],
         "strength_match": s.match, "strength_copy": s.copy, "strength_prev_share": sweep["prev_share"],
         "weight_strength_match": w.match, "weight_strength_copy": w.copy,
         "crossover_trained_rare": rare["crossover_trained"], "crossover_theory_rare": rare["crossover_theory"],
         "theory_logit_pearson_rare": rare["pearson"]}
    m.update({f"theory_r.{t}": r for t, r in sweep["pearson_terms"].items()})
    agree = [float(round(t) == round(th)) for _, _, t, th in sweep["conflict"]]
    m["conflict_winner_agreement"] = float(np.mean(agree)) if agree else float("nan")
    return m, {"median-probability b": sweep, "rarest b": rare}


def length_stage(models: dict, data, cfg: InductionConfig, seed: int) -> tuple[dict[str, float], dict]:
    ev, T = cfg.eval, cfg.data.seq_len
    lengths = {name: {f: accuracy_at(models[name][0], data, f * T, max(8, ev.batch_size // f), seed + f)[0]
                      for f in ev.length_factors} for name in ("ape", "rel") if name in models}
    m = {"len4x_acc_ape": lengths["ape"][4], "len4x_acc_rel": lengths["rel"][4] if "rel" in lengths else float("nan"),
         "icl_acc_3layer_nope": (accuracy_at(models["3layer_nope"][0], data, T, ev.batch_size, seed)[0]
                                 if "3layer_nope" in models else float("nan"))}
    return m, lengths


def flag_chance(m: dict[str, float], cfg: InductionConfig, ctx) -> None:
    """Warn about any model whose ICL accuracy is near chance (1/N) over its evaluation batch."""
    n = cfg.eval.batch_size
    for key, value in m.items():
        if key.startswith(("icl_acc", "len4x_acc")) and key != "icl_acc_min_grid" and np.isfinite(value):
            vocab = int(key.split(".N")[1].split(".")[0]) if ".N" in key else cfg.data.vocab
            if near_chance(value, vocab, n):
                ctx.warn(f"{key} = {value:.3f} is near chance (1/{vocab}): that model did not learn the task")


def tables(ctx, models: dict, sweeps: dict, lengths: dict, grid_rows: list, m: dict) -> list[tuple[str, str]]:
    """Every curve and table via ctx.table (CSV export) and the report sections built from them."""
    for name, (_, h) in models.items():
        ctx.table(f"training_curve_{name}", ["step", "loss", "icl_acc"],
                  list(zip(h["step"], h["loss"], h["icl_acc"], strict=True)), title=f"training curve of {name}")
    sections = []
    for title, sw in sweeps.items():
        tag = "rare" if "rarest" in title else "median"
        rows = [[n, sw["pb"]["trained"][n], sw["pb"]["theory"][n], sw["pc"]["trained"][n], sw["pc"]["theory"][n]]
                for n in sw["counts"]]
        sections.append((f"Count sweep ({title})", ctx.table(
            f"count_sweep_{tag}", ["n", "P_b_trained", "P_b_theory", "P_c_trained", "P_c_theory"], rows,
            title=f"designed prompts, {title}: probability at the final a vs in-context count n")))
    conflict = [list(r) for r in sweeps["median-probability b"]["conflict"]]
    sections.append(("Conflicting successors", "Share of query tokens where b beats b' (a->b n_b times, "
                     "a->b' n_b' times).\n\n" + ctx.table("conflict_grid", ["n_b", "n_b2", "trained", "theory"],
                                                         conflict)))
    sections.append(("Theory ablation", "Pearson r of centred logits, trained vs theory, as terms are added "
                     "(memory.THEORY_TERMS; each includes the ones above).\n\n" + ctx.table(
                         "theory_ablation", ["term", "pearson_r"], [[t, m[f"theory_r.{t}"]] for t in THEORY_TERMS])))
    sections.append(("Length generalisation", ctx.table(
        "length_sweep", ["model"] + [f"acc_{f}T" for f in next(iter(lengths.values()))],
        [[k] + list(v.values()) for k, v in lengths.items()], title="ICL accuracy vs prompt length")))
    if grid_rows:
        sections.append(("Formation grid", ctx.table("formation_grid", GRID_HEADERS, grid_rows,
                                                     title="induction-head formation per (T, N, K) cell")))
    return sections


def run(cfg: InductionConfig, ctx: RunContext) -> Outcome:
    from paperzoo.core.threads import torch_threads

    with torch_threads(cfg.threads):
        data, source = make_data(cfg.data)
        ctx.log(f"bigram prior: {source}; vocab {data.vocab}, T = {cfg.data.seq_len}")
        plan = phases(cfg, data)
        models = train_phases(plan, ctx)
        T, seed = cfg.data.seq_len, ctx.seed * 1000 + 99
        ape = models["ape"][0]
        m, maps = probe_main(ape, data, T, cfg.eval, seed)
        theory, sweeps = theory_stage(ape, data, cfg, seed)
        lengths_m, lengths = length_stage(models, data, cfg, seed)
        main_cell = (T, data.vocab, data.n_triggers, ape, data, cfg.train.steps)
        grid_m, grid_rows = grid_metrics(cfg.grid, plan, models, main_cell, cfg.eval.batch_size, seed + 5)
        m.update(theory | lengths_m | grid_m)
        flag_chance(m, cfg, ctx)
        sections = [("Data and models", describe(cfg, data, source, models, sweeps))]
        sections += tables(ctx, models, sweeps, lengths, grid_rows, m)
        figures.training_curves(ctx, models)
        figures.attention_maps(ctx, maps, T)
        figures.count_sweep(ctx, sweeps)
        figures.length_sweep(ctx, lengths)
        figures.theory_ablation(ctx, {t: m[f"theory_r.{t}"] for t in THEORY_TERMS})
        if grid_rows:
            figures.formation_grid(ctx, grid_rows)
    return Outcome(metrics=m, claims=evaluate_claims(m, cfg.claims, cfg.eval.max_count), sections=sections)


def describe(cfg: InductionConfig, data, source: str, models: dict, sweeps: dict) -> str:
    s, w = sweeps["median-probability b"]["strengths"], sweeps["median-probability b"]["weight_strengths"]
    rho = sweeps["median-probability b"]["prev_share"]
    return (f"Bigram prior: {source}. Vocabulary {data.vocab}, training length T = {cfg.data.seq_len}, "
            f"{data.n_triggers} triggers per sequence ({data.trigger_mode}), outputs {data.output_mode}. "
            f"Trained: {', '.join(models)}; d = {cfg.model.d_model}, {cfg.train.steps} steps "
            f"({cfg.train.optimizer}, lr {cfg.train.lr}, batch {cfg.train.batch_size}, loss on {cfg.train.loss_on}). "
            f"Theory strengths measured on the trained model's activations (training-distribution sequences, "
            f"not the designed prompts): a_2 = {s.match:.2f}, a_3 = {s.copy:.2f}, layer-1 previous-token share "
            f"rho = {rho:.2f}; read from the weights along the memory directions: a_2 = {w.match:.2f}, "
            f"a_3 = {w.copy:.2f}.")


SMOKE = {
    "data.vocab": 12, "data.seq_len": 16, "data.n_heldout_outputs": 2, "model.d_model": 32,
    "train.steps": 12, "train.batch_size": 8, "train.eval_every": 4, "train.eval_batch": 16,
    "train.checkpoint_every": 4, "three_layer_steps": 6, "eval.n_probes": 2, "eval.n_backgrounds": 1,
    "eval.max_count": 3, "eval.conflict_max": 1, "eval.batch_size": 16,
    "grid.seq_lens": [16, 24], "grid.vocabs": [12], "grid.triggers": [5], "grid.steps_at_base": 4,
}
FULL = {
    "data.vocab": 64, "data.seq_len": 256, "data.n_triggers": 5, "model.d_model": 256, "train.steps": 10000,
    "train.batch_size": 512, "train.eval_every": 250, "train.checkpoint_every": 500, "three_layer_steps": 20000,
    "eval.n_probes": 32, "eval.n_backgrounds": 16, "eval.batch_size": 512, "threads": 2,
    "grid.seq_lens": [64, 128, 256], "grid.vocabs": [32, 64], "grid.triggers": [1, 3, 5],
    "grid.steps_at_base": 2000, "grid.max_steps": 20000,
}

register(Experiment(
    name="induction",
    paper="2412.11459",
    title="Induction heads vs bigram knowledge in a two-layer transformer (associative memories)",
    config=InductionConfig,
    presets={"smoke": SMOKE, "quick": {}, "full": FULL},
    run=run,
))
