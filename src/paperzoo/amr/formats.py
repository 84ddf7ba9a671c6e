"""Readers for the real data formats: RadioML 2016.10a (pickle), RadioML 2018.01a (HDF5), SigMF, raw complex64.

The RadioML 2016.10a pickle is read with core's restricted unpickler, which only admits numpy array
reconstruction and plain containers, so a pickle carrying code (os.system, eval, ...) is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core import UserError
from paperzoo.core.safe_pickle import restricted_load

RML2018_CLASSES: tuple[str, ...] = (  # order of the one-hot Y in GOLD_XYZ_OSC.0001_1024.hdf5 (per its classes.txt)
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK", "64APSK", "128APSK",
    "16QAM", "32QAM", "64QAM", "128QAM", "256QAM", "AM-SSB-WC", "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM",
    "GMSK", "OQPSK",
)

@dataclass
class FrameSet:
    """Labelled baseband frames: x (N, L) complex64, class index, SNR (dB), and the class names."""

    x: np.ndarray
    label: np.ndarray
    snr: np.ndarray
    classes: tuple[str, ...]


def load_rml2016(path: str | Path, max_per_key: int | None = None) -> FrameSet:
    """RadioML 2016.10a/b: pickle dict {(mod, snr): float32 (N, 2, 128)} -> complex frames."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"RadioML 2016 file not found: {path} (expected RML2016.10a_dict.pkl)")
    obj = restricted_load(path.read_bytes())  # refuses any global but numpy array reconstruction
    if not isinstance(obj, dict) or not all(isinstance(k, tuple) and len(k) == 2 for k in obj):
        raise UserError(f"{path} is not a RadioML 2016 dict {{(modulation, snr): array (N, 2, L)}}")
    classes = tuple(sorted({str(k[0]) for k in obj}))
    xs, labels, snrs = [], [], []
    for (mod, snr), arr in sorted(obj.items(), key=lambda kv: (str(kv[0][0]), int(kv[0][1]))):
        arr = np.asarray(arr)
        if arr.ndim != 3 or arr.shape[1] != 2:
            raise UserError(f"{path}: entry ({mod}, {snr}) has shape {arr.shape}, expected (N, 2, L)")
        arr = arr[:max_per_key] if max_per_key else arr
        xs.append((arr[:, 0] + 1j * arr[:, 1]).astype(np.complex64))
        labels.append(np.full(len(arr), classes.index(str(mod))))
        snrs.append(np.full(len(arr), float(snr)))
    return FrameSet(np.concatenate(xs), np.concatenate(labels), np.concatenate(snrs), classes)


def load_rml2018(path: str | Path, max_frames: int | None = None, stride: int = 1) -> FrameSet:
    """RadioML 2018.01a HDF5: X (N, 1024, 2), Y one-hot (N, 24), Z SNR (N, 1); every `stride`-th frame."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise UserError(f"RadioML 2018 file not found: {path} (expected GOLD_XYZ_OSC.0001_1024.hdf5)")
    with h5py.File(path, "r") as h5:
        missing = {"X", "Y", "Z"} - set(h5.keys())
        if missing:
            raise UserError(f"{path}: missing datasets {sorted(missing)}; RadioML 2018 has X, Y, Z")
        end = None if max_frames is None else max_frames * stride
        x = np.asarray(h5["X"][:end:stride])
        y = np.asarray(h5["Y"][:end:stride])
        z = np.asarray(h5["Z"][:end:stride]).reshape(-1)
    if x.ndim != 3 or x.shape[2] != 2:
        raise UserError(f"{path}: X has shape {x.shape}, expected (N, L, 2)")
    classes = RML2018_CLASSES if y.shape[1] == len(RML2018_CLASSES) else tuple(f"class{i}" for i in range(y.shape[1]))
    return FrameSet((x[..., 0] + 1j * x[..., 1]).astype(np.complex64), y.argmax(1), z.astype(float), classes)


_SIGMF_DTYPES = {
    "cf32": ("f4", True), "cf64": ("f8", True), "ci32": ("i4", True), "ci16": ("i2", True), "ci8": ("i1", True),
    "cu8": ("u1", True), "rf32": ("f4", False), "rf64": ("f8", False), "ri16": ("i2", False), "ri8": ("i1", False),
}


@dataclass
class Recording:
    """A recording: samples (complex or real), sample rate in Hz, and the RF centre frequency if known."""

    samples: np.ndarray
    sample_rate: float
    center_freq: float | None = None


def load_sigmf(path: str | Path) -> Recording:
    """SigMF recording from its `.sigmf-meta` (or `.sigmf-data`) path."""
    path = Path(path)
    meta_path = path.with_suffix(".sigmf-meta")
    data_path = path.with_suffix(".sigmf-data")
    if not meta_path.is_file() or not data_path.is_file():
        raise UserError(f"SigMF needs both {meta_path.name} and {data_path.name} next to each other")
    try:
        meta = json.loads(meta_path.read_text())
        glob = meta["global"]
        datatype = glob["core:datatype"]
        rate = float(glob["core:sample_rate"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise UserError(f"{meta_path}: not valid SigMF metadata ({err})") from err
    base, _, endian = datatype.partition("_")
    if base not in _SIGMF_DTYPES:
        raise UserError(f"{meta_path}: unsupported core:datatype {datatype!r}; supported: {sorted(_SIGMF_DTYPES)}")
    kind, is_complex = _SIGMF_DTYPES[base]
    dtype = np.dtype(kind).newbyteorder(">" if endian == "be" else "<")
    raw = np.fromfile(data_path, dtype=dtype).astype(np.float64)
    if base == "cu8":
        raw = raw - 127.5
    samples = raw[0::2] + 1j * raw[1::2] if is_complex else raw
    captures = meta.get("captures") or [{}]
    fc = captures[0].get("core:frequency")
    return Recording(samples, rate, None if fc is None else float(fc))


def load_raw_complex64(path: str | Path, sample_rate: float) -> Recording:
    """Raw interleaved float32 I/Q (GNU Radio file sink, complex64) with a user-given sample rate."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"raw recording not found: {path}")
    if path.stat().st_size % 8:
        raise UserError(f"{path}: size {path.stat().st_size} is not a multiple of 8 bytes (complex64)")
    if sample_rate <= 0:
        raise UserError(f"sample rate must be > 0, got {sample_rate}")
    return Recording(np.fromfile(path, dtype=np.complex64).astype(np.complex128), float(sample_rate))


def load_recording(path: str | Path, sample_rate: float | None = None) -> Recording:
    """SigMF (by extension) or raw complex64 (needs sample_rate)."""
    path = Path(path)
    if path.suffix in (".sigmf-meta", ".sigmf-data"):
        return load_sigmf(path)
    if sample_rate is None:
        raise UserError(f"{path.name}: raw complex64 needs a sample rate (--fs); SigMF files carry their own")
    return load_raw_complex64(path, sample_rate)
