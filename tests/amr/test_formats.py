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
from paperzoo.core import UserError


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


def test_rml2016_refuses_a_code_carrying_pickle(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({("QPSK", 0): _Payload()}, protocol=2))
    with pytest.raises(UserError, match="refusing"):
        load_rml2016(path)


def test_rml2016_rejects_wrong_layout_and_missing_file(tmp_path):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({("QPSK", 0): np.zeros((3, 128), np.float32)}, protocol=2))
    with pytest.raises(UserError, match=r"expected \(N, 2, L\)"):
        load_rml2016(path)
    with pytest.raises(UserError, match="not found"):
        load_rml2016(tmp_path / "nope.pkl")


def test_rml2018_hdf5(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 1024, 2)).astype(np.float32)
    labels = rng.integers(0, 24, 10)
    path = tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5"
    with h5py.File(path, "w") as h5:
        h5["X"] = x
        h5["Y"] = np.eye(24)[labels]
        h5["Z"] = np.arange(10)[:, None] * 2 - 20
    fs = load_rml2018(path)
    assert fs.classes == RML2018_CLASSES and fs.label.tolist() == labels.tolist()
    np.testing.assert_array_equal(fs.x[3], x[3, :, 0] + 1j * x[3, :, 1])
    assert fs.snr.tolist() == list(range(-20, 0, 2))
    sub = load_rml2018(path, max_frames=3, stride=2)
    assert sub.label.tolist() == labels[[0, 2, 4]].tolist()
    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5["X"] = x
    with pytest.raises(UserError, match="missing datasets"):
        load_rml2018(tmp_path / "bad.h5")


@pytest.mark.parametrize("datatype,dtype", [("cf32_le", "<f4"), ("ci16_le", "<i2"), ("cf32_be", ">f4")])
def test_sigmf(tmp_path, datatype, dtype):
    iq = np.array([1 + 2j, -3 + 0.5j, 4 - 1j, 0 + 0j])
    inter = np.stack([iq.real, iq.imag], axis=1).ravel().astype(dtype)
    (tmp_path / "rec.sigmf-data").write_bytes(inter.tobytes())
    meta = {"global": {"core:datatype": datatype, "core:sample_rate": 2.4e6, "core:version": "1.0.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": 433.92e6}], "annotations": []}
    (tmp_path / "rec.sigmf-meta").write_text(json.dumps(meta))
    rec = load_recording(tmp_path / "rec.sigmf-meta")
    assert rec.sample_rate == 2.4e6 and rec.center_freq == 433.92e6
    expected = np.round(iq) if datatype.startswith("ci") else iq
    np.testing.assert_allclose(rec.samples, expected if datatype.startswith("c") else iq)


def test_sigmf_errors(tmp_path):
    (tmp_path / "r.sigmf-data").write_bytes(b"\0" * 8)
    (tmp_path / "r.sigmf-meta").write_text(json.dumps({"global": {"core:datatype": "cf16_le",
                                                                  "core:sample_rate": 1.0}}))
    with pytest.raises(UserError, match="unsupported core:datatype"):
        load_sigmf(tmp_path / "r.sigmf-meta")
    (tmp_path / "r.sigmf-meta").write_text("{not json")
    with pytest.raises(UserError, match="not valid SigMF"):
        load_sigmf(tmp_path / "r.sigmf-data")
    with pytest.raises(UserError, match="needs both"):
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
    path.write_bytes(b"\0" * 12)
    with pytest.raises(UserError, match="multiple of 8"):
        load_raw_complex64(path, 1e6)
