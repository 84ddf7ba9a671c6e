"""Experiment `distill.lm`: SmolLM2-135M teacher -> small Llama student on Jane Austen; perplexity, and
BLEU / ROUGE-L / CER of greedy continuations against the reference text and the teacher's continuation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from paperzoo.core import Claim, Experiment, Outcome, RunContext, UserError, register
from paperzoo.core.report import md_table

from . import data as D
from .layermap import layer_map
from .losses import LossWeights, Projections
from .models import count_params, init_embeddings_pca, llama_student, load_smollm2
from .train import Trainee, fit

LM_METHODS = ("nokd", "hinton", "paper")


@dataclass
class LMDataConfig:
    source: Literal["austen", "synthetic"] = "austen"
    path: str | None = None  # janeaustenr data folder or a root above it (default: core's source)
    seq_len: int = 64
    n_train: int = 256  # chunks of seq_len tokens
    n_test: int = 48
    prompt_len: int = 16
    gen_len: int = 24
    n_gen: int = 16

    def __post_init__(self):
        if self.prompt_len + self.gen_len > self.seq_len:
            raise ValueError(f"prompt_len + gen_len ({self.prompt_len + self.gen_len}) must be <= seq_len "
                             f"({self.seq_len})")


@dataclass
class LMStudentConfig:
    layers: int = 2
    hidden: int = 192
    heads: int = 3
    kv_heads: int = 1
    intermediate: int = 512
    init: Literal["pca", "random"] = "pca"


@dataclass
class LMKDConfig:
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    delta: float = 1.0
    tau: float = 1.0
    feat_kind: Literal["mse", "cosine"] = "cosine"  # Llama residual streams carry a few huge channels
    rel_heads: int = 4


@dataclass
class LMTrainConfig:
    epochs: int = 2
    lr: float = 2e-3
    batch_size: int = 16
    bf16: bool = True
    methods: list[str] = field(default_factory=lambda: list(LM_METHODS))

    def __post_init__(self):
        bad = [m for m in self.methods if m not in LM_METHODS]
        if bad:
            raise ValueError(f"unknown LM methods {bad}; valid: {', '.join(LM_METHODS)}")


@dataclass
class DistillLMConfig:
    data: LMDataConfig = field(default_factory=LMDataConfig)
    student: LMStudentConfig = field(default_factory=LMStudentConfig)
    kd: LMKDConfig = field(default_factory=LMKDConfig)
    train: LMTrainConfig = field(default_factory=LMTrainConfig)
    tiny_teacher: bool = False  # random 2-layer Llama + byte tokenizer (smoke tests)


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 3..258), for the offline smoke test only."""

    pad_token_id, bos_token_id, eos_token_id = 0, 1, 2

    def __len__(self) -> int:
        return 259

    def encode(self, text: str) -> list[int]:
        return [b + 3 for b in text.encode()]

    def decode(self, ids) -> str:
        return bytes(i - 3 for i in ids if i >= 3).decode(errors="replace")


def _text(cfg: LMDataConfig, seed: int) -> str:
    if cfg.source == "synthetic":
        x, _ = D.synthetic_reviews(400, seed)
        return ". ".join(x)
    try:
        if cfg.path:
            path = Path(cfg.path)
        else:
            from paperzoo.core.data import require

            path = require("janeausten")
        return "\n".join(D.load_austen(path).values())
    except D.DataError as e:
        raise UserError(str(e)) from e


def chunks(ids: list[int], seq_len: int, n_train: int, n_test: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows: train from the first 90% of the token stream, test from the last 10%."""
    cut = int(0.9 * len(ids))
    tr = [ids[i:i + seq_len] for i in range(0, cut - seq_len, seq_len)]
    te = [ids[i:i + seq_len] for i in range(cut, len(ids) - seq_len, seq_len)]
    if len(tr) < n_train or len(te) < n_test:
        raise UserError(f"text too short: {len(tr)} train / {len(te)} test windows of {seq_len} tokens, "
                        f"asked for {n_train} / {n_test}")
    g = np.random.default_rng(0)
    tr = [tr[i] for i in sorted(g.choice(len(tr), n_train, replace=False))]
    te = [te[i] for i in np.linspace(0, len(te) - 1, n_test).astype(int)]
    return torch.tensor(tr), torch.tensor(te)


def lm_batches(x: torch.Tensor, batch_size: int, shuffle: bool, seed: int) -> list:
    """(ids, mask, next-token target with −100 at the end) batches."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(len(x))
    out = []
    for i in range(0, len(x), batch_size):
        ids = x[order[i:i + batch_size]]
        target = torch.cat([ids[:, 1:], torch.full((len(ids), 1), -100)], 1)
        out.append((ids, torch.ones_like(ids), target))
    return out


@torch.no_grad()
def perplexity(model, batches: list, device: str, bf16: bool) -> float:
    """exp(mean next-token NLL) over all target positions."""
    model.eval()
    dev = next(model.parameters()).device
    nll, n = 0.0, 0
    for ids, mask, target in batches:
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits
        t = target.to(dev)
        nll += torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), t.reshape(-1),
                                                 ignore_index=-100, reduction="sum").item()
        n += int((t != -100).sum())
    return math.exp(nll / max(n, 1))


