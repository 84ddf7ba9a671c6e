"""Experiment `induction`: train the two-layer model, probe it, compare with the associative-memory theory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch

from paperzoo.core import Claim, Experiment, Outcome, RunContext, UserError, register
from paperzoo.core.report import md_table
from paperzoo.core.threads import torch_threads

from .data import BigramTriggerData, corpus_bigram, dirichlet_bigram
from .memory import effective_strengths, read_strengths, stored_bigram_logits, theoretical_logits
from .model import InductionTransformer, ModelConfig
from .probes import (
    bigram_kl,
    icl_accuracy,
    induction_attention,
    memory_recall,
    previous_token_attention,
    stored_bigram_correlation,
)
from .prompts import choose_probes, designed_prompt
from .train import TrainConfig, TrainState, make_optimizer, train

METRIC_KEYS = ("icl_acc", "prev_token_attn", "theory_logit_pearson", "crossover_trained", "crossover_theory",
               "len4x_acc_ape", "len4x_acc_rel", "icl_acc_3layer_nope")


@dataclass
class DataConfig:
    vocab: int = 32
    seq_len: int = 64
    n_triggers: int = 5
    trigger_mode: Literal["sampled", "frequent"] = "sampled"
    output_mode: Literal["uniform", "bigram"] = "uniform"
    n_heldout_outputs: int = 4
    dirichlet_alpha: float = 1.0
    corpus: str | None = None  # text file: character bigrams of its `vocab` most frequent characters
    smoothing: float = 0.01
    seed: int = 0  # seed of the Dirichlet prior (independent of the run seed)

    def __post_init__(self) -> None:
        if self.vocab < 4:
            raise ValueError(f"data.vocab must be >= 4, got {self.vocab}")
        if self.seq_len < 8:
            raise ValueError(f"data.seq_len must be >= 8, got {self.seq_len}")
        if not 1 <= self.n_triggers < self.vocab:
            raise ValueError(f"data.n_triggers must be in [1, vocab-1], got {self.n_triggers}")
        if self.dirichlet_alpha <= 0:
            raise ValueError(f"data.dirichlet_alpha must be > 0, got {self.dirichlet_alpha}")
        if self.smoothing <= 0:
            raise ValueError(f"data.smoothing must be > 0, got {self.smoothing}")


@dataclass
class EvalConfig:
    n_probes: int = 8  # query tokens a for the designed prompts
    n_backgrounds: int = 4  # random backgrounds per (a, n)
    max_count: int = 8  # count sweep n = 0..max_count
    conflict_max: int = 3  # conflict grid n_b, n_b' = 0..conflict_max
    length_factors: list[int] = field(default_factory=lambda: [1, 2, 4])
    batch: int = 512

    def __post_init__(self) -> None:
        if self.n_probes < 1 or self.n_backgrounds < 1 or self.max_count < 1 or self.batch < 1:
            raise ValueError("eval.n_probes, eval.n_backgrounds, eval.max_count and eval.batch must be >= 1")
        if 4 not in self.length_factors or any(f < 1 for f in self.length_factors):
            raise ValueError(f"eval.length_factors must be >= 1 and contain 4, got {self.length_factors}")


@dataclass
class InductionConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    relative: bool = True  # also train the relative-bias model for the length sweep
    three_layer: bool = True  # also train the 3-layer model without positional encoding
    three_layer_steps: int = 800
    threads: int = 1  # torch threads during the run (tiny matrices: 1 avoids contention on shared CPUs)

    def __post_init__(self) -> None:
        if self.three_layer_steps < 1:
            raise ValueError(f"three_layer_steps must be >= 1, got {self.three_layer_steps}")
        if not 1 <= self.threads <= 2:
            raise ValueError(f"threads must be 1 or 2, got {self.threads}")
        if self.model.n_layers != 2:
            raise ValueError(f"model.n_layers must be 2 (the paper's model; three_layer=true adds the 3-layer "
                             f"variant), got {self.model.n_layers}")
        if self.model.pos not in ("ape", "sin"):
            raise ValueError(f"model.pos of the main model must be an absolute encoding, ape or sin, got "
                             f"{self.model.pos!r} (relative=true trains the relative-bias model alongside)")


# ---------------------------------------------------------------------------------------------- claims


def crossover(p_in_context: list[float], p_global: list[float]) -> float:
    """Smallest count n (index) with P(in-context successor) > P(global successor); NaN if none."""
    for n, (pb, pc) in enumerate(zip(p_in_context, p_global, strict=True)):
        if pb > pc:
            return float(n)
    return float("nan")


def evaluate_claims(m: dict[str, float], max_count: int) -> list[Claim]:
    """Turn the measured metrics into the paper's claims (spec: ../shared/specs/induction.md)."""
    def ok(x: float) -> bool:
        return x is not None and not math.isnan(x)

    claims = []
    acc = m.get("icl_acc", float("nan"))
    claims.append(Claim("the trained two-layer model forms an induction head: ICL accuracy >= 0.95",
                        acc >= 0.95 if ok(acc) else None, f"icl_acc = {acc:.3f}"))
    r = m.get("theory_logit_pearson", float("nan"))
    claims.append(Claim("trained and theoretical logits agree on designed prompts: Pearson r >= 0.9",
                        r >= 0.9 if ok(r) else None, f"r = {r:.3f} (centred logits, all prompts and tokens)"))
    sweeps = [("median-probability b", "")]
    if "crossover_trained_rare" in m:
        sweeps.append(("rarest b", "_rare"))
    holds, parts = True, []
    for label, suffix in sweeps:
        ct, cth = m.get("crossover_trained" + suffix, float("nan")), m.get("crossover_theory" + suffix, float("nan"))
        if ok(ct) and ok(cth):
            holds = holds and abs(ct - cth) <= 1
            parts.append(f"{label}: wins from n = {ct:.0f} (trained) vs n = {cth:.0f} (theory)")
        else:
            holds = False
            parts.append(f"{label}: crossover trained = {ct}, theory = {cth} (NaN: the in-context successor "
                         f"never wins for n <= {max_count})")
    ev = "; ".join(parts) + "; needs |trained - theory| <= 1"
    claims.append(Claim("with enough in-context evidence the in-context successor beats the global one, "
                        "at the count the theory predicts", holds, ev))
    ape, rel = m.get("len4x_acc_ape", float("nan")), m.get("len4x_acc_rel", float("nan"))
    claims.append(Claim("relative position encoding generalises to 4x longer prompts better than absolute",
                        rel > ape if ok(ape) and ok(rel) else None,
                        f"ICL accuracy at 4T: relative {rel:.3f} vs absolute {ape:.3f}"))
    three = m.get("icl_acc_3layer_nope", float("nan"))
    claims.append(Claim("a three-layer transformer without positional encoding reaches ICL accuracy >= 0.9",
                        three >= 0.9 if ok(three) else None,
                        f"icl_acc_3layer_nope = {three:.3f}" if ok(three) else "not trained in this run"))
    return claims


