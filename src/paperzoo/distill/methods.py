"""The compared distillation methods: each is a set of loss weights over the joint objective plus the layer
pairs its terms align (one table, shared by the classification and the language-model experiment).

| method              | loss                                                                             |
|---------------------|----------------------------------------------------------------------------------|
| nokd                | L_hard (fine-tuning on the data alone)                                           |
| hinton              | L_hard + τ²·KL                                                    (Hinton 2015)  |
| distilbert          | L_hard + τ²·KL + cosine on the last hidden layer             (Sanh et al. 2019)  |
| tinybert            | β·MSE on embeddings + mapped hidden + γ·score MSE + KL at τ=1    (Jiao 2020)     |
| paper               | α·L_hard + β·L_feat + γ·L_att + δ·L_dist                     (arXiv 2412.19449)  |
| paper_minus_<term>  | the paper's loss with that term's weight set to 0 (ablation)                     |

`kd.att_tokens` (content tokens only, or every token) applies to every method with an attention term (tinybert,
paper, paper_minus_feat, paper_minus_dist); `kd.feat_kind` to the paper's loss and its ablations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from paperzoo.core import param

from .losses import LossWeights

BASELINES = ("nokd", "hinton", "distilbert", "tinybert")
ABLATIONS = ("paper_minus_feat", "paper_minus_att", "paper_minus_dist")
ALL_METHODS = BASELINES + ("paper",) + ABLATIONS


@dataclass
class LossConfig:
    """The paper's joint loss α·hard + β·feat + γ·att + δ·dist and how its terms are computed."""

    alpha: float = param(1.0, ge=0, doc="weight α of the hard-label (task) loss")
    beta: float = param(1.0, ge=0, doc="weight β of the feature-alignment loss on mapped hidden states")
    gamma: float = param(1.0, ge=0, doc="weight γ of the attention-alignment loss")
    delta: float = param(1.0, ge=0, doc="weight δ of the output-distribution loss τ²·KL")
    tau: float = param(2.0, gt=0, doc="softmax temperature τ of the output-distribution loss")
    tau_final: float | None = param(None, gt=0, doc="temperature at the end of training (linear schedule); "
                                                    "None = constant τ")
    feat_kind: Literal["mse", "cosine"] = param("mse", doc="feature loss: MSE through a learned projection, or 1 − cos")
    att_kind: Literal["score_mse", "kl", "relation"] = param(
        "kl", doc="attention loss: TinyBERT score MSE, KL of attention maps, or MiniLMv2 Q/K/V relation KL")
    rel_heads: int = param(12, ge=1, doc="relation heads of the MiniLMv2 loss (must divide both widths)")
    att_tokens: Literal["all", "content"] = param(
        "content", doc="tokens the attention loss aligns, as queries and keys: content tokens only (the "
                       "tokenizer's special tokens such as [CLS]/[SEP], where a BERT teacher parks attention, "
                       "left out and the maps renormalised over the rest), or every valid token (TinyBERT's form); "
                       "applies to every method with an attention term")
    two_stage: float = param(0.0, ge=0, lt=1, doc="fraction of training with the intermediate terms only, then "
                                                   "the prediction terms (TinyBERT); 0 = joint from the start")


@dataclass
class KDConfig(LossConfig):
    """The joint loss, and for students narrower or shallower than their teacher, how layers are paired."""

    layer_map: Literal["uniform", "last", "explicit"] = param(
        "uniform", doc="which teacher layer each student layer imitates (classification)")
    explicit_layers: list[int] = param(factory=list, ge=0, doc="teacher block per student block for layer_map=explicit")
    map_embeddings: bool = param(False, doc="also align the embedding outputs (layer 0)")
    shared_projection: bool = param(False, doc="one projection W for all mapped layers instead of one per layer")


def method_weights(method: str, kd: LossConfig) -> LossWeights:
    """Loss weights of each compared method (baselines follow their papers' task-distillation recipes)."""
    common = dict(rel_heads=kd.rel_heads, att_tokens=kd.att_tokens)
    kinds = dict(feat_kind=kd.feat_kind, att_kind=kd.att_kind, **common)
    table = {
        "nokd": LossWeights(1, 0, 0, 0, kd.tau, **common),
        "hinton": LossWeights(1, 0, 0, 1, kd.tau, **common),
        "distilbert": LossWeights(1, 1, 0, 1, kd.tau, "cosine", **common),
        "tinybert": LossWeights(0, kd.beta, kd.gamma, 1, 1.0, "mse", "score_mse", **common),
        "paper": LossWeights(kd.alpha, kd.beta, kd.gamma, kd.delta, kd.tau, **kinds),
        "paper_minus_feat": LossWeights(kd.alpha, 0, kd.gamma, kd.delta, kd.tau, **kinds),
        "paper_minus_att": LossWeights(kd.alpha, kd.beta, 0, kd.delta, kd.tau, **kinds),
        "paper_minus_dist": LossWeights(kd.alpha, kd.beta, kd.gamma, 0, kd.tau, **kinds),
    }
    if method not in table:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(table)}")
    return table[method]


def method_pairs(method: str, blocks: list[tuple[int, int]], n_s: int, n_t: int, map_embeddings: bool = False
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(hidden pairs in hidden_states numbering, attention pairs in block numbering) of a method, given the
    layer map `blocks` of (student block, teacher block)."""
    if method == "distilbert":
        return [(n_s, n_t)], []
    hidden = [(s + 1, t + 1) for s, t in blocks]
    if method == "tinybert" or map_embeddings:
        hidden = [(0, 0)] + hidden
    return hidden, list(blocks)

