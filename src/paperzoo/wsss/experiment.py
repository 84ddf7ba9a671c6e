"""Experiment `wsss`: CAM vs LAM vs LAM + GCR / LIR / MoRe on scenes with real artifacts (or VOC / COCO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.core.metrics import near_chance, seed_summary

from . import metrics as SM
from .claims import ClaimsConfig, evaluate_claims
from .data import DataConfig, load_data
from .evaluate import EvalConfig, example_maps, pseudo_scores, seg_scores
from .figures import draw_figures
from .methods import METHODS, Method
from .model import ViTConfig
from .report import record_tables, report_sections
from .train import LossConfig, TrainConfig, train_method
from .weights import load_vit_weights, save_model

METHOD_ORDER = ("cam", "lam", "lam_gcr", "lam_lir", "lam_more")


@dataclass
class ModelSection:
    patch: int = param(8, ge=1, doc="patch size, px (authors: 16)")
    dim: int = param(64, ge=8, doc="token width (ViT-B: 768)")
    depth: int = param(4, ge=2, doc="transformer blocks (ViT-B: 12)")
    heads: int = param(4, ge=1, doc="attention heads (ViT-B: 12)")
    mlp_ratio: float = param(4.0, gt=0, doc="MLP hidden width / token width")
    extra_tokens: int = param(4, ge=0, doc="extra tokens that only take part in attention (authors: 4)")
    aux_layer: int = param(-3, doc="block whose patch tokens feed the auxiliary classifier")
    gcr_ratio: float = param(0.5, gt=0, le=1, doc="GCR keeps the top floor(ratio·K) neighbours per class")
    decoder_dim: int = param(64, ge=1, doc="LargeFOV hidden channels (authors: 512)")
    decoder_dilation: int = param(2, ge=1, doc="LargeFOV dilation (authors: 5)")
    weights: str | None = param(None, path="file", doc="safetensors ViT weights (timm names) to start from")


@dataclass
class WsssConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    methods: list[str] = param(list(METHOD_ORDER), choices=METHOD_ORDER, nonempty=True, doc="methods to train")
    seeds: list[int] = param([0], ge=0, nonempty=True, doc="training seeds, each added to --seed; claims compare "
                             "methods over them")
    save_models: bool = param(True, doc="write each trained model as models/<method>-seed<s>.safetensors")
    threads: int = param(1, ge=0, doc="torch intra-op threads (0 = torch's default)")

    def __post_init__(self) -> None:
        grid, m = self.data.size // self.model.patch, self.loss.une_window // 2
        if self.data.size % self.model.patch:
            raise ValueError(f"data.size ({self.data.size}) must be a multiple of model.patch ({self.model.patch})")
        if self.model.dim % self.model.heads:
            raise ValueError(f"model.dim ({self.model.dim}) must be divisible by model.heads ({self.model.heads})")
        if any(type(METHODS[n]).regularisers is not Method.regularisers for n in self.methods) and grid <= 2 * m:
            raise ValueError(f"loss.une_window={self.loss.une_window} needs a patch grid larger than {2 * m}; "
                             f"data.size / model.patch = {grid}: lower loss.une_window or model.patch")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods lists a method twice: {self.methods}")


def vit_config(cfg: WsssConfig, n_classes: int) -> ViTConfig:
    s = cfg.model
    return ViTConfig(image_size=cfg.data.size, patch=s.patch, dim=s.dim, depth=s.depth, heads=s.heads,
                     mlp_ratio=s.mlp_ratio, n_classes=n_classes, extra_tokens=s.extra_tokens, aux_layer=s.aux_layer,
                     gcr_ratio=s.gcr_ratio, decoder_dim=s.decoder_dim, decoder_dilation=s.decoder_dilation)


def run_method(name: str, seed: int, cfg: WsssConfig, train, val, ctx: RunContext) -> dict[str, Any]:
    """Train one method with one seed and evaluate it: per-image results as tensors (checkpoint-friendly)."""
    method, mcfg = METHODS[name], vit_config(cfg, len(train.class_names))
    init = (lambda model: load_vit_weights(model, cfg.model.weights)) if cfg.model.weights else None
    model, hist = train_method(method, train, mcfg, cfg.train, cfg.loss, dist=ctx.dist, seed=seed * 1000 + 17,
                               progress=ctx.progress, log=ctx.log, device=ctx.device, init=init)
    ps = pseudo_scores(model, method, train, cfg.eval, ctx.dist, ctx.device, ctx.progress)
    seg, crf, cls = seg_scores(model, val, cfg.eval, ctx.dist, ctx.device, ctx.progress)
    if cfg.save_models and ctx.writer:
        save_model(model, ctx.out / "models" / f"{name}-seed{seed}.safetensors", {"method": name, "seed": str(seed)})
    ex = example_maps(model, method, val, cfg.eval.n_show, ctx.device)
    t = torch.as_tensor
    return {"pseudo": t(np.stack(ps.conf)), "artifact": t(np.array(ps.artifact)), "far": t(np.array(ps.far)),
            "seg": t(np.stack(seg)), "crf": t(np.stack(crf)), "cls": t(cls), "steps": hist.steps,
            "terms": hist.terms, **{f"ex_{k}": t(v) for k, v in ex.items()}}


def train_and_evaluate(cfg: WsssConfig, train, val, ctx: RunContext) -> dict[tuple[str, int], dict[str, Any]]:
    """Every (method, seed), checkpointed after each so that `--resume` continues with the next."""
    done = (ctx.load_checkpoint() or {}).get("done", {})
    out = {}
    for seed in cfg.seeds:
        for name in cfg.methods:
            key = f"{name}@{seed}"
            if key in done:
                ctx.log(f"{key}: restored from checkpoint")
            else:
                ctx.log(f"{key}: training {cfg.train.steps} steps ({METHODS[name].label})")
                done[key] = run_method(name, seed, cfg, train, val, ctx)
                ctx.save_checkpoint({"done": done})
            out[(name, seed)] = done[key]
    return out


def method_scores(r: dict[str, Any], val_labels: np.ndarray,
                  n_patch: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Headline numbers of one (method, seed) and the per-image scores the claims bootstrap over (far
    activation per image: far-activated patches / the `n_patch` patches of an image)."""
    pseudo, seg, crf = (r[k].numpy() for k in ("pseudo", "seg", "crf"))
    art, far, cls = r["artifact"].numpy(), r["far"].numpy(), r["cls"].numpy()
    tp, tn = ((cls == 1) & (val_labels == 1)).sum(), ((cls == 0) & (val_labels == 0)).sum()
    balanced = 0.5 * (tp / max(1, (val_labels == 1).sum()) + tn / max(1, (val_labels == 0).sum()))
    head = {"pseudo_miou": SM.miou(pseudo.sum(0)), "seg_miou": SM.miou(seg.sum(0)),
            "seg_miou_crf": SM.miou(crf.sum(0)), "artifact_rate": art[:, 0].sum() / max(1, art[:, 1].sum()),
            "far_activation": far[:, 0].sum() / max(1, far[:, 1].sum()), "cls_bal_acc": float(balanced)}
    per_image = {"pseudo_miou": np.array([SM.image_miou(c) for c in pseudo]),
                 "seg_miou": np.array([SM.image_miou(c) for c in seg]),
                 "artifact_rate": art[:, 0] / np.maximum(1, art[:, 1]), "far_activation": far[:, 0] / n_patch}
    return head, per_image


