"""The Progressive Transformers (PT) data layout, read and written exactly, so PHOENIX14T drops in.

A folder holds, for each split in train/dev/test, parallel text files with one line per sequence:

    {split}.skels   frames concatenated: per frame 150 joint values (50 joints x (x, y, z), divided by 3)
                    then the counter t/T, t = 0..T-1, all separated by spaces
    {split}.gloss   the gloss sequence, space separated
    {split}.text    the spoken-language sentence (optional here: without it text metrics are NaN)
    {split}.files   the sequence's name (optional: names are made up from the line number)
    {split}.align   (paperzoo's synthetic data only) the gloss index of every frame

and `src_vocab.txt` (optional), one token per line, starting <unk> <pad> <s> </s>, then the glosses.
A malformed .skels line (a value count that is not a multiple of 151, a value that is not a number, a
counter outside [0, 1)) is a DataError naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.io import atomic_write_text
from paperzoo.core.loaders import loader

from .data import SPECIALS, SPLITS, SignCorpus, SignSequence
from .skeleton import N_VALUES

FRAME = N_VALUES + 1  # 150 joint values and the counter


def _lines(path: Path) -> list[str]:
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); a PT layout file holds "
                        "one sequence per line") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def parse_skels_line(line: str, path: Path, number: int) -> np.ndarray:
    """One .skels line -> frames (T, 151) float32, or a DataError naming the file and line number."""
    where = f"{path} line {number}"
    tokens = line.split()
    if not tokens:
        raise DataError(f"{where}: empty line; every line holds one sequence of frames of {FRAME} values")
    if len(tokens) % FRAME:
        raise DataError(f"{where}: {len(tokens)} values, not a multiple of {FRAME} (each frame is {N_VALUES} joint "
                        f"values and the counter); is the file in the PT layout?")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise DataError(f"{where}: value {bad[:20]!r} is not a number") from None
    if not np.all(np.isfinite(values)):
        raise DataError(f"{where}: holds NaN or infinite values")
    frames = values.reshape(-1, FRAME)
    count = frames[:, -1]
    bad = np.flatnonzero((count < 0) | (count >= 1))
    if bad.size:
        raise DataError(f"{where}: frame {bad[0]} has counter {count[bad[0]]:g}, outside [0, 1) (the counter is "
                        f"t/T for t = 0..T-1); is the counter the last of every {FRAME} values?")
    return frames.astype(np.float32)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


@loader("signprod.skels", kind="file", suffix=".skels", doc="Progressive Transformers .skels file, a sequence a line")
def read_skels(path: Path) -> list[np.ndarray]:
    """Every sequence of a .skels file as an array (T, 151)."""
    path = Path(path)
    lines = _lines(path)
    if not lines:
        raise DataError(f"{path}: empty file; a .skels file holds one sequence per line")
    return [parse_skels_line(line, path, i + 1) for i, line in enumerate(lines)]


def read_vocab(path: Path) -> list[str]:
    """The glosses of a PT src_vocab.txt (after <unk> <pad> <s> </s>)."""
    tokens = [t.strip() for t in _lines(path) if t.strip()]
    if tuple(tokens[:4]) != SPECIALS:
        raise DataError(f"{path}: a PT src_vocab.txt starts with {' '.join(SPECIALS)} (one per line), got "
                        f"{' '.join(tokens[:4]) or 'nothing'}")
    return tokens[4:]


def _split(folder: Path, split: str) -> list[SignSequence]:
    skels = read_skels(folder / f"{split}.skels")
    gloss = _lines(folder / f"{split}.gloss") if (folder / f"{split}.gloss").is_file() else None
    if gloss is None:
        raise DataError(f"{folder}: {split}.skels has no {split}.gloss beside it (one gloss sequence per line)")
    text = _lines(folder / f"{split}.text") if (folder / f"{split}.text").is_file() else [""] * len(skels)
    files = (_lines(folder / f"{split}.files") if (folder / f"{split}.files").is_file()
             else [f"{split}/{i:05d}" for i in range(len(skels))])
    align_file = folder / f"{split}.align"
    aligns = _lines(align_file) if align_file.is_file() else None
    for name, lines in ((f"{split}.gloss", gloss), (f"{split}.text", text), (f"{split}.files", files),
                        (f"{split}.align", aligns)):
        if lines is not None and len(lines) != len(skels):
            raise DataError(f"{folder / name}: {len(lines)} lines but {split}.skels has {len(skels)} sequences; "
                            "the PT files are parallel, one line per sequence")
    out = []
    for i, frames in enumerate(skels):
        glosses = gloss[i].split()
        if not glosses:
            raise DataError(f"{folder / (split + '.gloss')} line {i + 1}: no glosses")
        alignment = _alignment(aligns[i], len(frames), len(glosses), align_file, i + 1) if aligns else None
        out.append(SignSequence(files[i].strip(), glosses, text[i].strip(), frames, alignment))
    return out


def _alignment(line: str, n_frames: int, n_glosses: int, path: Path, number: int) -> np.ndarray:
    try:
        a = np.array(line.split(), dtype=int)
    except ValueError:
        raise DataError(f"{path} line {number}: gloss indices must be integers") from None
    if len(a) != n_frames or (a.size and (a.min() < 0 or a.max() >= n_glosses)):
        raise DataError(f"{path} line {number}: need {n_frames} gloss indices in [0, {n_glosses}), got {len(a)} "
                        f"in [{a.min() if a.size else '-'}, {a.max() if a.size else '-'}]")
    return a


@loader("signprod.pt", kind="dir", doc="Progressive Transformers data folder (train/dev/test .skels, .gloss, ...)")
def read_pt(folder: Path) -> SignCorpus:
    """A PT layout folder -> SignCorpus (every split; src_vocab.txt when present, else the training glosses)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; data.path takes a folder in the PT layout "
                        "(train.skels, train.gloss, ..., test.skels)")
    missing = [f"{s}.skels" for s in SPLITS if not (folder / f"{s}.skels").is_file()]
    if missing:
        raise DataError(f"{folder}: no {', '.join(missing)}; a PT layout folder holds {{train,dev,test}}.skels with "
                        ".gloss (and .text, .files) beside them")
    splits = {s: _split(folder, s) for s in SPLITS}
    vocab = folder / "src_vocab.txt"
    glosses = read_vocab(vocab) if vocab.is_file() else sorted({g for s in splits["train"] for g in s.glosses})
    return SignCorpus(splits, glosses, str(folder))


