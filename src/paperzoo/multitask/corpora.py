"""Readers of the text formats multitask learns from: offline stand-ins and the real protocol's files.

Offline (Debian packages and the gensim wheel's test data, see `paperzoo data status`):

    man page (groff, .gz)   source = first paragraphs of DESCRIPTION (macros stripped), target = NAME summary
    Reuters-21578 (.sgm/.xml, as shipped by r-cran-tm)   source = <BODY>, target = <TITLE>
    mini_newsgroup          zlib pickle of an sklearn Bunch (20 Newsgroups, atheism vs space): restricted unpickler
    pang_lee_polarity.cor   "__label__pos|neg sentence" lines
    lee.cor + similarities0-1.txt   50 news documents and their mean human similarity ratings (upper triangle)
    MediaWiki XML dump (.bz2)        source = article lead (wikitext stripped), target = title

Real protocol: CNN/DailyMail `.story` files (article lines, then `@highlight` + one line per highlight) and
JSONL `{"document": ..., "summary": ...}` (XSum and most summarisation sets); GLUE TSV comes from core.

Every reader raises DataError (exit 2) naming the file and what a valid file looks like.
"""

from __future__ import annotations

import bz2
import copyreg
import gzip
import html
import io
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.loaders import loader
from paperzoo.core.safe_pickle import RestrictedUnpickler


@dataclass
class Pair:
    """One summarisation example."""

    source: str
    target: str
    key: str  # what the split is decided by (page name, file name, document id)