@torch.no_grad()
def greedy(model, prompts: torch.Tensor, n_new: int) -> torch.Tensor:
    """Greedy continuation (no KV cache needed at these lengths: plain argmax loop, model-agnostic)."""
    model.eval()
    x = prompts.to(next(model.parameters()).device)
    for _ in range(n_new):
        nxt = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[:, -1].argmax(-1, keepdim=True)
        x = torch.cat([x, nxt], 1)
    return x[:, prompts.shape[1]:]


def text_scores(hyps: list[str], refs: list[str]) -> dict[str, float]:
    """Corpus BLEU (sacrebleu), mean ROUGE-L F1 (rouge-score), CER (jiwer) of hyps against refs."""
    import jiwer
    import sacrebleu
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rougeL"])
    safe_refs = [r if r.strip() else "." for r in refs]
    return {"bleu": sacrebleu.corpus_bleu(hyps, [safe_refs]).score,
            "rougeL": float(np.mean([sc.score(r, h)["rougeL"].fmeasure for r, h in zip(safe_refs, hyps, strict=True)])),
            "cer": float(jiwer.cer(safe_refs, hyps))}


def lm_claims(m: dict[str, float]) -> list[Claim]:
    """Perplexity claims from measured values."""
    out = []
    if all(k in m for k in ("ppl.student_paper", "ppl.student_nokd")):
        ok = m["ppl.student_paper"] < m["ppl.student_nokd"]
        ev = f"paper {m['ppl.student_paper']:.1f} vs no-KD {m['ppl.student_nokd']:.1f}"
        if "ppl.student_hinton" in m:
            ok = ok and m["ppl.student_paper"] < m["ppl.student_hinton"]
            ev += f", Hinton {m['ppl.student_hinton']:.1f}"
        out.append(Claim("joint loss gives a lower-perplexity student than soft-label KD and no KD", ok, ev))
    if "ppl.teacher" in m and "ppl.student_paper" in m:
        ok = m["ppl.student_paper"] <= 2 * m["ppl.teacher"]
        out.append(Claim("student perplexity within 2x of the teacher's", ok,
                         f"{m['ppl.student_paper']:.1f} vs teacher {m['ppl.teacher']:.1f}"))
    return out


