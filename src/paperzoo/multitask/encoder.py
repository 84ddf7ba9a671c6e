"""The shared feature extractor h = f_theta(x): a pre-trained Hugging Face encoder, optionally truncated.

    h^0   = Embed(x, segment)                                  word + position + segment embeddings
    h^l   = Block_l(h^{l-1}, mask),  l = 1..L                  the first `n_layers` blocks of the encoder
    f(x)  = h^L                                                (B, S, d) token states for every task module
    pool  = sum_i m_i h^L_i / sum_i m_i                        masked mean (sentence-transformers' pooling),
            or h^L_0 ([CLS]) with pooling="cls"

Blocks 1..k (k = `frozen_layers`) and the embeddings are frozen: `lower(x)` = h^k is computed once per example
and cached by the data pipeline, and training runs only `upper(h^k)` = blocks k+1..L. With k = L the whole
encoder is frozen (the frozen-encoder baseline). Truncation and caching need a BERT-family layout
(`.embeddings`, `.encoder.layer`: BERT, MiniLM, RoBERTa, ELECTRA); any other encoder runs whole (k = 0 or L).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn


def load_backbone(path: Path, dropout: float | None = None) -> nn.Module:
    """A local Hugging Face encoder with eager attention (dropout overridden when given)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter run.log's stderr
    kw = {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    return AutoModel.from_pretrained(str(path), attn_implementation="eager", **kw)


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return AutoTokenizer.from_pretrained(str(path))


def masked_mean(states: Tensor, mask: Tensor) -> Tensor:
    """sum_i m_i h_i / sum_i m_i over the sequence axis: (B, S, d), (B, S) -> (B, d)."""
    m = mask.unsqueeze(-1).to(states.dtype)
    return (states * m).sum(1) / m.sum(1).clamp_min(1.0)


class SharedEncoder(nn.Module):
    """A pre-trained encoder shared by every task; `lower` (frozen, cacheable) and `upper` (trained) halves."""

    def __init__(self, backbone: nn.Module, n_layers: int = 0, frozen_layers: int = 0, pooling: str = "mean"):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.backbone, self.pooling = backbone, pooling
        blocks = getattr(getattr(backbone, "encoder", None), "layer", None)
        self.layered = blocks is not None and hasattr(backbone, "embeddings")
        total = len(blocks) if self.layered else 1
        n_layers = n_layers or total
        if not self.layered and (n_layers != total or frozen_layers not in (0, total)):
            raise ValueError(f"{type(backbone).__name__} has no BERT-style .encoder.layer: it can only run whole "
                             "(encoder.layers=0) and be trained (frozen_layers=0) or frozen entirely")
        if not 1 <= n_layers <= total or not 0 <= frozen_layers <= n_layers:
            raise ValueError(f"need 1 <= encoder.layers <= {total} and 0 <= encoder.frozen_layers <= layers, "
                             f"got layers={n_layers}, frozen_layers={frozen_layers}")
        if self.layered:
            del blocks[n_layers:]
            backbone.config.num_hidden_layers = n_layers
        self.n_layers, self.frozen_layers = n_layers, frozen_layers
        self.dim = int(backbone.config.hidden_size)
        frozen = [backbone.embeddings, *blocks[:frozen_layers]] if self.layered else [backbone] * (frozen_layers > 0)
        for module in frozen:
            module.requires_grad_(False)
        for name in ("pooler",):
            if getattr(backbone, name, None) is not None:
                getattr(backbone, name).requires_grad_(False)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.backbone.get_input_embeddings()

    def shared_parameters(self) -> list[nn.Parameter]:
        """The trainable shared parameters theta (what the weighting rules see gradients of)."""
        pooler = getattr(self.backbone, "pooler", None)
        skip = {id(p) for p in pooler.parameters()} if pooler is not None else set()
        return [p for p in self.parameters() if p.requires_grad and id(p) not in skip]

    def _mask(self, h: Tensor, mask: Tensor) -> Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.backbone.config, inputs_embeds=h, attention_mask=mask)

    def _blocks(self, h: Tensor, mask: Tensor, start: int, stop: int) -> Tensor:
        if start >= stop:
            return h
        am = self._mask(h, mask)
        for block in self.backbone.encoder.layer[start:stop]:
            out = block(h, attention_mask=am)
            h = out[0] if isinstance(out, tuple) else out
        return h

    def lower(self, ids: Tensor, types: Tensor, mask: Tensor) -> Tensor:
        """h^k: embeddings and the frozen blocks, without gradients and in eval mode (what the cache stores)."""
        was = self.training
        self.eval()
        with torch.no_grad():
            if not self.layered:
                out = self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state if self.frozen_layers \
                    else self.backbone.get_input_embeddings()(ids)
            else:
                h = self.backbone.embeddings(input_ids=ids, token_type_ids=types)
                out = self._blocks(h, mask, 0, self.frozen_layers)
        self.train(was)
        return out

    def upper(self, h: Tensor, mask: Tensor, ids: Tensor | None = None) -> Tensor:
        """Blocks k+1..L on cached h^k (the part that trains)."""
        if not self.layered:
            if self.frozen_layers:
                return h
            return self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        return self._blocks(h, mask, self.frozen_layers, self.n_layers)

    def forward(self, ids: Tensor, types: Tensor, mask: Tensor) -> Tensor:
        if self.layered and self.frozen_layers == 0:
            h = self.backbone.embeddings(input_ids=ids, token_type_ids=types)
            return self._blocks(h, mask, 0, self.n_layers)
        return self.upper(self.lower(ids, types, mask), mask, ids)

    def pool(self, states: Tensor, mask: Tensor) -> Tensor:
        return states[:, 0] if self.pooling == "cls" else masked_mean(states, mask)
