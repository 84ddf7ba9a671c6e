"""Speed of three ways to draw z_{t+1} ~ pi_b(.|z_t) for a batch (the inner loop of BigramTriggerData).

    python benchmarks/induction_sampler.py [--batch 64] [--vocab 32] [--seq-len 64]

multinomial per step, batched torch.searchsorted on the row CDFs, and counting CDF entries below a uniform
(what paperzoo.induction.data uses). All three draw from the same distribution.
"""

from __future__ import annotations

import argparse
import time

import torch

from paperzoo.induction.data import dirichlet_bigram


def run(method: str, pi_b: torch.Tensor, batch: int, seq_len: int) -> float:
    gen = torch.Generator().manual_seed(0)
    cdf = pi_b.cumsum(1)
    z = torch.zeros(batch, dtype=torch.long)
    start = time.perf_counter()
    for _ in range(seq_len):
        if method == "multinomial":
            z = torch.multinomial(pi_b[z], 1, generator=gen).squeeze(1)
        else:
            u = torch.rand(batch, 1, generator=gen, dtype=pi_b.dtype)
            if method == "searchsorted":
                z = torch.searchsorted(cdf[z].contiguous(), u).squeeze(1).clamp_max(len(pi_b) - 1)
            else:
                z = (cdf[z] < u).sum(1).clamp_max(len(pi_b) - 1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    pi_b = dirichlet_bigram(args.vocab, 1.0, 0)
    for method in ("multinomial", "searchsorted", "count"):
        best = min(run(method, pi_b, args.batch, args.seq_len) for _ in range(args.repeats))
        print(f"{method:>12}: {1000 * best:8.2f} ms per batch of {args.batch} x {args.seq_len}")


if __name__ == "__main__":
    main()
