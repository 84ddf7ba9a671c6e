"""Attention-only transformer of Bietti et al. (2023) as analysed in arXiv 2412.11459.

    x_t^0 = w_E(z_t) + p_t                                   (p_t only for absolute encodings)
    x_t^l = x_t^{l-1} + W_O^l sum_{s<=t} beta^l_{ts} W_V^l x_s^{l-1},
    beta^l_{t.} = softmax_s( c (x_t^{l-1})^T W_K^l x_s^{l-1} + b^l_{t-s} ),   W_Q = I, c = 1 or 1/sqrt(d)
    x_t^F = x_t^L + W_F x_t^L                                (optional feed-forward bigram memory)
    logits_t = W_U x_t^F                                      (rows of W_U are the unembeddings w_U(j))

One head per layer, no LayerNorm. b^l is a learned relative-position bias (pos="rel"); pos="rope" rotates
query and key instead. Embeddings, unembeddings, positions, W_V and the W_O of the non-last layers are frozen
random Gaussians N(0, 1/d) by default; W_K of every layer, W_O of the last layer and W_F are trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

PosEncoding = Literal["ape", "sin", "rope", "rel", "none"]


@dataclass
class ModelConfig:
    d_model: int = 128
    n_layers: int = 2
    pos: PosEncoding = "ape"
    max_len: int = 256  # positions table / relative-bias range (raised to cover the length sweep)
    feedforward: bool = True
    scale_scores: bool = False  # c = 1/sqrt(d) when True; unit-norm embeddings train faster with c = 1
    train_embeddings: bool = False
    train_values: bool = False
    train_all_outputs: bool = False  # also W_O of the non-last layers
    init_seed: int = 0

    def __post_init__(self) -> None:
        if self.d_model < 2 or self.d_model % 2:
            raise ValueError(f"model.d_model must be an even integer >= 2, got {self.d_model}")
        if self.n_layers < 1:
            raise ValueError(f"model.n_layers must be >= 1, got {self.n_layers}")
        if self.pos not in ("ape", "sin", "rope", "rel", "none"):
            raise ValueError(f"model.pos must be one of ape, sin, rope, rel, none; got {self.pos!r}")
        if self.max_len < 2:
            raise ValueError(f"model.max_len must be >= 2, got {self.max_len}")


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """p_t[2i] = sin(t / 10000^(2i/d)), p_t[2i+1] = cos(...), scaled to norm 1."""
    t = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(t * freq)
    pe[:, 1::2] = torch.cos(t * freq)
    return pe / math.sqrt(d / 2)


def rotate(x: torch.Tensor) -> torch.Tensor:
    """RoPE: rotate pairs (x_{2i}, x_{2i+1}) of position t by angle t * 10000^(-2i/d)."""
    n, d = x.shape[-2], x.shape[-1]
    t = torch.arange(n, dtype=x.dtype, device=x.device)[:, None]
    angle = t * torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)
    cos, sin = torch.cos(angle), torch.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


class AttentionLayer(nn.Module):
    """One causal head with W_Q = I: out_t = W_O sum_s softmax_s(c x_t^T W_K x_s + b_{t-s}) W_V x_s."""

    def __init__(self, d: int, gen: torch.Generator, pos: PosEncoding, max_len: int, scale: float,
                 train_values: bool, train_output: bool) -> None:
        super().__init__()
        std = 1.0 / math.sqrt(d)
        self.wk = nn.Parameter(torch.zeros(d, d))
        self.wv = nn.Parameter(torch.randn(d, d, generator=gen) * std, requires_grad=train_values)
        if train_output:
            self.wo = nn.Parameter(torch.zeros(d, d))
        else:
            self.wo = nn.Parameter(torch.randn(d, d, generator=gen) * std, requires_grad=False)
        self.rel_bias = nn.Parameter(torch.zeros(max_len)) if pos == "rel" else None
        self.rope = pos == "rope"
        self.scale = scale

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Causally masked pre-softmax scores (B, T, T), row t = query position."""
        q, k = x, x @ self.wk.T
        if self.rope:
            q, k = rotate(q), rotate(k)
        s = (q @ k.transpose(-1, -2)) * self.scale
        n = x.shape[-2]
        if self.rel_bias is not None:
            dist = torch.arange(n, device=x.device)[:, None] - torch.arange(n, device=x.device)[None, :]
            s = s + self.rel_bias[dist.clamp(0, len(self.rel_bias) - 1)]
        mask = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        return s.masked_fill(~mask, float("-inf"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attn = torch.softmax(self.scores(x), dim=-1)
        return x + attn @ (x @ (self.wo @ self.wv).T), attn  # one (B T d) x (d d) product, not two


class InductionTransformer(nn.Module):
    """The attention-only model above; `forward(tokens)` returns logits (B, T, vocab) and attention maps."""

    def __init__(self, vocab: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab = vocab
        d = cfg.d_model
        gen = torch.Generator().manual_seed(cfg.init_seed)
        std = 1.0 / math.sqrt(d)
        train_emb = cfg.train_embeddings
        self.emb = nn.Parameter(torch.randn(vocab, d, generator=gen) * std, requires_grad=train_emb)
        self.unemb = nn.Parameter(torch.randn(vocab, d, generator=gen) * std, requires_grad=train_emb)
        if cfg.pos == "ape":
            pos = torch.randn(cfg.max_len, d, generator=gen) * std
        elif cfg.pos == "sin":
            pos = sinusoidal_positions(cfg.max_len, d)
        else:
            pos = None
        self.pos = None if pos is None else nn.Parameter(pos, requires_grad=train_emb)
        scale = 1.0 / math.sqrt(d) if cfg.scale_scores else 1.0
        self.layers = nn.ModuleList(
            AttentionLayer(d, gen, cfg.pos, cfg.max_len, scale, cfg.train_values,
                           train_output=cfg.train_all_outputs or i == cfg.n_layers - 1)
            for i in range(cfg.n_layers))
        self.wf = nn.Parameter(torch.zeros(d, d)) if cfg.feedforward else None

    @property
    def score_scale(self) -> float:
        return self.layers[0].scale

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[-1] > self.cfg.max_len and self.pos is not None:
            raise ValueError(f"sequence length {tokens.shape[-1]} exceeds model.max_len={self.cfg.max_len}")
        x = self.emb[tokens]
        if self.pos is not None:
            x = x + self.pos[: tokens.shape[-1]]
        return x

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.embed(tokens)
        maps = []
        for layer in self.layers:
            x, attn = layer(x)
            maps.append(attn)
        return x @ self.readout().T, maps

    def readout(self) -> torch.Tensor:
        """(vocab, d) map from the last residual to the logits: W_U (I + W_F), or W_U without feed-forward."""
        return self.unemb if self.wf is None else self.unemb + self.unemb @ self.wf
