"""Experiment `signprod`: gloss -> pose production, LVMCN (CSA + MSC) against the Progressive Transformer.

Recipe: data (synthetic sign language, or a PT layout folder) -> the back-translation evaluator, trained on
ground-truth poses and frozen -> every production model (PT, LVMCN, LVMCN - CSA, LVMCN - MSC) at every seed
-> decoded under both protocols and scored -> claims over seeds, figures, tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paperzoo.core import Experiment, Outcome, RunContext, param, register

from . import figures
from .claims import ClaimsConfig, evaluate_claims
from .data import SyntheticConfig
from .evaluator import EvaluatorConfig
from .lvmcn import LVMCNConfig
from .model import ModelConfig
from .pipeline import (
    VARIANTS,
    Evaluated,
    Prepared,
    evaluate_producer,
    load_corpus,
    mean_pose_metrics,
    prepare,
    train_evaluator,
    train_producer,
)
from .results import (
    aggregate,
    alignment_table,
    anchors_table,
    history_tables,
    per_seed_table,
    results_table,
    variants_table,
)
from .train import TrainConfig


@dataclass
class DataConfig(SyntheticConfig):
    """The synthetic sign language (all fields but `path`), or real data in the PT layout at `path`."""

    path: str | None = param(None, path="dir", doc="PT layout folder (PHOENIX14T); unset: the synthetic language")
    example: int = param(0, ge=0, doc="index of the test sentence drawn in the figures")


@dataclass
class ProducerTrainConfig(TrainConfig):
    """Optimisation of the production models, and PT's input-noise augmentation."""

    input_noise: float = param(1.0, ge=0, doc="std of the noise on the decoder's input joints, in joint stds")


@dataclass
class DecodeConfig:
    max_factor: float = param(1.5, gt=0, doc="predicted-length decoding stops at this x the longest training sequence")
    batch_size: int = param(64, ge=1, doc="sequences decoded at once")


def _evaluator_train() -> TrainConfig:
    return TrainConfig(epochs=15, batch_size=32, lr=2e-3, warmup=50)


@dataclass
class SignprodConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    lvmcn: LVMCNConfig = field(default_factory=LVMCNConfig)
    train: ProducerTrainConfig = field(default_factory=ProducerTrainConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    evaluator_train: TrainConfig = field(default_factory=_evaluator_train)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    models: list[str] = param(["pt", "lvmcn", "lvmcn_minus_csa", "lvmcn_minus_msc"], choices=tuple(VARIANTS),
                              nonempty=True, doc="production models to train (pt is the baseline)")
    seeds: list[int] = param([0, 1, 2], nonempty=True, doc="seeds of the production models, each added to "
                             "--seed (claims test over them)")
    threads: int = param(1, ge=0, doc="torch intra-op threads (0 = torch's default)")
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)

    def __post_init__(self) -> None:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"models must be distinct, got {self.models}")


# ----------------------------------------------------------------------------------------- stages


def evaluator_stage(cfg: SignprodConfig, prep: Prepared, ctx: RunContext, state: dict[str, Any]):
    """Train (or restore) the frozen back-translation evaluator, and read the ground-truth test poses."""
    from .evaluation import read
    from .evaluator import BackTranslator

    if "evaluator" in state:
        evaluator = BackTranslator(len(prep.gv), len(prep.tv), cfg.evaluator).to(ctx.device)
        evaluator.load_state_dict(state["evaluator"])
        evaluator.eval().requires_grad_(False)
        ctx.log("evaluator restored from the checkpoint")
    else:
        ctx.log("training the back-translation evaluator on ground-truth poses")
        evaluator, history = train_evaluator(prep, cfg.evaluator, cfg.evaluator_train, seed=ctx.seed, dist=ctx.dist,
                                             progress=ctx.progress, log=ctx.log, device=ctx.device)
        state["evaluator"], state["histories"]["evaluator"] = evaluator.state_dict(), history.as_dict()
        ctx.save_checkpoint(state)
    reference = read(evaluator, prep.splits["test"].frames, prep.gv, prep.tv, ctx.dist, device=ctx.device)
    gt = evaluate_producer(None, prep, evaluator, reference, prep.longest, cfg.data.example, dist=ctx.dist)
    return evaluator, reference, gt


