"""The frozen teacher's outputs, computed once per training example and reused by every student, epoch and seed.

The teacher is in eval mode (no dropout) and attention masks keep padding out, so what it computes for an
example does not depend on the batch the example lands in (only the float summation order differs). One
no-grad pass over the training set therefore stores, per example i of length l_i,

    z_T(i) ∈ R^C,   h_T^j(i) ∈ R^{l_i×d_T} for the mapped hidden layers j,   q/k(/v)_T^j(i) for the aligned blocks j

(exactly what `train.teacher_features` would capture live: the union over the students' losses; v only for
the MiniLMv2 relation loss), concatenated over examples at `dtype`; `features(index, L)` pads the rows of a
batch back to length L. float16 halves the memory of float32 and moves the teacher's hidden states by about
1e-3 relative, far below the loss differences between methods; float32 reproduces the live teacher to the
float summation order. The cost: one teacher forward pass per training example per run instead of one per
example per epoch per seed.
"""

from __future__ import annotations

import numpy as np
import torch

from .losses import Features
from .models import forward_features


class TeacherOutputs:
    """Per-example teacher logits, hidden states and q/k(/v) projections (see the module docstring)."""

    def __init__(self, teacher, ids: list[list[int]], pad_id: int, hidden_layers: list[int], att_layers: list[int],
                 with_v: bool, dtype: torch.dtype = torch.float16, batch_size: int = 64, device: str = "cpu"):
        from .data import collate, length_bucketed_batches

        self.hidden_layers, self.att_layers, self.with_v = list(hidden_layers), list(att_layers), with_v
        self.n_heads, self.causal = teacher.n_heads, teacher.causal
        lengths = torch.tensor([len(s) for s in ids])
        self.lengths = lengths
        self.offsets = torch.cumsum(lengths, 0) - lengths
        n_tok = int(lengths.sum())
        self.logits: torch.Tensor | None = None
        self.hidden: list[torch.Tensor] = []
        self.qkv: list[list[torch.Tensor]] = []
        for idx in length_bucketed_batches(lengths.tolist(), batch_size, False, None):
            x, mask = collate(ids, idx, pad_id)
            with torch.no_grad():
                f = forward_features(teacher.model, teacher.backbone, x.to(device), mask.to(device),
                                     self.hidden_layers, self.att_layers, teacher.n_heads, teacher.causal, detach=True)
            if self.logits is None:  # allocate once the widths are known
                self.logits = torch.zeros(len(ids), f.logits.shape[-1])
                self.hidden = [torch.zeros(n_tok, h.shape[-1], dtype=dtype) for h in f.hidden]
                self.qkv = [[torch.zeros(n_tok, t.shape[-1], dtype=dtype) for t in trip[: 3 if with_v else 2]]
                            for trip in f.qkv]
            self.logits[idx] = f.logits.float().cpu()
            valid = mask.bool()
            rows = self._rows(torch.tensor(idx), mask.shape[1])[valid]
            for store, h in zip(self.hidden, f.hidden, strict=True):
                store[rows] = h[valid.to(h.device)].to("cpu", dtype)
            for stores, trip in zip(self.qkv, f.qkv, strict=True):
                for store, t in zip(stores, trip, strict=False):
                    store[rows] = t[valid.to(t.device)].to("cpu", dtype)

    def _rows(self, index: torch.Tensor, length: int) -> torch.Tensor:
        """(B, L) rows of the flat token tables for the examples `index`, padded to `length` (padding -> 0)."""
        pos = torch.arange(length)
        valid = pos[None, :] < self.lengths[index][:, None]
        return torch.where(valid, self.offsets[index][:, None] + pos[None, :], 0)

    def nbytes(self) -> int:
        tables = self.hidden + [t for trip in self.qkv for t in trip]
        return sum(t.numel() * t.element_size() for t in tables) + self.logits.numel() * 4

    def features(self, index, mask: torch.Tensor, hidden_layers: list[int], att_layers: list[int]) -> Features:
        """The teacher's Features of the batch of examples `index` (its attention `mask` gives the padded
        length), for `hidden_layers` / `att_layers` (each must have been stored)."""
        missing = sorted(set(hidden_layers) - set(self.hidden_layers)) + sorted(set(att_layers) - set(self.att_layers))
        if missing:
            raise ValueError(f"teacher outputs of layers {missing} were not stored (stored: hidden "
                             f"{self.hidden_layers}, attention {self.att_layers})")
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        rows = self._rows(index, mask.shape[1])
        keep = mask.bool().unsqueeze(-1).cpu()
        dev = mask.device

        def take(table: torch.Tensor) -> torch.Tensor:
            return table[rows].float().masked_fill(~keep, 0.0).to(dev)

        hidden = [take(self.hidden[self.hidden_layers.index(j)]) for j in hidden_layers]
        qkv = []
        for j in att_layers:
            trip = [take(t) for t in self.qkv[self.att_layers.index(j)]]
            qkv.append(tuple(trip) if self.with_v else (trip[0], trip[1], None))
        return Features(logits=self.logits[index].to(dev), mask=mask, hidden=hidden, qkv=qkv, n_heads=self.n_heads,
                        causal=self.causal)
