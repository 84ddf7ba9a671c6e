"""R lazy-load databases and GLUE TSV (core.textdata, shared by distill and multitask)."""

import gzip
import lzma
import struct
import zlib

import numpy as np
import pytest

from paperzoo.core import textdata as D


def _rser(obj, tmp_path):
    """R XDR serialization of a Python object, written by PyPI rdata (gzip stripped)."""
    import rdata

    p = tmp_path / "obj.rds"
    rdata.write_rds(p, obj, compression="gzip")
    return gzip.decompress(p.read_bytes())


def _write_db(tmp_path, objects: dict, compressed):
    """A lazy-load DB as R's makeLazyLoadDB writes it: blobs framed as length + [type] + payload."""
    folder = tmp_path / "usr/lib/R/site-library/modeldata/data"
    folder.mkdir(parents=True)
    rdb, index = b"", {}
    for name, obj in objects.items():
        raw = _rser(obj, tmp_path)
        if compressed is True:
            blob = struct.pack(">I", len(raw)) + zlib.compress(raw)
        else:
            body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=D._LZMA_FILTERS)
            blob = struct.pack(">I", len(raw)) + b"Z" + body
        index[name] = np.array([len(rdb), len(blob)], dtype=np.int32)
        rdb += blob
    import rdata

    rdata.write_rds(folder / "Rdata.rdx", {"variables": index, "references": {},
                                           "compressed": np.array([compressed])}, compression="gzip")
    (folder / "Rdata.rdb").write_bytes(rdb)
    return folder


@pytest.mark.parametrize("compressed", [True, 3])
def test_lazy_load_db_roundtrip_and_fine_foods(tmp_path, compressed):
    import pandas as pd

    tr = pd.DataFrame({"product": ["a", "b", "c"], "review": ["tasty!", "meh", "love it"],
                       "score": pd.Categorical(["great", "other", "great"])})
    te = pd.DataFrame({"product": ["d"], "review": ["bad"], "score": pd.Categorical(["other"],
                                                                                   categories=["great", "other"])})
    folder = _write_db(tmp_path, {"training_data": tr, "testing_data": te}, compressed)
    db = D.RLazyLoadDB(folder / "Rdata")
    assert db.names() == ["testing_data", "training_data"]
    d = D.load_fine_foods(tmp_path)  # found below a root, as under <data_root>/debian
    assert d.train_text == ["tasty!", "meh", "love it"] and d.train_labels == [0, 1, 0]
    assert d.test_labels == [1] and d.label_names == ["great", "other"]
    with pytest.raises(D.DataError, match="valid: testing_data"):
        db.raw("nope")


def test_rdb_framing_errors():
    raw = b"hello R"
    assert D.decompress_rdb_blob(struct.pack(">I", 7) + zlib.compress(raw), 1) == raw
    assert D.decompress_rdb_blob(struct.pack(">I", 7) + b"0" + raw, 2) == raw
    with pytest.raises(D.DataError, match="length mismatch"):
        D.decompress_rdb_blob(struct.pack(">I", 8) + zlib.compress(raw), 1)
    with pytest.raises(D.DataError, match="compression type"):
        D.decompress_rdb_blob(struct.pack(">I", 7) + b"Q" + raw, 3)
    with pytest.raises(D.DataError, match="not found"):
        D.load_austen(__import__("pathlib").Path("/nonexistent"))


def test_glue_tsv_reader(tmp_path):
    sst = tmp_path / "SST-2"
    sst.mkdir()
    (sst / "train.tsv").write_text("sentence\tlabel\nit 's a charming journey \t1\na dull film \t0\n")
    (sst / "dev.tsv").write_text("sentence\tlabel\nfun \"quoted\" stuff\t1\n")
    d = D.load_glue(tmp_path, "SST-2")
    assert d.train_labels == [1, 0] and d.test_text == ['fun "quoted" stuff'] and d.label_names == ["0", "1"]
    mrpc = tmp_path / "MRPC"
    mrpc.mkdir()
    (mrpc / "train.tsv").write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA cat .\tThe cat .\n")
    x, y = D.read_glue_tsv(mrpc / "train.tsv", "MRPC")
    assert x == [("A cat .", "The cat .")] and y == ["1"]
    (sst / "bad.tsv").write_text("text\tlabel\nx\t1\n")
    with pytest.raises(D.DataError, match="missing GLUE columns"):
        D.read_glue_tsv(sst / "bad.tsv", "SST-2")
    with pytest.raises(D.DataError, match="valid: SST-2"):
        D.read_glue_tsv(sst / "train.tsv", "SST-3")
