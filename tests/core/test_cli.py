import sys

import pytest

from paperzoo import cli


def invoke(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["paperzoo", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
        sys.exit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out + captured.err


def test_list_shows_all_ten_systems_with_arxiv_ids(monkeypatch, capsys):
    code, text = invoke(monkeypatch, capsys, "list")
    assert code == 0
    for system, (paper, _title) in cli.SYSTEMS.items():
        assert system in text and paper in text


@pytest.mark.parametrize("args,needle", [
    (("run", "nosuch"), "valid experiments: multitask.toy"),
    (("run", "multitask.toy", "--set", "no.such=1"), "valid keys: train.steps"),
    (("run", "multitask.toy", "--set", "train.steps=abc"), "'train.steps' expects int, got 'abc'"),
    (("run", "multitask.toy", "--preset", "huge"), "valid presets: smoke, quick, full"),
    (("report", "/nonexistent/run"), "no metrics.json"),
])
def test_user_errors_exit_2_without_traceback(toy_registry, monkeypatch, capsys, tmp_path, args, needle):
    code, text = invoke(monkeypatch, capsys, *args, *(["--out", str(tmp_path / "o")] if args[0] == "run" else []))
    assert code == 2
    assert needle in " ".join(text.split())
    assert "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_run_then_reproduce(toy_registry, monkeypatch, capsys, tmp_path):
    code, text = invoke(monkeypatch, capsys, "run", "multitask.toy", "--preset", "smoke", "--out", str(tmp_path / "r"))
    assert code == 0 and "total is positive" in text and (tmp_path / "r" / "metrics.json").exists()
    report = tmp_path / "REPORT.md"
    code, text = invoke(monkeypatch, capsys, "reproduce", "--preset", "smoke", "--systems", "multitask",
                        "--out", str(tmp_path / "all"), "--report", str(report))
    assert code == 0
    body = report.read_text()
    assert "multitask.toy" in body and "total is positive" in body and "all/multitask.toy/curve.png" in body


def test_reproduce_reports_a_failed_system_and_exits_1(toy_registry, monkeypatch, capsys, tmp_path):
    def broken(cfg, ctx):
        raise RuntimeError("boom")

    exp = toy_registry["multitask.toy"]
    monkeypatch.setattr(exp, "run", broken)
    report = tmp_path / "REPORT.md"
    code, _ = invoke(monkeypatch, capsys, "reproduce", "--preset", "smoke", "--systems", "multitask",
                     "--out", str(tmp_path / "all"), "--report", str(report))
    assert code == 1
    assert "FAILED" in report.read_text() and "RuntimeError: boom" in report.read_text()
