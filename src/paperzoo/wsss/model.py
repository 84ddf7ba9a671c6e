"""A ViT with K class tokens (MCTformer/MoRe style), its CAM and LAM, and the segmentation head.

Tokens: [E extra tokens; K class tokens; N patch tokens] + learned positions (patch positions interpolated
bilinearly to other input sizes). Pre-LN blocks; the final LayerNorm gives class tokens C (B, K, d) and the
patch map P (B, d, h, w); P_aux is the output of block `aux_layer` (no norm), as in the authors' code.

    logits      = W_cls · GMP(P)                     1x1 classifier without bias, global max pooling
    logits_aux  = W_aux · GMP(P_aux)
    CAM_k       = relu(W_cls,k · P)                  (B, K, h, w)
    ĉ           = GCR(C, P) if gcr else C
    LAM_k       = <ĉ_k, P>                           raw dot product, not normalised (B, K, h, w)
    token_logit = max_j LAM_kj / sqrt(d)              the class tokens as image-dependent classifiers (GMP)
    seg         = LargeFOV(P)                        two dilated 3x3 convs + 1x1 -> K + 1 classes

Images enter normalised with ImageNet mean/std (`normalise`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gcr import GraphCategoryRepresentation

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


@dataclass
class ViTConfig:
    image_size: int = 96
    patch: int = 8
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    n_classes: int = 5
    extra_tokens: int = 4
    aux_layer: int = -3
    gcr: bool = True
    gcr_ratio: float = 0.5
    decoder_dim: int = 64
    decoder_dilation: int = 2

    def __post_init__(self) -> None:
        if self.image_size % self.patch:
            raise ValueError(f"model.image_size ({self.image_size}) must be a multiple of model.patch ({self.patch})")
        if self.dim % self.heads:
            raise ValueError(f"model.dim ({self.dim}) must be divisible by model.heads ({self.heads})")
        if not -self.depth <= self.aux_layer < self.depth:
            raise ValueError(f"model.aux_layer must index one of the {self.depth} blocks, got {self.aux_layer}")


def normalise(images: Tensor) -> Tensor:
    """(B, H, W, 3) uint8 or (B, 3, H, W) 0..255 -> (B, 3, H, W) float, ImageNet-normalised."""
    x = images.permute(0, 3, 1, 2).float() if images.shape[-1] == 3 else images.float()
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def denormalise(x: Tensor) -> Tensor:
    """Back to 0..255 colours (B, 3, H, W)."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return x * std + mean


class Block(nn.Module):
    """x + MHSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(att.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class LargeFOV(nn.Module):
    """DeepLab-LargeFOV head: conv3x3(dilated) - ReLU - conv3x3(dilated) - ReLU - conv1x1 -> classes."""

    def __init__(self, dim: int, hidden: int, classes: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim, hidden, 3, padding=dilation, dilation=dilation, bias=False), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation, bias=False), nn.ReLU(),
            nn.Conv2d(hidden, classes, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass
class Output:
    logits: Tensor  # (B, K)
    logits_aux: Tensor  # (B, K)
    token_logits: Tensor  # (B, K)
    cls_tokens: Tensor  # ĉ (B, K, d): after GCR when enabled
    raw_tokens: Tensor  # C (B, K, d)
    patches: Tensor  # P (B, d, h, w)
    patches_aux: Tensor  # P_aux (B, d, h, w)
    seg: Tensor  # (B, K + 1, h, w)


class MultiTokenViT(nn.Module):
    """The model of the module docstring; `forward(x)` -> Output, `maps(x)` -> (cam, cam_aux, lam)."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, k = cfg.dim, cfg.n_classes
        self.grid = cfg.image_size // cfg.patch
        self.n_prefix = cfg.extra_tokens + k
        self.embed = nn.Conv2d(3, d, cfg.patch, stride=cfg.patch)
        self.tokens = nn.Parameter(torch.randn(1, self.n_prefix, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, self.n_prefix + self.grid ** 2, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d)
        self.classifier = nn.Conv2d(d, k, 1, bias=False)
        self.aux_classifier = nn.Conv2d(d, k, 1, bias=False)
        self.gcr = GraphCategoryRepresentation(d, cfg.gcr_ratio) if cfg.gcr else None
        self.decoder = LargeFOV(d, cfg.decoder_dim, k + 1, cfg.decoder_dilation)

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters trained at the heads' learning rate (classifiers, GCR, decoder), as the authors group them."""
        heads = [self.classifier, self.aux_classifier, self.decoder] + ([self.gcr] if self.gcr is not None else [])
        return [p for m in heads for p in m.parameters()]

    def _positions(self, h: int, w: int) -> Tensor:
        pos = self.pos
        if h == self.grid and w == self.grid:
            return pos
        grid = pos[:, self.n_prefix:].reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
        return torch.cat([pos[:, :self.n_prefix], grid.flatten(2).transpose(1, 2)], dim=1)

    def features(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Class tokens C (B, K, d), patch map P (B, d, h, w), aux patch map (B, d, h, w)."""
        p = self.embed(x)
        b, d, h, w = p.shape
        t = torch.cat([self.tokens.expand(b, -1, -1), p.flatten(2).transpose(1, 2)], dim=1) + self._positions(h, w)
        aux = None
        for i, blk in enumerate(self.blocks):
            t = blk(t)
            if i == self.cfg.aux_layer % self.cfg.depth:
                aux = t
        t = self.norm(t)
        e = self.cfg.extra_tokens

        def to_map(z: Tensor) -> Tensor:
            return z[:, self.n_prefix:].transpose(1, 2).reshape(b, d, h, w)

        return t[:, e:self.n_prefix], to_map(t), to_map(aux)

    def enhance(self, cls: Tensor, patches: Tensor) -> Tensor:
        """ĉ: GCR-enhanced class tokens, or the tokens themselves without GCR."""
        return self.gcr(cls, patches.flatten(2).transpose(1, 2)) if self.gcr is not None else cls

    def forward(self, x: Tensor) -> Output:
        cls, patches, aux = self.features(x)
        logits = self.classifier(F.adaptive_max_pool2d(patches, 1)).flatten(1)
        logits_aux = self.aux_classifier(F.adaptive_max_pool2d(aux, 1)).flatten(1)
        tokens = self.enhance(cls, patches)
        lam = torch.einsum("bdhw,bkd->bkhw", patches, tokens)
        token_logits = lam.flatten(2).amax(-1) / math.sqrt(self.cfg.dim)
        return Output(logits, logits_aux, token_logits, tokens, cls, patches, aux, self.decoder(patches))

    @torch.no_grad()
    def maps(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Raw (B, K, h, w) CAM, aux-CAM (before relu), LAM, and seg logits (B, K+1, h, w) of one input."""
        cls, patches, aux = self.features(x)
        cam = F.conv2d(patches, self.classifier.weight)
        cam_aux = F.conv2d(aux, self.aux_classifier.weight)
        lam = torch.einsum("bdhw,bkd->bkhw", patches, self.enhance(cls, patches))
        return cam, cam_aux, lam, self.decoder(patches)
