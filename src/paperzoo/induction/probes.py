"""Probes of Bietti et al. (2023): memory recall, attention patterns, ICL / OOD accuracy, bigram KL.

Memory recall of an associative memory W for input embeddings u_i and target embeddings v_j:

    R(W) = (1/|I|) sum_i 1{ argmax_j v_j^T W u_i = target(i) }.
"""

from __future__ import annotations

import torch

from .data import Batch, icl_mask
from .memory import centred_log_bigram
from .model import InductionTransformer


def memory_recall(model: InductionTransformer, seq_len: int) -> dict[str, float]:
    """Recall of W_K^1 (p_t -> p_{t-1}, keys s <= t), W_K^2 (Phi_1 w_E(k) -> w_E(k)), W_O^2 (w_E(k) -> w_U(k)).

    W_K^1 is only scored for absolute encodings (NaN otherwise); chance is about ln(T)/T, 1/N and 1/N.
    """
    with torch.no_grad():
        l1, l2 = model.layers[0], model.layers[1]
        out = {}
        if model.pos is not None:
            p = model.pos[:seq_len]
            scores = p @ l1.wk @ p.T  # [t, s] = p_t^T W_K^1 p_s
            scores = scores.masked_fill(~torch.ones_like(scores, dtype=torch.bool).tril(), float("-inf"))
            hits = scores[1:].argmax(1) == torch.arange(seq_len - 1, device=p.device)
            out["recall_wk1"] = float(hits.float().mean())
        else:
            out["recall_wk1"] = float("nan")
        emb = model.emb
        key = emb @ (l1.wo @ l1.wv).T
        target = torch.arange(model.vocab, device=emb.device)
        out["recall_wk2"] = float(((emb @ l2.wk @ key.T).argmax(0) == target).float().mean())
        val = emb @ l2.wv.T
        out["recall_wo2"] = float(((model.unemb @ l2.wo @ val.T).argmax(0) == target).float().mean())
    return out


def previous_token_attention(attn1: torch.Tensor) -> float:
    """Mean layer-1 attention A^1[t, t-1] over positions t >= 2 (and the batch)."""
    return float(attn1.detach().diagonal(offset=-1, dim1=-2, dim2=-1).mean())


def induction_attention(attn2: torch.Tensor, tokens: torch.Tensor) -> float:
    """Mean layer-2 attention mass on {s <= t: z_{s-1} = z_t} over positions t whose token occurred before."""
    prev = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
    target = (tokens[:, :, None] == prev[:, None, :]) & torch.ones_like(attn2, dtype=torch.bool).tril()
    target[:, :, 0] = False  # position 1 has no predecessor
    rows = target.any(-1)
    mass = (attn2.detach() * target).sum(-1)
    return float(mass[rows].mean()) if rows.any() else float("nan")


def icl_accuracy(logits: torch.Tensor, batch: Batch) -> float:
    """Top-1 accuracy at second-and-later trigger occurrences (the target is the trigger's output)."""
    mask = icl_mask(batch.tokens, batch.triggers)
    pred = logits[:, :-1].argmax(-1)
    correct = pred == batch.tokens[:, 1:]
    return float(correct[mask].float().mean()) if mask.any() else float("nan")


def bigram_kl(model: InductionTransformer, pi_b: torch.Tensor) -> float:
    """Mean over i of KL(pi_b(.|i) || softmax(W_U W_F w_E(i))): the bigram stored in the feed-forward alone."""
    if model.wf is None:
        return float("nan")
    with torch.no_grad():
        logq = torch.log_softmax((model.emb @ model.wf.T @ model.unemb.T).double().cpu(), dim=-1)
        p = pi_b.double()
        return float((p * (torch.log(p.clamp_min(1e-300)) - logq)).sum(1).mean())


def stored_bigram_correlation(model: InductionTransformer, pi_b: torch.Tensor) -> float:
    """Pearson r between the feed-forward bigram logits and centred log pi_b (a recall score for W_F)."""
    if model.wf is None:
        return float("nan")
    with torch.no_grad():
        stored = (model.emb @ model.wf.T @ model.unemb.T).double().cpu()
        stored = stored - stored.mean(1, keepdim=True)
        return float(torch.corrcoef(torch.stack([stored.flatten(), centred_log_bigram(pi_b).flatten()]))[0, 1])
