"""Experiment `distill.lm`: students cut out of SmolLM2-135M (a subset of its 30 blocks, embeddings shared) and
distilled on Jane Austen with each loss; perplexity on held-out Austen, BLEU / ROUGE-L / CER of greedy
continuations against the reference and the teacher's, and generation speed."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch

from paperzoo.core import Experiment, Outcome, RunContext, param, register

from . import data as D
from .claims import LMClaimsConfig, evaluate_lm_claims
from .evaluate import lm_scores, summarise
from .figures import block_influence, loss_curves, method_bars
from .lm import Codec, generation_speed, text_windows
from .methods import ALL_METHODS, LossConfig, method_pairs, method_weights
from .models import count_params, save_pretrained_student
from .prune import block_influence as influence_of_blocks
from .prune import cut_student, mlp_importance, prune_mlp, select_layers
from .teacher import lm_teacher
from .train import Teacher, Trainee, fit
from .train import TrainConfig as BaseTrainConfig

LM_METHODS = tuple(m for m in ALL_METHODS if m != "tinybert")  # score MSE needs as many key as query heads
DEFAULT_LM_METHODS = ("nokd", "hinton", "paper", "paper_minus_feat", "paper_minus_att", "paper_minus_dist")


@dataclass
class LMDataConfig:
    source: Literal["austen", "synthetic"] = param("austen", doc="Jane Austen's novels (Debian r-cran-janeaustenr) "
                                                                 "or generated text (smoke)")
    path: str | None = param(None, path="dir", doc="janeaustenr data folder or a root above it "
                                                   "(default: core's source)")
    seq_len: int = param(64, ge=8, doc="tokens per window")
    n_train: int = param(24, ge=1, doc="training windows (drawn from the first 90% of the text)")
    n_test: int = param(16, ge=1, doc="held-out windows (evenly spaced through the last 10%)")
    prompt_len: int = param(16, ge=1, doc="prompt tokens of each continuation")
    gen_len: int = param(24, ge=1, doc="greedily generated tokens per prompt")
    n_gen: int = param(8, ge=1, doc="prompts continued (the first n_gen test windows)")

    def __post_init__(self):
        if self.prompt_len + self.gen_len > self.seq_len:
            raise ValueError(f"data.prompt_len + data.gen_len ({self.prompt_len + self.gen_len}) must be <= "
                             f"data.seq_len ({self.seq_len})")
        if self.n_gen > self.n_test:
            raise ValueError(f"data.n_gen ({self.n_gen}) must be <= data.n_test ({self.n_test})")


@dataclass
class LMTeacherConfig:
    tiny: bool = param(False, doc="a random 4-layer Llama with a byte tokenizer instead of SmolLM2 (smoke tests)")
    cache: bool = param(True, doc="keep the dequantised fp32 teacher under <data_root>/cache/distill")


@dataclass
class LMStudentConfig:
    layers: int = param(10, ge=1, doc="teacher blocks the student keeps (SmolLM2 has 30)")
    select: Literal["importance", "uniform"] = param(
        "importance", doc="keep the blocks of largest block influence (ShortGPT), or the uniform layer map's")
    intermediate: int = param(0, ge=0, doc="MLP width (0 = the teacher's 1536; smaller prunes neurons by "
                                           "mean |activation|)")
    calib_windows: int = param(8, ge=1, doc="training windows that score blocks and neurons")


@dataclass
class LMTrainConfig(BaseTrainConfig):
    epochs: int = param(1, ge=1, doc="passes over the training windows")
    lr: float = param(1e-4, gt=0, doc="peak AdamW learning rate of the students")
    batch_size: int = param(4, ge=1, doc="windows per optimiser step (global, over all processes)")
    methods: list[str] = param(factory=lambda: list(DEFAULT_LM_METHODS), choices=LM_METHODS, nonempty=True,
                               doc="losses the students are distilled with (all from the same cut)")
    save: list[str] = param(factory=lambda: ["paper"], choices=LM_METHODS,
                            doc="students saved (first seed) as Hugging Face folders under students/")
    gen_repeats: int = param(2, ge=1, doc="timed generation runs (the fastest is reported)")
    lockstep: bool = param(False, doc="train all students at once on one teacher pass per batch (faster, but "
                                      "every student's optimiser state is held at once: ~0.4 GB each)")


@dataclass
class DistillLMConfig:
    data: LMDataConfig = field(default_factory=LMDataConfig)
    teacher: LMTeacherConfig = field(default_factory=LMTeacherConfig)
    student: LMStudentConfig = field(default_factory=LMStudentConfig)
    kd: LossConfig = field(default_factory=lambda: LossConfig(tau=1.0, feat_kind="cosine", att_kind="relation",
                                                              rel_heads=3))
    train: LMTrainConfig = field(default_factory=LMTrainConfig)
    claims: LMClaimsConfig = field(default_factory=LMClaimsConfig)
    seeds: list[int] = param(factory=lambda: [0], nonempty=True,
                             doc="student seeds, each added to --seed (batch order); with one seed claims use a "
                                 "bootstrap over windows")
    threads: int = param(0, ge=0, doc="torch intra-op threads (0 = torch's default)")

    def __post_init__(self):
        if self.kd.att_kind != "relation":
            raise ValueError("distill.lm needs kd.att_kind=relation: Llama's grouped-query attention has fewer key "
                             "than query heads, so attention maps cannot be recomputed from hooked q/k")


def run_lm(cfg: DistillLMConfig, ctx: RunContext) -> Outcome:
    text = load_corpus(cfg.data, ctx)  # bad data fails here, before the teacher is loaded
    teacher, tok, tmeta = lm_teacher(cfg.teacher.tiny, cfg.teacher.cache, ctx)
    codec = Codec(tok)
    train_x, test_x = text_windows(text, codec, cfg.data.seq_len, cfg.data.n_train, cfg.data.n_test, ctx.seed)
    ctx.log(f"{len(train_x)} train / {len(test_x)} test windows of {cfg.data.seq_len} tokens")
    base, keep, bi = cut(cfg.student, teacher, train_x, ctx)
    d = cfg.data
    prompts = test_x[: d.n_gen, : d.prompt_len]
    refs = [codec.decode(r) for r in test_x[: d.n_gen, d.prompt_len: d.prompt_len + d.gen_len]]
    m, t_nll, t_text = lm_scores(teacher, test_x, prompts, refs, None, d.gen_len, codec.decode)
    m = {f"{k}.teacher" if k != "ppl" else "ppl.teacher": v for k, v in m.items()}
    m["ppl.student_init"] = lm_scores(base, test_x, prompts[:1], refs[:1], None, 1, codec.decode)[0]["ppl"]
    ctx.log(f"teacher perplexity {m['ppl.teacher']:.2f}; cut student before training {m['ppl.student_init']:.2f}")
    per_seed, windows, curves, texts = students_over_seeds(cfg, teacher, base, keep, train_x, test_x, prompts, refs,
                                                           t_text, codec, tok, ctx)
    m |= summarise(per_seed, spread=("ppl",)) | speed(cfg, teacher, base, prompts, ctx)
    m |= {"params.teacher": count_params(teacher), "params.student": count_params(base),
          "teacher_load_s": tmeta["load_s"]}
    m["size_ratio"] = m["params.teacher"] / m["params.student"]
    best = min(cfg.train.methods, key=lambda n: m[f"ppl.student_{n}"])
    m["ppl_ratio.best"] = m[f"ppl.student_{best}"] / m["ppl.teacher"]
    seeds = {n: per_seed[f"ppl.student_{n}"] for n in cfg.train.methods}
    sections = lm_report(ctx, cfg, m, keep, bi, curves, texts, codec.decode(prompts[0]), refs[0], t_text[0])
    return Outcome(metrics=m, claims=evaluate_lm_claims(m, cfg.claims, seeds, windows), sections=sections)


def load_corpus(cfg: LMDataConfig, ctx: RunContext) -> str:
    """The text the windows are cut from (DataError, exit 2, on a malformed R database)."""
    if cfg.source == "synthetic":
        return "\n".join(D.synthetic_reviews(600, ctx.seed)[0])
    if cfg.path:
        return "\n".join(D.austen_folder(Path(cfg.path)).values())
    from paperzoo.core.data import require

    return "\n".join(D.austen_folder(require("janeausten")).values())


def cut(cfg: LMStudentConfig, teacher, train_x: torch.Tensor, ctx: RunContext):
    """The student every method starts from: the selected teacher blocks, MLPs optionally pruned."""
    calib = train_x[: cfg.calib_windows]
    n_t = teacher.config.num_hidden_layers
    bi = influence_of_blocks(teacher, calib)
    keep = select_layers(cfg.select, cfg.layers, n_t, bi)
    base = cut_student(teacher, keep)
    if cfg.intermediate:
        prune_mlp(base, mlp_importance(base, calib), cfg.intermediate)
    ctx.log(f"student keeps teacher blocks {keep} ({cfg.select})"
            + (f", MLP width {cfg.intermediate}" if cfg.intermediate else ""))
    return base.to(ctx.device).eval(), keep, bi


def clone(base):
    """A trainable copy of the cut student that still shares the teacher's (frozen) embeddings."""
    emb = base.model.embed_tokens
    return copy.deepcopy(base, memo={id(emb): emb, id(emb.weight): emb.weight})


