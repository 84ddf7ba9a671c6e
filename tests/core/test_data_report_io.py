import json
import math

import pytest

from paperzoo.core import data
from paperzoo.core.errors import UserError
from paperzoo.core.io import atomic_write_json
from paperzoo.core.report import fmt, md_table


def test_require_explains_how_to_get_a_missing_source(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERZOO_DATA", str(tmp_path))
    source = data.DataSource("x", ("fedga",), "a test source", deb_package="no-such-pkg",
                             relpath="no/such/path-for-paperzoo-tests")
    monkeypatch.setitem(data.SOURCES, "x", source)
    with pytest.raises(UserError, match="apt-get download no-such-pkg"):
        data.require("x")
    (tmp_path / "debian" / "no/such").mkdir(parents=True)
    (tmp_path / "debian" / "no/such/path-for-paperzoo-tests").write_text("ok")
    assert data.require("x").read_text() == "ok"
    with pytest.raises(UserError, match="valid: "):
        data.require("nope")


def test_json_nan_becomes_null_and_numpy_scalars_are_plain(tmp_path):
    import numpy as np

    atomic_write_json(tmp_path / "m.json", {"a": math.nan, "b": np.float32(0.5), "c": [np.int64(3)]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": None, "b": 0.5, "c": [3]}


def test_markdown_formatting():
    assert fmt(0.123456) == "0.1235" and fmt(1e-6) == "1.000e-06" and fmt(None) == "—" and fmt(3) == "3"
    assert md_table(["a", "b"], [[1, "x|y"]]) == "| a | b |\n|---|---|\n| 1 | x\\|y |\n"
