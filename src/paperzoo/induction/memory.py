"""Associative-memory construction of the induction head and its predicted logits (arXiv 2412.11459).

With Phi_1 = W_O^1 W_V^1, embeddings w_E, unembeddings w_U and positions p_t the weights are built as

    W_K^1 = a_1/c sum_t p_t p_{t-1}^T                 previous-token head  (pos="rel": b^1_1 = a_1 instead)
    W_K^2 = a_2/c sum_k w_E(k) (Phi_1 w_E(k))^T       match the token that preceded
    W_O^2 = a_3   sum_k w_U(k) (W_V^2 w_E(k))^T       copy the attended token
    W_F   = g     sum_{i,j} log pi_b(j|i) w_U(j) w_E(i)^T   global bigram (rows centred)

(c = the model's score scale). For orthonormal embeddings the logit of token j at the last position T of a
prompt whose last token is a is then, in closed form,

    l_j = g [log pi_b(j|a) - (1/N) sum_k log pi_b(k|a)] + a_3 (e^{a_2} m_j + o_j) / (e^{a_2} n_a + (T - n_a)),

(the global term is row-centred because W_F stores the centred log pi_b; softmax is unchanged by it),
where n_a = #{s <= T: z_{s-1} = a} (the positions that follow an earlier a), m_j of them hold j, and o_j counts
the other positions that hold j; position 1 has itself as predecessor (layer 1 can only attend to itself).
The in-context term grows with the share of a->j in context and is diluted by attention spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .model import InductionTransformer


@dataclass
class MemoryStrengths:
    prev: float = 30.0  # a_1: previous-token score margin
    match: float = 4.0  # a_2: layer-2 score margin of a matching predecessor
    copy: float = 6.0  # a_3: logit added to the copied token (full attention)
    bigram: float = 1.0  # g: weight of the global bigram memory


def centred_log_bigram(pi_b: torch.Tensor) -> torch.Tensor:
    """log pi_b(j|i) minus its row mean (softmax is unchanged, the memory is smaller)."""
    log_pi = torch.log(pi_b.to(torch.float64).clamp_min(1e-300))
    return log_pi - log_pi.mean(1, keepdim=True)


@torch.no_grad()
def build_associative_memory(model: InductionTransformer, pi_b: torch.Tensor,
                             strengths: MemoryStrengths | None = None) -> InductionTransformer:
    """Overwrite W_K^1, W_K^2, W_O^2 and W_F of a two-layer model with the constructions above (in place)."""
    s = strengths or MemoryStrengths()
    if len(model.layers) != 2:
        raise ValueError(f"the construction is for two-layer models, got {len(model.layers)} layers")
    if model.cfg.pos not in ("ape", "sin", "rel"):
        raise ValueError(f"the construction needs pos in ape, sin, rel; got {model.cfg.pos!r}")
    l1, l2 = model.layers
    c = model.score_scale
    emb, unemb = model.emb.detach(), model.unemb.detach()
    if model.cfg.pos == "rel":
        l1.wk.zero_()
        l1.rel_bias.zero_()
        l1.rel_bias[1] = s.prev
    else:
        p = model.pos.detach()
        l1.wk.copy_(s.prev / c * p[1:].T @ p[:-1])
    phi1 = l1.wo @ l1.wv
    l2.wk.copy_(s.match / c * emb.T @ (emb @ phi1.T))
    l2.wo.copy_(s.copy * unemb.T @ (emb @ l2.wv.T))
    if l2.rel_bias is not None:
        l2.rel_bias.zero_()
    if model.wf is not None:
        log_pi = centred_log_bigram(pi_b).to(emb.dtype).to(emb.device)
        model.wf.copy_(s.bigram * unemb.T @ log_pi.T @ emb)
    return model


@torch.no_grad()
def make_orthogonal(model: InductionTransformer, seed: int = 0) -> InductionTransformer:
    """Replace the frozen random matrices by an exactly orthogonal design (in place).

    Blocks of a random orthonormal basis: A = [embeddings | positions], B = Phi_1 A, then unembeddings;
    W_V^1 = I, W_O^1 swaps A and B (so Phi_1 is orthogonal and Phi_1 A is orthogonal to A), W_V^2 = I.
    Needs d >= 2 (vocab + max_len) + vocab (positions only for absolute encodings).
    """
    n, d = model.vocab, model.cfg.d_model
    n_pos = model.pos.shape[0] if model.pos is not None else 0
    block = n + n_pos
    need = 2 * block + n
    if d < need:
        raise ValueError(f"make_orthogonal needs d_model >= {need}, got {d}")
    gen = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    basis = basis.T.to(model.emb.dtype)  # rows are orthonormal
    a, b, u = basis[:block], basis[block:2 * block], basis[2 * block:2 * block + n]
    model.emb.copy_(a[:n])
    if model.pos is not None:
        model.pos.copy_(a[n:])
    model.unemb.copy_(u)
    swap = a.T @ b + b.T @ a  # maps A -> B and B -> A, zero elsewhere
    rest = torch.eye(d, dtype=swap.dtype) - a.T @ a - b.T @ b
    l1, l2 = model.layers[0], model.layers[1]
    l1.wv.copy_(torch.eye(d))
    l1.wo.copy_(swap + rest)
    l2.wv.copy_(torch.eye(d))
    return model


def theoretical_logits(prompt: torch.Tensor, pi_b: torch.Tensor, strengths: MemoryStrengths | None = None,
                       global_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Closed-form logits (vocab,) at the last position of `prompt` (1-D tokens), formula in the module doc.

    `global_logits` (vocab, vocab) replaces log pi_b as the stored global bigram (e.g. read from a trained W_F).
    """
    s = strengths or MemoryStrengths()
    z = prompt.tolist()
    a, n_vocab = z[-1], pi_b.shape[0]
    prev = [z[0]] + z[:-1]
    match = torch.tensor([p == a for p in prev], dtype=torch.float64)
    weights = match * math.exp(s.match) + (1 - match)
    attended = torch.zeros(n_vocab, dtype=torch.float64)
    attended.index_add_(0, prompt.long(), weights)
    in_context = s.copy * attended / weights.sum()
    table = centred_log_bigram(pi_b) if global_logits is None else global_logits.to(torch.float64)
    return s.bigram * table[a] + in_context


