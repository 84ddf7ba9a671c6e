import json

import pytest
import yaml

from paperzoo.core.errors import UserError
from paperzoo.core.runner import rerender, run_experiment

SCHEMA = {"system", "experiment", "preset", "seed", "wall_s", "versions", "metrics", "claims"}


def test_run_writes_the_contract_files(toy_registry, tmp_path):
    record = run_experiment("multitask.toy", preset="smoke", out=tmp_path / "r", seed=3, quiet=True)
    folder = tmp_path / "r"
    assert SCHEMA <= set(record)
    assert record["preset"] == "smoke" and record["seed"] == 3 and record["metrics"]["steps"] == 2
    assert record["claims"][0]["holds"] is True and "total=" in record["claims"][0]["evidence"]
    saved = yaml.safe_load((folder / "config.yaml").read_text())
    assert saved["config"]["train"]["steps"] == 2 and saved["experiment"] == "multitask.toy"
    report = (folder / "report.md").read_text()
    assert "total is positive" in report and "![a line](curve.png)" in report and "## Extra" in report
    assert (folder / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(folder.glob(".*.tmp"))


def test_same_seed_same_metrics_other_seed_differs(toy_registry, tmp_path):
    a = run_experiment("multitask.toy", preset="smoke", out=tmp_path / "a", seed=1, quiet=True)
    b = run_experiment("multitask.toy", preset="smoke", out=tmp_path / "b", seed=1, quiet=True)
    c = run_experiment("multitask.toy", preset="smoke", out=tmp_path / "c", seed=2, quiet=True)
    assert a["metrics"] == b["metrics"]
    assert a["metrics"] != c["metrics"]


@pytest.mark.parametrize("flag,exc", [("fail", RuntimeError), ("interrupt", KeyboardInterrupt)])
def test_failed_run_leaves_failed_not_metrics(toy_registry, tmp_path, flag, exc):
    folder = tmp_path / "r"
    run_experiment("multitask.toy", preset="smoke", out=folder, quiet=True)
    assert (folder / "metrics.json").exists()
    with pytest.raises(exc):
        run_experiment("multitask.toy", preset="smoke", out=folder, overrides={flag: "true"}, quiet=True, force=True)
    assert (folder / "FAILED").exists()
    assert not (folder / "metrics.json").exists() and not (folder / "report.md").exists()
    with pytest.raises(UserError, match="FAILED"):
        rerender(folder)


def test_user_errors_write_nothing(toy_registry, tmp_path):
    with pytest.raises(UserError, match="valid experiments: multitask.toy"):
        run_experiment("nosuch", out=tmp_path / "x")
    with pytest.raises(UserError, match="valid presets"):
        run_experiment("multitask.toy", preset="huge", out=tmp_path / "x")
    with pytest.raises(UserError, match="expects int"):
        run_experiment("multitask.toy", out=tmp_path / "x", overrides={"train.steps": "abc"})
    assert not (tmp_path / "x").exists()


def test_rerender_rebuilds_report(toy_registry, tmp_path):
    folder = tmp_path / "r"
    run_experiment("multitask.toy", preset="smoke", out=folder, quiet=True)
    original = (folder / "report.md").read_text()
    (folder / "report.md").unlink()
    rerender(folder)
    assert (folder / "report.md").read_text() == original
    assert json.loads((folder / "metrics.json").read_text())["metrics"]["steps"] == 2


def test_the_runner_adds_the_run_seed_to_a_config_s_seeds():
    """CONTRACT: `seeds` are offsets from --seed; a config without `seeds` is passed on as it is."""
    from dataclasses import dataclass, field

    from paperzoo.core.runner import offset_seeds

    @dataclass
    class WithSeeds:
        seeds: list[int] = field(default_factory=lambda: [0, 1, 2])

    @dataclass
    class Without:
        steps: int = 3

    assert offset_seeds(WithSeeds(), 5).seeds == [5, 6, 7]
    assert offset_seeds(WithSeeds(), 0).seeds == [0, 1, 2]
    plain = Without()
    assert offset_seeds(plain, 5) is plain
