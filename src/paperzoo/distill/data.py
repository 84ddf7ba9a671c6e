"""Text data of the classification experiment: the corpora it reads (readers in core, shared with multitask),
tokenised splits and length-bucketed batches. Every malformed input raises DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from paperzoo.core.errors import DataError, UserError
from paperzoo.core.loaders import loader
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

__all__ = ["AUSTEN_BOOKS", "GLUE_TASKS", "DataError", "Encoded", "RLazyLoadDB", "TextClassificationData", "collate",
           "decompress_rdb_blob", "fine_foods_folder", "glue_folder", "length_bucketed_batches", "load_austen",
           "load_fine_foods", "load_glue", "load_text", "read_glue_tsv", "synthetic_reviews"]


@loader("distill.fine_foods", kind="dir", doc="modeldata's small_fine_foods (R lazy-load DB) under a folder")
def fine_foods_folder(path: Path) -> TextClassificationData:
    return load_fine_foods(Path(path))


@loader("distill.glue", kind="dir", doc="a GLUE folder holding SST-2/train.tsv and SST-2/dev.tsv")
def glue_folder(path: Path, task: str = "SST-2") -> TextClassificationData:
    return load_glue(Path(path), task)


@loader("distill.austen", kind="dir", doc="janeaustenr's six novels (R lazy-load DB) under a folder")
def austen_folder(path: Path) -> dict[str, str]:
    return load_austen(Path(path))


def load_text(source: str, path: str | None, task: str, n_synthetic: int, seed: int) -> TextClassificationData:
    """The train/test texts of `source` (fine_foods, glue, synthetic); bad files raise DataError naming them."""
    if source == "synthetic":
        tr_x, tr_y = synthetic_reviews(n_synthetic, seed)
        te_x, te_y = synthetic_reviews(max(n_synthetic // 2, 20), seed + 1)
        return TextClassificationData(tr_x, tr_y, te_x, te_y, ["positive", "negative"])
    if source == "glue":
        if not path:
            raise UserError("data.source=glue needs --set data.path=<GLUE folder with <task>/train.tsv>")
        return glue_folder(Path(path), task)
    if path:
        return fine_foods_folder(Path(path))
    from paperzoo.core.data import require

    return fine_foods_folder(require("fine-foods"))


class Encoded:
    """Token ids of a split and its labels, batched by length."""

    def __init__(self, tok, texts: list, labels: list[int], max_len: int):
        pairs = [t if isinstance(t, tuple) else (t,) for t in texts]
        enc = tok([p[0] for p in pairs], [p[1] for p in pairs] if len(pairs[0]) == 2 else None,
                  truncation=True, max_length=max_len)
        self.ids: list[list[int]] = enc["input_ids"]
        self.labels = torch.tensor(labels, dtype=torch.long)
        self.pad = tok.pad_token_id

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, batch_size: int, shuffle: bool, seed: int = 0, index: bool = False) -> list:
        """(input_ids, attention_mask, labels) per batch, plus the examples' indices with `index`."""
        g = torch.Generator().manual_seed(seed)
        out = []
        for idx in length_bucketed_batches([len(s) for s in self.ids], batch_size, shuffle, g):
            ids, mask = collate(self.ids, idx, self.pad)
            out.append((ids, mask, self.labels[idx]) + ((torch.tensor(idx),) if index else ()))
        return out


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
