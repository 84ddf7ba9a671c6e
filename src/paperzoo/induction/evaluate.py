"""Evaluation of a trained model: ICL accuracy at a length, and the designed prompts against the theory.

Designed prompts (``prompts.py``): a count sweep (n pairs a→b, then a) and a conflict grid (a→b n_b times,
a→b' n_b' times). On each the trained model's logits at the final a are compared with the theory's
(``memory.extended_theory_logits``) term by term (``memory.THEORY_TERMS``): Pearson r of the row-centred
logits over all prompts and tokens. The theory's strengths are measured on training-distribution sequences,
never on these prompts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .data import BigramTriggerData
from .memory import (
    THEORY_TERMS,
    effective_strengths,
    extended_theory_logits,
    previous_token_share,
    read_strengths,
    theoretical_logits,
)
from .model import InductionTransformer
from .probes import icl_accuracy
from .prompts import choose_probes, designed_prompt


def crossover(p_in_context: list[float], p_global: list[float]) -> float:
    """Smallest count n (index) with P(in-context successor) > P(global successor); NaN if none."""
    for n, (pb, pc) in enumerate(zip(p_in_context, p_global, strict=True)):
        if pb > pc:
            return float(n)
    return float("nan")


@torch.no_grad()
def accuracy_at(model: InductionTransformer, data: BigramTriggerData, length: int, batch: int, seed: int,
                ood: bool = False) -> tuple[float, list[torch.Tensor], Any]:
    """ICL accuracy on `batch` fresh sequences of `length` tokens, the attention maps and the batch."""
    b = data.sample(batch, length, torch.Generator().manual_seed(seed), ood=ood).to(model.emb.device)
    logits, maps = model(b.tokens)
    return icl_accuracy(logits, b), maps, b


def centred(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True)


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """r of the row-centred logits (P, vocab), flattened over prompts and tokens."""
    return float(torch.corrcoef(torch.stack([centred(a).flatten(), centred(b).flatten()]))[0, 1])


@torch.no_grad()
def designed_prompts(model: InductionTransformer, data: BigramTriggerData, ev, length: int, seed: int,
                     quantile: float = 0.5, conflicts: bool = True) -> dict[str, Any]:
    """Count sweep and conflict grid: trained vs theory logits at the final a (b at `quantile`).

    ``ev``: the eval config (n_probes, n_backgrounds, max_count, conflict_max, batch_size). The decisions (P(b),
    P(c), crossover, conflict winners) use the full theory (the last of THEORY_TERMS); r is given per term.
    """
    gen = torch.Generator().manual_seed(seed)
    probes = choose_probes(data.pi_b, min(ev.n_probes, data.vocab), gen, quantile)
    device = model.emb.device
    calib = data.sample(ev.batch_size // 4 + 1, length, torch.Generator().manual_seed(seed + 1)).tokens.to(device)
    strengths, rho = effective_strengths(model, calib), previous_token_share(model, calib)
    counts = list(range(ev.max_count + 1))
    cells = [(n, p) for n in counts for p in probes for _ in range(ev.n_backgrounds)]
    prompts = torch.stack([designed_prompt(data.pi_b, p, n, 0, length, gen) for n, p in cells]).to(device)
    trained = model(prompts)[0][:, -1].double()
    theory = {t: extended_theory_logits(model, prompts, strengths, rho, t) for t in THEORY_TERMS}
    full = theory[THEORY_TERMS[-1]]
    pi_b_logits = torch.stack([theoretical_logits(p.cpu(), data.pi_b, strengths) for p in prompts]).to(device)
    b_idx = torch.tensor([p.b for _, p in cells], device=device)
    c_idx = torch.tensor([p.c for _, p in cells], device=device)
    n_idx = torch.tensor([n for n, _ in cells], device=device)
    pb, pc = {}, {}
    for which, logits in (("trained", trained), ("theory", full)):
        prob = torch.softmax(logits, -1)
        rows = torch.arange(len(cells), device=device)
        pb[which] = np.array([float(prob[rows, b_idx][n_idx == n].mean()) for n in counts])
        pc[which] = np.array([float(prob[rows, c_idx][n_idx == n].mean()) for n in counts])
    margin_t = trained.gather(1, b_idx[:, None]) - trained.gather(1, c_idx[:, None])
    margin_th = full.gather(1, b_idx[:, None]) - full.gather(1, c_idx[:, None])
    conflict = conflict_grid(model, data, probes, strengths, rho, ev.conflict_max if conflicts else -1, length,
                             gen)
    return {"counts": counts, "pb": pb, "pc": pc, "pearson": pearson(trained, full),
            "pearson_terms": {t: pearson(trained, v) for t, v in theory.items()},
            "margin_pearson": float(np.corrcoef(margin_t.flatten().cpu(), margin_th.flatten().cpu())[0, 1]),
            "pearson_pi_b": pearson(trained, pi_b_logits), "weight_strengths": read_strengths(model),
            "crossover_trained": crossover(list(pb["trained"]), list(pc["trained"])),
            "crossover_theory": crossover(list(pb["theory"]), list(pc["theory"])),
            "strengths": strengths, "prev_share": rho, "conflict": conflict}


@torch.no_grad()
def conflict_grid(model, data, probes, strengths, rho, conflict_max: int, length: int, gen) -> list[tuple]:
    """[(n_b, n_b', share where b beats b' trained, same by the full theory)] for n_b, n_b' ≤ conflict_max."""
    out = []
    for n1 in range(conflict_max + 1):
        for n2 in range(conflict_max + 1):
            if n1 + n2 == 0:
                continue
            prompts = torch.stack([designed_prompt(data.pi_b, p, n1, n2, length, gen) for p in probes])
            prompts = prompts.to(model.emb.device)
            lt = model(prompts)[0][:, -1]
            lth = extended_theory_logits(model, prompts, strengths, rho)
            b, b2 = [torch.tensor([getattr(p, k) for p in probes], device=prompts.device)[:, None]
                     for k in ("b", "b2")]
            out.append((n1, n2, float((lt.gather(1, b) > lt.gather(1, b2)).double().mean()),
                        float((lth.gather(1, b) > lth.gather(1, b2)).double().mean())))
    return out
