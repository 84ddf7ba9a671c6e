"""Back-translation evaluator (signjoey-style, as the SLP anchors use it; theirs was never released):
poses -> glosses (CTC) and poses -> spoken text (attention decoder), trained on ground-truth poses only and
frozen before it reads any generated sequence.

    e_t         = Encoder(W_in z_t + PE_t)                       z_t: the 150 standardised joints of frame t
    p(k | t)    = softmax(W_g e_t)                               CTC over the glosses, blank = class 0
    p(w_u | .)  = softmax(W_w Decoder(E_w w_{<u} + PE, e))        the spoken sentence, word by word
    L           = w_ctc L_CTC / |glosses| + w_tr mean_u CE(w_u)   per sequence (signjoey: CTC weight >> 1)

Recognition is greedy CTC (argmax per frame, repeats merged, blanks removed); translation is greedy.
The features for FID are the encoder states: mean over frames (one vector per sequence) or per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paperzoo.core import param

from .batching import TEXT_BOS, TEXT_EOS, TEXT_PAD, SignBatch
from .model import Standardised, causal_mask, encoder_stack, sinusoid_table
from .skeleton import N_VALUES


@dataclass
class EvaluatorConfig:
    """Sizes and loss weights of the back-translation model (signjoey: 3 layers, width 256, 8 heads)."""

    d_model: int = param(64, ge=8, doc="width")
    heads: int = param(4, ge=1, doc="attention heads")
    layers: int = param(2, ge=1, doc="encoder layers (and decoder layers)")
    ff: int = param(256, ge=8, doc="feed-forward width")
    dropout: float = param(0.1, ge=0, lt=1, doc="dropout")
    ctc_weight: float = param(5.0, ge=0, doc="weight of the gloss-recognition CTC loss")
    translation_weight: float = param(1.0, ge=0, doc="weight of the text-translation loss")
    max_words: int = param(40, ge=2, doc="longest translation the greedy decoder writes")
    max_frames: int = param(1024, ge=16, doc="longest sequence the positional table covers")

    def __post_init__(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"evaluator.d_model ({self.d_model}) must be divisible by evaluator.heads ({self.heads})")


class BackTranslator(Standardised):
    """Pose encoder with a CTC gloss head and a text decoder (module docstring)."""

    def __init__(self, n_glosses: int, n_words: int, cfg: EvaluatorConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.cfg = cfg
        self.frame_in = nn.Linear(N_VALUES, d)
        self.encoder = encoder_stack(d, cfg.heads, cfg.ff, cfg.dropout, cfg.layers)
        self.gloss_out = nn.Linear(d, n_glosses)
        self.word_embed = nn.Embedding(n_words, d, padding_idx=TEXT_PAD)
        dec = nn.TransformerDecoderLayer(d, cfg.heads, cfg.ff, cfg.dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(dec, cfg.layers, norm=nn.LayerNorm(d))
        self.word_out = nn.Linear(d, n_words)
        self.register_buffer("pe", sinusoid_table(cfg.max_frames, d), persistent=False)

    def encode(self, frames: Tensor, pad: Tensor) -> Tensor:
        """Encoder states (B, T, d) of joint frames (B, T, 150) in data units."""
        x = self.frame_in(self.standardise(frames)) + self.pe[: frames.shape[1]]
        return self.encoder(x, src_key_padding_mask=pad)

    def _words(self, states: Tensor, pad: Tensor, words: Tensor) -> Tensor:
        w = words.shape[1]
        x = self.word_embed(words) * math.sqrt(self.cfg.d_model) + self.pe[:w]
        h = self.decoder(x, states, tgt_mask=causal_mask(w, words.device), tgt_key_padding_mask=words == TEXT_PAD,
                         memory_key_padding_mask=pad, tgt_is_causal=True)
        return self.word_out(h)

    def forward(self, batch: SignBatch) -> dict[str, Tensor]:
        """Per-sequence loss terms {"ctc", "translation"} (B,), already weighted."""
        states = self.encode(batch.frames, batch.pad)
        log_probs = self.gloss_out(states).log_softmax(-1).transpose(0, 1)
        in_len = (~batch.pad).sum(1)
        ctc = F.ctc_loss(log_probs, batch.glosses, in_len, batch.gloss_lengths, blank=0, reduction="none",
                         zero_infinity=True) / batch.gloss_lengths.clamp_min(1)
        logits = self._words(states, batch.pad, batch.text_in)
        ce = F.cross_entropy(logits.transpose(1, 2), batch.text_out, ignore_index=TEXT_PAD, reduction="none")
        n_words = (batch.text_out != TEXT_PAD).sum(1).clamp_min(1)
        return {"ctc": self.cfg.ctc_weight * ctc, "translation": self.cfg.translation_weight * ce.sum(1) / n_words}

    @torch.no_grad()
    def read(self, frames: Tensor, pad: Tensor) -> tuple[list[list[int]], list[list[int]], Tensor, Tensor]:
        """(gloss ids by greedy CTC, word ids by greedy decoding, pooled features (B, d), frame features)."""
        states = self.encode(frames, pad)
        best = self.gloss_out(states).argmax(-1).masked_fill(pad, 0)
        glosses = []
        for row in best.tolist():
            out, prev = [], 0
            for k in row:
                if k != prev and k != 0:
                    out.append(k)
                prev = k
            glosses.append(out)
        words = torch.full((len(frames), 1), TEXT_BOS, dtype=torch.long, device=frames.device)
        finished = torch.zeros(len(frames), dtype=torch.bool, device=frames.device)
        for _ in range(self.cfg.max_words):
            nxt = self._words(states, pad, words)[:, -1].argmax(-1)
            nxt = nxt.masked_fill(finished, TEXT_PAD)
            words = torch.cat([words, nxt[:, None]], 1)
            finished = finished | (nxt == TEXT_EOS)
            if bool(finished.all()):
                break
        texts = []
        for row in words[:, 1:].tolist():
            texts.append([w for w in (row[:row.index(TEXT_EOS)] if TEXT_EOS in row else row) if w != TEXT_PAD])
        keep = (~pad).float()[..., None]
        pooled = (states * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return glosses, texts, pooled, states
