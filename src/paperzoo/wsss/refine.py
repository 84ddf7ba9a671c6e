"""Pure-PyTorch refinement: pixel-adaptive refinement (PAR), the dense energy loss, and a CRF-like mean field.

All three are batched over images and run on any device; the authors' versions need C/CUDA extensions
(bilateral filter, pydensecrf) except PAR.

PAR (ToCo / MoRe). For each pixel i and neighbour n in the 8-neighbourhoods at dilations D (replicate border):

    a_in  = -mean_ch( |I_i - I_n| / (std_n(I_n) + 1e-8) / w1 )²            image affinity
    q_n   = -( |o_n| / std_n(|o|) / w1 )²                                   |o_n| = d or d√2 (offset length)
    A_in  = softmax_n(a_in) + w2 softmax_n(q_n)                             w1 = 0.3, w2 = 0.01
    M_i  <- sum_n A_in M_n     (repeated `iters` times; masks first resized to the image, align_corners)

Dense energy loss (Tang et al., used by ToCo/MoRe on the segmentation head), for soft segmentation S (B, K, N):

    W_ij  = exp(-|p_i - p_j|² / 2σ_xy² - |I_i - I_j|² / 2σ_rgb²)           at a reduced scale
    G_i   = max(0, ROI_i - max_k S_ki), G_i = 1 where the pseudo-label is 255
    E     = -(1/B) sum_b sum_k sum_i S_ki G_i sum_j W_ij S_kj,   dE/dS = -(2/B) G ⊙ (W S) ⊙ ROI  (the authors' gradient)

CRF-like post-processing: mean-field inference of a CRF with Potts compatibility and Gaussian + bilateral
kernels restricted to a (2r+1)² window (ConvCRF's approximation of the dense CRF):

    Q <- softmax_l( log P_il + sum_{j in win(i), j != i} (w_g k_g(i,j) + w_b k_b(i,j)) Q_jl )
    k_g = exp(-|p_i - p_j|² / 2θ_g²),  k_b = exp(-|p_i - p_j|² / 2θ_a² - |I_i - I_j|² / 2θ_b²)

Shapes: images (B, 3, H, W) float (0..255 or normalised, PAR is scale-free), masks/probs (B, K, h, w).
`par_loop` and `crf_loop` are straightforward per-pixel references (tests, benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def offsets(dilations: tuple[int, ...]) -> list[tuple[int, int]]:
    """The 8 neighbour offsets (dy, dx) at each dilation, in a fixed order."""
    ring = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    return [(dy * d, dx * d) for d in dilations for dy, dx in ring]


def _neighbours(x: Tensor, offs: list[tuple[int, int]]) -> Tensor:
    """(B, C, H, W) -> (B, C, n, H, W): x at i + offset, with replicate padding (clamped indices)."""
    pad = max(max(abs(dy), abs(dx)) for dy, dx in offs)
    h, w = x.shape[-2:]
    xp = F.pad(x, [pad] * 4, mode="replicate")
    return torch.stack([xp[..., pad + dy:pad + dy + h, pad + dx:pad + dx + w] for dy, dx in offs], dim=2)


@dataclass
class PAR:
    """Pixel-adaptive refinement of class maps by local image affinities (see module docstring)."""

    dilations: tuple[int, ...] = (1, 2, 4, 8, 12, 24)
    iters: int = 10
    w1: float = 0.3
    w2: float = 0.01

    def affinity(self, images: Tensor) -> Tensor:
        """A (B, 1, n, H, W): the neighbour weights of every pixel (they sum to 1 + w2 over n)."""
        offs = offsets(self.dilations)
        nb = _neighbours(images, offs)
        diff = (nb - images.unsqueeze(2)).abs()
        std = nb.std(dim=2, keepdim=True)
        aff = -(diff / (std + 1e-8) / self.w1).pow(2).mean(dim=1, keepdim=True)
        dist = torch.tensor([math.hypot(dy, dx) for dy, dx in offs], dtype=images.dtype, device=images.device)
        pos = -(dist / (dist.std() + 1e-8) / self.w1).pow(2)
        return aff.softmax(dim=2) + self.w2 * pos.softmax(dim=0).view(1, 1, -1, 1, 1)

    def propagate(self, aff: Tensor, masks: Tensor) -> Tensor:
        """`iters` rounds of M_i <- sum_n A_in M_n for masks (B, K, H, W) already at the affinity's size."""
        offs = offsets(self.dilations)
        pad = max(max(abs(dy), abs(dx)) for dy, dx in offs)
        h, w = masks.shape[-2:]
        for _ in range(self.iters):
            mp = F.pad(masks, [pad] * 4, mode="replicate")
            out = torch.zeros_like(masks)
            for n, (dy, dx) in enumerate(offs):
                out += aff[:, :, n] * mp[..., pad + dy:pad + dy + h, pad + dx:pad + dx + w]
            masks = out
        return masks

    def __call__(self, images: Tensor, masks: Tensor) -> Tensor:
        masks = F.interpolate(masks, size=images.shape[-2:], mode="bilinear", align_corners=True)
        return self.propagate(self.affinity(images), masks)


