"""Capture intermediate tensors of any ``torch.nn.Module`` by module path with forward hooks (no model edits)."""

from __future__ import annotations

import torch
from torch import nn

# where the stack of transformer blocks and its parts live, per Hugging Face architecture family
_BLOCK_LISTS = ("encoder.layer", "model.layers", "layers", "transformer.h", "bert.encoder.layer",
                "distilbert.transformer.layer", "transformer.layer", "h")
_QKV = {  # block-relative paths of the query/key/value projections
    "bert": ("attention.self.query", "attention.self.key", "attention.self.value"),
    "llama": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
    "distilbert": ("attention.q_lin", "attention.k_lin", "attention.v_lin"),
}
_EMBED = ("embeddings", "model.embed_tokens", "embed_tokens", "bert.embeddings", "distilbert.embeddings",
          "transformer.wte")


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    raise TypeError(f"cannot take a tensor from module output of type {type(out).__name__}")


def find_blocks(model: nn.Module) -> tuple[str, int]:
    """Path of the transformer block list and its length, e.g. ('encoder.layer', 6) for BERT."""
    for p in _BLOCK_LISTS:
        try:
            m = model.get_submodule(p)
        except AttributeError:
            continue
        if isinstance(m, nn.ModuleList):
            return p, len(m)
    raise ValueError(f"no transformer block list found in {type(model).__name__}; tried {', '.join(_BLOCK_LISTS)}")


def find_embeddings(model: nn.Module) -> str:
    for p in _EMBED:
        try:
            model.get_submodule(p)
            return p
        except AttributeError:
            continue
    raise ValueError(f"no embedding module found in {type(model).__name__}; tried {', '.join(_EMBED)}")


def qkv_paths(model: nn.Module, layer: int) -> tuple[str, str, str]:
    """Module paths of the query, key and value projections of block ``layer``."""
    blocks, _ = find_blocks(model)
    block = model.get_submodule(f"{blocks}.{layer}")
    for rel in _QKV.values():
        try:
            for r in rel:
                block.get_submodule(r)
        except AttributeError:
            continue
        return tuple(f"{blocks}.{layer}.{r}" for r in rel)  # type: ignore[return-value]
    raise ValueError(f"no q/k/v projections found in block {blocks}.{layer} of {type(model).__name__}")


class FeatureCapture:
    """Context manager recording the output of modules named by path during forward passes.

    >>> with FeatureCapture(model, ["encoder.layer.0", "encoder.layer.0.attention.self.query"]) as cap:
    ...     model(**batch)
    >>> cap["encoder.layer.0"]  # (batch, seq, hidden)

    Tensors keep their autograd graph (so a student's captured features can be trained through); pass
    ``detach=True`` for a teacher.
    """

    def __init__(self, model: nn.Module, paths: list[str], detach: bool = False):
        self.model, self.paths, self.detach = model, list(dict.fromkeys(paths)), detach
        self.outputs: dict[str, torch.Tensor] = {}
        self._handles: list = []
        for p in self.paths:
            try:
                model.get_submodule(p)
            except AttributeError as e:
                raise ValueError(f"module path {p!r} not found in {type(model).__name__}") from e

    def _hook(self, path: str):
        def fn(_module, _inp, out):
            t = _first_tensor(out)
            self.outputs[path] = t.detach() if self.detach else t
        return fn

    def __enter__(self) -> FeatureCapture:
        self.outputs.clear()
        for p in self.paths:
            self._handles.append(self.model.get_submodule(p).register_forward_hook(self._hook(p)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __getitem__(self, path: str) -> torch.Tensor:
        if path not in self.outputs:
            raise KeyError(f"{path!r} was not captured (did the forward pass run inside the context?)")
        return self.outputs[path]