def production_stage(cfg: SignprodConfig, prep: Prepared, evaluator, reference, ctx: RunContext,
                     state: dict[str, Any]) -> dict[str, list[Evaluated]]:
    """Train and score every model at every seed; each finished (model, seed) is checkpointed."""
    max_frames = min(cfg.model.max_frames, int(cfg.decode.max_factor * prep.longest))
    done: dict[str, dict[str, Any]] = state["done"]
    for seed in cfg.seeds:
        for name in cfg.models:
            key = f"{name}/{seed}"
            if key in done:
                continue
            model, history = train_producer(name, prep, cfg.model, cfg.lvmcn, cfg.train, cfg.train.input_noise,
                                            seed=seed, dist=ctx.dist, progress=ctx.progress,
                                            log=ctx.log, device=ctx.device)
            ev = evaluate_producer(model, prep, evaluator, reference, max_frames, cfg.data.example, dist=ctx.dist,
                                   device=ctx.device)
            ctx.log(f"{key}: DTW {ev.metrics['dtw.predlen']:.3f} (predicted length), "
                    f"{ev.metrics['dtw.gtlen']:.3f} (true length), BLEU-4 {ev.metrics['bleu4.predlen']:.2f}")
            done[key] = {**ev.__dict__, "history": history.as_dict()}
            ctx.save_checkpoint(state)
    return {name: [Evaluated(**{k: v for k, v in done[f"{name}/{s}"].items() if k != "history"})
                   for s in cfg.seeds] for name in cfg.models}


def warn_weak(ctx: RunContext, m: dict[str, float], cfg: SignprodConfig) -> None:
    """Flag a useless evaluator, and producers no better than holding the mean pose (the SLP 'chance level')."""
    gt_wer = m.get("wer.gt.predlen", float("nan"))
    if not gt_wer <= cfg.claims.evaluator_wer:
        ctx.warn(f"the back-translation evaluator reads the ground-truth test poses with gloss WER {gt_wer:.1f} % "
                 f"(> {cfg.claims.evaluator_wer:g} %): BLEU/ROUGE/WER of the producers say little")
    base = m["dtw.mean_pose.gtlen"]
    for name in cfg.models:
        for protocol, label in (("gtlen", "true length"), ("predlen", "predicted length")):
            dtw = m.get(f"dtw.{name}.{protocol}", float("nan"))
            if not dtw < base:
                ctx.warn(f"{name}: DTW-MJE {dtw:.3f} ({label}) is no better than holding the mean pose for the "
                         f"true length ({base:.3f})")


def report_sections(ctx: RunContext, cfg: SignprodConfig, prep: Prepared, m: dict[str, float],
                    per_model: dict[str, list[Evaluated]]) -> list[tuple[str, str]]:
    test = prep.splits["test"]
    source = prep.corpus.source
    data = (f"Source: {source}. {len(prep.corpus.glosses)} glosses; train/dev/test "
            f"{'/'.join(str(len(prep.splits[s])) for s in ('train', 'dev', 'test'))} sentences; test sequences "
            f"{test.lengths.mean():.1f} frames on average (longest training sequence {prep.longest}). "
            f"Models: {', '.join(cfg.models)}; seeds {cfg.seeds}. DTW-MJE and MPJPE in PT's stored units; "
            f"BLEU, ROUGE-L (COCO, x100), WER (%) from the frozen back-translation evaluator.")
    first = cfg.models[0]
    examples = "\n".join(f"- truth: `{test.text_strings[i]}` / {first}: `{per_model[first][0].texts['predlen'][i]}`"
                         for i in range(min(3, len(test))))
    return [("Data", data),
            ("Results, predicted length (honest protocol)", results_table(ctx, m, cfg.models, "predlen")),
            ("Results, ground-truth length and counter (the anchors' protocol)",
             results_table(ctx, m, cfg.models, "gtlen")),
            ("FID and MPJPE, both definitions", variants_table(ctx, m, cfg.models)),
            ("Alignment against the true gloss-frame alignment", alignment_table(ctx, m, cfg.models)),
            ("Back-translation examples (first seed, predicted length)", examples),
            ("Published PHOENIX14T numbers, for scale (not comparable with synthetic data)", anchors_table())]


