"""Designed prompts: token a followed in context by b (n times) and b' (n' times), ending with a.

The background is a bigram chain that never contains a, so the only in-context evidence about a's
successor is the inserted pairs; the global successor is c = argmax_j pi_b(j|a).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Probe:
    a: int  # the query token (last token of the prompt)
    b: int  # the in-context successor
    c: int  # the global successor argmax pi_b(.|a)
    b2: int  # a second in-context successor (conflict prompts)


def choose_probes(pi_b: torch.Tensor, count: int, gen: torch.Generator, quantile: float = 0.5) -> list[Probe]:
    """`count` query tokens a; b and b' are the successors at `quantile` of the ranking by pi_b(.|a)
    (0.5: median probability, 1: the rarest), never c or a."""
    vocab = pi_b.shape[0]
    probes = []
    for a in torch.randperm(vocab, generator=gen)[:count].tolist():
        row = pi_b[a].clone()
        c = int(row.argmax())
        order = [j for j in torch.argsort(row, descending=True).tolist() if j not in (a, c)]
        at = min(int(quantile * len(order)), len(order) - 2)
        probes.append(Probe(a=a, b=order[at], c=c, b2=order[at + 1]))
    return probes


def background(pi_b: torch.Tensor, avoid: int, length: int, gen: torch.Generator) -> list[int]:
    """A bigram chain of `length` tokens from pi_b with token `avoid` removed (rows renormalised)."""
    p = pi_b.clone()
    p[:, avoid] = 0
    p = p / p.sum(1, keepdim=True)
    start = torch.ones(pi_b.shape[0], dtype=p.dtype)
    start[avoid] = 0
    z = [int(torch.multinomial(start, 1, generator=gen))]
    for _ in range(length - 1):
        z.append(int(torch.multinomial(p[z[-1]], 1, generator=gen)))
    return z


def designed_prompt(pi_b: torch.Tensor, probe: Probe, n_b: int, n_b2: int, length: int,
                    gen: torch.Generator) -> torch.Tensor:
    """Prompt of `length` tokens: background with n_b pairs (a, b) and n_b2 pairs (a, b') inserted, then a."""
    n_bg = length - 2 * (n_b + n_b2) - 1
    if n_bg < max(1, n_b + n_b2):
        raise ValueError(f"prompt length {length} too short for {n_b + n_b2} pairs")
    z = background(pi_b, probe.a, n_bg, gen)
    pairs = [probe.b] * n_b + [probe.b2] * n_b2
    pairs = [pairs[i] for i in torch.randperm(len(pairs), generator=gen).tolist()]
    # distinct insertion slots after background tokens (never at the very start)
    slots = sorted(torch.randperm(n_bg, generator=gen)[: len(pairs)].tolist())
    out, k = [], 0
    for i, tok in enumerate(z):
        out.append(tok)
        while k < len(slots) and slots[k] == i:
            out.extend([probe.a, pairs[k]])
            k += 1
    out.append(probe.a)
    return torch.tensor(out, dtype=torch.long)