def _text(path: Path, what: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: not a gzip file ({exc}); expected a gzip-compressed {what}") from None
    if not raw.strip():
        raise DataError(f"{path}: empty file; expected a {what}")
    if b"\x00" in raw:
        raise DataError(f"{path}: binary data (NUL bytes); expected a {what} in text form")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# ------------------------------------------------------------------------------------------------ man pages

_NAMED = {"em": "-", "en": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"', "bu": "", "co": "(c)"}
_ESCAPE = re.compile(r"\\(?:f(?:\(..|\[[^]]*\]|.)|\(..|\[[^]]*\]|\*(?:\(..|\[[^]]*\]|.)|s[-+]?\d|.)")


def _escape(m: re.Match) -> str:
    e = m.group(0)
    if e.startswith("\\("):
        return _NAMED.get(e[2:], "")
    return {"\\-": "-", "\\e": "\\", "\\ ": " ", "\\~": " "}.get(e, "")


_FONT_MACROS = {"B", "I", "SM", "SB", "BR", "RB", "IR", "RI", "BI", "IB", "UR", "MT", "OP"}
_BREAKS = {"PP", "LP", "P", "TP", "IP", "HP", "SS", "sp", "TQ"}


def groff_plain(line: str) -> str:
    """Text of one groff line with font changes and character escapes removed (\\- -> -, \\(aq -> ')."""
    return _ESCAPE.sub(_escape, line) if "\\" in line else line


def _macro_text(line: str) -> str | None:
    """Plain text of a macro line: font macros keep their arguments (BR-style alternation joined), others None."""
    parts = line[1:].split(None, 1)
    name = parts[0] if parts else ""
    if name not in _FONT_MACROS:
        return None
    args = re.findall(r'"([^"]*)"|(\S+)', parts[1]) if len(parts) > 1 else []
    words = [a or b for a, b in args]
    joined = "".join(words) if len(name) == 2 and name not in ("SM", "SB", "UR", "MT", "OP") else " ".join(words)
    return groff_plain(joined)


def man_sections(text: str) -> dict[str, list[str]]:
    """Raw lines of each `.SH` section of a man page (comments dropped), keyed by the upper-cased heading."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if line.startswith(".SH"):
            current = groff_plain(line[3:].strip().strip('"')).upper()
            out.setdefault(current, [])
        elif current is not None:
            out[current].append(line)
    return out


def man_paragraphs(lines: list[str]) -> list[str]:
    """Paragraphs of plain text from groff lines; `.PP`/`.TP`/`.IP` break, tables and unknown requests vanish."""
    paras, cur, in_table = [], [], False
    for line in lines:
        if line.startswith(".TS"):
            in_table = True
        if in_table:
            in_table = not line.startswith(".TE")
            continue
        if line.startswith((".", "'")):
            name = line[1:].split(None, 1)[0] if line[1:].strip() else ""
            text = _macro_text(line)
            if text is not None:
                cur.append(text)
            elif name in _BREAKS and cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(groff_plain(line))
    if cur:
        paras.append(" ".join(cur))
    return [re.sub(r"\s+", " ", p).strip() for p in paras if p.strip()]


def parse_man_page(path: Path, max_words: int = 120) -> Pair | None:
    """(DESCRIPTION's first paragraphs -> NAME summary) of one man page; None for `.so` aliases and pages
    without a usable NAME or DESCRIPTION. Garbage raises DataError."""
    path = Path(path)
    text = _text(path, "man page (groff source)")
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(('.\\"', "'\\\""))]
    if body and body[0].startswith(".so "):
        return None
    sections = man_sections(text)
    if "NAME" not in sections:
        raise DataError(f"{path}: no `.SH NAME` section; a man page has NAME (\"name \\- summary\") and DESCRIPTION")
    name_line = " ".join(groff_plain(ln) for ln in sections["NAME"] if not ln.startswith("."))
    if " - " not in name_line:
        return None
    names, summary = name_line.split(" - ", 1)
    words: list[str] = []
    for para in man_paragraphs(sections.get("DESCRIPTION", [])):
        words += para.split()
        if len(words) >= max_words:
            break
    if not words or not summary.strip():
        return None
    page = re.sub(r"\.gz$", "", path.name)
    return Pair(" ".join(words[:max_words]), re.sub(r"\s+", " ", summary).strip(), page.rsplit(".", 1)[0])


def load_man_pages(root: Path, max_words: int = 120) -> list[Pair]:
    """Every man page under `root` (man1..man8 folders; symlinked aliases and `.so` pages skipped), deduplicated
    by source text, sorted by page name."""
    root = Path(root)
    files = sorted(p for p in root.glob("man*/*") if p.is_file() and not p.is_symlink())
    if not files:
        raise DataError(f"no man pages under {root}; expected man1/ ... man8/ folders of groff files "
                        "(Debian manpages, manpages-dev)")
    seen, out = set(), []
    for f in files:
        try:
            pair = parse_man_page(f, max_words)
        except DataError:
            continue  # one unreadable page does not spoil the corpus
        if pair is not None and pair.source not in seen:
            seen.add(pair.source)
            out.append(pair)
    if not out:
        raise DataError(f"{root}: no man page with a NAME summary and a DESCRIPTION")
    return sorted(out, key=lambda p: p.key)


# ------------------------------------------------------------------------------------------------ Reuters

_REUTERS = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)


def _tag(block: str, tag: str) -> str:
    m = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", block, re.S)
    return html.unescape(re.sub(r"&#\d+;", " ", m.group(1))).strip() if m else ""


def parse_reuters(path: Path) -> list[Pair]:
    """(<BODY> -> <TITLE>) of every <REUTERS> article in a Reuters-21578 file (SGML .sgm or tm's XML)."""
    path = Path(path)
    text = _text(path, "Reuters-21578 file (SGML or XML with <REUTERS> elements)")
    blocks = _REUTERS.findall(text)
    if not blocks:
        raise DataError(f"{path}: no <REUTERS>...</REUTERS> article; expected Reuters-21578 SGML/XML")
    out = []
    for attrs, block in blocks:
        title, body = _tag(block, "TITLE"), _tag(block, "BODY")
        body = re.sub(r"\s*Reuter\s*$", "", body)
        newid = re.search(r'NEWID="(\d+)"', attrs)
        if title and body:
            out.append(Pair(re.sub(r"\s+", " ", body), re.sub(r"\s+", " ", title),
                            newid.group(1) if newid else f"{path.stem}"))
    return out


def load_reuters(root: Path) -> list[Pair]:
    """Every article with a title and a body in the .sgm/.xml files under `root` (deduplicated by NEWID)."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".sgm", ".xml") and p.is_file())
    pairs: dict[str, Pair] = {}
    for f in files:
        try:
            for p in parse_reuters(f):
                pairs.setdefault(p.key, p)
        except DataError:
            continue  # tm ships other XML files (rcv1, custom) next to the Reuters ones
    if not pairs:
        raise DataError(f"no Reuters-21578 article (with <TITLE> and <BODY>) under {root}")
    return [pairs[k] for k in sorted(pairs, key=lambda k: (len(k), k))]


# ------------------------------------------------------------------------------------------------ gensim data

class _Bunch(dict):
    """Plain stand-in for sklearn's Bunch: a dict (its pickled state is merged in)."""

    def __setstate__(self, state: dict) -> None:
        self.update(state)


_BUNCH_GLOBALS = {("sklearn.datasets.base", "Bunch"): _Bunch, ("sklearn.utils", "Bunch"): _Bunch,
                  ("sklearn.utils._bunch", "Bunch"): _Bunch, ("__builtin__", "dict"): dict,
                  ("builtins", "dict"): dict, ("copy_reg", "_reconstructor"): copyreg._reconstructor}


class _BunchUnpickler(RestrictedUnpickler):
    """core's numpy-only unpickler, plus the plain-data constructors an sklearn Bunch needs."""

    def find_class(self, module: str, name: str):
        if (module, name) in _BUNCH_GLOBALS:
            return _BUNCH_GLOBALS[(module, name)]
        return super().find_class(module, name)


def strip_newsgroup_post(text: str) -> str:
    """Drop the header block (it names the newsgroup, i.e. the label) and quoted lines, as sklearn's remove=."""
    _, sep, body = text.partition("\n\n")
    body = body if sep else text
    lines = [ln for ln in body.splitlines()
             if not ln.lstrip().startswith((">", "|", "In article <"))
             and not re.search(r"(writes|wrote|says):\s*$", ln)]
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def load_mini_newsgroup(path: Path) -> tuple[list[str], list[int], list[str]]:
    """(posts without headers/quotes, labels, label names) from gensim's zlib-pickled 20-Newsgroups Bunch."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"mini_newsgroup file not found: {path}")
    try:
        raw = zlib.decompress(path.read_bytes())
    except zlib.error as exc:
        raise DataError(f"{path}: not zlib-compressed ({exc}); expected gensim's mini_newsgroup pickle") from None
    try:
        bunch = _BunchUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - restricted_load's UserError or pickle's many error kinds
        raise DataError(f"{path}: not a readable 20-Newsgroups pickle: {exc}") from None
    if not isinstance(bunch, dict) or not {"data", "target", "target_names"} <= set(bunch):
        raise DataError(f"{path}: the pickle holds no Bunch with data, target and target_names")
    texts = [strip_newsgroup_post(str(t)) for t in bunch["data"]]
    labels = [int(v) for v in np.asarray(bunch["target"]).ravel()]
    if len(texts) != len(labels) or not texts:
        raise DataError(f"{path}: {len(texts)} posts but {len(labels)} labels")
    return texts, labels, [str(n) for n in bunch["target_names"]]


def load_pang_lee(path: Path) -> tuple[list[str], list[int]]:
    """Sentences and labels (0 neg, 1 pos) of a fastText-style `__label__neg|pos text` file."""
    path = Path(path)
    texts, labels = [], []
    for n, line in enumerate(_text(path, "labelled sentence file (__label__pos|neg text)").splitlines(), 1):
        if not line.strip():
            continue
        m = re.match(r"__label__(\S+)\s+(.*)", line)
        if not m or m.group(1) not in ("neg", "pos"):
            raise DataError(f"{path}, line {n}: expected '__label__pos <text>' or '__label__neg <text>', "
                            f"got {line[:60]!r}")
        labels.append(int(m.group(1) == "pos"))
        texts.append(m.group(2).strip())
    return texts, labels


def load_lee(folder: Path) -> tuple[list[str], np.ndarray]:
    """Lee et al. (2005): 50 documents (lee.cor) and their 50x50 mean similarity ratings (upper triangle)."""
    folder = Path(folder)
    docs = [ln.strip() for ln in _text(folder / "lee.cor", "Lee corpus (one document per line)").splitlines()
            if ln.strip()]
    sim_file = folder / "similarities0-1.txt"
    rows = [ln.split() for ln in _text(sim_file, "similarity matrix (tab-separated)").splitlines() if ln.strip()]
    try:
        sim = np.array([[float(v) for v in r] for r in rows])
    except ValueError as exc:
        raise DataError(f"{sim_file}: not a numeric matrix ({exc})") from None
    if sim.ndim != 2 or sim.shape != (len(docs), len(docs)):
        raise DataError(f"{sim_file}: need a {len(docs)}x{len(docs)} matrix (one row per document of lee.cor), "
                        f"got {sim.shape if sim.ndim == 2 else 'ragged rows'}")
    return docs, sim


# ------------------------------------------------------------------------------------------------ Wikipedia

def strip_wikitext(text: str) -> str:
    """Plain prose of MediaWiki markup: templates, tables, refs, files, tags and emphasis removed, links as text."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", "", text, flags=re.S)
    for _ in range(5):  # nested templates and tables, innermost first
        text = re.sub(r"\{\{[^{}]*\}\}|\{\|[^{}]*?\|\}", "", text, flags=re.S)
    text = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*(\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", text, flags=re.I)
    text = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+\s*([^\]]*)\]", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"'{2,}", "", html.unescape(text))
    return re.sub(r"\s+", " ", text).strip()


def parse_wiki_dump(path: Path, min_words: int = 20, max_words: int = 120) -> list[Pair]:
    """(lead section -> title) of every article page in a MediaWiki XML dump (.xml or .xml.bz2)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MediaWiki dump not found: {path}")
    raw = path.read_bytes()
    if path.suffix == ".bz2":
        try:
            raw = bz2.decompress(raw)
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"{path}: not a bzip2 file ({exc}); expected a .xml.bz2 MediaWiki dump") from None
    text = raw.decode("utf-8", errors="replace")
    pages = re.findall(r"<page>(.*?)</page>", text, re.S)
    if not pages:
        raise DataError(f"{path}: no <page> element; expected a MediaWiki XML export")
    out = []
    for page in pages:
        title, ns = _tag(page, "title"), _tag(page, "ns")
        body = _tag(page, "text")
        if ns not in ("", "0") or body.lower().startswith("#redirect") or not title:
            continue
        lead = strip_wikitext(re.split(r"\n==", body, maxsplit=1)[0]).split()
        if len(lead) >= min_words:
            out.append(Pair(" ".join(lead[:max_words]), title, title))
    return out


# ------------------------------------------------------------------------------------------------ real protocol

def parse_story(path: Path) -> Pair:
    """A CNN/DailyMail `.story` file: article lines, then `@highlight` markers each followed by a highlight."""
    path = Path(path)
    lines = [ln.strip() for ln in _text(path, "CNN/DailyMail .story file").splitlines()]
    article, highlights, take = [], [], False
    for ln in lines:
        if not ln:
            continue
        if ln == "@highlight":
            take = True
        elif take:
            highlights.append(ln if ln.endswith(".") else ln + " .")
            take = False
        else:
            article.append(ln)
    if not highlights or not article:
        raise DataError(f"{path}: a .story file needs article lines and at least one '@highlight' line "
                        f"followed by its text (found {len(article)} article lines, {len(highlights)} highlights)")
    return Pair(" ".join(article), " ".join(highlights), path.stem)


def load_stories(folder: Path) -> list[Pair]:
    """Every `.story` file under a folder (CNN/DailyMail layout), sorted by file name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"CNN/DailyMail folder not found: {folder}")
    files = sorted(folder.rglob("*.story"))
    if not files:
        raise DataError(f"{folder}: no .story files; expected CNN/DailyMail's cnn/stories/*.story layout")
    return [parse_story(f) for f in files]


def load_jsonl_pairs(path: Path, source_key: str = "document", target_key: str = "summary") -> list[Pair]:
    """`{"document": ..., "summary": ...}` per line (XSum and most summarisation sets in JSONL)."""
    path = Path(path)
    out = []
    for n, line in enumerate(_text(path, f"JSONL file of {{{source_key!r}, {target_key!r}}} objects").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {n}: not JSON ({exc.msg}); each line is one object") from None
        if not isinstance(obj, dict) or not {source_key, target_key} <= set(obj):
            raise DataError(f"{path}, line {n}: need keys {source_key!r} and {target_key!r}, got "
                            f"{sorted(obj) if isinstance(obj, dict) else type(obj).__name__}")
        src, tgt = obj[source_key], obj[target_key]
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise DataError(f"{path}, line {n}: {source_key!r} and {target_key!r} must be strings")
        out.append(Pair(src, tgt, str(obj.get("id", n))))
    if not out:
        raise DataError(f"{path}: no examples")
    return out


def _register() -> None:
    loader("multitask.man_page", suffix=".3.gz", doc="man page (groff, gzipped): DESCRIPTION -> NAME summary")(
        parse_man_page)
    loader("multitask.man_dir", kind="dir", doc="man page tree (man1..man8 folders)")(load_man_pages)
    loader("multitask.reuters", suffix=".sgm", doc="Reuters-21578 SGML/XML (<BODY> -> <TITLE>)")(parse_reuters)
    loader("multitask.mini_newsgroup", doc="gensim's mini_newsgroup (zlib pickle of a Bunch)")(load_mini_newsgroup)
    loader("multitask.pang_lee", suffix=".cor", doc="__label__pos|neg sentence file")(load_pang_lee)
    loader("multitask.lee", kind="dir", doc="folder with lee.cor and similarities0-1.txt")(load_lee)
    loader("multitask.wiki_dump", suffix=".xml.bz2", doc="MediaWiki XML dump (lead -> title)")(parse_wiki_dump)
    loader("multitask.story", suffix=".story", doc="CNN/DailyMail .story file")(parse_story)
    loader("multitask.stories", kind="dir", doc="folder of CNN/DailyMail .story files")(load_stories)
    loader("multitask.jsonl", suffix=".jsonl", doc="JSONL {document, summary}")(load_jsonl_pairs)


_register()
