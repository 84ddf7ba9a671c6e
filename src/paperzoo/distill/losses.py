"""The distillation loss terms and the paper's joint objective (arXiv 2412.19449).

    L = α·L_hard + β·L_feat + γ·L_att + δ·L_dist

- L_hard = CE(z_S, y)                                            (MSE for regression)
- L_feat = Σ_(i,j) mean_valid ||W_i h_S^i − h_T^j||² / d_T          (W_i: d_S → d_T learned; or 1 − cos)
- L_att  = TinyBERT  : Σ mean_(heads, valid q,k) (A_S − A_T)²  on pre-softmax scores A = QKᵀ/√d_h
           KL        : Σ mean_(heads, valid q) KL(softmax A_T ‖ softmax A_S)
           relation  : Σ_{X∈Q,K,V} mean_(rel. heads, valid q) KL(softmax(X_T X_Tᵀ/√d_r) ‖ softmax(X_S X_Sᵀ/√d_r))
                       (MiniLMv2; head counts may differ)
           over the (query, key) pairs of content tokens: with att_tokens=content (the default) the tokenizer's
           special tokens ([CLS], [SEP]) are left out as queries and keys and each map is renormalised over the
           remaining keys, i.e. L_att equals the loss on the examples with those tokens cut out; att_tokens=all
           aligns every valid token (TinyBERT's form). Why (issue 19): all-MiniLM-L6-v2 puts ~half of its block-2
           attention on [CLS], and aligning that sink steered the student's q/k (where the task loss has ~10x
           smaller gradients, and Adam normalises per coordinate) away from mixing the sentence.
- L_dist = τ²·mean KL(softmax(z_T/τ) ‖ softmax(z_S/τ))            per example, or per valid token for LMs
           (terms with p_T = 0, e.g. teacher logits of −inf, count 0: KL stays finite)

All masks are (batch, seq) with 1 for real tokens; padding never contributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e4  # additive mask value; large enough to zero a softmax, small enough for bf16


def _valid(mask: torch.Tensor) -> torch.Tensor:
    return mask.to(torch.bool)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ over valid tokens of ||pred − target||², divided by (#valid · d)."""
    m = _valid(mask).unsqueeze(-1).to(pred.dtype)
    n = m.sum().clamp_min(1) * pred.shape[-1]
    return ((pred - target) ** 2 * m).sum() / n


