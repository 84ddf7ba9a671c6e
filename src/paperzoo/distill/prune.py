"""Students cut out of the teacher (DistilBERT / Minitron style): a subset of its blocks, optionally narrower MLPs.

    block influence  BI_l = 1 − mean_tokens cos(h_{l−1}, h_l)        (ShortGPT: how much block l changes the stream)
    depth pruning    keep the n blocks with the largest BI ("importance"), or the uniform layer map's blocks
    width pruning    MLP neuron j of a kept block scored by mean_tokens |σ(g_j·x) · (u_j·x)|; the top k rows of
                     gate/up and columns of down are kept (Minitron's activation-based importance)

The student shares the teacher's token embeddings (the same frozen tensor; the LM head is tied to them), final
norm and rotary settings, so student block i starts as teacher block keep[i]: the layer map of the alignment
losses is (i, keep[i]). Works for Llama-family decoders (blocks at `model.layers`, MLP gate/up/down).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from .layermap import uniform_map


@torch.no_grad()
def block_influence(model: nn.Module, windows: torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """BI of every block of a decoder (``model.model.layers``), averaged over the tokens of `windows`."""
    blocks = model.model.layers
    sums = np.zeros(len(blocks))

    def hook(i):
        def fn(_m, inp, out):
            a, b = inp[0].float(), (out[0] if isinstance(out, tuple) else out).float()
            sums[i] += float((1 - nn.functional.cosine_similarity(a, b, dim=-1)).sum())
        return fn

    n = _run_hooked(model, windows, batch_size, [(blk, hook(i)) for i, blk in enumerate(blocks)])
    return sums / max(n, 1)


def _run_hooked(model: nn.Module, windows: torch.Tensor, batch_size: int, hooks: list) -> int:
    """Forward `windows` through `model` with forward hooks (module, fn) attached; returns the token count."""
    handles = [module.register_forward_hook(fn) for module, fn in hooks]
    n = 0
    try:
        model.eval()
        for i in range(0, len(windows), batch_size):
            x = windows[i:i + batch_size]
            model(input_ids=x, attention_mask=torch.ones_like(x))
            n += x.numel()
    finally:
        for h in handles:
            h.remove()
    return n


def select_layers(kind: str, n_keep: int, n_teacher: int, influence: np.ndarray | None = None) -> list[int]:
    """Teacher blocks the student keeps, ascending: the `n_keep` most influential, or the uniform layer map."""
    if not 1 <= n_keep <= n_teacher:
        raise ValueError(f"student.layers must be in [1, {n_teacher}] (the teacher's blocks), got {n_keep}")
    if kind == "uniform":
        return uniform_map(n_keep, n_teacher)
    if kind == "importance":
        if influence is None or len(influence) != n_teacher:
            raise ValueError("importance selection needs one block-influence score per teacher block")
        return sorted(np.argsort(-np.asarray(influence), kind="stable")[:n_keep].tolist())
    raise ValueError(f"unknown layer selection {kind!r}; valid: importance, uniform")


def cut_student(teacher: nn.Module, keep: list[int]) -> nn.Module:
    """A decoder holding copies of the teacher blocks `keep` (renumbered 0..n−1) and the teacher's embeddings
    itself (shared, frozen); everything else of the student is trainable."""
    blocks = teacher.model.layers
    emb = teacher.model.embed_tokens
    teacher.model.layers = nn.ModuleList()  # deep-copy the rest without the blocks or the shared embeddings
    try:
        student = copy.deepcopy(teacher, memo={id(emb): emb, id(emb.weight): emb.weight})
    finally:
        teacher.model.layers = blocks
    student.model.layers = nn.ModuleList(copy.deepcopy(blocks[j]) for j in keep)
    for i, blk in enumerate(student.model.layers):
        if hasattr(blk, "self_attn"):
            blk.self_attn.layer_idx = i  # the KV cache is indexed by block position
    student.config.num_hidden_layers = len(keep)  # the copy's own config (model.config is the same object)
    if getattr(student.config, "layer_types", None):
        student.config.layer_types = [student.config.layer_types[j] for j in keep]
    if getattr(student.config, "tie_word_embeddings", False):
        student.lm_head.weight = student.model.embed_tokens.weight
    student.model.embed_tokens.weight.requires_grad_(False)
    for p in student.parameters():
        if p is not student.model.embed_tokens.weight:
            p.requires_grad_(True)
    return student


@torch.no_grad()
def mlp_importance(model: nn.Module, windows: torch.Tensor, batch_size: int = 8) -> list[torch.Tensor]:
    """Per kept block, the mean |activation| of each MLP neuron (input of down_proj) over `windows`."""
    downs = [blk.mlp.down_proj for blk in model.model.layers]
    sums = [torch.zeros(d.in_features) for d in downs]

    def hook(i):
        def fn(_m, inp, _out):
            sums[i] += inp[0].float().abs().reshape(-1, inp[0].shape[-1]).sum(0).cpu()
        return fn

    n = _run_hooked(model, windows, batch_size, [(d, hook(i)) for i, d in enumerate(downs)])
    return [s / max(n, 1) for s in sums]


@torch.no_grad()
def prune_mlp(model: nn.Module, importance: list[torch.Tensor], width: int) -> list[list[int]]:
    """Keep the `width` most important neurons of every block's gated MLP, in place; returns the kept indices."""
    kept = []
    for blk, score in zip(model.model.layers, importance, strict=True):
        mlp = blk.mlp
        if not 1 <= width <= mlp.down_proj.in_features:
            raise ValueError(f"student.intermediate must be in [1, {mlp.down_proj.in_features}], got {width}")
        idx = torch.sort(torch.topk(score, width).indices).values
        for name in ("gate_proj", "up_proj"):
            old = getattr(mlp, name)
            new = nn.Linear(old.in_features, width, bias=old.bias is not None)
            new.weight.copy_(old.weight[idx])
            if old.bias is not None:
                new.bias.copy_(old.bias[idx])
            setattr(mlp, name, new)
        old = mlp.down_proj
        new = nn.Linear(width, old.out_features, bias=old.bias is not None)
        new.weight.copy_(old.weight[:, idx])
        if old.bias is not None:
            new.bias.copy_(old.bias)
        mlp.down_proj = new
        if hasattr(mlp, "intermediate_size"):
            mlp.intermediate_size = width
        kept.append(idx.tolist())
    model.config.intermediate_size = width
    return kept

