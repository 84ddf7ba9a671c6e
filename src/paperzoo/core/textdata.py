"""Text corpora that several systems read: R lazy-load databases (Debian r-cran-* packages) and GLUE TSV.

An R package's ``data/Rdata.rdx`` is a gzip-compressed R serialization of
``list(variables=<name -> c(offset, length)>, references=..., compressed=<TRUE|2|3>)``; each object sits in
``Rdata.rdb`` at ``offset`` as a 4-byte big-endian uncompressed length, then (for ``compressed`` 2 or 3) one
type byte ('0' none, '1' zlib, '2' bzip2, 'Z' xz/LZMA2 raw) and the compressed R serialization of the object
(``compressed=TRUE`` means zlib without the type byte). The R serialization itself is parsed by PyPI ``rdata``.

GLUE splits are read in the official TSV layout (CoLA without a header). Every malformed input raises
``DataError`` (a ``UserError``: the CLI prints it and exits 2) naming the file and what is valid.
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

from paperzoo.core.errors import DataError

RLIB = Path("usr/lib/R/site-library")
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


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
    codecs = {b"0": lambda b: b, b"1": zlib.decompress, b"2": bz2.decompress,
              b"Z": lambda b: lzma.decompress(b, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)}
    if kind not in codecs:
        raise DataError(f"unknown rdb compression type {kind!r}; valid: b'0', b'1', b'2', b'Z'")
    try:
        out = codecs[kind](body)
    except (zlib.error, OSError, ValueError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"rdb blob does not decompress with type {kind!r}: {exc}") from None
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
        try:
            index = _parse_r(gzip.decompress(self.rdx.read_bytes()))
        except Exception as exc:  # noqa: BLE001 - gzip, zlib and rdata raise many kinds on garbage
            raise DataError(f"{self.rdx}: not a gzip-compressed R lazy-load index ({type(exc).__name__}: {exc})"
                            ) from None
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
        blob = self.raw(name)
        try:
            return _parse_r(blob)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{self.rdb}: object {name!r} is not a readable R serialization ({exc})") from None


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
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); GLUE splits are UTF-8 TSV files") from None
    lines = text.splitlines()
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    if cols is None:  # CoLA: source, label, original label, sentence; no header
        body, width, label_at, text_at = rows, 4, int(label_col), (3,)
        first_line = 1
    else:
        if not rows:
            raise DataError(f"{path}: empty file; a GLUE {task} split starts with a header naming "
                            f"{', '.join((*cols, label_col))}")
        header = rows[0]
        missing = [c for c in (*cols, label_col) if c not in header]
        if missing:
            raise DataError(f"{path}: missing GLUE columns {missing}; header is {header}")
        body, width = rows[1:], len(header)
        label_at, text_at = header.index(label_col), tuple(header.index(c) for c in cols)
        first_line = 2
    texts: list = []
    labels: list[str] = []
    for n, row in enumerate(body, first_line):
        if not row:
            continue
        if len(row) < width:
            raise DataError(f"{path}, line {n}: {len(row)} tab-separated fields, expected {width} "
                            f"({task} {'has no header' if cols is None else 'header above'})")
        t = tuple(row[i] for i in text_at)
        texts.append(t[0] if len(t) == 1 else t)
        labels.append(row[label_at])
    if not texts:
        raise DataError(f"{path}: no examples (only a header, or empty); a GLUE split needs at least one row")
    return texts, labels


def load_glue(glue_dir: Path, task: str) -> TextClassificationData:
    """Train and dev split of a GLUE task from ``<glue_dir>/<task>/`` (labels mapped to ints, sorted)."""
    _, _, dev = GLUE_TASKS.get(task, (None, None, "dev.tsv"))
    tr_x, tr_y = read_glue_tsv(Path(glue_dir) / task / "train.tsv", task)
    te_x, te_y = read_glue_tsv(Path(glue_dir) / task / dev, task)
    if task == "STS-B":
        raise DataError("STS-B is regression; use the hard loss 'mse' with float targets (not wired in run())")
    names = sorted(set(tr_y))
    unseen = sorted(set(te_y) - set(names))
    if unseen:
        raise DataError(f"{Path(glue_dir) / task / dev}: labels {unseen} do not occur in train.tsv "
                        f"(train labels: {names})")
    ix = {n: i for i, n in enumerate(names)}
    return TextClassificationData(tr_x, [ix[y] for y in tr_y], te_x, [ix[y] for y in te_y], names)


def _register_loaders() -> None:
    from paperzoo.core.loaders import loader

    loader("core.glue_tsv", suffix=".tsv", doc="GLUE split in the official TSV layout (SST-2 columns)")(
        lambda path: read_glue_tsv(path, "SST-2"))
    loader("core.glue_cola_tsv", suffix=".tsv", doc="CoLA split (no header, 4 columns)")(
        lambda path: read_glue_tsv(path, "CoLA"))
    loader("core.r_lazyload_db", suffix=".rdx", doc="R lazy-load database index (Rdata.rdx + Rdata.rdb)")(
        lambda path: RLazyLoadDB(Path(path).with_suffix("")))


_register_loaders()
