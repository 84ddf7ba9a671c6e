"""Bigram sequences with trigger tokens (the data model of Bietti et al. 2023, used by arXiv 2412.11459).

Per sequence: K trigger tokens q_1..q_K and outputs o_1..o_K; then

    z_1 ~ pi_u,    z_{t+1} = o_k  if z_t = q_k,   else  z_{t+1} ~ pi_b(. | z_t).

The global bigram pi_b comes from a seeded Dirichlet prior or from the character bigrams of a text file;
pi_u is its stationary distribution.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

TriggerMode = Literal["sampled", "frequent"]
OutputMode = Literal["uniform", "bigram"]


def stationary_distribution(pi_b: torch.Tensor, iters: int = 10_000, tol: float = 1e-12) -> torch.Tensor:
    """pi_u with pi_u = pi_u @ pi_b (power iteration on the row-stochastic matrix pi_b)."""
    pi = torch.full((pi_b.shape[0],), 1.0 / pi_b.shape[0], dtype=torch.float64)
    p = pi_b.to(torch.float64)
    for _ in range(iters):
        nxt = pi @ p
        if (nxt - pi).abs().max() < tol:
            return nxt
        pi = nxt
    return pi


def dirichlet_bigram(vocab: int, concentration: float, seed: int) -> torch.Tensor:
    """Rows pi_b(.|i) ~ Dirichlet(concentration * 1), drawn from a generator seeded with `seed`."""
    rows = np.random.default_rng(seed).dirichlet(np.full(vocab, float(concentration)), size=vocab)
    rows = torch.from_numpy(rows).clamp_min(1e-300)
    return rows / rows.sum(1, keepdim=True)


def corpus_bigram(path: str | Path, vocab: int, smoothing: float = 0.01) -> tuple[torch.Tensor, list[str]]:
    """Character bigram pi_b(j|i) = (c_ij + s) / sum_j (c_ij + s) over the `vocab` most frequent characters.

    Characters outside the vocabulary are dropped from the text before counting.
    """
    from paperzoo.core import UserError

    file = Path(path)
    if not file.is_file():
        raise UserError(f"data.corpus: no such text file: {file}")
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise UserError(f"data.corpus: cannot read {file}: {err}") from err
    chars = [c for c, _ in Counter(text).most_common(vocab)]
    if len(chars) < 4:
        raise UserError(f"data.corpus: {file} has {len(chars)} distinct characters; at least 4 are needed")
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text if c in index], dtype=torch.long)
    n = len(chars)
    counts = torch.zeros(n * n, dtype=torch.float64)
    counts.index_add_(0, ids[:-1] * n + ids[1:], torch.ones(len(ids) - 1, dtype=torch.float64))
    counts = counts.view(n, n) + smoothing
    return counts / counts.sum(1, keepdim=True), chars


@dataclass
class Batch:
    tokens: torch.Tensor  # (B, T) long
    triggers: torch.Tensor  # (B, K) long
    outputs: torch.Tensor  # (B, K) long

    def to(self, device: str | torch.device) -> Batch:
        return Batch(self.tokens.to(device), self.triggers.to(device), self.outputs.to(device))


class BigramTriggerData:
    """Sampler of bigram-with-triggers sequences; all randomness comes from the `torch.Generator` passed in."""

    def __init__(self, pi_b: torch.Tensor, n_triggers: int = 5, trigger_mode: TriggerMode = "sampled",
                 output_mode: OutputMode = "uniform", n_heldout_outputs: int = 0) -> None:
        vocab = pi_b.shape[0]
        if pi_b.ndim != 2 or pi_b.shape[1] != vocab:
            raise ValueError(f"pi_b must be a square (vocab, vocab) matrix, got shape {tuple(pi_b.shape)}")
        if not 1 <= n_triggers < vocab:
            raise ValueError(f"n_triggers must be in [1, {vocab - 1}], got {n_triggers}")
        if not 0 <= n_heldout_outputs < vocab - 1:
            raise ValueError(f"n_heldout_outputs must be in [0, {vocab - 2}], got {n_heldout_outputs}")
        self.pi_b = pi_b.to(torch.float64)
        self.pi_u = stationary_distribution(self.pi_b)
        self.vocab = vocab
        self.n_triggers = n_triggers
        self.trigger_mode = trigger_mode
        self.output_mode = output_mode
        # the last tokens are held out as outputs for the out-of-distribution test
        self.heldout = torch.arange(vocab - n_heldout_outputs, vocab)
        self.train_outputs = torch.arange(0, vocab - n_heldout_outputs)
        self.cdf_b = self.pi_b.cumsum(1)
        self.cdf_u = self.pi_u.cumsum(0)[None]
        self.frequent = torch.argsort(self.pi_u, descending=True)[:n_triggers]

    def sample(self, batch: int, seq_len: int, gen: torch.Generator, ood: bool = False) -> Batch:
        """`batch` sequences of length `seq_len`; with `ood` the outputs come from the held-out set."""
        if self.trigger_mode == "frequent":
            triggers = self.frequent.expand(batch, -1).clone()
        else:
            triggers = torch.multinomial(self.pi_u.expand(batch, -1), self.n_triggers, replacement=False,
                                         generator=gen)
        if self.output_mode == "bigram":
            outputs = torch.multinomial(self.pi_b[triggers.reshape(-1)], 1, generator=gen).view(batch, -1)
        else:
            pool = self.heldout if ood else self.train_outputs
            if len(pool) == 0:
                raise ValueError("ood sampling needs n_heldout_outputs > 0")
            outputs = pool[torch.randint(len(pool), (batch, self.n_triggers), generator=gen)]
        # inverse-CDF sampling with all uniforms drawn up front (much faster than multinomial per step)
        uniforms = torch.rand(batch, seq_len, generator=gen, dtype=torch.float64)
        tokens = torch.empty(batch, seq_len, dtype=torch.long)
        tokens[:, 0] = (self.cdf_u < uniforms[:, :1]).sum(1).clamp_max(self.vocab - 1)
        for t in range(seq_len - 1):
            current = tokens[:, t]
            free = (self.cdf_b[current] < uniforms[:, t + 1:t + 2]).sum(1)
            hit = current[:, None] == triggers
            forced = (hit * outputs).sum(1)
            tokens[:, t + 1] = torch.where(hit.any(1), forced, free.clamp_max(self.vocab - 1))
        return Batch(tokens, triggers, outputs)


def icl_mask(tokens: torch.Tensor, triggers: torch.Tensor) -> torch.Tensor:
    """(B, T-1) bool: position t predicts z_{t+1} in context, i.e. z_t is a trigger seen before at s < t-0.

    The earlier occurrence s must have its successor visible (s + 1 <= t), so s < t suffices.
    """
    is_trigger = (tokens[:, :, None] == triggers[:, None, :]).any(-1)
    same = tokens[:, :, None] == tokens[:, None, :]  # [b, t, s]
    earlier = torch.ones_like(same[0]).tril(-1).bool()
    seen_before = (same & earlier).any(-1)
    return (is_trigger & seen_before)[:, :-1]
