"""Task-specific modules y_t = g_t(h; phi_t) on the shared encoder's states h (B, S, d).

    classification   logits = W_t dropout(pool(h)) + b_t;  L_t = cross-entropy           (single sentences and
                     sentence pairs: a pair arrives as one cross-encoder input [CLS] a [SEP] b [SEP])
    regression       z = w_t . dropout(pool(h)) + b_t, predicting (y - mu) / sigma of the training targets;
                     L_t = mean (z - (y - mu)/sigma)^2;  prediction mu + sigma z              (STS-B style)
    summarisation    the pointer-generator decoder of `pointer.py` cross-attending to h;  L_t = token NLL

`pool` belongs to the shared encoder (masked mean for transformers, additive attention for the Bi-LSTM).
A new kind of task subclasses `TaskHead` and overrides `loss` and `predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .pointer import PointerGeneratorDecoder


@dataclass
class Batch:
    """One task's batch: encoder input (or its cached lower states) and the task's targets."""

    ids: Tensor  # (B, S) token ids
    types: Tensor  # (B, S) segment ids
    mask: Tensor  # (B, S) 1 for real tokens
    cached: Tensor | None = None  # (B, S, d) frozen lower layers' output, when cached
    y: Tensor | None = None  # (B,) labels or float targets
    tgt_in: Tensor | None = None  # (B, T) summarisation: [CLS] y_1 .. y_{T-1}
    tgt_out: Tensor | None = None  # (B, T) y_1 .. y_T ([SEP] last)
    tgt_keep: Tensor | None = None  # (B, T) bool
    copy_keep: Tensor | None = None  # (B, S) bool: source tokens that may be copied

    def size(self) -> int:
        return int(self.ids.shape[0])


class TaskHead(nn.Module):
    """Base task module: `loss(h, batch)` for training, `predict(h, batch)` for evaluation."""

    kind = ""

    def loss(self, pooled: Tensor, states: Tensor, batch: Batch) -> Tensor:
        raise NotImplementedError

    def predict(self, pooled: Tensor, states: Tensor, batch: Batch) -> list:
        raise NotImplementedError


class ClassificationHead(TaskHead):
    kind = "classification"

    def __init__(self, dim: int, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a classification task needs at least 2 classes, got {n_classes}")
        self.drop, self.fc = nn.Dropout(dropout), nn.Linear(dim, n_classes)

    def logits(self, pooled: Tensor) -> Tensor:
        return self.fc(self.drop(pooled))

    def loss(self, pooled: Tensor, states: Tensor, batch: Batch) -> Tensor:
        return F.cross_entropy(self.logits(pooled), batch.y)

    def predict(self, pooled: Tensor, states: Tensor, batch: Batch) -> list:
        return self.logits(pooled).argmax(-1).tolist()


class RegressionHead(TaskHead):
    kind = "regression"

    def __init__(self, dim: int, mean: float = 0.0, std: float = 1.0, dropout: float = 0.1) -> None:
        super().__init__()
        if not std > 0:
            raise ValueError(f"regression targets need a positive spread, got std={std}")
        self.drop, self.fc = nn.Dropout(dropout), nn.Linear(dim, 1)
        self.register_buffer("mu", torch.tensor(float(mean)))
        self.register_buffer("sigma", torch.tensor(float(std)))

    def loss(self, pooled: Tensor, states: Tensor, batch: Batch) -> Tensor:
        z = self.fc(self.drop(pooled)).squeeze(-1)
        return F.mse_loss(z, (batch.y.to(z.dtype) - self.mu) / self.sigma)

    def predict(self, pooled: Tensor, states: Tensor, batch: Batch) -> list:
        return (self.mu + self.sigma * self.fc(pooled).squeeze(-1)).tolist()


class SummarisationHead(TaskHead):
    kind = "summarisation"

    def __init__(self, decoder: PointerGeneratorDecoder, beam: int = 1, max_len: int | None = None) -> None:
        super().__init__()
        self.decoder, self.beam, self.max_len = decoder, beam, max_len

    def _memory(self, states: Tensor, batch: Batch):
        return self.decoder.memory(states, batch.mask.bool(), batch.ids, batch.copy_keep)

    def loss(self, pooled: Tensor, states: Tensor, batch: Batch) -> Tensor:
        return self.decoder.loss(batch.tgt_in, batch.tgt_out, batch.tgt_keep, self._memory(states, batch))

    def predict(self, pooled: Tensor, states: Tensor, batch: Batch) -> list:
        mem = self._memory(states, batch)
        if self.beam > 1:
            return self.decoder.beam(mem, self.beam, self.max_len)
        return self.decoder.greedy(mem, self.max_len)