def par_loop(par: PAR, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-pixel reference of PAR for one image (3, H, W) and mask (K, H, W) already at the image size."""
    c, h, w = image.shape
    offs = offsets(par.dilations)
    dist = np.array([math.hypot(dy, dx) for dy, dx in offs])
    pos = -(dist / (dist.std(ddof=1) + 1e-8) / par.w1) ** 2
    pos = np.exp(pos - pos.max()) / np.exp(pos - pos.max()).sum()
    aff = np.zeros((h, w, len(offs)))
    for y in range(h):
        for x in range(w):
            nb = np.array([image[:, min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)] for dy, dx in offs]).T
            std = nb.std(axis=1, ddof=1, keepdims=True)
            a = -((np.abs(nb - image[:, y, x][:, None]) / (std + 1e-8) / par.w1) ** 2).mean(axis=0)
            e = np.exp(a - a.max())
            aff[y, x] = e / e.sum() + par.w2 * pos
    m = mask.astype(np.float64)
    for _ in range(par.iters):
        new = np.zeros_like(m)
        for y in range(h):
            for x in range(w):
                for n, (dy, dx) in enumerate(offs):
                    new[:, y, x] += aff[y, x, n] * m[:, min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)]
        m = new
    return m


# ---------------------------------------------------------------------------------------------- energy loss


def bilateral_features(images: Tensor, sigma_rgb: float, sigma_xy: float) -> Tensor:
    """f (B, N, 5) = (y / σ_xy, x / σ_xy, rgb / σ_rgb) of the N = H·W pixels (0..255 colours)."""
    b, _, h, w = images.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=images.dtype, device=images.device),
                            torch.arange(w, dtype=images.dtype, device=images.device), indexing="ij")
    pos = torch.stack([yy, xx], -1).reshape(1, h * w, 2).expand(b, -1, -1) / sigma_xy
    return torch.cat([pos, images.flatten(2).transpose(1, 2) / sigma_rgb], dim=-1)


def bilateral_kernel(images: Tensor, sigma_rgb: float, sigma_xy: float) -> Tensor:
    """W (B, N, N) = exp(-|p_i - p_j|²/2σ_xy² - |I_i - I_j|²/2σ_rgb²) (small images only: N² entries)."""
    f = bilateral_features(images, sigma_rgb, sigma_xy)
    return torch.exp(-0.5 * torch.cdist(f, f).pow(2))


def bilateral_filter(feats: Tensor, values: Tensor, chunk: int = 2048) -> Tensor:
    """(W v) (B, K, N) for values (B, K, N), W built from `feats` one block of `chunk` rows at a time (the
    dense kernel of a 224 x 224 image would not fit in memory)."""
    out = torch.empty_like(values)
    for start in range(0, feats.shape[1], chunk):
        rows = torch.exp(-0.5 * torch.cdist(feats[:, start:start + chunk], feats).pow(2))  # (B, n, N)
        out[..., start:start + chunk] = torch.einsum("bij,bkj->bki", rows, values)
    return out


class _DenseEnergy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, seg: Tensor, feats: Tensor, gate: Tensor, roi: Tensor) -> Tensor:
        s = seg * roi.unsqueeze(1)
        ws = bilateral_filter(feats, s.flatten(2)).view_as(s) * gate.unsqueeze(1)
        ctx.save_for_backward(ws, roi)
        return -(s * ws).sum() / seg.shape[0]

    @staticmethod
    def backward(ctx, grad: Tensor):
        ws, roi = ctx.saved_tensors
        return -2 * grad * ws * roi.unsqueeze(1) / ws.shape[0], None, None, None


def dense_energy_loss(images: Tensor, logits: Tensor, pseudo: Tensor, sigma_rgb: float = 15.0,
                      sigma_xy: float = 100.0, scale: float = 0.5, ignore: int = 255) -> Tensor:
    """Per-image dense CRF energy of softmax(logits) (B, K, H, W) given images (B, 3, H, W) in 0..255.

    Returns (B,) values whose mean over the batch is the authors' loss (before its weight); pseudo (B, H, W).
    """
    size = [max(1, int(round(s * scale))) for s in logits.shape[-2:]]
    img = F.interpolate(images, size=size, mode="nearest")
    prob = F.interpolate(logits.softmax(dim=1), size=size, mode="bilinear", align_corners=False)
    lab = F.interpolate(pseudo[:, None].float(), size=size, mode="nearest")[:, 0]
    roi = torch.ones_like(lab)
    gate = (roi - prob.max(dim=1).values.detach()).masked_fill(lab == ignore, 1.0).clamp_min(0)
    feats = bilateral_features(img, sigma_rgb, sigma_xy * scale)
    return torch.stack([_DenseEnergy.apply(prob[i:i + 1], feats[i:i + 1], gate[i:i + 1], roi[i:i + 1])
                        for i in range(prob.shape[0])])


# ---------------------------------------------------------------------------------------------- CRF-like


@dataclass
class LocalCRF:
    """Mean-field CRF with Potts compatibility in a (2·radius+1)² window (see module docstring)."""

    iters: int = 10
    radius: int = 5
    w_gauss: float = 3.0
    theta_gauss: float = 3.0
    w_bilateral: float = 10.0
    theta_alpha: float = 20.0
    theta_beta: float = 13.0

    def _window(self) -> list[tuple[int, int]]:
        r = self.radius
        return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if (dy, dx) != (0, 0)]

    def kernels(self, images: Tensor) -> Tensor:
        """(B, n, H, W) pairwise weight of each window neighbour; 0 where the neighbour is outside the image."""
        b, _, h, w = images.shape
        r = self.radius
        padded = F.pad(images, [r] * 4)
        valid = F.pad(torch.ones(1, 1, h, w, dtype=images.dtype, device=images.device), [r] * 4)
        out = []
        for dy, dx in self._window():
            nb = padded[..., r + dy:r + dy + h, r + dx:r + dx + w]
            inside = valid[..., r + dy:r + dy + h, r + dx:r + dx + w][:, 0]
            d2 = float(dy * dy + dx * dx)
            colour = (nb - images).pow(2).sum(dim=1)
            bilateral = torch.exp(-d2 / (2 * self.theta_alpha ** 2) - colour / (2 * self.theta_beta ** 2))
            k = self.w_gauss * math.exp(-d2 / (2 * self.theta_gauss ** 2)) + self.w_bilateral * bilateral
            out.append(k * inside)
        return torch.stack(out, dim=1)

    def __call__(self, images: Tensor, probs: Tensor) -> Tensor:
        """Refined probabilities (B, K, H, W) from probs (B, K, H, W) and images (B, 3, H, W) in 0..255."""
        r, (h, w) = self.radius, probs.shape[-2:]
        kern = self.kernels(images)
        unary = probs.clamp_min(1e-8).log()
        q = probs
        for _ in range(self.iters):
            qp = F.pad(q, [r] * 4)
            msg = torch.zeros_like(q)
            for n, (dy, dx) in enumerate(self._window()):
                msg += kern[:, n:n + 1] * qp[..., r + dy:r + dy + h, r + dx:r + dx + w]
            q = (unary + msg).softmax(dim=1)
        return q


def crf_loop(crf: LocalCRF, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per-pixel reference of LocalCRF for one image (3, H, W) and probs (K, H, W)."""
    _, h, w = probs.shape
    unary = np.log(np.maximum(probs, 1e-8))
    q = probs.astype(np.float64)
    for _ in range(crf.iters):
        new = np.zeros_like(q)
        for y in range(h):
            for x in range(w):
                msg = np.zeros(q.shape[0])
                for dy, dx in crf._window():
                    j, i = y + dy, x + dx
                    if 0 <= j < h and 0 <= i < w:
                        d2 = dy * dy + dx * dx
                        colour = float(((image[:, j, i] - image[:, y, x]) ** 2).sum())
                        k = (crf.w_gauss * math.exp(-d2 / (2 * crf.theta_gauss ** 2)) + crf.w_bilateral
                             * math.exp(-d2 / (2 * crf.theta_alpha ** 2) - colour / (2 * crf.theta_beta ** 2)))
                        msg += k * q[:, j, i]
                z = unary[:, y, x] + msg
                e = np.exp(z - z.max())
                new[:, y, x] = e / e.sum()
        q = new
    return q