def masked_cosine(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid tokens of 1 − cos(pred, target) (DistilBERT's hidden-state loss)."""
    m = _valid(mask).to(pred.dtype)
    cos = F.cosine_similarity(pred, target, dim=-1, eps=1e-8)
    return ((1 - cos) * m).sum() / m.sum().clamp_min(1)


def pair_mask(mask: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """(B, L, L) boolean: query and key both real tokens (and key ≤ query when causal)."""
    v = _valid(mask)
    pm = v[:, :, None] & v[:, None, :]
    if causal:
        L = mask.shape[1]
        pm = pm & torch.ones(L, L, dtype=torch.bool, device=mask.device).tril()
    return pm


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, L, H·d) -> (B, H, L, d)."""
    B, L, D = x.shape
    if D % n_heads:
        raise ValueError(f"feature size {D} is not divisible by {n_heads} heads")
    return x.view(B, L, n_heads, D // n_heads).transpose(1, 2)


def attention_scores(q: torch.Tensor, k: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Pre-softmax scores QKᵀ/√d_h per head, (B, H, L, L), from the outputs of the q/k projections."""
    qh, kh = split_heads(q, n_heads), split_heads(k, n_heads)
    return qh @ kh.transpose(-1, -2) / math.sqrt(qh.shape[-1])


def attention_score_mse(s_student: torch.Tensor, s_teacher: torch.Tensor, mask: torch.Tensor,
                        causal: bool = False) -> torch.Tensor:
    """TinyBERT attention loss: MSE of pre-softmax scores over heads and valid (query, key) pairs."""
    if s_student.shape != s_teacher.shape:
        raise ValueError(f"score MSE needs equal head counts/shapes, got {tuple(s_student.shape)} vs "
                         f"{tuple(s_teacher.shape)}; use att_kind='relation' for mismatched heads")
    pm = pair_mask(mask, causal).unsqueeze(1).to(s_student.dtype)
    n = pm.sum().clamp_min(1) * s_student.shape[1]
    return ((s_student - s_teacher) ** 2 * pm).sum() / n


def _masked_log_softmax(scores: torch.Tensor, mask: torch.Tensor, causal: bool) -> torch.Tensor:
    pm = pair_mask(mask, causal).unsqueeze(1)
    return torch.log_softmax(scores.float().masked_fill(~pm, NEG), dim=-1)


def row_kl(logp_teacher: torch.Tensor, logp_student: torch.Tensor, mask: torch.Tensor,
           causal: bool = False) -> torch.Tensor:
    """mean over heads and valid queries of Σ_keys p_T (log p_T − log p_S); masked keys excluded."""
    pm = pair_mask(mask, causal).unsqueeze(1)
    p_t = logp_teacher.exp()
    kl = torch.where(pm, p_t * (logp_teacher - logp_student), torch.zeros_like(p_t)).sum(-1)  # (B, H, L)
    q = _valid(mask).unsqueeze(1).to(kl.dtype)
    return (kl * q).sum() / (q.sum().clamp_min(1) * kl.shape[1])


def attention_kl(s_student: torch.Tensor, s_teacher: torch.Tensor, mask: torch.Tensor,
                 causal: bool = False, from_probs: bool = False) -> torch.Tensor:
    """KL(A_T ‖ A_S) per query row, from pre-softmax scores (or from probabilities with ``from_probs``).
    Mismatched head counts are reduced to the head-averaged distribution."""
    if from_probs:
        lt, ls = s_teacher.float().clamp_min(1e-12).log(), s_student.float().clamp_min(1e-12).log()
    else:
        lt, ls = _masked_log_softmax(s_teacher, mask, causal), _masked_log_softmax(s_student, mask, causal)
    if lt.shape[1] != ls.shape[1]:
        lt = torch.logsumexp(lt, 1, keepdim=True) - math.log(lt.shape[1])
        ls = torch.logsumexp(ls, 1, keepdim=True) - math.log(ls.shape[1])
    return row_kl(lt, ls, mask, causal)


def relation_kl(x_student: torch.Tensor, x_teacher: torch.Tensor, n_rel_heads: int, mask: torch.Tensor,
                causal: bool = False) -> torch.Tensor:
    """MiniLMv2 self-attention relation: KL of softmax(X Xᵀ/√d_r) per relation head; widths may differ."""
    rs = attention_scores(x_student, x_student, n_rel_heads)
    rt = attention_scores(x_teacher, x_teacher, n_rel_heads)
    return row_kl(_masked_log_softmax(rt, mask, causal), _masked_log_softmax(rs, mask, causal), mask, causal)


def soft_kl(z_student: torch.Tensor, z_teacher: torch.Tensor, tau: float,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """τ²·KL(softmax(z_T/τ) ‖ softmax(z_S/τ)), mean per example ((B, C) logits) or per valid token
    ((B, L, V) logits with a (B, L) mask)."""
    with torch.set_grad_enabled(z_teacher.requires_grad and torch.is_grad_enabled()):  # usually a constant
        lt = torch.log_softmax(z_teacher.float() / tau, -1)
        pt = lt.exp()
        # tokens the teacher rules out (logit −inf, e.g. a masked vocabulary) contribute 0·log 0 = 0, not NaN
        keep = pt > 0
        every = bool(keep.all())  # the common case skips the masking passes over the (LM-sized) vocabulary
        if not every:
            lt = torch.where(keep, lt, 0.0)
    ls = torch.log_softmax(z_student.float() / tau, -1)
    kl = (pt * (lt - (ls if every else torch.where(keep, ls, 0.0)))).sum(-1)
    if mask is None:
        return tau**2 * kl.mean()
    m = _valid(mask).to(kl.dtype)
    return tau**2 * (kl * m).sum() / m.sum().clamp_min(1)


def hard_loss(logits: torch.Tensor, target: torch.Tensor, kind: Literal["ce", "mse"] = "ce") -> torch.Tensor:
    """Task loss on gold labels: cross-entropy (ignore_index −100), or MSE for regression."""
    if kind == "ce":
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
    if kind == "mse":
        return F.mse_loss(logits.float().squeeze(-1), target.float())
    raise ValueError(f"unknown hard loss {kind!r}; valid: ce, mse")


class Projections(nn.Module):
    """Learned maps W_i: d_S -> d_T, one per mapped layer or one shared (saved with the student)."""

    def __init__(self, d_student: int, d_teacher: int, n_layers: int, shared: bool = False):
        super().__init__()
        self.shared = shared
        n = 1 if shared else n_layers
        self.maps = nn.ModuleList(nn.Linear(d_student, d_teacher) for _ in range(n))

    def forward(self, h: torch.Tensor, i: int) -> torch.Tensor:
        return self.maps[0 if self.shared else i](h)


@dataclass
class Features:
    """What the objective needs from one forward pass (lists in layer-map order)."""

    logits: torch.Tensor
    mask: torch.Tensor
    hidden: list[torch.Tensor] = field(default_factory=list)
    qkv: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=list)
    attn_probs: list[torch.Tensor] = field(default_factory=list)
    n_heads: int = 1
    causal: bool = False
    att_mask: torch.Tensor | None = None  # tokens L_att aligns (kd.att_tokens=content: no special tokens); None = mask


@dataclass
class LossWeights:
    """α·hard + β·feat + γ·att + δ·dist and how each term is computed."""

    hard: float = 1.0
    feat: float = 1.0
    att: float = 1.0
    dist: float = 1.0
    tau: float = 2.0
    feat_kind: Literal["mse", "cosine"] = "mse"
    att_kind: Literal["score_mse", "kl", "relation"] = "kl"
    rel_heads: int = 12
    hard_kind: Literal["ce", "mse"] = "ce"
    att_tokens: Literal["all", "content"] = "content"  # with Trainee.special_ids; see attention_term

    def __post_init__(self):
        for k in ("hard", "feat", "att", "dist"):
            if getattr(self, k) < 0:
                raise ValueError(f"loss weight {k} must be >= 0, got {getattr(self, k)}")
        if self.tau <= 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")
        if self.feat_kind not in ("mse", "cosine"):
            raise ValueError(f"feat_kind must be mse or cosine, got {self.feat_kind!r}")
        if self.att_kind not in ("score_mse", "kl", "relation"):
            raise ValueError(f"att_kind must be score_mse, kl or relation, got {self.att_kind!r}")
        if self.att_tokens not in ("all", "content"):
            raise ValueError(f"att_tokens must be all or content, got {self.att_tokens!r}")


def joint_loss(w: LossWeights, s: Features, t: Features, proj: Projections | None,
               target: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's objective; returns (total, {term: value}) — terms with weight 0 are skipped."""
    terms: dict[str, torch.Tensor] = {}
    lm = s.logits.dim() == 3
    if w.hard > 0:
        if target is None:
            raise ValueError("hard-label weight > 0 needs targets")
        terms["hard"] = hard_loss(s.logits, target, w.hard_kind)
    if w.dist > 0:
        terms["dist"] = soft_kl(s.logits, t.logits, w.tau, s.mask if lm else None)
    if w.feat > 0:
        if len(s.hidden) != len(t.hidden) or not s.hidden:
            raise ValueError(f"feature term needs matched hidden lists, got {len(s.hidden)} vs {len(t.hidden)}")
        f = 0.0
        for i, (hs, ht) in enumerate(zip(s.hidden, t.hidden, strict=True)):
            hs = proj(hs.float(), i) if proj is not None else hs.float()
            f = f + (masked_mse(hs, ht.float(), s.mask) if w.feat_kind == "mse"
                     else masked_cosine(hs, ht.float(), s.mask))
        terms["feat"] = f
    if w.att > 0:
        terms["att"] = attention_term(w, s, t)
    total = sum(getattr(w, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}


def attention_term(w: LossWeights, s: Features, t: Features) -> torch.Tensor:
    """Sum over mapped layers of the chosen attention-alignment loss, over the (query, key) pairs of
    ``s.att_mask`` (content tokens only with att_tokens=content; default: every valid token)."""
    mask = s.mask if s.att_mask is None else s.att_mask
    a = 0.0
    if w.att_kind == "relation":
        if not s.qkv or len(s.qkv) != len(t.qkv):
            raise ValueError("relation loss needs captured q/k/v for the mapped layers")
        for qs, qt in zip(s.qkv, t.qkv, strict=True):
            for xs, xt in zip(qs, qt, strict=True):
                a = a + relation_kl(xs.float(), xt.float(), w.rel_heads, mask, s.causal) / 3
        return a
    if s.attn_probs and t.attn_probs and w.att_kind == "kl":
        for ps, pt in zip(s.attn_probs, t.attn_probs, strict=True):
            if s.att_mask is not None:  # renormalise the maps over the kept keys
                ps, pt = (p * mask[:, None, None, :].to(p.dtype) for p in (ps, pt))
                ps, pt = (p / p.sum(-1, keepdim=True).clamp_min(1e-12) for p in (ps, pt))
            a = a + attention_kl(ps, pt, mask, s.causal, from_probs=True)
        return a
    if not s.qkv or len(s.qkv) != len(t.qkv):
        raise ValueError("attention loss needs captured q/k (or output_attentions for kl) for mapped layers")
    for (qs, ks, _), (qt, kt, _) in zip(s.qkv, t.qkv, strict=True):
        ss = attention_scores(qs.float(), ks.float(), s.n_heads)
        st = attention_scores(qt.float(), kt.float(), t.n_heads)
        a = a + (attention_score_mse(ss, st, mask, s.causal) if w.att_kind == "score_mse"
                 else attention_kl(ss, st, mask, s.causal))
    return a