def run_lm(cfg: DistillLMConfig, ctx: RunContext) -> Outcome:
    if cfg.tiny_teacher:
        from transformers import LlamaConfig, LlamaForCausalLM

        tok = ByteTokenizer()
        teacher = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2,
                                               num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
                                               max_position_embeddings=512, attn_implementation="eager",
                                               pad_token_id=0, bos_token_id=1, eos_token_id=2))
        encode, decode = tok.encode, tok.decode
    else:
        ctx.log("loading SmolLM2-135M (GGUF, dequantised to fp32)")
        teacher, tok = load_smollm2()
        encode = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
        decode = lambda ids: tok.decode(ids, skip_special_tokens=True)  # noqa: E731
    teacher.eval().to(ctx.device)
    for p in teacher.parameters():
        p.requires_grad_(False)
    ids = encode(_text(cfg.data, ctx.seed))
    tr_x, te_x = chunks(ids, cfg.data.seq_len, cfg.data.n_train, cfg.data.n_test)
    ctx.log(f"{len(ids)} tokens; {len(tr_x)} train / {len(te_x)} test windows of {cfg.data.seq_len}")
    tc = teacher.config
    n_t, n_s = tc.num_hidden_layers, cfg.student.layers
    blocks = layer_map("uniform", n_s, n_t)
    trainees = []
    for meth in cfg.train.methods:
        torch.manual_seed(ctx.seed)
        s = cfg.student
        st = llama_student(tc, s.layers, s.hidden, s.heads, s.kv_heads, s.intermediate).to(ctx.device)
        if s.init == "pca":
            init_embeddings_pca(st, teacher)
        k = cfg.kd
        w = {"nokd": LossWeights(1, 0, 0, 0, k.tau),
             "hinton": LossWeights(1, 0, 0, 1, k.tau),
             "paper": LossWeights(k.alpha, k.beta, k.gamma, k.delta, k.tau, k.feat_kind, "relation", k.rel_heads)}[meth]
        hp = [(a + 1, b + 1) for a, b in blocks]
        proj = Projections(s.hidden, tc.hidden_size, len(hp)).to(ctx.device) if w.feat > 0 else None
        trainees.append(Trainee(meth, st, st.model, w, hp, blocks, proj, s.heads, causal=True, lr=cfg.train.lr))
    test_b = lm_batches(te_x, cfg.train.batch_size, False, 0)
    m: dict[str, float] = {"ppl.teacher": perplexity(teacher, test_b, ctx.device, cfg.train.bf16)}
    ctx.log(f"teacher perplexity {m['ppl.teacher']:.2f}")
    fit(trainees, lambda e: lm_batches(tr_x, cfg.train.batch_size, True, ctx.seed + e), cfg.train.epochs, teacher,
        teacher.model, tc.num_attention_heads, ctx.device, cfg.train.bf16, progress=ctx.progress, log=ctx.log)
    prompts = te_x[: cfg.data.n_gen, : cfg.data.prompt_len].to(ctx.device)
    refs = [decode(r.tolist()) for r in te_x[: cfg.data.n_gen, cfg.data.prompt_len:
                                                 cfg.data.prompt_len + cfg.data.gen_len]]
    t_gen = [decode(r.tolist()) for r in greedy(teacher, prompts, cfg.data.gen_len)]
    rows = []
    examples = []
    for tr in trainees:
        m[f"ppl.student_{tr.name}"] = perplexity(tr.model, test_b, ctx.device, cfg.train.bf16)
        s_gen = [decode(r.tolist()) for r in greedy(tr.model, prompts, cfg.data.gen_len)]
        vs_ref, vs_t = text_scores(s_gen, refs), text_scores(s_gen, t_gen)
        for k2, v in vs_ref.items():
            m[f"{k2}.{tr.name}"] = v
        for k2, v in vs_t.items():
            m[f"{k2}_vs_teacher.{tr.name}"] = v
        rows.append([tr.name, f"{m[f'ppl.student_{tr.name}']:.1f}", f"{vs_ref['bleu']:.2f}",
                     f"{vs_ref['rougeL']:.3f}", f"{vs_ref['cer']:.3f}", f"{vs_t['bleu']:.2f}",
                     f"{vs_t['rougeL']:.3f}", f"{vs_t['cer']:.3f}"])
        examples.append(f"- **{tr.name}**: {s_gen[0]!r}")
    t_ref = text_scores(t_gen, refs)
    rows.insert(0, ["teacher", f"{m['ppl.teacher']:.1f}", f"{t_ref['bleu']:.2f}", f"{t_ref['rougeL']:.3f}",
                    f"{t_ref['cer']:.3f}", "-", "-", "-"])
    m["params.teacher"] = count_params(teacher)
    m["params.student"] = count_params(trainees[0].model)
    m["size_ratio"] = m["params.teacher"] / m["params.student"]
    table = md_table(["model", "ppl", "BLEU ref", "ROUGE-L ref", "CER ref", "BLEU teacher", "ROUGE-L teacher",
                      "CER teacher"], rows)
    ex = (f"Prompt: {decode(prompts[0].tolist())!r}\n\n- **reference**: {refs[0]!r}\n- **teacher**: {t_gen[0]!r}\n"
          + "\n".join(examples))
    return Outcome(metrics=m, claims=lm_claims(m), sections=[("Language modelling", table),
                                                              ("Example continuation", ex)])


register(Experiment(
    name="distill.lm",
    paper="2412.19449",
    title="Feature-alignment KD for a decoder: SmolLM2-135M -> 2-layer Llama on Jane Austen",
    config=DistillLMConfig,
    presets={
        "smoke": {"tiny_teacher": True, "data.source": "synthetic", "data.seq_len": 32, "data.n_train": 16,
                  "data.n_test": 4, "data.prompt_len": 8, "data.gen_len": 8, "data.n_gen": 2,
                  "student.hidden": 32, "student.heads": 2, "student.intermediate": 64, "student.init": "random",
                  "kd.rel_heads": 2, "train.epochs": 1, "train.batch_size": 8},
        "quick": {"data.n_train": 128, "data.n_test": 32, "data.n_gen": 8, "train.batch_size": 8},
        "full": {"data.seq_len": 256, "data.n_train": 8000, "data.n_test": 400, "data.prompt_len": 64,
                 "data.gen_len": 64, "data.n_gen": 100, "student.layers": 6, "student.hidden": 384,
                 "student.heads": 6, "student.kv_heads": 2, "student.intermediate": 1024, "train.epochs": 3},
    },
    run=run_lm,
))
