"""Language-model pieces of distill.lm: tokenizers, held-out windows, perplexity, greedy decoding with a KV cache.

    perplexity = exp( Σ_windows Σ_t −log p(x_{t+1} | x_≤t) / #predicted tokens )        (every window full length)
    greedy     : x_{t+1} = argmax_v p(v | x_≤t), the prompt's keys/values cached once, one token per step
    speed      = generated tokens / wall seconds (n_prompts × n_new), prompt prefill excluded

Windows are cut from text, not from one tokenised stream, so a corpus is never tokenised whole: the first
`train_frac` of the characters holds the training windows, the rest the test windows, each window the first
`seq_len` tokens of its own non-overlapping stretch of text starting at a line start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from paperzoo.core.errors import UserError


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 3..258; 0 pad, 1 bos, 2 eos), for tiny offline teachers (smoke tests)."""

    pad_token_id, bos_token_id, eos_token_id = 0, 1, 2
    vocab_size = 259

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> list[int]:
        return [b + 3 for b in text.encode()]

    def decode(self, ids) -> str:
        return bytes(int(i) - 3 for i in ids if 3 <= int(i) < 259).decode(errors="replace")


@dataclass
class Codec:
    """text -> ids and ids -> text for a Hugging Face tokenizer or the ByteTokenizer (no special tokens added)."""

    tokenizer: object

    def encode(self, text: str) -> list[int]:
        tok = self.tokenizer
        if isinstance(tok, ByteTokenizer):
            return tok.encode(text)
        return tok(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids) -> str:
        tok = self.tokenizer
        ids = [int(i) for i in ids]
        if isinstance(tok, ByteTokenizer):
            return tok.decode(ids)
        return tok.decode(ids, skip_special_tokens=True)


def _stretches(text: str, chars: int) -> list[str]:
    """Consecutive, non-overlapping pieces of about `chars` characters, each starting at a line start."""
    out, i = [], 0
    while i < len(text):
        j = text.find("\n", i + chars)
        j = len(text) if j < 0 else j + 1
        out.append(text[i:j])
        i = j
    return out


def text_windows(text: str, codec: Codec, seq_len: int, n_train: int, n_test: int, seed: int,
                 train_frac: float = 0.9, chars_per_token: float = 8.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_train, seq_len) windows drawn at random from the first `train_frac` of `text`, and (n_test, seq_len)
    evenly spaced ones from the rest (the test set does not depend on the seed)."""
    cut = int(train_frac * len(text))
    cut = text.find("\n", cut) + 1 or cut
    chars = int(seq_len * chars_per_token)

    def pick(region: str, n: int, order: list[int] | None, what: str) -> torch.Tensor:
        pieces = _stretches(region, chars)
        if order is None:  # evenly spaced through the region, then the pieces in between as spares
            step = max(1, len(pieces) // max(n, 1))
            order = list(range(0, len(pieces), step)) + [k for k in range(len(pieces)) if k % step]
        rows = []
        for k in order:
            ids = codec.encode(pieces[k])
            if len(ids) >= seq_len:
                rows.append(ids[:seq_len])
            if len(rows) == n:
                return torch.tensor(rows, dtype=torch.long)
        raise UserError(f"text too short for {n} {what} windows of {seq_len} tokens: found {len(rows)} in "
                        f"{len(region):,} characters; lower data.n_{what} or data.seq_len")

    train_pieces = len(_stretches(text[:cut], chars))
    order = np.random.default_rng(seed).permutation(train_pieces).tolist()
    return pick(text[:cut], n_train, order, "train"), pick(text[cut:], n_test, None, "test")


def lm_batches(x: torch.Tensor, batch_size: int, shuffle: bool, seed: int) -> list:
    """(ids, mask, next-token target with −100 at the last position) batches of full-length windows."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(len(x))
    out = []
    for i in range(0, len(x), batch_size):
        ids = x[order[i:i + batch_size]]
        target = torch.cat([ids[:, 1:], torch.full((len(ids), 1), -100)], 1)
        out.append((ids, torch.ones_like(ids), target))
    return out


@torch.no_grad()
def window_nll(model: nn.Module, windows: torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """Mean next-token negative log-likelihood (nats) of each window: the per-example score for paired tests."""
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for ids, mask, target in lm_batches(windows, batch_size, False, 0):
        logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits.float()
        t = target.to(dev)
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), t, ignore_index=-100, reduction="none")
        out.append((nll.sum(1) / (t != -100).sum(1)).cpu().numpy())
    return np.concatenate(out)


def perplexity(nll_per_window: np.ndarray) -> float:
    """exp of the mean per-token NLL (windows are equally long, so the mean of window means is the token mean)."""
    return float(math.exp(float(np.mean(nll_per_window))))


def _cache_arg() -> str:
    """The keyword of the KV cache in this transformers version (`cache` from 5.x, `past_key_values` before)."""
    import inspect

    from transformers import LlamaForCausalLM

    return "cache" if "cache" in inspect.signature(LlamaForCausalLM.forward).parameters else "past_key_values"


def _cache(out):
    return getattr(out, "cache", None) or out.past_key_values


_CACHE_ARG = _cache_arg()


@torch.no_grad()
def greedy(model: nn.Module, prompts: torch.Tensor, n_new: int) -> torch.Tensor:
    """Greedy continuation of each prompt row by `n_new` tokens, reusing the cached keys/values."""
    model.eval()
    x = prompts.to(next(model.parameters()).device)
    out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=True)
    cache, nxt, new = _cache(out), out.logits[:, -1].argmax(-1, keepdim=True), []
    mask = torch.ones_like(x)
    for step in range(n_new):
        new.append(nxt)
        if step == n_new - 1:
            break
        mask = torch.cat([mask, torch.ones_like(nxt)], 1)
        out = model(input_ids=nxt, attention_mask=mask, use_cache=True, **{_CACHE_ARG: cache})
        cache, nxt = _cache(out), out.logits[:, -1].argmax(-1, keepdim=True)
    return torch.cat(new, 1)


def generation_speed(model: nn.Module, prompts: torch.Tensor, n_new: int, repeats: int = 1) -> float:
    """Generated tokens per second of `greedy` (best of `repeats` timed runs after one warm-up on one prompt)."""
    greedy(model, prompts[:1], 2)
    best = math.inf
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        greedy(model, prompts, n_new)
        best = min(best, time.perf_counter() - t0)
    return prompts.shape[0] * n_new / best


def continuations(model: nn.Module, prompts: torch.Tensor, n_new: int, decode: Callable[[list[int]], str]
                  ) -> list[str]:
    """Decoded greedy continuations, one string per prompt."""
    return [decode(row.tolist()) for row in greedy(model, prompts, n_new)]