def students_over_seeds(cfg: DistillLMConfig, teacher, base, keep: list[int], train_x, test_x, prompts, refs,
                        t_text, codec: Codec, tok, ctx: RunContext):
    """Distil one student per method and seed (same batches for all) and score it; returns the per-seed
    metrics, the first seed's per-window NLL and loss curves, and the first seed's continuations."""
    from .lm import lm_batches

    tc = teacher.config
    blocks = list(enumerate(keep))
    per_seed: dict[str, list[float]] = {}
    windows, curves, texts = {}, {}, {}
    for i, seed in enumerate(cfg.seeds):
        trainees = []
        for meth in cfg.train.methods:
            st = clone(base).train()
            hp, ap = method_pairs(meth, blocks, len(keep), tc.num_hidden_layers)
            trainees.append(Trainee(meth, st, st.model, method_weights(meth, cfg.kd), hp, ap, None,
                                    tc.num_attention_heads, causal=True, lr=cfg.train.lr))
        ctx.log(f"seed {seed}: distilling {len(trainees)} students "
                f"{'in lockstep' if cfg.train.lockstep else 'one after another'}: {', '.join(cfg.train.methods)}")
        for group in [trainees] if cfg.train.lockstep else [[tr] for tr in trainees]:
            torch.manual_seed(seed)
            fit(group, lambda e, s=seed: lm_batches(train_x, cfg.train.batch_size, True, s * 1000 + e), cfg.train,
                Teacher(teacher, teacher.model, tc.num_attention_heads, causal=True), dist=ctx.dist,
                device=ctx.device, two_stage=cfg.kd.two_stage, tau_final=cfg.kd.tau_final, progress=ctx.progress,
                log=ctx.log)
        for tr in trainees:
            s, nll, text = lm_scores(tr.model, test_x, prompts, refs, t_text, cfg.data.gen_len, codec.decode)
            for k, v in s.items():
                per_seed.setdefault(f"ppl.student_{tr.name}" if k == "ppl" else f"{k}.{tr.name}", []).append(v)
            if i == 0:
                windows[tr.name], curves[tr.name], texts[tr.name] = nll, [h["loss"] for h in tr.history], text
            ctx.log(f"seed {seed}: {tr.name} perplexity {s['ppl']:.2f}")
        if i == 0:
            save_lm_students(cfg, trainees, tok, keep, ctx)
    return per_seed, windows, curves, texts


