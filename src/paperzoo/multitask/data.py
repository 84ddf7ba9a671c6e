"""Tasks for multi-task learning: the offline stand-ins, the real protocol (GLUE, CNN/DailyMail, JSONL), and
their encoding into batches (with the frozen lower layers' outputs cached once per example).

Offline tasks (name: source -> metric):

    sentiment   fine-food reviews, great vs other (Debian r-cran-modeldata)                    acc
    newsgroup   20 Newsgroups atheism vs space, headers and quotes removed (gensim test data)  acc
    polarity    Pang & Lee sentence polarity (gensim test data)                                 acc
    accept      CoLA-like acceptability: Jane Austen sentences vs corrupted copies (swapped
                neighbours, a dropped function word, a duplicated word); test = one novel       mcc
    sts         Lee et al. document similarity, cross-encoded pairs, split by document          pearson
    manpages    man-page DESCRIPTION -> NAME summary (Debian manpages, manpages-dev), split by page   rougeL
    reuters     Reuters-21578 article -> headline (Debian r-cran-tm)                            rougeL
    wiki        Wikipedia lead -> title (gensim test data)                                      rougeL

Real protocol: `cola sst2 mrpc qqp mnli qnli rte stsb` from the GLUE folder `data.path` (official TSVs, dev as
test) and `cnndm` (a folder of .story files) or `jsonl` (a JSONL file, or a folder with train.jsonl/test.jsonl)
from `data.summ_path`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from paperzoo.core.data import require
from paperzoo.core.errors import DataError, UserError
from paperzoo.core.io import atomic_write_json
from paperzoo.core.textdata import AUSTEN_BOOKS, GLUE_TASKS, load_austen, load_fine_foods, load_glue, read_glue_tsv

from . import corpora as C
from .heads import Batch

KINDS = ("classification", "regression", "summarisation")


@dataclass
class TaskData:
    """One task's raw splits. x: str or (str, str) pairs; y: int labels, float targets or target strings."""

    name: str
    kind: str
    metric: str
    train_x: list
    train_y: list
    test_x: list
    test_y: list
    label_names: list[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if not x:
                raise DataError(f"task {self.name!r} ({self.source}): the {split} split is empty")
            if len(x) != len(y):
                raise DataError(f"task {self.name!r}: {len(x)} {split} inputs but {len(y)} targets")
        if self.kind == "classification":
            bad = [y for y in self.train_y + self.test_y if not isinstance(y, int | np.integer)]
            if bad or len(set(self.train_y)) < 2:
                raise DataError(f"task {self.name!r} ({self.source}): classification needs integer labels with at "
                                f"least two classes in train; got {bad[:3] or sorted(set(self.train_y))}")

    @property
    def n_classes(self) -> int:
        return max(len(self.label_names), int(max(self.train_y)) + 1) if self.kind == "classification" else 0


# ------------------------------------------------------------------------------------------------ splits

def in_test(key: str, fraction: float, seed: int = 0) -> bool:
    """A deterministic split decided by the key alone (page name, document id): same key, same side."""
    h = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, test) with `fraction` of each class in test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    y = np.asarray(labels)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = max(1, round(fraction * len(idx)))
        test += idx[:k].tolist()
        train += idx[k:].tolist()
    return sorted(train), sorted(test)


def _pairs_task(name: str, pairs: list[C.Pair], fraction: float, seed: int, source: str) -> TaskData:
    tr = [p for p in pairs if not in_test(p.key, fraction, seed)]
    te = [p for p in pairs if in_test(p.key, fraction, seed)]
    return TaskData(name, "summarisation", "rougeL", [p.source for p in tr], [p.target for p in tr],
                    [p.source for p in te], [p.target for p in te], source=source)


def _classes_task(name: str, texts: list[str], labels: list[int], names: list[str], fraction: float, seed: int,
                  source: str) -> TaskData:
    tr, te = stratified_split(labels, fraction, seed)
    return TaskData(name, "classification", "acc", [texts[i] for i in tr], [labels[i] for i in tr],
                    [texts[i] for i in te], [labels[i] for i in te], names, source)