def format_frames(frames: np.ndarray, decimals: int | None = 5) -> str:
    """One .skels line: every value with `decimals` places (None: float32's shortest exact form, '%.9g')."""
    fmt = ".9g" if decimals is None else f".{decimals}f"
    return " ".join(f"{v:{fmt}}" for v in np.asarray(frames, dtype=np.float32).ravel().tolist())


def write_pt(corpus: SignCorpus, folder: Path, decimals: int | None = 5) -> Path:
    """Write a corpus in the PT layout (atomic files); the synthetic alignment goes to {split}.align."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, seqs in corpus.splits.items():
        atomic_write_text(folder / f"{split}.skels", "".join(format_frames(s.frames, decimals) + "\n" for s in seqs))
        atomic_write_text(folder / f"{split}.gloss", "".join(" ".join(s.glosses) + "\n" for s in seqs))
        atomic_write_text(folder / f"{split}.text", "".join(s.text + "\n" for s in seqs))
        atomic_write_text(folder / f"{split}.files", "".join(s.name + "\n" for s in seqs))
        if all(s.alignment is not None for s in seqs):
            atomic_write_text(folder / f"{split}.align",
                              "".join(" ".join(map(str, s.alignment.tolist())) + "\n" for s in seqs))
    atomic_write_text(folder / "src_vocab.txt", "".join(t + "\n" for t in (*SPECIALS, *corpus.glosses)))
    return folder