def speed(cfg: DistillLMConfig, teacher, student, prompts: torch.Tensor, ctx: RunContext) -> dict[str, float]:
    """Greedy generation speed (tokens/s, KV cache, same prompts) of the teacher and the student architecture."""
    t = generation_speed(teacher, prompts, cfg.data.gen_len, cfg.train.gen_repeats)
    s = generation_speed(student, prompts, cfg.data.gen_len, cfg.train.gen_repeats)
    ctx.log(f"generation: teacher {t:.1f} tokens/s, student {s:.1f} tokens/s")
    return {"gen_tokens_per_s.teacher": t, "gen_tokens_per_s.student": s, "gen_speedup": s / t}


def save_lm_students(cfg: DistillLMConfig, trainees: list[Trainee], tok, keep: list[int], ctx: RunContext) -> None:
    for tr in trainees:
        if ctx.writer and tr.name in cfg.train.save:
            save_pretrained_student(ctx.out / "students" / tr.name, tr.model, tok, None, {
                "experiment": "distill.lm", "method": tr.name, "seed": cfg.seeds[0], "teacher_blocks": keep,
                "student": asdict(cfg.student), "kd": asdict(cfg.kd)})


def lm_report(ctx: RunContext, cfg: DistillLMConfig, m: dict[str, float], keep, bi, curves, texts, prompt: str,
              ref: str, t_text: str) -> list[tuple[str, str]]:
    """The per-student table (CSV too), an example continuation, the cut, and the figures."""
    methods = cfg.train.methods
    rows = [["teacher", f"{m['ppl.teacher']:.2f}", "", f"{m['bleu.teacher']:.2f}", f"{m['rougeL.teacher']:.3f}",
             f"{m['cer.teacher']:.3f}", "", "", ""],
            ["cut student, before training", f"{m['ppl.student_init']:.2f}", "", "", "", "", "", "", ""]]
    for n in methods:
        ci = f"[{m[f'ppl_lo.student_{n}']:.2f}, {m[f'ppl_hi.student_{n}']:.2f}]" if len(cfg.seeds) > 1 else ""
        rows.append([n, f"{m[f'ppl.student_{n}']:.2f}", ci] + [
            f"{m[f'{k}.{n}']:.3f}" for k in ("bleu", "rougeL", "cer", "bleu_vs_teacher", "rougeL_vs_teacher",
                                             "cer_vs_teacher")])
    table = ctx.table("students", ["model", "perplexity", "95% interval", "BLEU ref", "ROUGE-L ref", "CER ref",
                                   "BLEU teacher", "ROUGE-L teacher", "CER teacher"], rows,
                      title="held-out Austen; continuations against the reference and the teacher's")
    ctx.table("block_influence", ["teacher block", "block influence", "kept"],
              [[j, round(float(b), 6), j in keep] for j, b in enumerate(bi)])
    ctx.table("loss_curves", ["method", "step", "loss"],
              [[n, i, round(v, 6)] for n, ys in curves.items() for i, v in enumerate(ys)], title="first seed")
    eff = (f"Student: teacher blocks {keep}, {m['params.student']:,.0f} parameters "
           f"(teacher {m['params.teacher']:,.0f}; "
           f"{m['size_ratio']:.2f}x); generation {m['gen_tokens_per_s.student']:.1f} vs "
           f"{m['gen_tokens_per_s.teacher']:.1f} tokens/s ({m['gen_speedup']:.2f}x).")
    ex = f"Prompt: {prompt!r}\n\n- **reference**: {ref!r}\n- **teacher**: {t_text!r}\n" + "\n".join(
        f"- **{n}**: {t[0]!r}" for n, t in texts.items())
    method_bars(ctx, "perplexity", "held-out perplexity of each student (teacher: dashed line)",
                {n: (m[f"ppl.student_{n}"], m.get(f"ppl_lo.student_{n}", m[f"ppl.student_{n}"]),
                     m.get(f"ppl_hi.student_{n}", m[f"ppl.student_{n}"])) for n in methods},
                title="perplexity on held-out Austen", ylabel="perplexity", reference=m["ppl.teacher"],
                reference_label="teacher", logy=True)
    loss_curves(ctx, "losses", "training loss of each student (first seed)", curves, title="training loss")
    block_influence(ctx, bi, keep)
    return [("Language modelling", table), ("Student", eff), ("Example continuation", ex)]


