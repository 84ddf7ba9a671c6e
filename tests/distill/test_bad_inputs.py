"""Bad input to `paperzoo run distill` / `distill.lm`: exit 2, a message naming the file or key, no traceback,
no results written, and no teacher loaded (the data and the config are checked first)."""

import pytest

from paperzoo.distill import experiment, experiment_lm

SST2_HEADER = "sentence\tlabel\n"


def _glue(root, train: str | bytes, dev: str | bytes = SST2_HEADER + "good\t1\n"):
    task = root / "glue" / "SST-2"
    task.mkdir(parents=True)
    for name, body in (("train.tsv", train), ("dev.tsv", dev)):
        (task / name).write_bytes(body if isinstance(body, bytes) else body.encode())
    return root / "glue"


def _garbage_rdata(root):
    folder = root / "rdata"
    folder.mkdir()
    (folder / "Rdata.rdx").write_bytes(b"\x00\x01 not gzip \xff" * 20)
    (folder / "Rdata.rdb").write_bytes(b"\x00" * 64)
    return folder


def _no_config(root):
    (root / "model").mkdir()
    return root / "model"


DATA_CASES = [  # (experiment, make the input, --set options, what the message says)
    ("distill", lambda r: _glue(r, SST2_HEADER), ["data.source=glue"], "no examples"),
    ("distill", lambda r: _glue(r, SST2_HEADER + "fine\t1\nragged\n"), ["data.source=glue"],
     "line 3: 1 tab-separated fields, expected 2"),
    ("distill", lambda r: _glue(r, SST2_HEADER + "good\t1\nbad\t0\n", SST2_HEADER + "odd\t7\n"),
     ["data.source=glue"], "labels ['7'] do not occur in train.tsv"),
    ("distill", lambda r: _glue(r, b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary"), ["data.source=glue"], "not UTF-8"),
    ("distill", _garbage_rdata, [], "not a gzip-compressed R lazy-load index"),
    ("distill.lm", _garbage_rdata, [], "not a gzip-compressed R lazy-load index"),
]


@pytest.mark.parametrize("exp,make,sets,needle", DATA_CASES)
def test_bad_data_exits_2_before_any_teacher_loads(paperzoo_cli, monkeypatch, tmp_path, exp, make, sets, needle):
    def no_teacher(*_a, **_k):
        raise AssertionError("the teacher was loaded before the data was checked")

    monkeypatch.setattr(experiment, "classifier_teacher", no_teacher)
    monkeypatch.setattr(experiment_lm, "lm_teacher", no_teacher)
    path = make(tmp_path)
    args = ["run", exp, "--out", str(tmp_path / "out"), "--set", f"data.path={path}"]
    for s in sets:
        args += ["--set", s]
    code, text = paperzoo_cli(*args)
    flat = " ".join(text.split())
    assert code == 2, text
    assert needle in flat and str(path) in flat.replace(" ", "")  # the message names the file or folder
    assert "Traceback" not in text
    assert not (tmp_path / "out" / "metrics.json").exists() and not (tmp_path / "out" / "report.md").exists()


CONFIG_CASES = [
    ("distill", lambda r: ["teacher.path=" + str(r / "nowhere")], "'teacher.path'", "must be an existing folder"),
    ("distill", lambda r: ["teacher.path=" + str(_no_config(r))], "teacher.path", "has no config.json"),
    ("distill", lambda r: ["kd.alpha=-1"], "'kd.alpha'", "must be >= 0"),
    ("distill", lambda r: ["train.lr=nan"], "'train.lr'", "must be a finite number"),
    ("distill", lambda r: ["train.methods=[paper,bogus]"], "'train.methods'", "must be one of"),
    ("distill", lambda r: ["seeds=[]"], "'seeds'", "must not be empty"),
    ("distill", lambda r: ["data.source=glue"], "data.source=glue", "needs --set data.path"),
    ("distill.lm", lambda r: ["kd.delta=-0.5"], "'kd.delta'", "must be >= 0"),
    ("distill.lm", lambda r: ["train.methods=[tinybert]"], "'train.methods'", "must be one of"),
    ("distill.lm", lambda r: ["data.prompt_len=60"], "data.prompt_len + data.gen_len", "must be <="),
    ("distill.lm", lambda r: ["kd.att_kind=kl"], "kd.att_kind=relation", "grouped-query"),
]


@pytest.mark.parametrize("exp,sets,key,needle", CONFIG_CASES)
def test_bad_config_exits_2_and_writes_nothing(paperzoo_cli, tmp_path, exp, sets, key, needle):
    args = ["run", exp, "--out", str(tmp_path / "out")]
    for s in sets(tmp_path):
        args += ["--set", s]
    code, text = paperzoo_cli(*args)
    flat = " ".join(text.split())
    assert code == 2, text
    assert key in flat and needle in flat
    assert "Traceback" not in text
    assert not (tmp_path / "out").exists()


def test_predict_refuses_what_it_cannot_use(paperzoo_cli, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text('{"experiment": "distill", "pres')
    for args, needle in [((str(tmp_path / "none"), "x"), "no metrics.json"),
                         ((str(tmp_path / "broken"), "x"), "is corrupt")]:
        code, text = paperzoo_cli("distill", "predict", *args)
        assert code == 2 and needle in " ".join(text.split()) and "Traceback" not in text