def summarise(results, cfg: WsssConfig, class_names, val_labels) -> tuple[dict[str, float], dict]:
    """Flat metrics (mean over seeds, with _std/_lo/_hi when several) and the evidence for the claims."""
    m: dict[str, float] = {}
    per_seed: dict[str, dict[str, list[float]]] = {}
    per_image: dict[str, dict[str, np.ndarray]] = {}
    for name in cfg.methods:
        for seed in cfg.seeds:
            r = results[(name, seed)]
            head, images = method_scores(r, val_labels, (cfg.data.size // cfg.model.patch) ** 2)
            for k, v in head.items():
                per_seed.setdefault(k, {}).setdefault(name, []).append(float(v))
            for split, key in (("pseudo", "pseudo_iou"), ("seg", "seg_iou")):
                for c, iou in enumerate(SM.iou_per_class(r[split].numpy().sum(0))):
                    cname = "background" if c == 0 else class_names[c - 1]
                    per_seed.setdefault(f"{key}.{cname}", {}).setdefault(name, []).append(float(iou))
            if seed == cfg.seeds[0]:
                per_image[name] = images
    for key, by_method in per_seed.items():
        for name, values in by_method.items():
            s = seed_summary(values)
            m[f"{key}.{name}"] = s.mean
            if len(values) > 1:
                m[f"{key}_std.{name}"], m[f"{key}_lo.{name}"], m[f"{key}_hi.{name}"] = s.std, s.lo, s.hi
    return m, {"seeds": per_seed, "images": per_image}


def warn_near_chance(ctx: RunContext, m: dict[str, float], cfg: WsssConfig, n_decisions: int) -> None:
    for name in cfg.methods:
        acc = m.get(f"cls_bal_acc.{name}", float("nan"))
        if near_chance(acc, 2, n_decisions):
            ctx.warn(f"{name}: balanced multi-label accuracy {acc:.3f} on {n_decisions} image-class decisions is "
                     "not distinguishable from chance (0.5); its maps localise noise")


def run(cfg: WsssConfig, ctx: RunContext) -> Outcome:
    train, val = load_data(cfg.data, ctx.log)
    val_labels = val.batch(np.arange(len(val)))[2]
    results = train_and_evaluate(cfg, train, val, ctx)
    m, evidence = summarise(results, cfg, train.class_names, val_labels)
    m["n_train"], m["n_val"] = float(len(train)), float(len(val))
    warn_near_chance(ctx, m, cfg, val_labels.size)
    record_tables(ctx, results, m, cfg, train.class_names)
    draw_figures(ctx, results, val, cfg, m)
    claims = evaluate_claims(m, evidence, cfg)
    return Outcome(metrics=m, claims=claims, sections=report_sections(ctx, m, cfg, train, val))


SMOKE = {
    "data.n_train": 16, "data.n_val": 8, "data.size": 48, "model.dim": 32, "model.depth": 3, "model.heads": 2,
    "model.decoder_dim": 16, "train.steps": 4, "train.batch_size": 4, "train.warmup_steps": 1,
    "train.seg_start": 0.5, "loss.une_window": 2, "loss.par_iters": 2, "loss.par_dilations": "[1, 2]",
    "loss.energy_scale": 0.25, "eval.crf_iters": 1, "eval.n_show": 2, "eval.batch_size": 8, "eval.far_px": 8.0,
}
QUICK = {
    "train.steps": 170,  # budget: 200 steps cost ~330 CPU s; the losses fall slowly after ~140 steps
    "loss.par_dilations": "[1, 2, 4]", "loss.energy_scale": 0.25, "loss.energy_sigma_xy": 15.0, "loss.une_window": 4,
    "eval.far_px": 8.0,
}
FULL = {
    "data.source": "voc", "data.size": 448, "model.patch": 16, "model.dim": 768, "model.depth": 12, "model.heads": 12,
    "model.decoder_dim": 512, "model.decoder_dilation": 5, "train.steps": 20000, "train.batch_size": 4,
    "train.lr": 6e-5, "train.warmup_steps": 1500, "train.cam_scales": "[1.0, 0.5, 0.75, 1.5]", "loss.w_token": 0.0,
    "eval.far_px": 32.0, "eval.batch_size": 8, "eval.crf_iters": 10, "seeds": "[0, 1, 2]", "threads": 0,
}

register(Experiment(
    name="wsss", paper="2412.11076",
    title="MoRe: class-patch attention regularisation for weakly supervised semantic segmentation",
    config=WsssConfig, run=run, presets={"smoke": SMOKE, "quick": QUICK, "full": FULL},
))
