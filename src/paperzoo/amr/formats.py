"""Readers for the real data formats: RadioML 2016.10a (pickle), RadioML 2018.01a (HDF5), SigMF, raw complex64.

Every reader is registered with `core.loaders` and refuses a malformed file with a `DataError` that names the
file, says what is wrong and what the format should hold; nothing is half-read. The RadioML 2016.10a pickle
goes through core's restricted unpickler, which only admits numpy array reconstruction and plain containers,
so a pickle carrying code (os.system, eval, ...) is refused.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError, UserError
from paperzoo.core.loaders import loader
from paperzoo.core.safe_pickle import restricted_load

RML2018_CLASSES: tuple[str, ...] = (  # order of the one-hot Y in GOLD_XYZ_OSC.0001_1024.hdf5 (per its classes.txt)
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK", "64APSK", "128APSK",
    "16QAM", "32QAM", "64QAM", "128QAM", "256QAM", "AM-SSB-WC", "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM",
    "GMSK", "OQPSK",
)
RML2016_LAYOUT = "a dict {(modulation: str, snr: int): float32 array (N, 2, L)}"


@dataclass
class FrameSet:
    """Labelled baseband frames: x (N, L) complex64, class index, SNR (dB), and the class names."""

    x: np.ndarray
    label: np.ndarray
    snr: np.ndarray
    classes: tuple[str, ...]


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected {what}")
    return path


def _finite(values: np.ndarray, path: Path, what: str) -> None:
    if not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise DataError(f"{path}: {what} holds {bad} NaN or infinite values; every sample must be a finite number")


def _snr_key(snr: object, path: Path, mod: object) -> int:
    if isinstance(snr, bool) or not isinstance(snr, numbers.Real) or not float(snr).is_integer():
        raise DataError(f"{path}: key ({mod!r}, {snr!r}) has a non-integer SNR; RadioML 2016 keys are "
                        f"(modulation, SNR in dB as an integer), e.g. ('QPSK', 10)")
    return int(snr)


@loader("amr.rml2016", kind="file", suffix=".pkl", doc="RadioML 2016.10a/b pickle {(mod, snr): (N, 2, 128)}")
def load_rml2016(path: str | Path, max_per_key: int | None = None) -> FrameSet:
    """RadioML 2016.10a/b: pickle dict {(mod, snr): float32 (N, 2, L)} -> complex frames."""
    path = _existing(path, "RadioML 2016 file (RML2016.10a_dict.pkl)")
    try:
        obj = restricted_load(path.read_bytes())  # refuses any global but numpy array reconstruction
    except UserError as err:
        raise DataError(f"{path}: {err}; expected {RML2016_LAYOUT}") from None
    if not isinstance(obj, dict) or not all(isinstance(k, tuple) and len(k) == 2 for k in obj):
        raise DataError(f"{path} is not a RadioML 2016 file: expected {RML2016_LAYOUT}, got {type(obj).__name__}")
    if not obj:
        raise DataError(f"{path}: the RadioML dict is empty (no (modulation, snr) entries); expected {RML2016_LAYOUT}")
    entries, length = [], None
    for (mod, snr), arr in obj.items():
        if not isinstance(mod, str) or not mod:
            raise DataError(f"{path}: key ({mod!r}, {snr!r}) has a modulation that is not a name; expected "
                            f"{RML2016_LAYOUT}")
        snr_db = _snr_key(snr, path, mod)
        arr = np.asarray(arr)
        if arr.ndim != 3 or arr.shape[1] != 2 or arr.shape[0] == 0 or arr.shape[2] < 2:
            raise DataError(f"{path}: entry ({mod}, {snr_db}) has shape {arr.shape}, expected (N >= 1, 2, L)")
        if not np.issubdtype(arr.dtype, np.number):
            raise DataError(f"{path}: entry ({mod}, {snr_db}) holds {arr.dtype} values, expected float32 I/Q")
        if length is not None and arr.shape[2] != length:
            raise DataError(f"{path}: entry ({mod}, {snr_db}) has frames of {arr.shape[2]} samples, the others "
                            f"{length}; every frame must have the same length")
        length = arr.shape[2]
        entries.append((mod, snr_db, arr[:max_per_key] if max_per_key else arr))
    classes = tuple(sorted({mod for mod, _, _ in entries}))
    xs, labels, snrs = [], [], []
    for mod, snr_db, arr in sorted(entries, key=lambda e: (e[0], e[1])):
        _finite(arr, path, f"entry ({mod}, {snr_db})")
        xs.append((arr[:, 0] + 1j * arr[:, 1]).astype(np.complex64))
        labels.append(np.full(len(arr), classes.index(mod)))
        snrs.append(np.full(len(arr), float(snr_db)))
    return FrameSet(np.concatenate(xs), np.concatenate(labels), np.concatenate(snrs), classes)


@loader("amr.rml2018", kind="file", suffix=".hdf5", doc="RadioML 2018.01a HDF5 (X, Y, Z)")
def load_rml2018(path: str | Path, max_frames: int | None = None, stride: int = 1) -> FrameSet:
    """RadioML 2018.01a HDF5: X (N, 1024, 2), Y one-hot (N, 24), Z SNR (N, 1); every `stride`-th frame."""
    import h5py

    path = _existing(path, "RadioML 2018 file (GOLD_XYZ_OSC.0001_1024.hdf5)")
    if not h5py.is_hdf5(path):
        raise DataError(f"{path} is not an HDF5 file; RadioML 2018.01a is HDF5 with datasets X (N, L, 2), "
                        "Y one-hot (N, C) and Z SNR (N, 1)")
    try:
        with h5py.File(path, "r") as h5:
            missing = {"X", "Y", "Z"} - set(h5.keys())
            if missing:
                raise DataError(f"{path}: missing datasets {sorted(missing)}; RadioML 2018 has X, Y, Z")
            shapes = {k: h5[k].shape for k in "XYZ"}
            _check_rml2018_shapes(path, shapes)
            end = None if max_frames is None else max_frames * stride
            x = np.asarray(h5["X"][:end:stride], dtype=np.float32)
            y = np.asarray(h5["Y"][:end:stride])
            z = np.asarray(h5["Z"][:end:stride], dtype=float).reshape(len(x), -1)[:, 0]
    except (OSError, KeyError, TypeError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: unreadable RadioML 2018 HDF5 ({type(err).__name__}: {err})") from None
    _finite(x, path, "X")
    _finite(z, path, "Z")
    n_cls = y.shape[1]
    classes = RML2018_CLASSES if n_cls == len(RML2018_CLASSES) else tuple(f"class{i}" for i in range(n_cls))
    return FrameSet((x[..., 0] + 1j * x[..., 1]).astype(np.complex64), y.argmax(1), z, classes)


def _check_rml2018_shapes(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    x, y, z = shapes["X"], shapes["Y"], shapes["Z"]
    if len(x) != 3 or x[2] != 2 or x[0] == 0 or x[1] < 2:
        raise DataError(f"{path}: X has shape {x}, expected (N >= 1, L, 2) I/Q frames")
    if len(y) != 2 or y[0] != x[0] or y[1] < 2:
        raise DataError(f"{path}: Y has shape {y}, expected one-hot labels ({x[0]}, C) for the {x[0]} frames of X")
    if len(z) not in (1, 2) or z[0] != x[0] or (len(z) == 2 and z[1] != 1):
        raise DataError(f"{path}: Z has shape {z}, expected SNRs ({x[0]}, 1) for the {x[0]} frames of X")


_SIGMF_DTYPES = {
    "cf32": ("f4", True), "cf64": ("f8", True), "ci32": ("i4", True), "ci16": ("i2", True), "ci8": ("i1", True),
    "cu8": ("u1", True), "rf32": ("f4", False), "rf64": ("f8", False), "ri16": ("i2", False), "ri8": ("i1", False),
    "cu16": ("u2", True), "ru8": ("u1", False), "ru16": ("u2", False),
}


@dataclass
class Recording:
    """A recording: samples (complex or real), sample rate in Hz, and the RF centre frequency if known."""

    samples: np.ndarray
    sample_rate: float
    center_freq: float | None = None


def _sample_rate(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise DataError(f"{where}: sample rate must be a finite number > 0 (Hz), got {value!r}")
    return float(value)


def _read_samples(data_path: Path, dtype: np.dtype, is_complex: bool) -> np.ndarray:
    size = data_path.stat().st_size
    if size == 0:
        raise DataError(f"{data_path}: the recording is empty (no samples)")
    if size % dtype.itemsize:
        raise DataError(f"{data_path}: size {size} bytes is not a multiple of the {dtype.itemsize}-byte sample type")
    raw = np.fromfile(data_path, dtype=dtype)
    if is_complex and len(raw) % 2:
        raise DataError(f"{data_path}: {len(raw)} values is an odd number; complex samples come as I/Q pairs")
    raw = raw.astype(np.float64)
    _finite(raw, data_path, "the recording")
    if dtype.kind == "u":  # offset binary: the midpoint is zero
        raw = raw - np.iinfo(dtype).max / 2
    return raw[0::2] + 1j * raw[1::2] if is_complex else raw


@loader("amr.sigmf", kind="file", suffix=".sigmf-meta", doc="SigMF recording (.sigmf-meta + .sigmf-data)")
def load_sigmf(path: str | Path) -> Recording:
    """SigMF recording from its `.sigmf-meta` (or `.sigmf-data`) path."""
    path = Path(path)
    meta_path, data_path = path.with_suffix(".sigmf-meta"), path.with_suffix(".sigmf-data")
    if not meta_path.is_file() or not data_path.is_file():
        raise DataError(f"SigMF needs both {meta_path.name} and {data_path.name} next to each other ({path.parent})")
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
        glob = meta["global"]
        datatype, rate = glob["core:datatype"], glob["core:sample_rate"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(f"{meta_path}: not valid SigMF metadata ({type(err).__name__}: {err}); it needs a JSON "
                        "object with global.core:datatype and global.core:sample_rate") from None
    if not isinstance(datatype, str):
        raise DataError(f"{meta_path}: core:datatype must be a string such as 'cf32_le', got {datatype!r}")
    base, _, endian = datatype.partition("_")
    if base not in _SIGMF_DTYPES or endian not in ("", "le", "be"):
        raise DataError(f"{meta_path}: unsupported core:datatype {datatype!r}; supported: "
                        f"{', '.join(sorted(_SIGMF_DTYPES))}, each with _le or _be")
    rate = _sample_rate(rate, f"{meta_path} (core:sample_rate)")
    kind, is_complex = _SIGMF_DTYPES[base]
    samples = _read_samples(data_path, np.dtype(kind).newbyteorder(">" if endian == "be" else "<"), is_complex)
    captures = meta.get("captures") if isinstance(meta, dict) else None
    fc = captures[0].get("core:frequency") if isinstance(captures, list) and captures and isinstance(
        captures[0], dict) else None
    if fc is not None and (isinstance(fc, bool) or not isinstance(fc, numbers.Real) or not math.isfinite(fc)):
        raise DataError(f"{meta_path}: captures[0].core:frequency must be a number (Hz), got {fc!r}")
    return Recording(samples, rate, None if fc is None else float(fc))


def load_raw_complex64(path: str | Path, sample_rate: float) -> Recording:
    """Raw interleaved float32 I/Q (GNU Radio file sink, complex64) with a user-given sample rate."""
    rate = _sample_rate(sample_rate, "--fs")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"raw recording not found: {path}")
    return Recording(_read_samples(path, np.dtype("<f4"), True), rate)


@loader("amr.raw_cf32", kind="file", suffix=".cfile", doc="raw complex64 I/Q (GNU Radio file sink), fs = 1")
def _load_raw_unit_rate(path: Path) -> Recording:
    return load_raw_complex64(path, 1.0)


def load_recording(path: str | Path, sample_rate: float | None = None) -> Recording:
    """SigMF (by extension) or raw complex64 (needs sample_rate)."""
    path = Path(path)
    if path.suffix in (".sigmf-meta", ".sigmf-data"):
        return load_sigmf(path)
    if sample_rate is None:
        raise UserError(f"{path.name}: raw complex64 needs a sample rate (--fs); SigMF files carry their own")
    return load_raw_complex64(path, sample_rate)
