"""Localisation maps and pseudo-labels: multi-scale CAM / aux-CAM / LAM, thresholds, PAR-refined labels.

    map_s  = max(M(x_s), flip(M(flip(x_s))))  upsampled to the input size     (flip-max at each scale s)
    CAM    = minmax(sum_s relu(cam_s)),  LAM = minmax(sum_s lam_s)             minmax per image and class:
    minmax(m) = (m - min m) / (max(m - min m) + 1e-5)
    pseudo-label (ignore_mid): argmax_k y_k·map_k + 1 where its value > high, 0 where <= low, 255 between;
                 (plain): 0 where the value <= bkg
    PAR-refined label (authors' refine_cams_with_bkg_v2): at half resolution, softmax over [bkg; present maps]
    with a constant background score (high, then low), PAR, argmax; a pixel keeps the `high` run's class where
    that is foreground, is background only where both runs say so, and 255 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .refine import PAR

IGNORE = 255


def minmax(m: Tensor) -> Tensor:
    """Per (image, class) shift to min 0 and scale to max ~1 (B, K, H, W)."""
    m = m - m.amin(dim=(-2, -1), keepdim=True)
    return m / (m.amax(dim=(-2, -1), keepdim=True) + 1e-5)


@torch.no_grad()
def multi_scale_maps(model, x: Tensor, scales: Sequence[float] = (1.0,)) -> dict[str, Tensor]:
    """{'cam', 'cam_aux', 'lam'} (B, K, H, W) in [0, 1] at the input size, and 'seg' logits summed over scales."""
    h, w = x.shape[-2:]
    b = x.shape[0]
    sums: dict[str, Tensor] = {}
    for s in scales:
        xs = x if s == 1.0 else F.interpolate(x, size=(int(s * h), int(s * w)), mode="bilinear", align_corners=False)
        outs = model.maps(torch.cat([xs, xs.flip(-1)], dim=0))
        for name, m in zip(("cam", "cam_aux", "lam", "seg"), outs, strict=True):
            m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
            m = torch.maximum(m[:b], m[b:].flip(-1)) if name != "seg" else (m[:b] + m[b:].flip(-1)) / 2
            if name in ("cam", "cam_aux"):
                m = F.relu(m)
            sums[name] = sums[name] + m if name in sums else m
    return {k: (minmax(v) if k != "seg" else v / len(scales)) for k, v in sums.items()}


def cam_to_label(cam: Tensor, labels: Tensor, bkg: float = 0.5, high: float | None = None,
                 low: float | None = None) -> Tensor:
    """(B, H, W) pseudo-label from normalised maps (B, K, H, W) of the present classes (see module docstring)."""
    valid = cam * labels[:, :, None, None]
    value, idx = valid.max(dim=1)
    out = idx + 1
    if high is not None and low is not None:
        out[value <= high] = IGNORE
        out[value <= low] = 0
    else:
        out[value <= bkg] = 0
    return out


def resize_maps(maps: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)


@torch.no_grad()
def refined_label(par: PAR, images: Tensor, cams: Tensor, labels: Tensor, high: float = 0.7, low: float = 0.25,
                  down: int = 2) -> Tensor:
    """PAR-refined pseudo-label (B, H, W) from images (B, 3, H, W) in 0..255 and normalised maps (B, K, H, W)."""
    b, _, h, w = images.shape
    small = (max(1, h // down), max(1, w // down))
    img = F.interpolate(images, size=small, mode="bilinear", align_corners=False)
    keep = torch.cat([torch.ones_like(labels[:, :1]), labels], dim=1) > 0  # background always allowed
    valid = cams * labels[:, :, None, None]

    aff = par.affinity(img)
    k1 = labels.shape[1] + 1

    def probs(bkg: float) -> Tensor:
        scores = torch.cat([torch.full_like(valid[:, :1], bkg), valid], dim=1)
        scores = F.interpolate(scores, size=small, mode="bilinear", align_corners=False)
        return scores.masked_fill(~keep[:, :, None, None], float("-inf")).softmax(dim=1)

    both = par.propagate(aff, torch.cat([probs(high), probs(low)], dim=1))  # one pass refines both runs
    both = F.interpolate(both, size=(h, w), mode="bilinear", align_corners=False)
    lab_h, lab_l = (m.masked_fill(~keep[:, :, None, None], float("-inf")).argmax(dim=1)
                    for m in (both[:, :k1], both[:, k1:]))
    out = lab_h.clone()
    out[lab_h == 0] = IGNORE
    out[(lab_h + lab_l) == 0] = 0
    return out