register(Experiment(
    name="distill.lm",
    paper="2412.19449",
    title="Feature-alignment KD for a decoder: SmolLM2-135M -> a student cut from its blocks, on Jane Austen",
    config=DistillLMConfig,
    presets={
        "smoke": {"teacher.tiny": True, "data.source": "synthetic", "data.seq_len": 32, "data.n_train": 16,
                  "data.n_test": 4, "data.prompt_len": 8, "data.gen_len": 8, "data.n_gen": 2, "student.layers": 2,
                  "student.intermediate": 64, "student.calib_windows": 4, "kd.rel_heads": 2, "train.lr": 2e-3,
                  "train.gen_repeats": 1, "threads": 1},
        # measured: 64 windows x 12 blocks at lr 1e-3 in lockstep fits ~230 CPU s with one thread (docs/distill.md)
        "quick": {"data.n_train": 64, "student.layers": 12, "train.lr": 1e-3, "train.lockstep": True, "threads": 1},
        "full": {"data.seq_len": 256, "data.n_train": 8000, "data.n_test": 400, "data.prompt_len": 64,
                 "data.gen_len": 64, "data.n_gen": 100, "student.layers": 15, "train.epochs": 3,
                 "train.batch_size": 32, "train.bf16": True, "train.lockstep": True, "seeds": [0, 1, 2]},
    },
    run=run_lm,
))

