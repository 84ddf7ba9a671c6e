"""The experiment's stages: tasks -> encoded splits and caches -> one trained model per method -> test results.

Methods (every model of a seed starts from the same initial heads and sees the same batches):

    single          one model per task: a fresh copy of the shared encoder + that task's module
    mtl_<rule>      one shared encoder + every task module, a batch of every task per step, weighting <rule>
    mtl_sampled     one task per step drawn by the task sampler (MT-DNN / jiant style), fixed weights
    frozen          the shared encoder frozen entirely (its output cached), task modules trained
    bilstm          one Bi-LSTM-attention encoder per task (same tokenizer, PCA of the encoder's word vectors,
                    its own step budget bilstm.steps and learning rate bilstm.lr)
    single_nocopy   summarisation tasks only: single-task, the decoder without its copy distribution
    lead            summarisation tasks only: the first k words of the source
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paperzoo.core import RunContext, UserError

from . import data as D
from .baselines import BiLSTMAttentionEncoder, lead, pca_embeddings
from .cosine import GradientCosine
from .encoder import SharedEncoder, load_backbone, load_tokenizer
from .heads import ClassificationHead, RegressionHead, SummarisationHead, TaskHead
from .metrics import classification_metrics, regression_metrics, rouge
from .pointer import PointerGeneratorDecoder
from .samplers import make_sampler
from .train import MultiTaskModel, TaskStream, fit, predict
from .weighting import DWA, GradNorm, GradVac, PCGrad, Uncertainty, Weighting

RULES = ("fixed", "cosine", "uncertainty", "gradnorm", "pcgrad", "dwa", "gradvac")
METHODS = ("single", *(f"mtl_{r}" for r in RULES), "mtl_sampled", "frozen", "bilstm", "single_nocopy", "lead")
SUMMARY_ONLY = ("single_nocopy", "lead")


@dataclass
class Prepared:
    """Everything the methods share: tasks, tokenized splits, the pre-trained encoder and its caches."""

    tasks: dict[str, D.TaskData]
    enc: D.Encoder
    train: dict[str, D.Split]
    test: dict[str, D.Split]
    backbone: torch.nn.Module
    lower: dict[str, tuple[list, list]] = field(default_factory=dict)  # task -> (train, test) frozen-part states
    final: dict[str, tuple[list, list]] = field(default_factory=dict)  # task -> (train, test) whole-encoder states
    vocab: dict[str, torch.Tensor] = field(default_factory=dict)
    word_vectors: dict[int, torch.Tensor] = field(default_factory=dict)  # width -> PCA of the token embeddings

    @property
    def tokens(self) -> tuple[int, int, int]:
        return self.enc.pad, self.enc.cls, self.enc.sep

    def pca_word_vectors(self, dim: int) -> torch.Tensor:
        """The encoder's token embeddings projected to `dim` (the same for every seed and task: computed once)."""
        if dim not in self.word_vectors:
            self.word_vectors[dim] = pca_embeddings(self.backbone.get_input_embeddings().weight, dim)
        return self.word_vectors[dim]


@dataclass
class TaskResult:
    metrics: dict[str, float]
    gold: list
    pred: list  # labels / values; per-example ROUGE-L for summarisation
    hyps: list[str] = field(default_factory=list)


