
import pytest

from paperzoo import cli


def test_list_shows_all_ten_systems_with_arxiv_ids(paperzoo_cli):
    code, text = paperzoo_cli("list")
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
def test_user_errors_exit_2_without_traceback(toy_registry, tmp_path, args, needle, paperzoo_cli):
    code, text = paperzoo_cli(*args, *(["--out", str(tmp_path / "o")] if args[0] == "run" else []))
    assert code == 2
    assert needle in text
    assert "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_run_then_reproduce(toy_registry, tmp_path, paperzoo_cli):
    code, text = paperzoo_cli("run", "multitask.toy", "--preset", "smoke", "--out", str(tmp_path / "r"))
    assert code == 0 and "total is positive" in text and (tmp_path / "r" / "metrics.json").exists()
    report = tmp_path / "REPORT.md"
    code, text = paperzoo_cli("reproduce", "--preset", "smoke", "--systems", "multitask",
                              "--out", str(tmp_path / "all"), "--report", str(report))
    assert code == 0
    body = report.read_text()
    assert "multitask.toy" in body and "total is positive" in body and "all/multitask.toy/curve.png" in body


def test_reproduce_reports_a_failed_system_and_exits_1(toy_registry, monkeypatch, tmp_path, paperzoo_cli):
    def broken(cfg, ctx):
        raise RuntimeError("boom")

    exp = toy_registry["multitask.toy"]
    monkeypatch.setattr(exp, "run", broken)
    report = tmp_path / "REPORT.md"
    code, _ = paperzoo_cli("reproduce", "--preset", "smoke", "--systems", "multitask",
                           "--out", str(tmp_path / "all"), "--report", str(report))
    assert code == 1
    assert "FAILED" in report.read_text() and "RuntimeError: boom" in report.read_text()