def draw_figures(ctx: RunContext, cfg: SignprodConfig, prep: Prepared, m: dict[str, float], gt: Evaluated,
                 per_model: dict[str, list[Evaluated]], histories: dict[str, Any]) -> None:
    import numpy as np

    test = prep.splits["test"]
    i = min(cfg.data.example, len(test) - 1)
    figures.results(ctx, m, cfg.models)
    seqs = {"gt": np.asarray(gt.example["predlen"])[1:], **{n: np.asarray(r[0].example["predlen"])[1:]
                                                           for n, r in per_model.items()}}
    figures.skeletons(ctx, seqs, test.gloss_strings[i])
    figures.animation(ctx, {k: v for k, v in seqs.items() if k in ("gt", "pt", "lvmcn")} or seqs,
                      test.gloss_strings[i])
    maps = {f"{figures.LABELS[n]} {kind}": np.asarray(r[0].maps[kind]) for n, r in per_model.items()
            for kind in ("CSA", "cross-attention") if kind in r[0].maps and n in ("pt", "lvmcn")}
    figures.alignment_maps(ctx, maps, test.align[i], test.gloss_strings[i].split())
    figures.lengths(ctx, list(test.lengths), {n: r[0].lengths["predlen"] for n, r in per_model.items()})
    figures.training(ctx, histories)


# ----------------------------------------------------------------------------------------- run


def run(cfg: SignprodConfig, ctx: RunContext) -> Outcome:
    prep = prepare(load_corpus(cfg.data, cfg.data.path, ctx.log))
    state = ctx.load_checkpoint() or {"done": {}, "histories": {}}
    evaluator, reference, gt = evaluator_stage(cfg, prep, ctx, state)
    per_model = production_stage(cfg, prep, evaluator, reference, ctx, state)
    base = {f"{k}.mean_pose.gtlen": v for k, v in mean_pose_metrics(prep).items()}
    m, seeds = aggregate({n: [r.metrics for r in runs] for n, runs in per_model.items()}, gt.metrics)
    m.update(base)
    warn_weak(ctx, m, cfg)
    histories = {**{n: state["done"][f"{n}/{cfg.seeds[0]}"]["history"] for n in cfg.models},
                 **({"evaluator": state["histories"]["evaluator"]} if "evaluator" in state["histories"] else {})}
    history_tables(ctx, histories)
    per_seed_table(ctx, seeds, cfg.seeds)
    draw_figures(ctx, cfg, prep, m, gt, per_model, histories)
    return Outcome(metrics=m, claims=evaluate_claims(m, seeds, cfg.claims),
                   sections=report_sections(ctx, cfg, prep, m, per_model))


SMOKE = {
    "data.n_glosses": 30, "data.n_train": 24, "data.n_dev": 6, "data.n_test": 6, "data.max_glosses": 4,
    "data.frames_per_gloss": 5, "model.d_model": 16, "model.heads": 2, "model.ff": 32, "model.enc_layers": 1,
    "model.dec_layers": 1, "lvmcn.feature_dim": 8, "train.epochs": 2, "train.batch_size": 8, "train.warmup": 2,
    "evaluator.d_model": 16, "evaluator.heads": 2, "evaluator.ff": 32, "evaluator.layers": 1, "evaluator.dropout": 0.0,
    "evaluator.max_words": 8, "evaluator_train.epochs": 2, "evaluator_train.batch_size": 8,
    "evaluator_train.warmup": 2, "seeds": "[0, 1]",
}
FULL = {  # the PHOENIX14T-sized protocol: sizes of the corpus, PT's Base model, signjoey's evaluator
    "data.n_glosses": 1085, "data.n_train": 7096, "data.n_dev": 519, "data.n_test": 642, "data.max_glosses": 12,
    "data.frames_per_gloss": 16.0, "model.d_model": 512, "model.heads": 4, "model.ff": 2048,
    "lvmcn.feature_dim": 256, "train.epochs": 100, "train.batch_size": 32, "train.lr": 1e-3, "train.warmup": 1000,
    "evaluator.d_model": 256, "evaluator.heads": 8, "evaluator.ff": 1024, "evaluator.layers": 3,
    "evaluator_train.epochs": 60, "evaluator_train.warmup": 1000, "decode.batch_size": 128, "threads": 0,
    "seeds": "[0, 1, 2]",
}

register(Experiment(
    name="signprod",
    paper="2412.16944",
    title="Sign language production gloss->pose: LVMCN (CSA + MSC) vs the Progressive Transformer",
    config=SignprodConfig,
    run=run,
    presets={"smoke": SMOKE, "quick": {}, "full": FULL},
))