@dataclass
class MethodResult:
    method: str
    seed: int
    tasks: dict[str, TaskResult]
    history: dict[str, Any]
    params: int
    trainable: int
    train_s: float
    examples: int

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "tasks"}
        d["tasks"] = {t: r.__dict__ for t, r in self.tasks.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MethodResult:
        return cls(**{**d, "tasks": {t: TaskResult(**r) for t, r in d["tasks"].items()}})


# ---------------------------------------------------------------------------------------------- stages

def load_tasks(cfg, ctx: RunContext) -> dict[str, D.TaskData]:
    """Every task of cfg.tasks, capped to cfg.n_train / cfg.n_test examples."""
    src = D.Sources(cfg.path, cfg.summ_path, cfg.test_fraction, cfg.split_seed, cfg.accept_test_book, cfg.man_words)
    out = {}
    for name in cfg.tasks:
        task = D.cap(D.build_task(name, src), cfg.n_train, cfg.n_test, cfg.split_seed)
        ctx.log(f"task {name}: {task.kind}, {len(task.train_x)} train / {len(task.test_x)} test ({task.source})")
        out[name] = task
    return out


def encoder_path(cfg) -> Path:
    if cfg.path:
        return Path(cfg.path)
    from paperzoo.core.data import require

    return require("minilm")


def prepare(cfg, tasks: dict[str, D.TaskData], ctx: RunContext) -> Prepared:
    """Tokenize every split, load and truncate the encoder, cache the frozen part's output once."""
    tok = load_tokenizer(encoder_path(cfg.encoder))
    enc = D.Encoder(tok, cfg.encoder.max_len, cfg.decoder.src_len, cfg.decoder.tgt_len)
    backbone = load_backbone(encoder_path(cfg.encoder), cfg.encoder.dropout)
    probe = SharedEncoder(backbone, cfg.encoder.layers, cfg.encoder.frozen_layers, cfg.encoder.pooling)
    if probe.dim % cfg.decoder.heads:
        raise UserError(f"decoder.heads={cfg.decoder.heads} must divide the encoder width {probe.dim}")
    prep = Prepared(tasks, enc, {t: enc.split(d, d.train_x, d.train_y) for t, d in tasks.items()},
                    {t: enc.split(d, d.test_x, d.test_y) for t, d in tasks.items()}, probe.backbone)
    for t, d in tasks.items():
        if d.kind == "summarisation" and cfg.decoder.vocab == "train":
            prep.vocab[t] = torch.unique(torch.tensor([i for s in prep.train[t].targets for i in s]))
    transformer = [m for m in cfg.methods if m not in ("bilstm", "lead")]
    if probe.frozen_layers and transformer:
        _cache(prep, probe.lower, prep.lower, "caching the frozen lower layers", ctx, cfg.train.eval_batch)
    if "frozen" in cfg.methods:  # the pre-trained upper blocks on the cached lower output (or on the input)
        _cache(prep, _whole_encoder(probe), prep.final, "caching the frozen encoder's output", ctx,
               cfg.train.eval_batch)
    return prep


def _whole_encoder(probe: SharedEncoder):
    def run(ids, types, mask, cached=None):
        probe.eval()
        with torch.no_grad():
            return probe.upper(cached, mask) if cached is not None else probe(ids, types, mask)
    return run


def _cache(prep: Prepared, fn, into: dict, what: str, ctx: RunContext, batch: int) -> None:
    start = time.process_time()
    for t in prep.tasks:
        splits = []
        for k, s in enumerate((prep.train[t], prep.test[t])):
            lower = prep.lower.get(t, (None, None))[k] if into is not prep.lower else None
            splits.append(D.cache_states(fn, replace(s, cached=lower), prep.enc.pad, batch))
        into[t] = tuple(splits)
    tokens = sum(len(s) for t in prep.tasks for s in prep.train[t].ids + prep.test[t].ids)
    ctx.log(f"{what}: {tokens} tokens in {time.process_time() - start:.1f} CPU s")


# ---------------------------------------------------------------------------------------------- models

def make_rule(rule: str, n_tasks: int, w, seed: int) -> Weighting:
    """The weighting rule `rule` with its settings from the `weighting` config section."""
    if rule == "fixed":
        return Weighting(n_tasks, list(w.fixed_weights) or None)
    if rule == "cosine":
        return GradientCosine(n_tasks, w.cosine_mode, w.cosine_temperature, w.cosine_beta, w.cosine_penalty)
    return {"uncertainty": lambda: Uncertainty(n_tasks, w.uncertainty_init, w.uncertainty_lr),
            "gradnorm": lambda: GradNorm(n_tasks, w.gradnorm_alpha, w.gradnorm_lr),
            "pcgrad": lambda: PCGrad(n_tasks, seed), "dwa": lambda: DWA(n_tasks, w.dwa_temperature, w.dwa_window),
            "gradvac": lambda: GradVac(n_tasks, w.gradvac_beta, seed)}[rule]()


def make_head(task: D.TaskData, encoder, cfg, prep: Prepared, copy_on: bool = True) -> TaskHead:
    if task.kind == "classification":
        return ClassificationHead(encoder.dim, task.n_classes, cfg.encoder.dropout)
    if task.kind == "regression":
        y = np.asarray(task.train_y, float)
        return RegressionHead(encoder.dim, float(y.mean()), float(y.std() or 1.0), cfg.encoder.dropout)
    dc = cfg.decoder
    dec = PointerGeneratorDecoder(encoder.word_embeddings, prep.vocab.get(task.name), dc.layers, dc.heads, dc.ffn,
                                  dc.tgt_len, dc.dropout, copy_on and dc.copy, prep.enc.cls, prep.enc.sep,
                                  prep.enc.tok.unk_token_id)
    return SummarisationHead(dec, dc.beam, dc.tgt_len)


def build_model(method: str, names: list[str], cfg, prep: Prepared, seed: int) -> MultiTaskModel:
    """A fresh model for `method` over the tasks `names` (heads initialised from `seed`)."""
    torch.manual_seed(seed)
    if method == "bilstm":
        b = cfg.bilstm
        words = prep.pca_word_vectors(b.dim) if b.embeddings == "pretrained" else None
        encoder = BiLSTMAttentionEncoder(prep.enc.tok.vocab_size, b.dim, b.hidden, b.layers, cfg.encoder.dropout,
                                         prep.enc.pad, words)
    else:
        layers = len(prep.backbone.encoder.layer) if hasattr(prep.backbone, "encoder") else 0
        frozen = layers if method == "frozen" else cfg.encoder.frozen_layers
        encoder = SharedEncoder(copy.deepcopy(prep.backbone), layers, frozen, cfg.encoder.pooling)
    heads = {t: make_head(prep.tasks[t], encoder, cfg, prep, method != "single_nocopy") for t in names}
    return MultiTaskModel(encoder, heads)


def _split(prep: Prepared, method: str, task: str, which: int) -> D.Split:
    split = (prep.train, prep.test)[which][task]
    cache = prep.final if method == "frozen" else {} if method == "bilstm" else prep.lower
    return replace(split, cached=cache[task][which] if task in cache else None)


def count(model: torch.nn.Module) -> tuple[int, int]:
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


# ---------------------------------------------------------------------------------------------- methods

def run_method(method: str, seed: int, cfg, prep: Prepared, ctx: RunContext) -> MethodResult:
    """Train (unless `lead`) and evaluate one method on its tasks with one seed."""
    names = [t for t in prep.tasks if method not in SUMMARY_ONLY or prep.tasks[t].kind == "summarisation"]
    if method == "lead":
        return MethodResult(method, seed, {t: lead_result(prep, t) for t in names}, {}, 0, 0, 0.0, 0)
    groups = [[t] for t in names] if method.startswith("single") or method == "bilstm" else [names]
    b = cfg.bilstm
    tcfg = replace(cfg.train, steps=b.steps, lr=b.lr, head_lr=b.lr) if method == "bilstm" else cfg.train
    tasks, hist, params, trainable, train_s, examples = {}, {}, 0, 0, 0.0, 0
    for group in groups:
        model = build_model(method, group, cfg, prep, seed)
        streams = {t: TaskStream(prep.tasks[t], _split(prep, method, t, 0), tcfg.batch_for(prep.tasks[t].kind),
                                 seed * 1009 + k, prep.tokens) for k, t in enumerate(group)}
        rule_name = method[4:] if method.startswith("mtl_") and method != "mtl_sampled" else "fixed"
        sampler = None
        if method == "mtl_sampled":
            s = cfg.sampler
            sampler = make_sampler(s.kind, group, [len(prep.train[t]) for t in group], seed, tcfg.steps,
                                   s.temperature, list(s.probabilities) or None)
        start = time.perf_counter()
        h = fit(model, streams, make_rule(rule_name, len(group), cfg.weighting, seed), tcfg, dist=ctx.dist,
                sampler=sampler, progress=ctx.progress, log=ctx.log, desc=f"{method} {'+'.join(group)} seed {seed}")
        train_s += time.perf_counter() - start
        examples += sum(streams[t].stream.batch_size for row in h.loss for t, v in zip(group, row, strict=True)
                        if not math.isnan(v))  # drawn tasks only (a sampler draws one per step)
        hist.update({t: h.as_dict() for t in group} if len(groups) > 1 else {"all": h.as_dict()})
        for t in group:
            tasks[t] = evaluate_task(model, t, prep, _split(prep, method, t, 1), cfg.train.eval_batch)
        n, k = count(model)
        params, trainable = params + n, trainable + k
    ctx.log(f"{method} seed {seed}: {train_s:.1f} s, " + ", ".join(
        f"{t} {prep.tasks[t].metric} {r.metrics[prep.tasks[t].metric]:.3f}" for t, r in tasks.items()))
    return MethodResult(method, seed, tasks, hist, params, trainable, train_s, examples)


def evaluate_task(model: MultiTaskModel, task: str, prep: Prepared, split: D.Split, batch: int) -> TaskResult:
    kind = prep.tasks[task].kind
    preds = predict(model, task, split, kind, prep.tokens, batch)
    gold = prep.tasks[task].test_y
    if kind == "classification":
        return TaskResult(classification_metrics(gold, preds), list(gold), list(preds))
    if kind == "regression":
        return TaskResult(regression_metrics(gold, preds), list(gold), [float(p) for p in preds])
    hyps = [prep.enc.decode(ids) for ids in preds]
    return _summary_result(hyps, split.refs)


def _summary_result(hyps: list[str], refs: list[str]) -> TaskResult:
    r = rouge(hyps, refs)
    return TaskResult({k: float(v.mean()) for k, v in r.items()}, [0.0] * len(hyps), r["rougeL"].tolist(), hyps)


def lead_result(prep: Prepared, task: str) -> TaskResult:
    """Lead-k with k = the mean number of words of the training summaries."""
    d = prep.tasks[task]
    k = round(float(np.mean([len(y.split()) for y in d.train_y])))
    return _summary_result([lead(x, k) for x in d.test_x], list(d.test_y))
