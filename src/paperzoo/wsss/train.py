"""Single-stage training of one method (MoRe's recipe) and its data-parallel form.

Per step, on the global batch (same on every rank; each rank takes its slice):

    maps   = multi-scale CAM, aux-CAM, LAM without gradient (maps.py)
    L      = L_cls + L_aux + w_tok L_tok + L_distinct + w_ptc L_ptc + method regularisers (0.2 L_CLE + 0.1 L_UNE)
             + [step >= seg_start] (w_seg L_seg + w_energy L_energy)
    masks  : L_ptc from aux-CAM at (high, low); L_CLE from aux-CAM at (cle_high, low) and L_UNE from aux-CAM at
             (high, low) until `mask_switch`, then both from the final CAM at (late_high, late_low);
             L_seg / L_energy from the PAR-refined labels of the method's own localisation map
    optim  : AdamW, backbone lr and heads lr · head_lr_mult, linear warm-up then poly decay

L_tok (multi-label loss on max_j LAM_kj / sqrt(d): the class tokens as image-dependent classifiers) is our
addition for training from scratch, where no pretrained alignment ties class tokens to patches; set
`loss.w_token=0` for the authors' recipe. Losses reduce through `Reduce`, so W processes give the gradient of
the whole global batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from paperzoo.core import param
from paperzoo.core.distributed import Distributed
from paperzoo.core.schedules import warmup_decay

from .losses import Reduce, affinity_label, distinct_loss, multilabel_loss, ptc_loss, seg_loss
from .maps import cam_to_label, multi_scale_maps, refined_label, resize_maps
from .methods import Method
from .model import MultiTokenViT, ViTConfig, normalise
from .refine import PAR, dense_energy_loss


@dataclass
class TrainConfig:
    steps: int = param(200, ge=1, doc="optimiser steps per method (authors: 20000)")
    batch_size: int = param(8, ge=1, doc="images per step, global over all processes (authors: 4 per GPU)")
    lr: float = param(1e-3, gt=0, doc="AdamW learning rate of the backbone (authors, pretrained: 6e-5)")
    head_lr_mult: float = param(10.0, gt=0, doc="heads, GCR and decoder learn this many times faster")
    weight_decay: float = param(0.01, ge=0, doc="AdamW weight decay")
    warmup_steps: int = param(20, ge=0, doc="linear learning-rate warm-up steps")
    power: float = param(0.9, ge=0, doc="poly decay power after the warm-up")
    clip_norm: float = param(1.0, ge=0, doc="gradient-norm clip; 0 = off")
    cam_scales: tuple[float, ...] = param((1.0,), gt=0, nonempty=True,
                                          doc="scales of the no-grad CAM/LAM passes (authors: 1, 0.5, 0.75, 1.5)")
    seg_start: float = param(0.1, ge=0, le=1, doc="share of steps before L_seg and L_energy join (authors 2k/20k)")
    mask_switch: float = param(0.5, ge=0, le=1, doc="share of steps after which LIR masks come from the final "
                                                    "CAM (authors 10k/20k)")
    flip: bool = param(True, doc="random horizontal flips")


@dataclass
class LossConfig:
    w_token: float = param(1.0, ge=0, doc="class-token multi-label loss (ours, for training from scratch; 0 = authors)")
    w_distinct: float = param(1.0, ge=0, doc="class-token distinctness loss")
    w_ptc: float = param(0.3, ge=0, doc="ToCo patch-token contrast")
    w_cle: float = param(0.2, ge=0, doc="L_CLE weight")
    w_une: float = param(0.1, ge=0, doc="L_UNE weight")
    w_seg: float = param(0.12, ge=0, doc="segmentation CE weight")
    w_energy: float = param(0.05, ge=0, doc="dense energy loss weight (on top of its 1e-7 scale)")
    energy_scale_factor: float = param(1e-7, ge=0, doc="the energy loss's own scale (authors: 1e-7 at 448 px)")
    cle_temp: float = param(0.5, gt=0, doc="L_CLE temperature")
    une_window: int = param(6, ge=1, doc="L_UNE window (patches)")
    une_select: int = param(8, ge=1, doc="uncertain tokens drawn per image")
    une_threshold: float = param(1.2, ge=0, le=2, doc="window mean of the region code for a candidate")
    une_anchor: Literal["corner", "centre"] = param("corner", doc="token of a candidate window: the authors' corner "
                                                                  "or its centre")
    high: float = param(0.7, gt=0, lt=1, doc="CAM foreground threshold")
    low: float = param(0.25, gt=0, lt=1, doc="CAM background threshold")
    cle_high: float = param(0.5, gt=0, lt=1, doc="foreground threshold of the early L_CLE masks")
    late_high: float = param(0.6, gt=0, lt=1, doc="foreground threshold of the late LIR masks (final CAM)")
    late_low: float = param(0.35, gt=0, lt=1, doc="background threshold of the late LIR masks")
    energy_sigma_rgb: float = param(15.0, gt=0, doc="energy kernel colour bandwidth")
    energy_sigma_xy: float = param(100.0, gt=0, doc="energy kernel spatial bandwidth, px (authors: 100 at 448 px)")
    energy_scale: float = param(0.5, gt=0, le=1, doc="resolution of the energy loss relative to the input")
    par_iters: int = param(10, ge=1, doc="PAR iterations")
    par_dilations: tuple[int, ...] = param((1, 2, 4, 8, 12, 24), ge=1, nonempty=True, doc="PAR dilations")


@dataclass
class History:
    steps: list[int] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: int, values: dict[str, float]) -> None:
        self.steps.append(step)
        for k, v in values.items():
            self.terms.setdefault(k, []).append(v)


def make_optimizer(model: MultiTokenViT, cfg: TrainConfig) -> torch.optim.Optimizer:
    heads = {id(p) for p in model.head_parameters()}
    backbone = [p for p in model.parameters() if id(p) not in heads]
    return torch.optim.AdamW([{"params": backbone, "lr": cfg.lr, "base": cfg.lr},
                              {"params": model.head_parameters(), "lr": cfg.lr * cfg.head_lr_mult,
                               "base": cfg.lr * cfg.head_lr_mult}], weight_decay=cfg.weight_decay)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    return warmup_decay(cfg.steps, cfg.warmup_steps, "poly", power=cfg.power)(step)


def patch_masks(maps: dict[str, torch.Tensor], labels: torch.Tensor, grid: tuple[int, int], late: bool,
                loss: LossConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Patch-level pseudo-labels for L_ptc, L_CLE and L_UNE (the authors' sources and thresholds)."""
    aux, cam = resize_maps(maps["cam_aux"], grid), resize_maps(maps["cam"], grid)
    ptc = cam_to_label(aux, labels, high=loss.high, low=loss.low)
    if late:
        late_mask = cam_to_label(cam, labels, high=loss.late_high, low=loss.late_low)
        return ptc, late_mask, late_mask
    return ptc, cam_to_label(aux, labels, high=loss.cle_high, low=loss.low), ptc


