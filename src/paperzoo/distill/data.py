"""Batching for distillation, plus the offline corpora it reads (moved to core: shared with multitask)."""

from __future__ import annotations

import numpy as np
import torch

from paperzoo.core.errors import DataError
from paperzoo.core.textdata import (
    AUSTEN_BOOKS,
    GLUE_TASKS,
    RLazyLoadDB,
    TextClassificationData,
    decompress_rdb_blob,
    load_austen,
    load_fine_foods,
    load_glue,
    read_glue_tsv,
)

__all__ = ["AUSTEN_BOOKS", "GLUE_TASKS", "DataError", "RLazyLoadDB", "TextClassificationData", "collate",
           "decompress_rdb_blob", "length_bucketed_batches", "load_austen", "load_fine_foods", "load_glue",
           "read_glue_tsv", "synthetic_reviews"]


def length_bucketed_batches(lengths: list[int], batch_size: int, shuffle: bool, generator: torch.Generator | None
                            ) -> list[list[int]]:
    """Batches of indices with similar lengths (less padding); order of batches shuffled when asked."""
    lengths_arr = np.asarray(lengths)
    if shuffle:  # random order first so that equal lengths land in different batches each epoch
        perm = torch.randperm(len(lengths_arr), generator=generator).numpy()
        order = perm[np.argsort(lengths_arr[perm], kind="stable")]
    else:
        order = np.argsort(lengths_arr, kind="stable")
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if shuffle:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def collate(encoded: list[list[int]], idx: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad the sequences ``encoded[idx]`` into (input_ids, attention_mask)."""
    L = max(len(encoded[i]) for i in idx)
    ids = torch.full((len(idx), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), L), dtype=torch.long)
    for r, i in enumerate(idx):
        s = encoded[i]
        ids[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    return ids, mask


_POS = ("great", "delicious", "love", "perfect", "excellent", "tasty", "fresh", "wonderful", "best", "amazing")
_NEG = ("stale", "awful", "bland", "broken", "disappointing", "bitter", "worst", "terrible", "soggy", "expensive")
_FILL = ("the", "coffee", "snack", "tea", "box", "arrived", "this", "flavor", "price", "and", "my", "kids",
         "it", "was", "with", "bag", "order", "really", "taste", "product")


def synthetic_reviews(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Tiny generated 'reviews': label 0 ('great') when positive words outnumber negative ones, else 1."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(2))
        major, minor = (_POS, _NEG) if y == 0 else (_NEG, _POS)
        words = list(rng.choice(_FILL, int(rng.integers(4, 12))))
        words += list(rng.choice(major, int(rng.integers(2, 4)))) + list(rng.choice(minor, int(rng.integers(0, 2))))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, labels