# ---------------------------------------------------------------------------------------------- pieces


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


def phases(cfg: InductionConfig, vocab: int) -> list[tuple[str, ModelConfig, TrainConfig]]:
    """(name, model config, train config) of every model the run trains, in order."""
    max_len = max(cfg.model.max_len, max(cfg.eval.length_factors) * cfg.data.seq_len)
    base = replace(cfg.model, max_len=max_len)
    out = [("ape", base, cfg.train)]
    if cfg.relative:
        out.append(("rel", replace(base, pos="rel"), cfg.train))
    if cfg.three_layer:
        three = replace(base, pos="none", n_layers=3, train_all_outputs=True)
        out.append(("3layer_nope", three, replace(cfg.train, steps=cfg.three_layer_steps)))
    return out


def train_all(cfg: InductionConfig, data: BigramTriggerData, ctx: RunContext) -> dict[str, Any]:
    """Train every phase, checkpointing as it goes; resumes from ctx.load_checkpoint() when there is one."""
    ckpt = ctx.load_checkpoint() or {}
    finished: dict[str, Any] = dict(ckpt.get("finished", {}))
    models: dict[str, tuple[InductionTransformer, dict[str, list[float]]]] = {}
    for index, (name, mcfg, tcfg) in enumerate(phases(cfg, data.vocab)):
        model = InductionTransformer(data.vocab, replace(mcfg, init_seed=ctx.seed * 100 + index)).to(ctx.device)
        if name in finished:
            model.load_state_dict(finished[name]["model"])
            models[name] = (model, finished[name]["history"])
            ctx.log(f"{name}: restored from checkpoint")
            continue
        gen = torch.Generator().manual_seed(ctx.seed * 1000 + 17 + index)
        opt = make_optimizer(model, tcfg)
        state = TrainState()
        if ckpt.get("phase") == name:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["opt"])
            gen.set_state(ckpt["data_rng"])
            torch.set_rng_state(ckpt["torch_rng"])
            state = TrainState(step=int(ckpt["step"]), loss_sum=float(ckpt["loss_sum"]),
                               history={k: list(v) for k, v in ckpt["history"].items()})
            ctx.log(f"{name}: resuming at step {state.step}")

        def save(st: TrainState, optimizer: torch.optim.Optimizer, name: str = name, model=model,
                 gen: torch.Generator = gen) -> None:
            ctx.save_checkpoint({"finished": finished, "phase": name, "model": model.state_dict(),
                                 "opt": optimizer.state_dict(), "step": st.step, "loss_sum": st.loss_sum,
                                 "history": st.history, "data_rng": gen.get_state(),
                                 "torch_rng": torch.get_rng_state()})

        ctx.log(f"{name}: training {tcfg.steps} steps ({mcfg.n_layers} layers, pos={mcfg.pos})")
        state = train(model, data, tcfg, cfg.data.seq_len, gen, eval_seed=ctx.seed * 1000 + 7, state=state,
                      opt=opt, save=save, progress=lambda it, total, n=name: ctx.progress(it, total, f"train {n}"))
        finished[name] = {"model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                          "history": state.history}
        ctx.save_checkpoint({"finished": finished, "phase": ""})
        ctx.log(f"{name}: final ICL accuracy {state.history['icl_acc'][-1]:.3f}")
        models[name] = (model, state.history)
    return models


@torch.no_grad()
def accuracy_at(model: InductionTransformer, data: BigramTriggerData, length: int, batch: int, seed: int,
                ood: bool = False) -> tuple[float, list[torch.Tensor], Any]:
    b = data.sample(batch, length, torch.Generator().manual_seed(seed), ood=ood).to(model.emb.device)
    logits, maps = model(b.tokens)
    return icl_accuracy(logits, b), maps, b


def centred(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True)


@torch.no_grad()
def designed_prompts(model: InductionTransformer, data: BigramTriggerData, cfg: InductionConfig,
                     seed: int, quantile: float = 0.5, conflicts: bool = True) -> dict[str, Any]:
    """Count sweep and conflict grid: trained vs closed-form logits at the final a (b at `quantile`).

    The theory's memories are read from the trained model without looking at its logits on these prompts:
    a_2, a_3 from its activations on training-distribution sequences, the global table from W_U (I + W_F) w_E.
    """
    ev, length = cfg.eval, cfg.data.seq_len
    gen = torch.Generator().manual_seed(seed)
    probes = choose_probes(data.pi_b, min(ev.n_probes, data.vocab), gen, quantile)
    device = model.emb.device
    calib = data.sample(ev.batch // 4 + 1, length, torch.Generator().manual_seed(seed + 1)).tokens.to(device)
    strengths = effective_strengths(model, calib)
    table = stored_bigram_logits(model)
    counts = list(range(ev.max_count + 1))
    pb = {"trained": np.zeros(len(counts)), "theory": np.zeros(len(counts))}
    pc = {"trained": np.zeros(len(counts)), "theory": np.zeros(len(counts))}
    trained_logits, theory_logits, pi_b_logits, margins = [], [], [], []
    for n in counts:
        for probe in probes:
            for _ in range(ev.n_backgrounds):
                prompt = designed_prompt(data.pi_b, probe, n, 0, length, gen)
                lt = model(prompt[None].to(device))[0][0, -1].double().cpu()
                lth = theoretical_logits(prompt, data.pi_b, strengths, table)
                trained_logits.append(centred(lt))
                theory_logits.append(centred(lth))
                pi_b_logits.append(centred(theoretical_logits(prompt, data.pi_b, strengths)))
                margins.append((float(lt[probe.b] - lt[probe.c]), float(lth[probe.b] - lth[probe.c])))
                for which, logit in (("trained", lt), ("theory", lth)):
                    p = torch.softmax(logit, -1)
                    pb[which][n] += float(p[probe.b])
                    pc[which][n] += float(p[probe.c])
    norm = len(probes) * ev.n_backgrounds
    for d in (pb, pc):
        for k in d:
            d[k] /= norm
    flat_t, flat_th = torch.cat(trained_logits), torch.cat(theory_logits)
    pearson = float(torch.corrcoef(torch.stack([flat_t, flat_th]))[0, 1])
    pearson_pi_b = float(torch.corrcoef(torch.stack([flat_t, torch.cat(pi_b_logits)]))[0, 1])
    margin = np.array(margins)
    margin_r = float(np.corrcoef(margin[:, 0], margin[:, 1])[0, 1])
    conflict = []
    for n1 in range(ev.conflict_max + 1 if conflicts else 0):
        for n2 in range(ev.conflict_max + 1):
            if n1 + n2 == 0:
                continue
            win_t = win_th = 0.0
            for probe in probes:
                prompt = designed_prompt(data.pi_b, probe, n1, n2, length, gen)
                lt = model(prompt[None].to(device))[0][0, -1].cpu()
                lth = theoretical_logits(prompt, data.pi_b, strengths, table)
                win_t += float(lt[probe.b] > lt[probe.b2])
                win_th += float(lth[probe.b] > lth[probe.b2])
            conflict.append((n1, n2, win_t / len(probes), win_th / len(probes)))
    return {"counts": counts, "pb": pb, "pc": pc, "pearson": pearson, "margin_pearson": margin_r,
            "pearson_pi_b": pearson_pi_b, "weight_strengths": read_strengths(model),
            "crossover_trained": crossover(list(pb["trained"]), list(pc["trained"])),
            "crossover_theory": crossover(list(pb["theory"]), list(pc["theory"])),
            "strengths": strengths, "conflict": conflict}


# ---------------------------------------------------------------------------------------------- figures


def figures(ctx: RunContext, models: dict, maps: list[torch.Tensor], sweep: dict[str, dict], lengths: dict,
            seq_len: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, (_, hist) in models.items():
        axes[0].plot(hist["step"], hist["loss"], label=name)
        axes[1].plot(hist["step"], hist["icl_acc"], label=name)
    axes[0].set(xlabel="step", ylabel="training loss", title="loss")
    axes[1].set(xlabel="step", ylabel="ICL accuracy", title="ICL accuracy (held-out batch)", ylim=(0, 1.02))
    axes[1].legend()
    ctx.savefig(fig, "training_curves", "training loss and ICL accuracy of every trained model")

    show = min(32, seq_len)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for i, ax in enumerate(axes):
        ax.imshow(maps[i][0, :show, :show].cpu().numpy(), cmap="viridis")
        ax.set(title=f"layer {i + 1} attention", xlabel="key position s", ylabel="query position t")
    ctx.savefig(fig, "attention_maps", "attention of both layers of the APE model on one sequence")

    fig, axes = plt.subplots(1, len(sweep), figsize=(5.5 * len(sweep), 3.8), squeeze=False)
    for ax, (title, sw) in zip(axes[0], sweep.items(), strict=True):
        n = sw["counts"]
        ax.plot(n, sw["pb"]["trained"], "o-", color="C0", label="P(b) in-context, trained")
        ax.plot(n, sw["pc"]["trained"], "s-", color="C3", label="P(c) global, trained")
        ax.plot(n, sw["pb"]["theory"], "o--", color="C0", alpha=0.6, label="P(b) theory")
        ax.plot(n, sw["pc"]["theory"], "s--", color="C3", alpha=0.6, label="P(c) theory")
        ax.set(xlabel="in-context count n of a -> b", ylabel="probability at the final a", title=title)
        ax.legend(fontsize=8)
    ctx.savefig(fig, "count_sweep", "in-context successor vs global successor as the count grows")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, accs in lengths.items():
        ax.plot(list(accs), list(accs.values()), "o-", label=name)
    ax.set(xlabel="prompt length / training length", ylabel="ICL accuracy", ylim=(0, 1.02))
    ax.legend()
    ctx.savefig(fig, "length_sweep", "ICL accuracy vs prompt length: absolute vs relative encoding")


# ---------------------------------------------------------------------------------------------- run


def run(cfg: InductionConfig, ctx: RunContext) -> Outcome:
    with torch_threads(cfg.threads):
        return _run(cfg, ctx)


def _run(cfg: InductionConfig, ctx: RunContext) -> Outcome:
    data, source = make_data(cfg.data)
    ctx.log(f"bigram prior: {source}; vocab {data.vocab}, T = {cfg.data.seq_len}")
    models = train_all(cfg, data, ctx)
    T, ev, seed = cfg.data.seq_len, cfg.eval, ctx.seed * 1000 + 99
    ape = models["ape"][0]
    m: dict[str, float] = {}
    m["icl_acc"], maps, batch = accuracy_at(ape, data, T, ev.batch, seed)
    m["prev_token_attn"] = previous_token_attention(maps[0])
    m["induction_attn"] = induction_attention(maps[1], batch.tokens)
    if data.heldout.numel():
        m["ood_acc"] = accuracy_at(ape, data, T, ev.batch, seed, ood=True)[0]
    m.update(memory_recall(ape, T))
    m["bigram_kl"] = bigram_kl(ape, data.pi_b)
    m["bigram_memory_pearson"] = stored_bigram_correlation(ape, data.pi_b)

    sweep = designed_prompts(ape, data, cfg, seed + 1)
    m["theory_logit_pearson"] = sweep["pearson"]
    m["theory_margin_pearson"] = sweep["margin_pearson"]
    m["theory_logit_pearson_true_bigram"] = sweep["pearson_pi_b"]
    m["crossover_trained"], m["crossover_theory"] = sweep["crossover_trained"], sweep["crossover_theory"]
    m["strength_match"], m["strength_copy"] = sweep["strengths"].match, sweep["strengths"].copy
    m["weight_strength_match"] = sweep["weight_strengths"].match
    m["weight_strength_copy"] = sweep["weight_strengths"].copy
    rare = designed_prompts(ape, data, cfg, seed + 2, quantile=1.0, conflicts=False)
    m["crossover_trained_rare"], m["crossover_theory_rare"] = rare["crossover_trained"], rare["crossover_theory"]
    m["theory_logit_pearson_rare"] = rare["pearson"]
    conflict_agree = [float(round(t) == round(th)) for _, _, t, th in sweep["conflict"]]
    m["conflict_winner_agreement"] = float(np.mean(conflict_agree)) if conflict_agree else float("nan")

    lengths: dict[str, dict[int, float]] = {}
    for name in ("ape", "rel"):
        if name in models:
            lengths[name] = {f: accuracy_at(models[name][0], data, f * T, max(8, ev.batch // f), seed + f)[0]
                             for f in ev.length_factors}
    m["len4x_acc_ape"] = lengths["ape"][4]
    m["len4x_acc_rel"] = lengths["rel"][4] if "rel" in lengths else float("nan")
    m["icl_acc_3layer_nope"] = (accuracy_at(models["3layer_nope"][0], data, T, ev.batch, seed)[0]
                                if "3layer_nope" in models else float("nan"))
    figures(ctx, models, maps, {"median-probability b": sweep, "rarest b": rare}, lengths, T)

    s, w = sweep["strengths"], sweep["weight_strengths"]
    sections = [
        ("Data and models", f"Bigram prior: {source}. Vocabulary {data.vocab}, training length T = {T}, "
         f"{data.n_triggers} triggers per sequence ({data.trigger_mode}), outputs {data.output_mode}. "
         f"Trained: {', '.join(models)}; d = {cfg.model.d_model}, {cfg.train.steps} steps "
         f"({cfg.train.optimizer}, lr {cfg.train.lr}, batch {cfg.train.batch}, loss on {cfg.train.loss_on})."),
        ("Count sweep (designed prompts)",
         f"Theory strengths measured on the trained model's activations (training-distribution sequences, not "
         f"these prompts): a_2 = {s.match:.2f}, a_3 = {s.copy:.2f}; global term = the stored bigram "
         f"W_U (I + W_F) w_E(a). Read from the weights along the memory directions instead: "
         f"a_2 = {w.match:.2f}, a_3 = {w.copy:.2f}. Pearson r of centred logits, trained vs theory: "
         f"{sweep['pearson']:.3f}; with log pi_b as the global term: {sweep['pearson_pi_b']:.3f}; "
         f"of the margin l_b - l_c: {sweep['margin_pearson']:.3f}.\n\n"
         + md_table(["n", "P(b) trained", "P(b) theory", "P(c) trained", "P(c) theory"],
                    [[n, sweep["pb"]["trained"][n], sweep["pb"]["theory"][n], sweep["pc"]["trained"][n],
                      sweep["pc"]["theory"][n]] for n in sweep["counts"]])),
        ("Count sweep with the rarest successor",
         "Same, with b among the two least likely successors of a (a larger global handicap for b).\n\n"
         + md_table(["n", "P(b) trained", "P(b) theory", "P(c) trained", "P(c) theory"],
                    [[n, rare["pb"]["trained"][n], rare["pb"]["theory"][n], rare["pc"]["trained"][n],
                      rare["pc"]["theory"][n]] for n in rare["counts"]])),
        ("Conflicting successors", "Share of query tokens where b beats b' (a->b n_b times, a->b' n_b' times).\n\n"
         + md_table(["n_b", "n_b'", "trained", "theory"], [list(row) for row in sweep["conflict"]])),
        ("Length generalisation", md_table(["model"] + [f"{f}T" for f in ev.length_factors],
                                           [[k] + list(v.values()) for k, v in lengths.items()])),
    ]
    return Outcome(metrics=m, claims=evaluate_claims(m, ev.max_count), sections=sections)


SMOKE = {
    "data.vocab": 12, "data.seq_len": 16, "data.n_heldout_outputs": 2, "model.d_model": 32,
    "train.steps": 12, "train.batch": 8, "train.eval_every": 4, "train.eval_batch": 16, "train.checkpoint_every": 4,
    "three_layer_steps": 6, "eval.n_probes": 2, "eval.n_backgrounds": 1, "eval.max_count": 3,
    "eval.conflict_max": 1, "eval.batch": 16,
}
FULL = {
    "data.vocab": 64, "data.seq_len": 256, "data.n_triggers": 5, "model.d_model": 256, "train.steps": 10000,
    "train.batch": 512, "train.eval_every": 250, "train.checkpoint_every": 500, "three_layer_steps": 20000,
    "eval.n_probes": 32, "eval.n_backgrounds": 16, "eval.batch": 512, "threads": 2,
}

register(Experiment(
    name="induction",
    paper="2412.11459",
    title="Induction heads vs bigram knowledge in a two-layer transformer (associative memories)",
    config=InductionConfig,
    presets={"smoke": SMOKE, "quick": {}, "full": FULL},
    run=run,
))