# ------------------------------------------------------------------------------------------------ acceptability

FUNCTION_WORDS = frozenset("the a an of to in and was is be that for with by as at her his it he she had have "
                           "not but from on which".split())


def austen_sentences(text: str, min_words: int = 6, max_words: int = 25) -> list[str]:
    """Sentences of a novel with min..max words, without chapter headings or quotation marks."""
    flat = re.sub(r"\s+", " ", text.replace('"', "").replace("_", ""))
    out = []
    for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", flat):
        words = s.split()
        if min_words <= len(words) <= max_words and not re.search(r"\bCHAPTER\b|\bChapter\b|--", s):
            out.append(" ".join(words))
    return out


def corrupt(words: list[str], rng: np.random.Generator) -> list[str]:
    """One corruption, chosen uniformly: swap two neighbours, drop a function word, or duplicate a word."""
    w = list(words)
    kind = int(rng.integers(3))
    function_at = [i for i, x in enumerate(w) if x.lower() in FUNCTION_WORDS]
    if kind == 1 and function_at:
        del w[int(rng.choice(function_at))]
        return w
    if kind == 2:
        i = int(rng.integers(len(w)))
        return w[: i + 1] + [w[i].strip(",;:.").lower() if i == len(w) - 1 else w[i]] + w[i + 1:]
    candidates = [i for i in range(len(w) - 1) if w[i].lower() != w[i + 1].lower()]
    i = int(rng.choice(candidates)) if candidates else 0
    w[i], w[i + 1] = w[i + 1], w[i]
    return w


def acceptability_task(books: dict[str, str], test_book: str, seed: int = 0) -> TaskData:
    """Half the sentences of each novel kept (label 1), the other half corrupted (label 0); test = `test_book`."""
    if test_book not in books:
        raise UserError(f"data.accept_test_book={test_book!r} is not one of {', '.join(books)}")
    rng = np.random.default_rng(seed)
    split: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    for book, text in books.items():
        sentences = austen_sentences(text)
        for i in rng.permutation(len(sentences)):
            words = sentences[i].split()
            label = int(rng.integers(2))
            x, y = split["test" if book == test_book else "train"]
            x.append(" ".join(words if label else corrupt(words, rng)))
            y.append(label)
    return TaskData("accept", "classification", "mcc", *split["train"], *split["test"],
                    ["unacceptable", "acceptable"], f"Jane Austen sentences vs corrupted copies (test: {test_book})")


# ------------------------------------------------------------------------------------------------ builders

@dataclass
class Sources:
    """Where the builders read from: config values (real protocol) and core's offline sources."""

    glue: str | None = None
    summ: str | None = None
    test_fraction: float = 0.3
    seed: int = 0
    accept_test_book: str = "persuasion"
    man_words: int = 120


def _gensim(name: str) -> Path:
    return require("gensim-testdata") / name


def _offline(task: str, s: Sources) -> TaskData:
    if task == "sentiment":
        d = load_fine_foods(require("fine-foods"))
        return TaskData(task, "classification", "acc", d.train_text, d.train_labels, d.test_text, d.test_labels,
                        d.label_names, "Amazon fine-food reviews (modeldata::small_fine_foods)")
    if task == "newsgroup":
        x, y, names = C.load_mini_newsgroup(_gensim("mini_newsgroup"))
        return _classes_task(task, x, y, names, s.test_fraction, s.seed, "20 Newsgroups (gensim mini_newsgroup)")
    if task == "polarity":
        x, y = C.load_pang_lee(_gensim("pang_lee_polarity.cor"))
        return _classes_task(task, x, y, ["neg", "pos"], s.test_fraction, s.seed, "Pang & Lee polarity sentences")
    if task == "accept":
        return acceptability_task(load_austen(require("janeausten"), AUSTEN_BOOKS), s.accept_test_book, s.seed)
    if task == "sts":
        return lee_task(*C.load_lee(require("gensim-testdata")), s.test_fraction, s.seed)
    if task == "manpages":
        require("manpages")  # sections 1, 4-8; manpages-dev brings 2-3 into the same tree
        pairs = C.load_man_pages(require("manpages-dev").parent, s.man_words)
        return _pairs_task(task, pairs, s.test_fraction, s.seed, "Linux man pages: DESCRIPTION -> NAME")
    if task == "reuters":
        return _pairs_task(task, C.load_reuters(require("reuters")), s.test_fraction, s.seed,
                           "Reuters-21578 (tm): body -> title")
    if task == "wiki":
        return _pairs_task(task, C.parse_wiki_dump(_gensim(WIKI_FILE), max_words=s.man_words), s.test_fraction,
                           s.seed, "Wikipedia sample: lead -> title")
    raise AssertionError(task)


WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def lee_task(docs: list[str], sim: np.ndarray, fraction: float, seed: int) -> TaskData:
    """Pairs (i < j) of Lee documents with their mean rating; a pair is in test when both documents are."""
    test_docs = {i for i in range(len(docs)) if in_test(f"lee{i}", fraction, seed)}
    split: dict[bool, tuple[list, list]] = {True: ([], []), False: ([], [])}
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            a, b = i in test_docs, j in test_docs
            if a == b:
                split[a][0].append((docs[i], docs[j]))
                split[a][1].append(float(sim[i, j]))
    return TaskData("sts", "regression", "pearson", *split[False], *split[True],
                    source="Lee et al. 2005 document similarity (gensim lee.cor)")


GLUE_NAMES = {"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "qqp": "QQP", "mnli": "MNLI", "qnli": "QNLI",
              "rte": "RTE", "stsb": "STS-B"}
GLUE_METRIC = {"cola": "mcc", "mrpc": "f1", "qqp": "f1", "stsb": "pearson"}


def glue_task(task: str, folder: str | None) -> TaskData:
    if not folder:
        raise UserError(f"task {task!r} is a GLUE task: set --set data.path=<GLUE folder with "
                        f"{GLUE_NAMES[task]}/train.tsv>")
    name = GLUE_NAMES[task]
    if task == "stsb":
        split = {}
        for part, file in (("train", "train.tsv"), ("test", GLUE_TASKS[name][2])):
            path = Path(folder) / name / file
            x, y = read_glue_tsv(path, name)
            try:
                split[part] = (x, [float(v) for v in y])
            except ValueError as exc:
                raise DataError(f"{path}: STS-B scores must be numbers ({exc})") from None
        return TaskData(task, "regression", "pearson", *split["train"], *split["test"], source=f"GLUE {name}")
    d = load_glue(Path(folder), name)
    return TaskData(task, "classification", GLUE_METRIC.get(task, "acc"), d.train_text, d.train_labels,
                    d.test_text, d.test_labels, d.label_names, f"GLUE {name}")


def summ_task(task: str, path: str | None, s: Sources) -> TaskData:
    if not path:
        what = "CNN/DailyMail folder of .story files" if task == "cnndm" else \
            "JSONL file, or a folder with train.jsonl and test.jsonl"
        raise UserError(f"task {task!r} reads --set data.summ_path=<{what}>")
    p = Path(path)
    load: Callable[[Path], list[C.Pair]] = C.load_stories if task == "cnndm" else C.load_jsonl_pairs
    suffix = "" if task == "cnndm" else ".jsonl"
    train_p, test_p = p / f"train{suffix}", p / f"test{suffix}"
    if p.is_dir() and train_p.exists() and test_p.exists():
        tr, te = load(train_p), load(test_p)
        return TaskData(task, "summarisation", "rougeL", [x.source for x in tr], [x.target for x in tr],
                        [x.source for x in te], [x.target for x in te], source=str(p))
    return _pairs_task(task, load(p), s.test_fraction, s.seed, str(p))


OFFLINE_TASKS = ("sentiment", "newsgroup", "polarity", "accept", "sts", "manpages", "reuters", "wiki")
REAL_TASKS = (*GLUE_NAMES, "cnndm", "jsonl")
ALL_TASKS = OFFLINE_TASKS + REAL_TASKS