@torch.no_grad()
def read_strengths(model: InductionTransformer) -> MemoryStrengths:
    """Strengths a_2, a_3 stored in a two-layer model, read from the weights along the memory directions.

    a_2 = c mean_k w_E(k)^T W_K^2 Phi_1 w_E(k) / (|w_E(k)|^2 |Phi_1 w_E(k)|^2),
    a_3 = mean_k w_U(k)^T W_O^2 W_V^2 w_E(k) / (|w_U(k)|^2 |W_V^2 w_E(k)|^2); exact for the construction.
    """
    l1, l2 = model.layers[0], model.layers[1]
    emb, unemb = model.emb, model.unemb
    key = emb @ (l1.wo @ l1.wv).T
    a2 = (emb @ l2.wk * key).sum(1) / (emb.pow(2).sum(1) * key.pow(2).sum(1))
    val = emb @ l2.wv.T
    a3 = (unemb @ l2.wo * val).sum(1) / (unemb.pow(2).sum(1) * val.pow(2).sum(1))
    return MemoryStrengths(prev=float("nan"), match=float(a2.mean()) * model.score_scale,
                           copy=float(a3.mean()), bigram=1.0)


@torch.no_grad()
def effective_strengths(model: InductionTransformer, tokens: torch.Tensor) -> MemoryStrengths:
    """a_2, a_3 of a (trained) two-layer model measured on its activations for `tokens` (B, T).

    a_2: from the layer-2 attention mass m on the n positions that follow an earlier occurrence of the query
    token among T' attended ones, m = n e^{a_2} / (n e^{a_2} + T' - n)  =>  a_2 = median log(m (T'-n) / (n (1-m))).
    a_3: mean over positions s of u_s[z_s] - mean_{j != z_s} u_s[j], u_s = W_U (I + W_F) W_O^2 W_V^2 x^1_s
    (the logits that attending to s adds, through the residual and the feed-forward).
    """
    x1, _ = model.layers[0](model.embed(tokens))
    l2 = model.layers[1]
    attn = torch.softmax(l2.scores(x1), dim=-1)
    prev = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
    causal = torch.ones_like(attn, dtype=torch.bool).tril()
    match = (tokens[:, :, None] == prev[:, None, :]) & causal
    n = match.sum(-1).double()
    total = causal.sum(-1).double()
    mass = (attn * match).sum(-1).double().clamp(1e-6, 1 - 1e-6)
    ok = (n > 0) & (n < total)
    a2 = torch.log(mass * (total - n) / (n * (1 - mass)))[ok].median()
    head = x1 @ l2.wv.T @ l2.wo.T
    if model.wf is not None:
        head = head + head @ model.wf.T
    copied = (head @ model.unemb.T).double()
    copied = copied - copied.mean(-1, keepdim=True)
    n_vocab = copied.shape[-1]
    a3 = copied.gather(-1, tokens[..., None]).mean() * n_vocab / (n_vocab - 1)
    return MemoryStrengths(prev=float("nan"), match=float(a2), copy=float(a3), bigram=1.0)


