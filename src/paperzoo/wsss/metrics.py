"""Segmentation scores and the artifact measures.

    confusion[t, p] = #pixels with ground truth t and prediction p, pixels with t = 255 skipped
    IoU_c = TP_c / (TP_c + FP_c + FN_c),  mIoU = mean of IoU_c over classes present in the ground truth
    (the VOC protocol: a class absent from every ground truth but predicted still counts FP in others)
    per-image mIoU: the same over the classes present in that image's ground truth or prediction
    artifact rate  = share of ground-truth background pixels whose map value over the image's classes > thr
    far activation = share of activated patches (patch-mean value > thr) whose centre lies more than
                     `far` pixels from every object pixel (activation that is not a blurry border: an artifact)
"""

from __future__ import annotations

import numpy as np

IGNORE = 255


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) pixel counts; gt 255 ignored; pred must be in 0..n-1 where gt is valid."""
    gt, pred = np.asarray(gt).ravel(), np.asarray(pred).ravel()
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred must have the same number of pixels, got {gt.size} and {pred.size}")
    keep = gt != IGNORE
    g, p = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    if g.size and (g.max() >= n or p.max() >= n or p.min() < 0):
        raise ValueError(f"labels must lie in 0..{n - 1} (255 = ignore in gt)")
    return np.bincount(n * g + p, minlength=n * n).reshape(n, n)


def iou_per_class(conf: np.ndarray) -> np.ndarray:
    """IoU of each class (NaN where the class is absent from ground truth and prediction)."""
    tp = np.diag(conf).astype(float)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def miou(conf: np.ndarray) -> float:
    """Mean IoU over the classes present in the ground truth (rows with pixels)."""
    iou = iou_per_class(conf)
    present = conf.sum(1) > 0
    return float(np.nanmean(iou[present])) if present.any() else float("nan")


def image_miou(conf: np.ndarray) -> float:
    """One image's mean IoU over the classes in its ground truth or prediction."""
    iou = iou_per_class(conf)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")


def artifact_rate(value: np.ndarray, gt: np.ndarray, thr: float) -> tuple[int, int]:
    """(false-activated background pixels, background pixels) for one image; value (H, W) = max over its classes."""
    bg = gt == 0
    return int((value[bg] > thr).sum()), int(bg.sum())


def far_activation(value: np.ndarray, gt: np.ndarray, patch: int, thr: float, far: float) -> tuple[int, int]:
    """(activated patches farther than `far` px from any object, activated patches) for one image."""
    from scipy.ndimage import distance_transform_edt

    h, w = value.shape
    gh, gw = h // patch, w // patch
    pooled = value[:gh * patch, :gw * patch].reshape(gh, patch, gw, patch).mean(axis=(1, 3))
    active = pooled > thr
    objects = (gt > 0) & (gt != IGNORE)
    if not objects.any():
        return int(active.sum()), int(active.sum())
    dist = distance_transform_edt(~objects)
    centres = dist[patch // 2::patch, patch // 2::patch][:gh, :gw]
    return int((active & (centres > far)).sum()), int(active.sum())
