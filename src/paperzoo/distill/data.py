"""Offline text for distillation: R lazy-load databases (Debian r-cran-* packages), GLUE TSV, batching.

An R package's ``data/Rdata.rdx`` is a gzip-compressed R serialization of
``list(variables=<name -> c(offset, length)>, references=..., compressed=<TRUE|2|3>)``; each object sits in
``Rdata.rdb`` at ``offset`` as a 4-byte big-endian uncompressed length, then (for ``compressed`` 2 or 3) one
type byte ('0' none, '1' zlib, '2' bzip2, 'Z' xz/LZMA2 raw) and the compressed R serialization of the object
(``compressed=TRUE`` means zlib without the type byte). The R serialization itself is parsed by PyPI ``rdata``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

RLIB = Path("usr/lib/R/site-library")
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


class DataError(ValueError):
    """A data file is missing or malformed (the experiment turns this into a UserError)."""


def _parse_r(blob: bytes):
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about the RDS header and tibble classes it maps to data.frame
        return rdata.conversion.convert(rdata.parser.parse_data(blob))


def decompress_rdb_blob(blob: bytes, compressed: int) -> bytes:
    """Undo R's lazy-load framing: 4-byte big-endian length, [type byte], compressed payload."""
    if len(blob) < 4:
        raise DataError(f"rdb blob too short ({len(blob)} bytes)")
    (n,) = struct.unpack(">I", blob[:4])
    body = blob[4:]
    if compressed == 1:
        kind = b"1"
    else:
        kind, body = body[:1], body[1:]
    if kind == b"0":
        out = body
    elif kind == b"1":
        out = zlib.decompress(body)
    elif kind == b"2":
        out = bz2.decompress(body)
    elif kind == b"Z":
        out = lzma.decompress(body, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
    else:
        raise DataError(f"unknown rdb compression type {kind!r}; valid: b'0', b'1', b'2', b'Z'")
    if len(out) != n:
        raise DataError(f"rdb blob length mismatch: header says {n}, got {len(out)}")
    return out


class RLazyLoadDB:
    """Read objects from an R lazy-load database (``<stem>.rdx`` index + ``<stem>.rdb`` blobs), without R."""

    def __init__(self, stem: str | Path):
        stem = Path(stem)
        self.rdx, self.rdb = stem.with_suffix(".rdx"), stem.with_suffix(".rdb")
        for f in (self.rdx, self.rdb):
            if not f.is_file():
                raise DataError(f"R lazy-load database file not found: {f}")
        index = _parse_r(gzip.decompress(self.rdx.read_bytes()))
        try:
            variables = index["variables"]
            comp = index["compressed"]
        except (KeyError, TypeError) as e:
            raise DataError(f"{self.rdx} is not an R lazy-load index (no 'variables'/'compressed')") from e
        comp = comp.item() if hasattr(comp, "item") else comp
        comp = np.asarray(comp).ravel()[0] if not isinstance(comp, bool | int) else comp
        self.compressed = 1 if comp is True or int(comp) == 1 else int(comp)
        self.index = {str(k): (int(v[0]), int(v[1])) for k, v in variables.items()}

    def names(self) -> list[str]:
        return sorted(self.index)

    def raw(self, name: str) -> bytes:
        if name not in self.index:
            raise DataError(f"object {name!r} not in {self.rdx}; valid: {', '.join(self.names())}")
        off, n = self.index[name]
        with open(self.rdb, "rb") as f:
            f.seek(off)
            return decompress_rdb_blob(f.read(n), self.compressed)

    def load(self, name: str):
        return _parse_r(self.raw(name))


def _find_rpkg(root: Path, pkg: str) -> Path:
    """``<...>/data/Rdata`` of R package ``pkg`` given its data folder, its package folder or a root above."""
    if (root / "Rdata.rdx").is_file():
        return root / "Rdata"
    for cand in (root / "debian" / RLIB / pkg, root / RLIB / pkg, root / pkg):
        if (cand / "data" / "Rdata.rdx").is_file():
            return cand / "data" / "Rdata"
    raise DataError(
        f"R package {pkg!r} data not found under {root} (looked for debian/{RLIB}/{pkg}/data/Rdata.rdx). "
        f"Get it offline-ready with: apt-get download r-cran-{pkg} && dpkg -x r-cran-{pkg}_*.deb {root}/debian"
    )


@dataclass
class TextClassificationData:
    train_text: list[str]
    train_labels: list[int]
    test_text: list[str]
    test_labels: list[int]
    label_names: list[str]


def load_fine_foods(root: Path) -> TextClassificationData:
    """Amazon fine-food reviews (modeldata::small_fine_foods): 4000 train / 1000 test, 'great' vs 'other'."""
    db = RLazyLoadDB(_find_rpkg(Path(root), "modeldata"))
    tr, te = db.load("training_data"), db.load("testing_data")
    names = [str(c) for c in tr["score"].cat.categories]
    return TextClassificationData(
        [str(t) for t in tr["review"]], [int(c) for c in tr["score"].cat.codes],
        [str(t) for t in te["review"]], [int(c) for c in te["score"].cat.codes], names,
    )


AUSTEN_BOOKS = ("emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice", "sensesensibility")


def load_austen(root: Path, books: tuple[str, ...] = AUSTEN_BOOKS) -> dict[str, str]:
    """Jane Austen's six novels (janeaustenr), one string per book, blank lines collapsed."""
    db = RLazyLoadDB(_find_rpkg(Path(root), "janeaustenr"))
    out = {}
    for b in books:
        lines = [str(x) for x in np.asarray(db.load(b)).ravel()]
        out[b] = re.sub(r"\n{2,}", "\n", "\n".join(x.strip() for x in lines)).strip()
    return out


GLUE_TASKS = {  # task -> (text columns, label column, dev file name); columns as in the official GLUE TSVs
    "SST-2": (("sentence",), "label", "dev.tsv"),
    "CoLA": (None, 1, "dev.tsv"),  # CoLA train/dev have no header: source, label, original label, sentence
    "MRPC": (("#1 String", "#2 String"), "Quality", "dev.tsv"),
    "QQP": (("question1", "question2"), "is_duplicate", "dev.tsv"),
    "MNLI": (("sentence1", "sentence2"), "gold_label", "dev_matched.tsv"),
    "QNLI": (("question", "sentence"), "label", "dev.tsv"),
    "RTE": (("sentence1", "sentence2"), "label", "dev.tsv"),
    "STS-B": (("sentence1", "sentence2"), "score", "dev.tsv"),
}


def read_glue_tsv(path: Path, task: str) -> tuple[list[str | tuple[str, str]], list[str]]:
    """Read one GLUE split (train.tsv / dev.tsv) in the official layout: returns (texts, raw labels)."""
    if task not in GLUE_TASKS:
        raise DataError(f"unknown GLUE task {task!r}; valid: {', '.join(GLUE_TASKS)}")
    cols, label_col, _ = GLUE_TASKS[task]
    path = Path(path)
    if not path.is_file():
        raise DataError(f"GLUE file not found: {path}")
    texts: list = []
    labels: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        if cols is None:  # CoLA
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) < 4:
                    raise DataError(f"{path}: CoLA rows need 4 tab-separated fields, got {len(row)}")
                texts.append(row[3])
                labels.append(row[label_col])
            return texts, labels
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in (*cols, label_col) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing GLUE columns {missing}; header is {reader.fieldnames}")
        for row in reader:
            t = tuple(row[c] for c in cols)
            texts.append(t[0] if len(t) == 1 else t)
            labels.append(row[label_col])
    return texts, labels


def load_glue(glue_dir: Path, task: str) -> TextClassificationData:
    """Train and dev split of a GLUE task from ``<glue_dir>/<task>/`` (labels mapped to ints, sorted)."""
    _, _, dev = GLUE_TASKS.get(task, (None, None, "dev.tsv"))
    tr_x, tr_y = read_glue_tsv(Path(glue_dir) / task / "train.tsv", task)
    te_x, te_y = read_glue_tsv(Path(glue_dir) / task / dev, task)
    if task == "STS-B":
        raise DataError("STS-B is regression; use the hard loss 'mse' with float targets (not wired in run())")
    names = sorted(set(tr_y))
    ix = {n: i for i, n in enumerate(names)}
    return TextClassificationData(tr_x, [ix[y] for y in tr_y], te_x, [ix[y] for y in te_y], names)


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
