"""Experiment `distill`: MiniLM-L6 teacher fine-tuned on fine-food sentiment, small students distilled with
no KD, Hinton KD, DistilBERT-, TinyBERT-style losses and the paper's joint loss (+ ablation)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from paperzoo.core import Claim, Experiment, Outcome, RunContext, UserError, register
from paperzoo.core.report import md_table

from . import data as D
from .layermap import layer_map
from .losses import LossWeights, Projections
from .metrics import acc_stderr, accuracy, macro_f1
from .models import (
    EncoderClassifier,
    bert_student,
    count_params,
    init_embeddings_pca,
    init_layers_from_teacher,
    load_encoder,
    load_student,
    load_tokenizer,
    minilm_dir,
    save_student,
)
from .train import Trainee, fit, latency, predict

BASELINES = ("nokd", "hinton", "distilbert", "tinybert")
ABLATIONS = ("paper_minus_feat", "paper_minus_att", "paper_minus_dist")
ALL_METHODS = BASELINES + ("paper",) + ABLATIONS


@dataclass
class DataConfig:
    source: Literal["fine_foods", "glue", "synthetic"] = "fine_foods"
    path: str | None = None  # fine_foods: R data folder or a root above it (default: core's source); glue: GLUE dir
    task: str = "SST-2"  # GLUE task when source=glue
    max_len: int = 64
    n_train: int = 0  # 0 = all
    n_test: int = 0
    n_synthetic: int = 200

    def __post_init__(self):
        if self.source not in ("fine_foods", "glue", "synthetic"):
            raise ValueError(f"data.source must be fine_foods, glue or synthetic, got {self.source!r}")
        if self.max_len < 8:
            raise ValueError(f"data.max_len must be >= 8, got {self.max_len}")


@dataclass
class TeacherConfig:
    path: str | None = None  # a local HF encoder folder; default: all-MiniLM-L6-v2 from the PyPI wheel
    tiny: bool = False  # a random 2-layer teacher (smoke tests), no fine-tuning cache
    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 32
    cache: bool = True


@dataclass
class StudentConfig:
    layers: int = 2
    hidden: int = 192
    heads: int = 12  # TinyBERT's attention MSE needs the teacher's head count
    intermediate: int = 768
    init: Literal["pca", "random", "teacher_layers"] = "pca"
    freeze_embeddings: bool = True  # keep the (teacher-derived) token embeddings fixed: 5.9M of 6.8M params


@dataclass
class KDConfig:
    """The paper's joint loss: alpha·hard + beta·feat + gamma·att + delta·dist (and its variants)."""

    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    delta: float = 1.0
    tau: float = 2.0
    tau_final: float | None = None
    feat_kind: Literal["mse", "cosine"] = "mse"
    att_kind: Literal["score_mse", "kl", "relation"] = "kl"
    rel_heads: int = 12
    layer_map: Literal["uniform", "last", "explicit"] = "uniform"
    explicit_layers: list[int] = field(default_factory=list)
    map_embeddings: bool = False
    shared_projection: bool = False
    two_stage: float = 0.0  # fraction of training with intermediate terms only (0 = joint from the start)


@dataclass
class TrainConfig:
    epochs: int = 2
    lr: float = 1e-3
    batch_size: int = 32
    bf16: bool = True
    methods: list[str] = field(default_factory=lambda: list(ALL_METHODS))
    latency_batch: int = 32
    latency_repeats: int = 5

    def __post_init__(self):
        bad = [m for m in self.methods if m not in ALL_METHODS]
        if bad:
            raise ValueError(f"unknown methods {bad}; valid: {', '.join(ALL_METHODS)}")


@dataclass
class DistillConfig:
    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    kd: KDConfig = field(default_factory=KDConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def method_weights(method: str, kd: KDConfig) -> LossWeights:
    """Loss weights of each compared method (baselines follow their papers' task-distillation recipes)."""
    common = dict(rel_heads=kd.rel_heads)
    paper = LossWeights(kd.alpha, kd.beta, kd.gamma, kd.delta, kd.tau, kd.feat_kind, kd.att_kind, **common)
    table = {
        "nokd": LossWeights(1, 0, 0, 0, kd.tau, **common),
        "hinton": LossWeights(1, 0, 0, 1, kd.tau, **common),
        "distilbert": LossWeights(1, 1, 0, 1, kd.tau, "cosine", **common),
        "tinybert": LossWeights(0, 1, 1, 1, 1.0, "mse", "score_mse", **common),
        "paper": paper,
        "paper_minus_feat": LossWeights(kd.alpha, 0, kd.gamma, kd.delta, kd.tau, kd.feat_kind, kd.att_kind, **common),
        "paper_minus_att": LossWeights(kd.alpha, kd.beta, 0, kd.delta, kd.tau, kd.feat_kind, kd.att_kind, **common),
        "paper_minus_dist": LossWeights(kd.alpha, kd.beta, kd.gamma, 0, kd.tau, kd.feat_kind, kd.att_kind, **common),
    }
    if method not in table:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(table)}")
    return table[method]


