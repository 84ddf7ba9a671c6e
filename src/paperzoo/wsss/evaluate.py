"""Evaluation of a trained method: pseudo-labels on the training images, segmentation on the validation images.

Pseudo-labels use the ground-truth image labels and the background threshold `bkg` (0.5, the authors' LAM
evaluation), no refinement: they score the localisation map itself. Segmentation is the head's argmax, and
also after the CRF-like post-processing. Images are split over the processes and per-image results gathered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from paperzoo.core import param
from paperzoo.core.distributed import Distributed

from . import metrics as SM
from .maps import cam_to_label, multi_scale_maps
from .methods import Method
from .model import normalise
from .refine import LocalCRF


@dataclass
class EvalConfig:
    bkg: float = param(0.5, gt=0, lt=1, doc="background threshold of the evaluated pseudo-labels")
    scales: tuple[float, ...] = param((1.0,), gt=0, nonempty=True, doc="multi-scale inference (authors: 1 only "
                                                                       "for LAM, 1/0.5/0.75/1.5 for CAM)")
    batch_size: int = param(32, ge=1, doc="images per inference batch (per process)")
    artifact_thr: float = param(0.5, gt=0, lt=1, doc="map value above which a pixel/patch counts as activated")
    far_px: float = param(12.0, ge=0, doc="an activated patch farther than this (px) from every object is an "
                                          "artifact")
    crf: bool = param(True, doc="also score the segmentation after the CRF-like post-processing")
    crf_iters: int = param(5, ge=1, doc="mean-field iterations of the post-processing")
    n_show: int = param(6, ge=0, doc="validation images drawn in the side-by-side figure")


@dataclass
class ImageScores:
    """Per-image results of one split (lists in image order)."""

    conf: list[np.ndarray]
    artifact: list[tuple[int, int]]
    far: list[tuple[int, int]]


def _batches(n: int, size: int, dist: Distributed) -> list[list[int]]:
    mine = dist.shard(n)
    return [mine[i:i + size] for i in range(0, len(mine), size)]


@torch.no_grad()
def pseudo_scores(model, method: Method, data, cfg: EvalConfig, dist: Distributed, device: str,
                  progress: Callable = lambda it, **_: it) -> ImageScores:
    """Pseudo-label confusion, background false activation and far activation of every training image."""
    k1 = model.cfg.n_classes + 1
    local: list[tuple[np.ndarray, tuple[int, int], tuple[int, int]]] = []
    for chunk in progress(_batches(len(data), cfg.batch_size, dist), desc=f"pseudo-labels {method.name}"):
        images, masks, labels = data.batch(chunk)
        x = normalise(torch.as_tensor(images).to(device))
        lab = torch.as_tensor(labels, device=device)
        loc = method.localisation(multi_scale_maps(model, x, cfg.scales))
        pred = cam_to_label(loc, lab, bkg=cfg.bkg).cpu().numpy()
        value = (loc * lab[:, :, None, None]).amax(dim=1).cpu().numpy()
        for i in range(len(chunk)):
            local.append((SM.confusion_matrix(masks[i], pred[i], k1),
                          SM.artifact_rate(value[i], masks[i], cfg.artifact_thr),
                          SM.far_activation(value[i], masks[i], model.cfg.patch, cfg.artifact_thr, cfg.far_px)))
    rows = dist.gather_shards(local, len(data))
    return ImageScores([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


@torch.no_grad()
def seg_scores(model, data, cfg: EvalConfig, dist: Distributed, device: str,
               progress: Callable = lambda it, **_: it) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per-image segmentation confusion of the head (argmax) and after the CRF-like post-processing, and the
    classifier's multi-label predictions (n, K) (logit > 0)."""
    k1 = model.cfg.n_classes + 1
    crf = LocalCRF(iters=cfg.crf_iters, radius=3)
    local = []
    for chunk in progress(_batches(len(data), cfg.batch_size, dist), desc="segmentation"):
        images, masks, _ = data.batch(chunk)
        raw = torch.as_tensor(images).to(device).permute(0, 3, 1, 2).float()
        x = normalise(raw)
        seg = multi_scale_maps(model, x, cfg.scales)["seg"]
        cls = (model(x).logits > 0).long().cpu().numpy()
        prob = F.interpolate(seg, size=raw.shape[-2:], mode="bilinear", align_corners=False).softmax(dim=1)
        pred = prob.argmax(dim=1).cpu().numpy()
        pred_crf = crf(raw, prob).argmax(dim=1).cpu().numpy() if cfg.crf else pred
        for i in range(len(chunk)):
            local.append((SM.confusion_matrix(masks[i], pred[i], k1), SM.confusion_matrix(masks[i], pred_crf[i], k1),
                          cls[i]))
    rows = dist.gather_shards(local, len(data))
    return [r[0] for r in rows], [r[1] for r in rows], np.stack([r[2] for r in rows])


@torch.no_grad()
def example_maps(model, method: Method, data, n: int, device: str) -> dict[str, np.ndarray]:
    """Localisation (max over the image's classes) and segmentation of the first n images, for figures."""
    if n == 0:
        return {}
    images, _, labels = data.batch(np.arange(min(n, len(data))))
    raw = torch.as_tensor(images).to(device).permute(0, 3, 1, 2).float()
    maps = multi_scale_maps(model, normalise(raw), (1.0,))
    lab = torch.as_tensor(labels, device=device)
    loc = (method.localisation(maps) * lab[:, :, None, None]).amax(dim=1)
    seg = F.interpolate(maps["seg"], size=raw.shape[-2:], mode="bilinear", align_corners=False).argmax(dim=1)
    return {"map": loc.cpu().numpy(), "seg": seg.cpu().numpy()}