OFFLINE_SOURCES = {"sentiment": ("fine-foods",), "newsgroup": ("gensim-testdata",), "polarity": ("gensim-testdata",),
                   "accept": ("janeausten",), "sts": ("gensim-testdata",), "manpages": ("manpages", "manpages-dev"),
                   "reuters": ("reuters",), "wiki": ("gensim-testdata",)}


def _cache_file(task: str, s: Sources) -> Path:
    """Where the parsed splits of an offline task are kept: keyed by the settings and the sources' stat."""
    from paperzoo.core.data import data_root

    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns)
             for p in (require(name) for name in OFFLINE_SOURCES[task])]
    key = hashlib.sha256(repr((task, s.test_fraction, s.seed, s.accept_test_book, s.man_words, stats,
                               CACHE_VERSION)).encode()).hexdigest()[:16]
    return data_root() / "cache" / "multitask" / f"{task}-{key}.json"


CACHE_VERSION = 1


def build_task(task: str, s: Sources) -> TaskData:
    """The named task's splits (a DataError names the file when a source is malformed). Offline corpora are
    parsed once and kept as JSON under <data>/cache/multitask/ (R databases take seconds to parse)."""
    if task in GLUE_NAMES:
        return glue_task(task, s.glue)
    if task in ("cnndm", "jsonl"):
        return summ_task(task, s.summ, s)
    if task not in OFFLINE_TASKS:
        raise UserError(f"unknown task {task!r}; valid: {', '.join(ALL_TASKS)}")
    file = _cache_file(task, s)
    if file.is_file():
        try:
            d = json.loads(file.read_text())
            return TaskData(**{**d, "train_x": _pairs(d["train_x"]), "test_x": _pairs(d["test_x"])})
        except (ValueError, TypeError, KeyError):
            file.unlink(missing_ok=True)  # a damaged cache is rebuilt
    data = _offline(task, s)
    try:
        atomic_write_json(file, data.__dict__)
    except OSError:
        pass  # a read-only data folder only costs the parsing time
    return data


def _pairs(xs: list) -> list:
    return [tuple(x) if isinstance(x, list) else x for x in xs]


def cap(task: TaskData, n_train: int, n_test: int, seed: int = 0) -> TaskData:
    """At most n_train / n_test examples (0 = all), drawn with a fixed seed (the same for every run seed)."""
    rng = np.random.default_rng(seed)

    def take(x: list, y: list, n: int) -> tuple[list, list]:
        if not n or n >= len(x):
            return x, y
        keep = np.sort(rng.choice(len(x), n, replace=False))
        return [x[i] for i in keep], [y[i] for i in keep]

    tx, ty = take(task.train_x, task.train_y, n_train)
    ex, ey = take(task.test_x, task.test_y, n_test)
    return TaskData(task.name, task.kind, task.metric, tx, ty, ex, ey, task.label_names, task.source)


# ------------------------------------------------------------------------------------------------ encoding

@dataclass
class Split:
    """Token ids of one split; summarisation also holds target ids and the reference texts."""

    ids: list[list[int]]
    types: list[list[int]]
    y: list
    targets: list[list[int]] | None = None
    refs: list[str] | None = None
    cached: list[Tensor] | None = None

    def __len__(self) -> int:
        return len(self.ids)


class Encoder:
    """Tokenizes tasks for the shared encoder: sentences, cross-encoded pairs, summarisation sources/targets."""

    def __init__(self, tokenizer, max_len: int, src_len: int, tgt_len: int) -> None:
        self.tok, self.max_len, self.src_len, self.tgt_len = tokenizer, max_len, src_len, tgt_len
        self.pad, self.cls, self.sep = tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id

    def split(self, task: TaskData, x: list, y: list) -> Split:
        if task.kind == "summarisation":
            enc = self.tok(list(x), truncation=True, max_length=self.src_len)
            tg = self.tok(list(y), add_special_tokens=False, truncation=True, max_length=self.tgt_len - 1)
            return Split(enc["input_ids"], enc["token_type_ids"] if "token_type_ids" in enc else
                         [[0] * len(s) for s in enc["input_ids"]], list(range(len(y))),
                         [t + [self.sep] for t in tg["input_ids"]], list(y))
        pairs = [t if isinstance(t, tuple) else (t,) for t in x]
        second = [p[1] for p in pairs] if len(pairs[0]) == 2 else None
        enc = self.tok([p[0] for p in pairs], second, truncation=True, max_length=self.max_len)
        types = enc["token_type_ids"] if "token_type_ids" in enc else [[0] * len(s) for s in enc["input_ids"]]
        return Split(enc["input_ids"], types, list(y))

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=True).strip()