def method_pairs(method: str, kd: KDConfig, n_s: int, n_t: int) -> tuple[list[tuple[int, int]], list]:
    """(hidden pairs in hidden_states numbering, attention pairs in block numbering) for a method."""
    blocks = layer_map(kd.layer_map, n_s, n_t, kd.explicit_layers or None)
    if method == "distilbert":
        return [(n_s, n_t)], []
    hidden = [(s + 1, t + 1) for s, t in blocks]
    if method == "tinybert" or kd.map_embeddings:
        hidden = [(0, 0)] + hidden
    return hidden, blocks


# ---------------------------------------------------------------------------------------------- data


def load_text(cfg: DataConfig, seed: int) -> D.TextClassificationData:
    try:
        if cfg.source == "synthetic":
            tr_x, tr_y = D.synthetic_reviews(cfg.n_synthetic, seed)
            te_x, te_y = D.synthetic_reviews(max(cfg.n_synthetic // 2, 20), seed + 1)
            d = D.TextClassificationData(tr_x, tr_y, te_x, te_y, ["positive", "negative"])
        elif cfg.source == "glue":
            if not cfg.path:
                raise UserError("data.source=glue needs --set data.path=<GLUE folder with <task>/train.tsv>")
            d = D.load_glue(Path(cfg.path), cfg.task)
        else:
            if cfg.path:
                path = Path(cfg.path)
            else:
                from paperzoo.core.data import require

                path = require("fine-foods")
            d = D.load_fine_foods(path)
    except D.DataError as e:
        raise UserError(str(e)) from e
    if cfg.n_train:
        d.train_text, d.train_labels = d.train_text[: cfg.n_train], d.train_labels[: cfg.n_train]
    if cfg.n_test:
        d.test_text, d.test_labels = d.test_text[: cfg.n_test], d.test_labels[: cfg.n_test]
    return d


class Encoded:
    """Token ids of a split and its labels, batched by length."""

    def __init__(self, tok, texts: list, labels: list[int], max_len: int):
        pairs = [t if isinstance(t, tuple) else (t,) for t in texts]
        enc = tok([p[0] for p in pairs], [p[1] for p in pairs] if len(pairs[0]) == 2 else None,
                  truncation=True, max_length=max_len)
        self.ids = enc["input_ids"]
        self.labels = torch.tensor(labels, dtype=torch.long)
        self.pad = tok.pad_token_id

    def batches(self, batch_size: int, shuffle: bool, seed: int = 0) -> list:
        g = torch.Generator().manual_seed(seed)
        out = []
        for idx in D.length_bucketed_batches([len(s) for s in self.ids], batch_size, shuffle, g):
            ids, mask = D.collate(self.ids, idx, self.pad)
            out.append((ids, mask, self.labels[idx]))
        return out


# ---------------------------------------------------------------------------------------------- models


def _teacher_key(cfg: DistillConfig, seed: int, n_train: int) -> str:
    # the data path is left out on purpose: the same data found elsewhere reuses the cached teacher
    blob = json.dumps([asdict(cfg.teacher), cfg.data.source, cfg.data.task, cfg.data.max_len, n_train, seed],
                      sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def build_teacher(cfg: DistillConfig, tok, train: Encoded, n_labels: int, ctx: RunContext
                  ) -> tuple[EncoderClassifier, dict]:
    """The fine-tuned teacher, from the cache under data_root/cache/distill when present."""
    if cfg.teacher.tiny:
        from transformers import BertConfig

        bb = bert_student(BertConfig(vocab_size=len(tok), max_position_embeddings=512, type_vocab_size=2,
                                     pad_token_id=tok.pad_token_id), 2, 48, cfg.student.heads, 96)
    else:
        path = Path(cfg.teacher.path) if cfg.teacher.path else minilm_dir()
        if not (path / "config.json").is_file():
            raise UserError(f"teacher folder {path} has no config.json; pass a local Hugging Face model folder")
        bb = load_encoder(path)
    clf = EncoderClassifier(bb, n_labels)
    cache = ctx.data_root / "cache" / "distill" / f"teacher-{_teacher_key(cfg, ctx.seed, len(train.ids))}.safetensors"
    if cfg.teacher.cache and not cfg.teacher.tiny and cache.is_file():
        meta = load_student(cache, clf, None)
        ctx.log(f"teacher from cache {cache} (fine-tuned in {meta.get('train_s', float('nan')):.0f} s)")
        return clf.eval(), meta | {"cached": True}
    ctx.log(f"fine-tuning teacher ({cfg.teacher.epochs} epochs on {len(train.ids)} examples)")
    tr = Trainee("teacher", clf, clf.backbone, LossWeights(1, 0, 0, 0), lr=cfg.teacher.lr)
    t0 = time.perf_counter()
    fit([tr], lambda e: train.batches(cfg.teacher.batch_size, True, ctx.seed + 1000 + e), cfg.teacher.epochs,
        device=ctx.device, bf16=cfg.train.bf16, progress=ctx.progress, log=ctx.log)
    meta = {"train_s": time.perf_counter() - t0, "epochs": cfg.teacher.epochs, "n_train": len(train.ids)}
    if cfg.teacher.cache and not cfg.teacher.tiny:
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_student(cache, clf, None, meta)
        ctx.log(f"teacher cached at {cache}")
    return clf.eval(), meta | {"cached": False}


def build_student(cfg: DistillConfig, teacher: EncoderClassifier, n_labels: int, teacher_layers: list[int]
                  ) -> EncoderClassifier:
    s = cfg.student
    bb = bert_student(teacher.backbone.config, s.layers, s.hidden, s.heads, s.intermediate)
    if s.init == "pca":
        init_embeddings_pca(bb, teacher.backbone)
    elif s.init == "teacher_layers":
        if s.hidden != teacher.backbone.config.hidden_size:
            raise UserError(f"student.init=teacher_layers needs student.hidden == teacher hidden "
                            f"({teacher.backbone.config.hidden_size}), got {s.hidden}")
        init_layers_from_teacher(bb, teacher.backbone, teacher_layers)
    if s.freeze_embeddings:
        bb.get_input_embeddings().weight.requires_grad_(False)
    return EncoderClassifier(bb, n_labels)


# ---------------------------------------------------------------------------------------------- claims


def evaluate_claims(m: dict[str, float], n_test: int, min_keep: float = 0.95, min_speedup: float = 3.0,
                    min_size: float = 4.0) -> list[Claim]:
    """Turn measured metrics into the paper's claims (missing methods -> not evaluated)."""
    def has(*keys):
        return all(k in m and np.isfinite(m[k]) for k in keys)

    se = acc_stderr(m.get("acc.paper", 0.5), n_test)
    out = []
    if has("acc.paper", "acc.hinton", "acc.nokd"):
        ok = m["acc.paper"] > m["acc.hinton"] and m["acc.paper"] > m["acc.nokd"]
        out.append(Claim("joint feature-alignment loss beats soft-label KD alone and no KD (accuracy)", ok,
                         f"paper {m['acc.paper']:.3f} vs hinton {m['acc.hinton']:.3f}, nokd {m['acc.nokd']:.3f} "
                         f"(binomial s.e. ≈ {se:.3f})"))
    else:
        out.append(Claim("joint loss beats soft-label KD and no KD", None, "paper/hinton/nokd not all run"))
    base = [b for b in BASELINES if has(f"acc.{b}")]
    if has("acc.paper") and base:
        best = max(base, key=lambda b: m[f"acc.{b}"])
        out.append(Claim("the paper's loss gives the best student among the compared methods",
                         m["acc.paper"] > m[f"acc.{best}"],
                         f"paper {m['acc.paper']:.3f} vs best baseline {best} {m[f'acc.{best}']:.3f}"))
    if has("acc.paper", "acc.teacher"):
        keep = m["acc.paper"] / m["acc.teacher"]
        out.append(Claim(f"student keeps >= {min_keep:.0%} of the teacher's accuracy", keep >= min_keep,
                         f"{m['acc.paper']:.3f} / {m['acc.teacher']:.3f} = {keep:.3f}"))
    if has("speedup"):
        out.append(Claim(f"student is >= {min_speedup:g}x faster (CPU latency)", m["speedup"] >= min_speedup,
                         f"measured speed-up {m['speedup']:.2f}x"))
    if has("size_ratio"):
        out.append(Claim(f"student is >= {min_size:g}x smaller (parameters)", m["size_ratio"] >= min_size,
                         f"measured size ratio {m['size_ratio']:.2f}x"))
    abl = [a for a in ABLATIONS if has(f"acc.{a}")]
    if has("acc.paper") and abl:
        worse = {a: m[f"acc.{a}"] for a in abl}
        ok = all(m["acc.paper"] > v for v in worse.values())
        out.append(Claim("each loss term helps (removing any one lowers accuracy)", ok,
                         ", ".join(f"{a.removeprefix('paper_minus_')}-removed {v:.3f}" for a, v in worse.items())
                         + f" vs full {m['acc.paper']:.3f} (s.e. ≈ {se:.3f})"))
    else:
        out.append(Claim("each loss term helps (ablation)", None, "ablation methods not run"))
    return out


# ---------------------------------------------------------------------------------------------- run


def run(cfg: DistillConfig, ctx: RunContext) -> Outcome:
    torch.manual_seed(ctx.seed)
    tok_path = Path(cfg.teacher.path) if cfg.teacher.path and not cfg.teacher.tiny else minilm_dir()
    tok = load_tokenizer(tok_path)
    text = load_text(cfg.data, ctx.seed)
    n_labels = len(text.label_names)
    train = Encoded(tok, text.train_text, text.train_labels, cfg.data.max_len)
    test = Encoded(tok, text.test_text, text.test_labels, cfg.data.max_len)
    ctx.log(f"{len(train.ids)} train / {len(test.ids)} test examples, labels {text.label_names}")
    teacher, tmeta = build_teacher(cfg, tok, train, n_labels, ctx)
    for p in teacher.parameters():
        p.requires_grad_(False)
    n_t = teacher.backbone.config.num_hidden_layers
    n_s = cfg.student.layers
    blocks = layer_map(cfg.kd.layer_map, n_s, n_t, cfg.kd.explicit_layers or None)
    test_batches = test.batches(cfg.train.batch_size, shuffle=False)
    gold = torch.cat([b[2] for b in test_batches]).numpy()
    t_pred = predict(teacher, test_batches, ctx.device, cfg.train.bf16).argmax(-1).numpy()

    trainees = []
    for meth in cfg.train.methods:
        torch.manual_seed(ctx.seed)  # every student starts from the same initial weights
        student = build_student(cfg, teacher, n_labels, [t for _, t in blocks]).to(ctx.device)
        w = method_weights(meth, cfg.kd)
        hp, ap = method_pairs(meth, cfg.kd, n_s, n_t)
        proj = Projections(cfg.student.hidden, teacher.backbone.config.hidden_size, len(hp),
                           cfg.kd.shared_projection).to(ctx.device) if w.feat > 0 else None
        trainees.append(Trainee(meth, student, student.backbone, w, hp, ap, proj, cfg.student.heads,
                                lr=cfg.train.lr))
    ctx.log(f"training {len(trainees)} students in lockstep: {', '.join(t.name for t in trainees)}")
    spent = fit(trainees, lambda e: train.batches(cfg.train.batch_size, True, ctx.seed + e), cfg.train.epochs,
                teacher, teacher.backbone, teacher.backbone.config.num_attention_heads, ctx.device,
                cfg.train.bf16, two_stage=cfg.kd.two_stage, tau_final=cfg.kd.tau_final,
                progress=ctx.progress, log=ctx.log)

    m: dict[str, float] = {"acc.teacher": accuracy(t_pred, gold), "f1.teacher": macro_f1(t_pred, gold, n_labels)}
    for tr in trainees:
        pred = predict(tr.model, test_batches, ctx.device, cfg.train.bf16).argmax(-1).numpy()
        m[f"acc.{tr.name}"] = accuracy(pred, gold)
        m[f"f1.{tr.name}"] = macro_f1(pred, gold, n_labels)
        m[f"agreement.{tr.name}"] = accuracy(pred, t_pred)
        m[f"train_s.{tr.name}"] = spent[tr.name]
    m["train_s.teacher_forward"] = spent["teacher"]
    m["teacher_finetune_s"] = float(tmeta.get("train_s", float("nan")))
    ref = trainees[0].model
    m["params.teacher"] = count_params(teacher)
    m["params.student"] = count_params(ref)
    m["size_ratio"] = m["params.teacher"] / m["params.student"]
    lat_ids, lat_mask = D.collate(test.ids, list(range(min(cfg.train.latency_batch, len(test.ids)))), test.pad)
    lat_t = latency(teacher.cpu().float(), lat_ids, lat_mask, cfg.train.latency_repeats)
    lat_s = latency(ref.cpu().float(), lat_ids, lat_mask, cfg.train.latency_repeats)
    m["latency_ms.teacher"], m["latency_ms.student"] = 1000 * lat_t, 1000 * lat_s
    m["speedup"] = lat_t / lat_s
    for tr in trainees:
        if tr.name == "paper":
            save_student(ctx.out / "student_paper.safetensors", tr.model, tr.projections,
                         {"student": asdict(cfg.student), "kd": asdict(cfg.kd), "acc": m["acc.paper"]})
    claims = evaluate_claims(m, len(gold))
    return Outcome(metrics=m, claims=claims, sections=_sections(m, trainees, tmeta, ctx))


def _sections(m: dict[str, float], trainees: list[Trainee], tmeta: dict, ctx: RunContext) -> list:
    rows = [["teacher", f"{m['acc.teacher']:.3f}", f"{m['f1.teacher']:.3f}", "1.000", "100%", "-"]]
    for tr in trainees:
        n = tr.name
        rows.append([n, f"{m[f'acc.{n}']:.3f}", f"{m[f'f1.{n}']:.3f}", f"{m[f'agreement.{n}']:.3f}",
                     f"{100 * m[f'acc.{n}'] / m['acc.teacher']:.1f}%", f"{m[f'train_s.{n}']:.0f}"])
    table = md_table(["model", "accuracy", "macro-F1", "agreement w/ teacher", "% of teacher", "train s"], rows)
    eff = md_table(["", "teacher", "student", "ratio"], [
        ["parameters", f"{m['params.teacher']:,.0f}", f"{m['params.student']:,.0f}", f"{m['size_ratio']:.2f}x"],
        ["CPU latency (ms / batch)", f"{m['latency_ms.teacher']:.1f}", f"{m['latency_ms.student']:.1f}",
         f"{m['speedup']:.2f}x"]])
    tnote = (f"Teacher fine-tuning took {tmeta.get('train_s', float('nan')):.0f} s"
             + (" (loaded from the cache)" if tmeta.get("cached") else "") + ".")
    try:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for tr in trainees:
            y = np.array([h["loss"] for h in tr.history])
            k = max(1, len(y) // 50)
            ax.plot(np.convolve(y, np.ones(k) / k, mode="valid"), label=tr.name)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (smoothed)")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        ctx.savefig(fig, "losses", "training loss of each student")
    except Exception as e:  # a figure must never sink a finished run
        ctx.log(f"loss figure skipped: {e}")
    return [("Students vs teacher", table), ("Efficiency", eff + "\n\n" + tnote)]


QUICK: dict = {}
register(Experiment(
    name="distill",
    paper="2412.19449",
    title="Feature-alignment knowledge distillation: MiniLM-L6 teacher -> 2x192 students on fine-food sentiment",
    config=DistillConfig,
    presets={
        "smoke": {"data.source": "synthetic", "data.n_synthetic": 96, "data.max_len": 24, "teacher.tiny": True,
                  "teacher.epochs": 1, "student.layers": 1, "student.hidden": 24, "student.heads": 4,
                  "student.intermediate": 48, "student.init": "random", "kd.rel_heads": 4, "train.epochs": 1,
                  "train.batch_size": 16, "train.latency_repeats": 2, "train.latency_batch": 8},
        "quick": QUICK,
        "full": {"data.max_len": 128, "teacher.epochs": 3, "teacher.lr": 5e-5, "train.epochs": 10,
                 "student.layers": 4, "student.hidden": 312, "student.intermediate": 1200},
    },
    run=run,
))

from . import experiment_lm  # noqa: E402,F401  (registers distill.lm)
