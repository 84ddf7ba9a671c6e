"""Sequences as token ids and padded tensors: vocabularies, one encoded split, and the batches of the two
kinds of network (production: glosses -> frames; evaluator: frames -> glosses and text).

Global batches are padded first and then cut to this rank's rows and trimmed to their longest sequence, so
every sequence sees the same values (and the same input noise) in one process and under a launcher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .data import SPECIALS, SignSequence
from .model import PAD
from .skeleton import N_VALUES
from .train import Slice, gather_rows

TEXT_SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
TEXT_PAD, TEXT_BOS, TEXT_EOS, TEXT_UNK = range(4)


@dataclass
class Vocab:
    """Tokens -> ids; ids below `n_special` are reserved; unknown tokens map to `unk`."""

    tokens: list[str]
    unk: int

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        return np.array([self.index.get(t, self.unk) for t in tokens], dtype=np.int64)

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def __len__(self) -> int:
        return len(self.tokens)


def gloss_vocab(glosses: Sequence[str]) -> Vocab:
    """PT's src_vocab: <unk> <pad> <s> </s>, then the glosses (production input; also the CTC classes,
    with id 0 (<unk>) doubling as the CTC blank, never a target)."""
    return Vocab([*SPECIALS, *glosses], unk=0)


def text_vocab(texts: Sequence[str]) -> Vocab:
    words = sorted({w for t in texts for w in t.split()})
    return Vocab([*TEXT_SPECIALS, *words], unk=TEXT_UNK)


@dataclass
class Encoded:
    """One split as arrays: gloss ids, frames, alignment, text ids, and the strings to score against."""

    src: list[np.ndarray]
    frames: list[np.ndarray]
    align: list[np.ndarray | None]
    text: list[np.ndarray]
    gloss_strings: list[str]
    text_strings: list[str]

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(f) for f in self.frames])

    def __len__(self) -> int:
        return len(self.frames)


def encode(seqs: Sequence[SignSequence], gv: Vocab, tv: Vocab) -> Encoded:
    return Encoded([gv.encode(s.glosses) for s in seqs], [s.frames for s in seqs], [s.alignment for s in seqs],
                   [np.concatenate([[TEXT_BOS], tv.encode(s.text.split()), [TEXT_EOS]]) for s in seqs],
                   [" ".join(s.glosses) for s in seqs], [s.text for s in seqs])


def pad_ids(seqs: Sequence[np.ndarray], value: int) -> tuple[Tensor, Tensor]:
    """(B, L) ids padded with `value`, and the padding mask (True on padding)."""
    width = max(1, max(len(s) for s in seqs))
    out = np.full((len(seqs), width), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    lens = np.array([len(s) for s in seqs])
    return torch.from_numpy(out), torch.from_numpy(np.arange(width)[None, :] >= lens[:, None])


def pad_frames(seqs: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    width = max(len(s) for s in seqs)
    out = np.zeros((len(seqs), width, seqs[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    lens = np.array([len(s) for s in seqs])
    return torch.from_numpy(out), torch.from_numpy(np.arange(width)[None, :] >= lens[:, None])


def _trim(x: Tensor, pad: Tensor) -> tuple[Tensor, Tensor]:
    keep = max(1, int((~pad).sum(1).max()))
    return x[:, :keep], pad[:, :keep]


@dataclass
class PoseBatch:
    """This rank's rows of a production batch (tensors on the model's device)."""

    src: Tensor
    src_pad: Tensor
    frames: Tensor
    trg_pad: Tensor
    noise: Tensor | None
    rows: Tensor
    same: Tensor  # (n, B): identical gloss sequences (never MSC negatives)
    gather: Callable[[Tensor], Tensor] | None = None


def pose_batch(enc: Encoded, idx: np.ndarray, part: Slice | None, *, noise: float = 0.0, seed: int = 0,
               step: int = 0, device: str = "cpu", dist=None) -> PoseBatch:
    """The production batch of global indices `idx`, cut to `part` (None: all rows); noise is drawn for the
    whole global batch from (seed, step), in units of the standardised joints."""
    src, src_pad = pad_ids([enc.src[i] for i in idx], PAD)
    frames, trg_pad = pad_frames([enc.frames[i] for i in idx])
    eps = None
    if noise > 0:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        eps = noise * torch.randn(len(idx), max(1, frames.shape[1] - 1), N_VALUES, generator=gen)
    keys = [tuple(enc.src[i].tolist()) for i in idx]
    same = torch.tensor([[a == b for b in keys] for a in keys])
    rows = np.arange(len(idx)) if part is None else part.rows
    r = torch.from_numpy(np.asarray(rows))
    src, src_pad = _trim(src[r], src_pad[r])
    frames, trg_pad = _trim(frames[r], trg_pad[r])
    if eps is not None:
        eps = eps[r, : max(1, frames.shape[1] - 1)].to(device)
    gather = gather_rows(dist, part.sizes) if dist is not None and part is not None else None
    return PoseBatch(src.to(device), src_pad.to(device), frames.to(device), trg_pad.to(device), eps, r.to(device),
                     same[r].to(device), gather)


@dataclass
class SignBatch:
    """This rank's rows of an evaluator batch: joint frames, gloss targets (CTC), text in/out (teacher forcing)."""

    frames: Tensor
    pad: Tensor
    glosses: Tensor
    gloss_lengths: Tensor
    text_in: Tensor
    text_out: Tensor


def sign_batch(enc: Encoded, idx: np.ndarray, part: Slice | None, device: str = "cpu") -> SignBatch:
    rows = idx if part is None else idx[part.rows]
    frames, pad = pad_frames([enc.frames[i][:, :N_VALUES] for i in rows])
    targets = [enc.src[i][enc.src[i] != 0] for i in rows]  # <unk> (id 0) is the CTC blank, never a target
    glosses, _ = pad_ids(targets, 0)
    text, _ = pad_ids([enc.text[i] for i in rows], TEXT_PAD)
    return SignBatch(frames.to(device), pad.to(device), glosses.to(device),
                     torch.tensor([len(t) for t in targets]).to(device), text[:, :-1].to(device),
                     text[:, 1:].to(device))
