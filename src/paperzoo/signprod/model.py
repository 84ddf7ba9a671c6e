"""Progressive Transformer (Saunders et al., ECCV 2020): glosses -> 3-D pose frames with a progress counter.

    m_n     = Encoder(E_g[x_n] sqrt(d) + PE_n)                               gloss memory, n = 1..N
    y_0     = BOS (zeros),  y_t = [z_t ; c_t],  z_t the 150 standardised joints, c_t = t/T the counter
    h_t     = Decoder(W_in y_{<t} + PE, m)                                   causal self-attention, cross-attention
    y_hat_t = W_out h_t                                                      the next frame and its counter
    L_acc   = mean over sequences of mean_t [ mean_k (z_hat_tk - z_tk)^2 + w_c (c_hat_t - c_t)^2 ]

Training is teacher-forced with Gaussian noise on the joints of the decoder's input frames (PT's augmentation,
PT issue #17: without it the model drifts), y_in = y + sigma * std_train * eps. At inference the decoder
feeds its own frames back: with the ground-truth counter and length (the anchors' protocol, PT issue #61),
or with its own counter, stopping once c_t >= t / (t + 1.5) (the frame it just made is the last one if the
counter says so: the last true frame has c = t / (t + 1), the one before t / (t + 2)).

Joints are standardised per value with the training set's mean and std (buffers of the model); the counter
stays in [0, 1) and has its own weight w_c in the loss (PT's plain MSE over raw values weighs the counter
far above a joint value, since the raw joints vary by ~0.05; standardised joints would drown it).
`head` and `auxiliary_losses` are the extension points LVMCN (lvmcn.py) overrides.
Shapes: src (B, N) gloss ids (pad = 1), frames (B, T, 151), pads are boolean masks with True on padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from paperzoo.core import param

from .skeleton import N_VALUES

FRAME = N_VALUES + 1
PAD = 1  # index of <pad> in PT's src_vocab.txt (<unk> <pad> <s> </s>)


@dataclass
class ModelConfig:
    """Transformer sizes of the production models (PT's Base config: 2+2 layers, 4 heads, width 512)."""

    d_model: int = param(64, ge=8, doc="model width")
    heads: int = param(4, ge=1, doc="attention heads")
    enc_layers: int = param(2, ge=1, doc="gloss encoder layers")
    dec_layers: int = param(2, ge=1, doc="pose decoder layers")
    ff: int = param(128, ge=8, doc="feed-forward width")
    dropout: float = param(0.0, ge=0, lt=1, doc="dropout (0 keeps multi-process runs equal to one process)")
    max_frames: int = param(1024, ge=16, doc="longest sequence the positional table covers")
    counter_weight: float = param(10.0, ge=0, doc="weight of the counter's squared error in L_acc")

    def __post_init__(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.heads ({self.heads})")


def sinusoid_table(n: int, d: int) -> Tensor:
    """PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(...)."""
    t = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(t * freq)
    pe[:, 1::2] = torch.cos(t * freq)[:, : d // 2]
    return pe


def causal_mask(n: int, device: torch.device) -> Tensor:
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)


def counter_says_stop(counter: Tensor, t: int) -> Tensor:
    """Whether frame t (0-based) is the last one: c_t >= t / (t + 1.5), and at least two frames made."""
    return (counter >= t / (t + 1.5)) & (t >= 1)


class DecoderLayer(nn.Module):
    """Pre-norm: x += SelfAttn(LN x) (causal); x += CrossAttn(LN x, memory); x += FF(LN x)."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff, d))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, src_pad: Tensor, trg_pad: Tensor | None,
                need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        h = self.norms[0](x)
        mask = causal_mask(x.shape[1], x.device)
        x = x + self.drop(self.self_attn(h, h, h, attn_mask=mask, key_padding_mask=trg_pad, need_weights=False)[0])
        h = self.norms[1](x)
        ctx, weights = self.cross_attn(h, memory, memory, key_padding_mask=src_pad, need_weights=need_weights)
        x = x + self.drop(ctx)
        return x + self.drop(self.ff(self.norms[2](x))), weights

    def step(self, x: Tensor, cache: list[Tensor], memory: Tensor, src_pad: Tensor) -> Tensor:
        """The layer at one new position x (B, 1, d), given the normed inputs of the earlier positions in
        `cache` (appended to here): exact incremental decoding, since attention is causal."""
        h = self.norms[0](x)
        keys = torch.cat([cache[0], h], 1) if cache else h
        cache[:] = [keys]
        x = x + self.self_attn(h, keys, keys, need_weights=False)[0]
        x = x + self.cross_attn(self.norms[1](x), memory, memory, key_padding_mask=src_pad, need_weights=False)[0]
        return x + self.ff(self.norms[2](x))


@dataclass
class Output:
    """Teacher-forced forward: predictions and targets (standardised), encoder memory, decoder states."""

    pred: Tensor  # (B, T, 151)
    target: Tensor  # (B, T, 151)
    memory: Tensor  # (B, N, d)
    states: Tensor  # (B, T, d)
    src_pad: Tensor  # (B, N)
    trg_pad: Tensor  # (B, T)
    cross_attn: Tensor | None = None  # (B, T, N): last decoder layer, heads averaged
    extras: dict[str, Tensor] = field(default_factory=dict)


def encoder_stack(d: int, heads: int, ff: int, dropout: float, layers: int) -> nn.TransformerEncoder:
    """Pre-norm Transformer encoder with a final LayerNorm (the producers' gloss encoder, the evaluator's)."""
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)


class Standardised(nn.Module):
    """A network that reads joints standardised with the training set's per-value mean and std (buffers, saved
    with the weights; values that never vary keep std 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(N_VALUES))
        self.register_buffer("std", torch.ones(N_VALUES))

    def set_normaliser(self, mean: Tensor, std: Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def standardise(self, frames: Tensor) -> Tensor:
        """The 150 joint values of frames (..., >= 150) in joint stds."""
        return (frames[..., :N_VALUES] - self.mean) / self.std


class ProgressiveTransformer(Standardised):
    """Gloss encoder + autoregressive pose decoder with a counter (module docstring)."""

    def __init__(self, n_src: int, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.cfg = cfg
        self.embed = nn.Embedding(n_src, d, padding_idx=PAD)
        self.encoder = encoder_stack(d, cfg.heads, cfg.ff, cfg.dropout, cfg.enc_layers)
        self.frame_in = nn.Linear(FRAME, d)
        self.decoder = nn.ModuleList(DecoderLayer(d, cfg.heads, cfg.ff, cfg.dropout) for _ in range(cfg.dec_layers))
        self.final_norm = nn.LayerNorm(d)
        self.frame_out = nn.Linear(d, FRAME)
        self.register_buffer("pe", sinusoid_table(cfg.max_frames, d), persistent=False)

    # ------------------------------------------------------------------ standardisation of the joints

    def normalise(self, frames: Tensor) -> Tensor:
        return torch.cat([self.standardise(frames), frames[..., N_VALUES:]], dim=-1)

    def denormalise(self, frames: Tensor) -> Tensor:
        return torch.cat([frames[..., :N_VALUES] * self.std + self.mean, frames[..., N_VALUES:]], dim=-1)

    # ------------------------------------------------------------------ the network

    def encode(self, src: Tensor, src_pad: Tensor) -> Tensor:
        x = self.embed(src) * math.sqrt(self.cfg.d_model) + self.pe[: src.shape[1]]
        return self.encoder(x, src_key_padding_mask=src_pad)

    def decode(self, inputs: Tensor, memory: Tensor, src_pad: Tensor, trg_pad: Tensor | None = None,
               need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """Decoder states (B, T, d) for standardised input frames (B, T, 151), and the last cross-attention."""
        if inputs.shape[1] > self.cfg.max_frames:
            raise ValueError(f"{inputs.shape[1]} frames exceed model.max_frames = {self.cfg.max_frames}")
        x = self.frame_in(inputs) + self.pe[: inputs.shape[1]]
        weights = None
        for i, layer in enumerate(self.decoder):
            x, w = layer(x, memory, src_pad, trg_pad, need_weights and i == len(self.decoder) - 1)
            weights = w if w is not None else weights
        return self.final_norm(x), weights

    def head(self, states: Tensor, memory: Tensor, src_pad: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Frames (standardised joints + counter) from decoder states; PT: one linear layer."""
        return self.frame_out(states), {}

    def forward(self, src: Tensor, src_pad: Tensor, frames: Tensor, trg_pad: Tensor, noise: Tensor | None = None,
                need_weights: bool = False) -> Output:
        """Teacher-forced pass: inputs are BOS + the target frames shifted by one, joints noised by `noise`."""
        target = self.normalise(frames)
        inputs = torch.cat([torch.zeros_like(target[:, :1]), target[:, :-1]], dim=1)
        if noise is not None:
            inputs = inputs.clone()
            inputs[:, 1:, :N_VALUES] = inputs[:, 1:, :N_VALUES] + noise[:, : inputs.shape[1] - 1]
        memory = self.encode(src, src_pad)
        states, weights = self.decode(inputs, memory, src_pad, trg_pad, need_weights)
        pred, extras = self.head(states, memory, src_pad)
        return Output(pred, target, memory, states, src_pad, trg_pad, weights, extras)

    def reconstruction_loss(self, out: Output) -> Tensor:
        """L_acc per sequence (B,): joint MSE plus the weighted counter error, mean over its valid frames."""
        valid = (~out.trg_pad).float()
        sq = (out.pred - out.target) ** 2
        err = sq[..., :N_VALUES].mean(-1) + self.cfg.counter_weight * sq[..., N_VALUES]
        return (err * valid).sum(1) / valid.sum(1).clamp_min(1.0)

    def auxiliary_losses(self, out: Output, batch: object) -> dict[str, Tensor]:
        """Extra per-sequence loss terms (name -> (B,)) added to L_acc; PT has none."""
        return {}

    # ------------------------------------------------------------------ inference

    @torch.no_grad()
    def generate(self, src: Tensor, src_pad: Tensor, max_frames: int, gt_lengths: Tensor | None = None
                 ) -> tuple[Tensor, Tensor]:
        """Autoregressive decoding -> (frames (B, 1 + L, 151) in data units with the BOS row first, lengths).

        gt_lengths given: T_b steps each, the input counter replaced by the true t/T_b (anchors' protocol);
        else the model's own counter is fed back and decides the length (capped at max_frames).
        """
        B = src.shape[0]
        memory = self.encode(src, src_pad)
        fed = torch.zeros(B, 1, FRAME, device=src.device)
        steps = int(gt_lengths.max()) if gt_lengths is not None else max_frames
        if steps > self.cfg.max_frames:
            raise ValueError(f"{steps} frames exceed model.max_frames = {self.cfg.max_frames}")
        lengths = gt_lengths.clone() if gt_lengths is not None else torch.full((B,), steps, dtype=torch.long,
                                                                              device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        caches: list[list[Tensor]] = [[] for _ in self.decoder]
        outputs = []
        for t in range(steps):
            x = self.frame_in(fed) + self.pe[t:t + 1]
            for layer, cache in zip(self.decoder, caches, strict=True):
                x = layer.step(x, cache, memory, src_pad)
            frame, _ = self.head(self.final_norm(x), memory, src_pad)
            frame[..., N_VALUES] = frame[..., N_VALUES].clamp(0.0, 0.9999)
            outputs.append(frame)
            fed = frame.clone()
            if gt_lengths is not None:
                fed[:, 0, N_VALUES] = t / gt_lengths.clamp_min(1).float()
                done = t + 1 >= gt_lengths
            else:
                stop = counter_says_stop(frame[:, 0, N_VALUES], t) & ~done
                lengths = torch.where(stop, torch.full_like(lengths, t + 1), lengths)
                done = done | stop
            if bool(done.all()):
                break
        frames = torch.cat([torch.zeros(B, 1, FRAME, device=src.device), self.denormalise(torch.cat(outputs, 1))], 1)
        frames[:, 0] = 0.0
        return frames, lengths
