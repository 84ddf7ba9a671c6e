import json
import os
import pickle

import h5py
import numpy as np
import pytest

from paperzoo.amr.formats import (
    RML2018_CLASSES,
    load_raw_complex64,
    load_recording,
    load_rml2016,
    load_rml2018,
    load_sigmf,
)
from paperzoo.core import DataError, UserError


def _rml2016_dict(rng):
    return {(mod, snr): rng.standard_normal((3, 2, 128)).astype(np.float32)
            for mod in ("QPSK", "BPSK", "WBFM") for snr in (-4, 10)}


@pytest.mark.parametrize("protocol", [2, 4])
def test_rml2016_pickle_round_trip(tmp_path, protocol):
    data = _rml2016_dict(np.random.default_rng(0))
    path = tmp_path / "RML2016.10a_dict.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    fs = load_rml2016(path)
    assert fs.classes == ("BPSK", "QPSK", "WBFM")
    assert fs.x.shape == (18, 128) and fs.x.dtype == np.complex64
    first = data[("BPSK", -4)]
    np.testing.assert_array_equal(fs.x[:3], first[:, 0] + 1j * first[:, 1])
    assert sorted(set(fs.snr)) == [-4.0, 10.0] and np.bincount(fs.label).tolist() == [6, 6, 6]
    assert len(load_rml2016(path, max_per_key=1).x) == 6


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def _pickle(tmp_path, obj, name="bad.pkl"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=4))  # protocol 2 writes an empty array through builtins.bytes
    return path


GOOD = np.zeros((3, 2, 128), np.float32)


@pytest.mark.parametrize("obj,needle", [
    ({}, "dict is empty"),
    ({("QPSK", "high"): GOOD}, "non-integer SNR"),
    ({("QPSK", 2.5): GOOD}, "non-integer SNR"),
    ({(7, 0): GOOD}, "not a name"),
    ({("QPSK", 0): np.zeros((3, 128), np.float32)}, r"expected (N >= 1, 2, L)"),
    ({("QPSK", 0): np.zeros((0, 2, 128), np.float32)}, r"expected (N >= 1, 2, L)"),
    ({("QPSK", 0): GOOD, ("BPSK", 0): np.zeros((3, 2, 64), np.float32)}, "same length"),
    ({("QPSK", 0): np.full((3, 2, 128), np.nan, np.float32)}, "NaN or infinite"),
    ([1, 2, 3], "not a RadioML 2016 file"),
    ({("QPSK", 0): _Payload()}, "refusing"),
])
def test_rml2016_refuses_malformed_files_naming_them(tmp_path, obj, needle):
    path = _pickle(tmp_path, obj)
    with pytest.raises(DataError) as info:
        load_rml2016(path)
    assert needle in str(info.value) and "bad.pkl" in str(info.value)


def test_rml2016_missing_empty_and_truncated_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_rml2016(tmp_path / "nope.pkl")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        load_rml2016(tmp_path / "empty.pkl")
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps(_rml2016_dict(np.random.default_rng(0)), protocol=2)[:500])
    with pytest.raises(DataError, match="cut.pkl"):
        load_rml2016(tmp_path / "cut.pkl")


def _rml2018(path, x, y, z):
    with h5py.File(path, "w") as h5:
        for name, value in (("X", x), ("Y", y), ("Z", z)):
            if value is not None:
                h5[name] = value
    return path


