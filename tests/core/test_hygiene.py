"""Run hygiene: what a run records, which folders it accepts, how resume and Ctrl-C behave."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from paperzoo.core import context
from paperzoo.core.errors import UserError
from paperzoo.core.export import export_csv
from paperzoo.core.runner import check_out_dir, run_experiment


def test_overrides_and_command_are_recorded_and_labelled(toy_registry, tmp_path):
    record = run_experiment("multitask.toy", preset="quick", out=tmp_path / "r", overrides={"train.steps": "4"},
                            quiet=True, command="paperzoo run multitask.toy --set train.steps=4")
    assert record["label"] == "quick+overrides" and record["overrides"] == {"train.steps": "4"}
    assert record["command"].endswith("--set train.steps=4")
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert saved["label"] == "quick+overrides" and saved["overrides"] == {"train.steps": "4"}
    report = (tmp_path / "r" / "report.md").read_text()
    assert "preset `quick+overrides`" in report and "`train.steps=4`" in report and "Smoke test" not in report
    plain = run_experiment("multitask.toy", preset="quick", out=tmp_path / "p", quiet=True)
    assert plain["label"] == "quick" and plain["overrides"] == {}


def test_smoke_report_says_its_verdicts_mean_nothing(toy_registry, tmp_path):
    run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", quiet=True)
    head = (tmp_path / "r" / "report.md").read_text().split("## Claims")[0]
    assert "Smoke test" in head and "mean nothing" in head


def test_results_follow_the_umask(toy_registry, tmp_path):
    old = os.umask(0o022)
    try:
        run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", quiet=True)
    finally:
        os.umask(old)
    for name in ("metrics.json", "report.md", "config.yaml", "curve.png"):
        assert stat.S_IMODE((tmp_path / "r" / name).stat().st_mode) == 0o644, name


def test_out_folder_rules(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("old")
    with pytest.raises(UserError, match="not empty.*--force"):
        check_out_dir(tmp_path / "full")
    check_out_dir(tmp_path / "full", force=True)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        check_out_dir(tmp_path / "afile")
    with pytest.raises(UserError, match="which is a file"):
        check_out_dir(tmp_path / "afile" / "run")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(UserError, match="read-only"):
            check_out_dir(ro / "run")
    finally:
        ro.chmod(0o755)
    check_out_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()


def test_resume_refuses_what_it_would_ignore_and_keeps_finished_results(toy_registry, tmp_path):
    folder = tmp_path / "r"
    run_experiment("multitask.toy", preset="smoke", out=folder, quiet=True)
    before = (folder / "metrics.json").read_bytes()
    with pytest.raises(UserError, match="finished.*results are kept"):
        run_experiment("multitask.toy", resume=folder, quiet=True)
    assert (folder / "metrics.json").read_bytes() == before
    (folder / "metrics.json").unlink()
    with pytest.raises(UserError, match="run of 'multitask.toy', not 'wsss.toy'"):
        run_experiment("wsss.toy", resume=folder, quiet=True)
    with pytest.raises(UserError, match="would ignore --set"):
        run_experiment("multitask.toy", resume=folder, overrides={"train.steps": "9"}, quiet=True)
    with pytest.raises(UserError, match="would ignore --preset full"):
        run_experiment("multitask.toy", resume=folder, preset="full", quiet=True)
    record = run_experiment("multitask.toy", resume=folder, preset="smoke", quiet=True)
    assert record["preset"] == "smoke" and record["metrics"]["steps"] == 2


@pytest.mark.parametrize("text,needle", [("experiment: [unclosed", "not readable YAML"),
                                         ("experiment: multitask.toy\n", "incomplete"),
                                         (b"\xff\xfe\x00binary", "not readable YAML")])
def test_resume_with_a_broken_config_yaml(toy_registry, tmp_path, text, needle):
    (tmp_path / "config.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UserError, match=needle):
        run_experiment("multitask.toy", resume=tmp_path, quiet=True)


def test_failed_figure_is_listed_and_metrics_survive(toy_registry, tmp_path):
    record = run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", quiet=True,
                            overrides={"broken_figure": "true"})
    assert record["metrics"]["steps"] == 2
    report = (tmp_path / "r" / "report.md").read_text()
    assert "## Figures that failed" in report and "bad data for the bar chart" in report
    assert not (tmp_path / "r" / "bars.png").exists() and (tmp_path / "r" / "curve.png").exists()
    assert "figure bars failed" in (tmp_path / "r" / "run.log").read_text()


def test_progress_is_logged_without_a_terminal(toy_registry, tmp_path, monkeypatch):
    monkeypatch.setattr(context, "PROGRESS_LOG_MIN_S", 0.0)
    run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", overrides={"train.steps": "40"},
                   quiet=True)
    lines = [ln for ln in (tmp_path / "r" / "run.log").read_text().splitlines() if "toy: " in ln]
    assert len(lines) == 20 and "2/40 (5%)" in lines[0] and "40/40 (100%)" in lines[-1]


def test_export_writes_each_table_as_csv(toy_registry, tmp_path):
    run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", quiet=True)
    files = export_csv(tmp_path / "r")
    names = sorted(f.name for f in files)
    assert names == ["metrics.csv", "per_step.csv"]
    rows = (tmp_path / "r" / "csv" / "per_step.csv").read_text().splitlines()
    assert rows[0] == "step,value" and len(rows) == 3


@pytest.fixture
def two_toys(toy_registry, monkeypatch):
    from dataclasses import replace

    toy_registry["wsss.toy"] = replace(toy_registry["multitask.toy"], name="wsss.toy")
    return toy_registry


def test_ctrl_c_prints_one_line_with_the_resume_command(two_toys, tmp_path, paperzoo_cli):
    code, text = paperzoo_cli("run", "multitask.toy", "--preset", "smoke", "--set", "interrupt=true",
                              "--out", str(tmp_path / "r"))
    assert code == 130 and "Traceback" not in text
    line = " ".join(text.split())
    assert "interrupted: see" in line and "FAILED" in line and f"--resume {tmp_path / 'r'}" in line
    assert (tmp_path / "r" / "FAILED").exists()


BAD_CLI = [
    (("run", "multitask.toy", "--set", "train.alphas=[0.1,"), "'train.alphas' expects list of float"),
    (("run", "multitask.toy", "--set", "train.lr=nan"), "'train.lr' = nan must be a finite number"),
    (("run", "multitask.toy", "--set", "train.lr=-1"), "'train.lr' = -1.0 must be > 0"),
    (("run", "multitask.toy", "--set", "train.alphas=[]"), "must not be empty"),
    (("run", "multitask.toy", "--set", "trian.lr=1"), "did you mean 'train.lr'"),
    (("run", "multitask.toy", "--config", "BINARY"), "not UTF-8"),
    (("run", "multitask.toy", "--config", "BADYAML"), "not valid YAML"),
    (("run", "multitask.toy", "--out", "AFILE"), "is a file"),
    (("run", "multitask.toy", "--out", "AFILE/sub"), "which is a file"),
    (("run", "multitask.tyo"), "did you mean 'multitask.toy'"),
    (("report", "CORRUPT"), "corrupt"),
    (("export", "CORRUPT"), "corrupt"),
    (("reproduce", "--preset", "smoke", "--systems", "multitask", "--device", "cuda"), "no CUDA device"),
    (("config", "multitask.toy", "--preset", "huge"), "valid presets"),
]


@pytest.mark.parametrize("args,needle", BAD_CLI)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(two_toys, monkeypatch, tmp_path, args, needle,
                                                             paperzoo_cli):
    (tmp_path / "BINARY").write_bytes(b"\x00\xff\xfe\x01 not yaml")
    (tmp_path / "BADYAML").write_text("train: [1, 2\n")
    (tmp_path / "AFILE").write_text("x")
    (tmp_path / "CORRUPT").mkdir()
    (tmp_path / "CORRUPT" / "metrics.json").write_text('{"experiment": "multitask.toy", "metr')
    args = [str(tmp_path / a) if a in ("BINARY", "BADYAML", "AFILE", "AFILE/sub", "CORRUPT") else a for a in args]
    extra = ["--out", str(tmp_path / "o")] if args[0] == "run" and "--out" not in args else []
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    code, text = paperzoo_cli(*args, *extra)
    assert code == 2, text
    assert needle in " ".join(text.split())
    assert "Traceback" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run folder, no REPORT.md


def test_config_lists_keys_with_docs_and_preset_values(two_toys, paperzoo_cli):
    code, text = paperzoo_cli("config", "multitask.toy", "--preset", "smoke", raw=True)
    assert code == 0
    line = next(ln for ln in text.splitlines() if "train.steps" in ln)
    assert "3 -> 2" in line
    lr = next(ln for ln in text.splitlines() if "train.lr" in ln)
    assert "float; > 0" in lr and "learning rate" in lr


def test_help_is_lazy_and_version_prints():
    code = ("import sys; sys.argv = ['paperzoo', '--help']\n"
            "from paperzoo import cli\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'numpy', 'matplotlib', 'paperzoo.amr') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out and "reproduce" in out
    version = subprocess.run([sys.executable, "-m", "paperzoo.cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("paperzoo ")


def test_metrics_json_of_a_run_is_plain_json(toy_registry, tmp_path):
    run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", quiet=True)
    record = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert record["claims"][0]["verdict"] == "holds" and record["threads"] >= 1 and record["world_size"] == 1


def test_reproduce_names_each_report_in_the_log_and_links_only_existing_files(two_toys, tmp_path, paperzoo_cli):
    report = tmp_path / "REPORT.md"
    code, _ = paperzoo_cli("reproduce", "--preset", "smoke", "--systems", "multitask,wsss",
                           "--out", str(tmp_path / "all"), "--report", str(report))
    assert code == 0
    for name in ("multitask.toy", "wsss.toy"):
        log = (tmp_path / "all" / name / "run.log").read_text()
        assert f"{tmp_path / 'all' / name / 'report.md'}" in log.splitlines()[-1]
    body = report.read_text()
    assert "Smoke test" in body
    targets = re.findall(r"\]\(([^)]+)\)", body) + re.findall(r"\| (all/[^ |]+) \|", body)
    assert len(targets) >= 4
    for target in targets:
        assert (tmp_path / target).is_file(), target