@torch.no_grad()
def stored_bigram_logits(model: InductionTransformer) -> torch.Tensor:
    """(vocab, vocab) row-centred logits of the direct and feed-forward paths: W_U (I + W_F) w_E(i)."""
    out = model.emb @ model.unemb.T
    if model.wf is not None:
        out = out + model.emb @ model.wf.T @ model.unemb.T
    out = out.double().cpu()
    return out - out.mean(1, keepdim=True)


# The extended theory. The closed form keeps only the token a in the global term and only the token one-hot in
# the copied value. The trained model's readout W_U (I + W_F) reads the whole residual, so the theory adds, one
# term at a time (THEORY_TERMS, each a superset of the one before):
#
#   position  global term W_U (I + W_F) (w_E(a) + p_T)                         (the position vector too)
#   layer1    global term W_U (I + W_F) x^1_T, x^1_t = x^0_t + Phi_1 sum_s beta^1_ts x^0_s with
#             beta^1_t. = rho [s = t-1] + (1 - rho) / t                        (rho: measured previous-token share)
#   values    in-context term W_U (I + W_F) W_O^2 W_V^2 sum_s alpha_s x^1_s, alpha_s ∝ e^{a_2 [z_{s-1} = a]},
#             instead of a_3 x (alpha mass on each token)                     (the full copied value vector)
#
# rho and a_2 come from the model's activations on training-distribution sequences (``effective_strengths``,
# ``previous_token_share``), the rest are its weights: nothing is fitted to its logits on the designed prompts.
THEORY_TERMS = ("closed_form", "position", "layer1", "values")


@torch.no_grad()
def previous_token_share(model: InductionTransformer, tokens: torch.Tensor) -> float:
    """rho: mean layer-1 attention on the previous token over positions t >= 2 of `tokens` (B, T)."""
    _, attn = model.layers[0](model.embed(tokens))
    return float(attn.diagonal(offset=-1, dim1=-2, dim2=-1).mean())


def _match_weights(prompts: torch.Tensor, match: float) -> torch.Tensor:
    """alpha (P, T): layer-2 attention of the last position, e^{a_2} on positions whose predecessor is z_T."""
    prev = torch.cat([prompts[:, :1], prompts[:, :-1]], dim=1)
    hit = (prev == prompts[:, -1:]).double()
    w = hit * math.exp(match) + (1 - hit)
    return w / w.sum(1, keepdim=True)


@torch.no_grad()
def extended_theory_logits(model: InductionTransformer, prompts: torch.Tensor, strengths: MemoryStrengths,
                           prev_share: float, term: str = "values") -> torch.Tensor:
    """Theory logits (P, vocab) at the last position of `prompts` (P, T), with THEORY_TERMS up to `term`.

    ``closed_form`` is ``theoretical_logits`` with the stored bigram W_U (I + W_F) w_E as the global table.
    """
    if term not in THEORY_TERMS:
        raise ValueError(f"term must be one of {THEORY_TERMS}, got {term!r}")
    level = THEORY_TERMS.index(term)
    alpha = _match_weights(prompts, strengths.match)  # (P, T)
    readout = model.readout().double()
    x0 = model.embed(prompts).double()
    if level == 0:
        table = stored_bigram_logits(model).to(x0.device)
        attended = torch.zeros(prompts.shape[0], model.vocab, dtype=torch.float64, device=x0.device)
        attended.scatter_add_(1, prompts, alpha)
        return strengths.bigram * table[prompts[:, -1]] + strengths.copy * attended
    T = prompts.shape[1]
    eye = torch.eye(T, dtype=torch.float64, device=x0.device)
    beta = (1 - prev_share) * torch.ones(T, T, dtype=torch.float64, device=x0.device).tril()
    beta = beta / torch.arange(1, T + 1, dtype=torch.float64, device=x0.device)[:, None]
    beta += prev_share * torch.cat([eye[:1], eye[:-1]])  # position 1 attends to itself
    l1, l2 = model.layers[0], model.layers[1]
    x1 = x0 + beta @ x0 @ (l1.wo @ l1.wv).double().T if level >= 2 else x0
    global_term = x1[:, -1] @ readout.T
    if level < 3:
        attended = torch.zeros(prompts.shape[0], model.vocab, dtype=torch.float64, device=x0.device)
        attended.scatter_add_(1, prompts, alpha)
        return global_term + strengths.copy * attended
    head = (alpha[:, :, None] * x1).sum(1) @ (l2.wo @ l2.wv).double().T
    return global_term + head @ readout.T