def train_method(method: Method, data, model_cfg: ViTConfig, cfg: TrainConfig, loss: LossConfig, *,
                 dist: Distributed, seed: int, progress: Callable = lambda it, **_: it,
                 log: Callable[[str], None] = lambda _m: None, device: str = "cpu",
                 init: Callable[[MultiTokenViT], None] | None = None) -> tuple[MultiTokenViT, History]:
    """Train one method's model on `data` (`.batch(idx)` -> images, masks, labels; masks are not used).

    `init(model)` may load pretrained weights before training (every rank loads the same file).
    """
    torch.manual_seed(seed)
    model = MultiTokenViT(replace(model_cfg, gcr=method.gcr))
    if init is not None:
        init(model)
    model = model.to(device)
    net = dist.wrap(model)
    opt = make_optimizer(model, cfg)
    par = PAR(tuple(loss.par_dilations), loss.par_iters)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    grid = (model.grid, model.grid)
    m = loss.une_window // 2
    history = History()
    for step in progress(range(cfg.steps), total=cfg.steps, desc=f"train {method.name}"):
        idx = rng.choice(len(data), size=min(cfg.batch_size, len(data)), replace=False)
        flips = rng.random(len(idx)) < 0.5 if cfg.flip else np.zeros(len(idx), bool)
        priority = torch.rand(len(idx), grid[0] - 2 * m, grid[1] - 2 * m, generator=gen) if grid[0] > 2 * m else None
        local, scale = dist.local_batch(np.arange(len(idx)))
        images, _, labels = data.batch(idx[local])
        raw = torch.as_tensor(images).permute(0, 3, 1, 2).float()
        raw = torch.where(torch.as_tensor(flips[local])[:, None, None, None], raw.flip(-1), raw).to(device)
        labels = torch.as_tensor(labels, device=device)
        x = normalise(raw)
        red = Reduce(dist, len(idx), active=scale > 0)
        maps = multi_scale_maps(model, x, cfg.cam_scales)
        out = net(x)
        ptc_mask, cle_mask, une_mask = patch_masks(maps, labels, grid, step >= cfg.mask_switch * cfg.steps, loss)
        terms = {"cls": multilabel_loss(out.logits, labels, red), "aux": multilabel_loss(out.logits_aux, labels, red),
                 "token": loss.w_token * multilabel_loss(out.token_logits, labels, red),
                 "distinct": loss.w_distinct * distinct_loss(out.cls_tokens, red=red),
                 "ptc": loss.w_ptc * ptc_loss(out.patches, affinity_label(ptc_mask), red)}
        prio = priority[local].to(device) if priority is not None else None
        terms.update(method.regularisers(out, cle_mask, une_mask, labels, prio, loss, red))
        seg = F.interpolate(out.seg, size=raw.shape[-2:], mode="bilinear", align_corners=False)
        if step >= cfg.seg_start * cfg.steps:
            pseudo = refined_label(par, raw, method.localisation(maps), labels, loss.high, loss.low)
            terms["seg"] = loss.w_seg * seg_loss(seg, pseudo, red)
            energy = dense_energy_loss(raw, seg, pseudo, loss.energy_sigma_rgb, loss.energy_sigma_xy, loss.energy_scale)
            terms["energy"] = loss.w_energy * loss.energy_scale_factor * red.mean(energy)
        else:
            terms["seg"] = seg.sum() * 0  # every parameter takes part in every backward (DDP)
            terms["energy"] = terms["seg"]
        total = sum(terms.values())
        for group in opt.param_groups:
            group["lr"] = group["base"] * lr_factor(step, cfg)
        opt.zero_grad(set_to_none=True)
        total.backward()
        if cfg.clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
        opt.step()
        history.add(step, {"total": float(total.detach()), **{k: float(v.detach()) for k, v in terms.items()}})
        if step % max(1, cfg.steps // 5) == 0 or step == cfg.steps - 1:
            log(f"{method.name} step {step + 1}/{cfg.steps}: loss {history.terms['total'][-1]:.4f} "
                f"(cls {history.terms['cls'][-1]:.3f})")
    history.terms = _mean_over_ranks(dist, history.terms)
    model.eval()
    return model, history


def _mean_over_ranks(dist: Distributed, terms: dict[str, list[float]]) -> dict[str, list[float]]:
    """Each rank's loss values hold its share of the global loss; their mean over ranks is the global loss."""
    if not dist.enabled:
        return terms
    parts = dist.all_gather(terms)
    return {k: [float(np.mean([p[k][i] for p in parts])) for i in range(len(v))] for k, v in terms.items()}