def test_rml2018_hdf5(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 1024, 2)).astype(np.float32)
    labels = rng.integers(0, 24, 10)
    path = _rml2018(tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5", x, np.eye(24)[labels], np.arange(10)[:, None] * 2 - 20)
    fs = load_rml2018(path)
    assert fs.classes == RML2018_CLASSES and fs.label.tolist() == labels.tolist()
    np.testing.assert_array_equal(fs.x[3], x[3, :, 0] + 1j * x[3, :, 1])
    assert fs.snr.tolist() == list(range(-20, 0, 2))
    sub = load_rml2018(path, max_frames=3, stride=2)
    assert sub.label.tolist() == labels[[0, 2, 4]].tolist()


X = np.zeros((4, 64, 2), np.float32)
Y = np.eye(24)[[0, 1, 2, 3]]
Z = np.zeros((4, 1))


@pytest.mark.parametrize("x,y,z,needle", [
    (X, None, Z, "missing datasets ['Y']"),
    (np.zeros((4, 64, 3), np.float32), Y, Z, "X has shape (4, 64, 3)"),
    (np.zeros((4, 128), np.float32), Y, Z, "X has shape (4, 128)"),
    (X, np.eye(24)[[0, 1, 2]], Z, "Y has shape (3, 24)"),
    (X, Y, np.zeros((5, 1)), "Z has shape (5, 1)"),
    (np.full((4, 64, 2), np.inf, np.float32), Y, Z, "NaN or infinite"),
])
def test_rml2018_refuses_wrong_shapes_naming_the_file(tmp_path, x, y, z, needle):
    path = _rml2018(tmp_path / "bad.hdf5", x, y, z)
    with pytest.raises(DataError) as info:
        load_rml2018(path)
    assert needle in str(info.value) and "bad.hdf5" in str(info.value)


def test_rml2018_refuses_a_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "fake.hdf5"
    path.write_bytes(b"RadioML? no: " * 100)
    with pytest.raises(DataError, match="fake.hdf5 is not an HDF5 file"):
        load_rml2018(path)


def _sigmf(tmp_path, datatype, payload: bytes, rate=2.4e6, name="rec", **glob):
    (tmp_path / f"{name}.sigmf-data").write_bytes(payload)
    meta = {"global": {"core:datatype": datatype, "core:sample_rate": rate, "core:version": "1.0.0", **glob},
            "captures": [{"core:sample_start": 0, "core:frequency": 433.92e6}], "annotations": []}
    (tmp_path / f"{name}.sigmf-meta").write_text(json.dumps(meta))
    return tmp_path / f"{name}.sigmf-meta"


@pytest.mark.parametrize("datatype,dtype", [("cf32_le", "<f4"), ("ci16_le", "<i2"), ("cf32_be", ">f4"),
                                            ("rf32_le", "<f4")])
def test_sigmf(tmp_path, datatype, dtype):
    iq = np.array([1 + 2j, -3 + 0.5j, 4 - 1j, 0 + 0j])
    inter = np.stack([iq.real, iq.imag], axis=1).ravel().astype(dtype)
    rec = load_recording(_sigmf(tmp_path, datatype, inter.tobytes()))
    assert rec.sample_rate == 2.4e6 and rec.center_freq == 433.92e6
    if datatype.startswith("r"):
        np.testing.assert_allclose(rec.samples, inter.astype(float))
    else:
        np.testing.assert_allclose(rec.samples, np.round(iq) if datatype.startswith("ci") else iq)


def test_sigmf_unsigned_bytes_are_offset_binary(tmp_path):
    rec = load_sigmf(_sigmf(tmp_path, "cu8", bytes([0, 255, 128, 127])))
    np.testing.assert_allclose(rec.samples, [-127.5 + 127.5j, 0.5 - 0.5j])


CF32 = np.zeros(8, "<f4").tobytes()


@pytest.mark.parametrize("datatype,payload,rate,needle", [
    (5, CF32, 1e6, "core:datatype must be a string"),
    (["cf32_le"], CF32, 1e6, "core:datatype must be a string"),
    ("cf16_le", CF32, 1e6, "unsupported core:datatype 'cf16_le'"),
    ("cf32_xx", CF32, 1e6, "unsupported core:datatype"),
    ("cf32_le", np.zeros(3, "<f4").tobytes(), 1e6, "odd number"),
    ("cf32_le", b"\0" * 6, 1e6, "not a multiple of the 4-byte"),
    ("cf32_le", b"", 1e6, "empty"),
    ("cf32_le", np.array([1, np.nan, 0, 0], "<f4").tobytes(), 1e6, "NaN or infinite"),
    ("cf32_le", CF32, 0, "sample rate must be a finite number > 0"),
    ("cf32_le", CF32, -2e6, "sample rate must be a finite number > 0"),
    ("cf32_le", CF32, "fast", "sample rate must be a finite number > 0"),
])
def test_sigmf_refuses_bad_recordings(tmp_path, datatype, payload, rate, needle):
    meta = _sigmf(tmp_path, datatype, payload, rate)
    with pytest.raises(DataError) as info:
        load_sigmf(meta)
    assert needle in str(info.value) and "rec.sigmf-" in str(info.value)


def test_sigmf_metadata_errors(tmp_path):
    (tmp_path / "r.sigmf-data").write_bytes(b"\0" * 8)
    (tmp_path / "r.sigmf-meta").write_text("{not json")
    with pytest.raises(DataError, match="not valid SigMF"):
        load_sigmf(tmp_path / "r.sigmf-data")
    (tmp_path / "r.sigmf-meta").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="r.sigmf-meta: not valid SigMF"):
        load_sigmf(tmp_path / "r.sigmf-meta")
    with pytest.raises(DataError, match="needs both"):
        load_sigmf(tmp_path / "other.sigmf-meta")


def test_raw_complex64(tmp_path):
    iq = (np.arange(6) + 1j * np.arange(6)[::-1]).astype(np.complex64)
    path = tmp_path / "capture.cfile"
    iq.tofile(path)
    rec = load_raw_complex64(path, 1e6)
    np.testing.assert_array_equal(rec.samples, iq)
    assert rec.sample_rate == 1e6
    with pytest.raises(UserError, match="needs a sample rate"):
        load_recording(path)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(DataError, match="--fs: sample rate must be a finite number > 0"):
            load_raw_complex64(path, bad)
    path.write_bytes(b"\0" * 12)
    with pytest.raises(DataError, match="odd number"):
        load_raw_complex64(path, 1e6)
    path.write_bytes(b"\0" * 10)
    with pytest.raises(DataError, match="not a multiple of the 4-byte"):
        load_raw_complex64(path, 1e6)


def test_radioml_like_script_writes_a_file_the_rml2016_reader_accepts(tmp_path):
    """scripts/amr_radioml_like.py: RadioML 2016.10a keys and layout, and RadioML's per-sample SNR convention
    (noise power per sample = signal power per sample / 10^(key / 10))."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "amr_radioml_like.py"
    out = tmp_path / "rml_like.pkl"
    done = subprocess.run([sys.executable, str(script), str(out), "--per-cell", "3"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fs = load_rml2016(out)
    assert len(fs.classes) == 11 and fs.x.shape == (11 * 20 * 3, 128)
    assert sorted(set(fs.snr.tolist())) == list(range(-20, 20, 2))
    power = {snr: float(np.mean(np.abs(fs.x[fs.snr == snr]) ** 2)) for snr in (-20, -10)}
    assert power[-20] == pytest.approx(1 + 100, rel=0.1)  # unit signal + noise 10^(-key/10) per sample;
    assert power[-10] == pytest.approx(1 + 10, rel=0.1)  # in-band SNR would give 1 + 8 * 10^(-key/10)
    again = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "x.pkl"), "--per-cell", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--per-cell" in bad.stderr and not (tmp_path / "x.pkl").exists()