def collate(split: Split, idx: list[int], kind: str | None, pad: int, cls: int = 0, sep: int = 0) -> Batch:
    """Right-padded batch of the examples `idx` (cached lower states padded with zeros); kind=None: inputs only."""
    L = max(len(split.ids[i]) for i in idx)
    ids = torch.full((len(idx), L), pad, dtype=torch.long)
    types = torch.zeros((len(idx), L), dtype=torch.long)
    mask = torch.zeros((len(idx), L), dtype=torch.long)
    cached = None
    if split.cached is not None:
        cached = torch.zeros(len(idx), L, split.cached[idx[0]].shape[-1])
    for r, i in enumerate(idx):
        n = len(split.ids[i])
        ids[r, :n] = torch.tensor(split.ids[i])
        types[r, :n] = torch.tensor(split.types[i])
        mask[r, :n] = 1
        if cached is not None:
            cached[r, :n] = split.cached[i]
    b = Batch(ids, types, mask, cached)
    if kind == "summarisation":
        T = max(len(split.targets[i]) for i in idx)
        b.tgt_out = torch.full((len(idx), T), pad, dtype=torch.long)
        b.tgt_keep = torch.zeros((len(idx), T), dtype=torch.bool)
        for r, i in enumerate(idx):
            t = split.targets[i]
            b.tgt_out[r, : len(t)] = torch.tensor(t)
            b.tgt_keep[r, : len(t)] = True
        b.tgt_in = torch.cat([torch.full((len(idx), 1), cls, dtype=torch.long), b.tgt_out[:, :-1]], 1)
        b.copy_keep = mask.bool() & (ids != cls) & (ids != sep) & (ids != pad)
    elif kind is not None:
        b.y = torch.tensor(split.y, dtype=torch.long if kind == "classification" else torch.float32)[idx]
    return b


def length_batches(lengths: list[int], batch_size: int, rng: np.random.Generator | None) -> list[list[int]]:
    """Batches of similar lengths (less padding); shuffled (within equal lengths and in order) when rng is given."""
    n = np.asarray(lengths)
    if rng is None:
        order = np.argsort(n, kind="stable")
    else:
        perm = rng.permutation(len(n))
        order = perm[np.argsort(n[perm], kind="stable")]
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


class BatchStream:
    """Endless length-bucketed batches of one task's training split, reshuffled every epoch (seeded)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int) -> None:
        self.lengths, self.batch_size = lengths, batch_size
        self.rng = np.random.default_rng(seed)
        self.queue: list[list[int]] = []
        self.epochs = 0

    def next(self) -> list[int]:
        if not self.queue:
            self.queue = length_batches(self.lengths, self.batch_size, self.rng)
            self.epochs += 1
        return self.queue.pop()


@torch.no_grad()
def cache_states(fn: Callable[[Tensor, Tensor, Tensor], Tensor], split: Split, pad: int, batch_size: int = 64,
                 progress: Callable = lambda it, **_: it, desc: str = "") -> list[Tensor]:
    """fn(ids, types, mask[, cached]) -> (B, S, d) for every example, stored unpadded (one (len_i, d) tensor
    each); fn also gets the split's cached states when it has them."""
    out: list[Tensor | None] = [None] * len(split)
    for idx in progress(length_batches([len(s) for s in split.ids], batch_size, None), desc=desc):
        b = collate(split, idx, None, pad)
        h = fn(b.ids, b.types, b.mask) if b.cached is None else fn(b.ids, b.types, b.mask, b.cached)
        for r, i in enumerate(idx):
            out[i] = h[r, : len(split.ids[i])].clone()
    return out  # type: ignore[return-value]
