"""An interrupted run resumed with `resume=` ends with exactly the metrics of an uninterrupted run."""

import json
import math

import pytest

import paperzoo.induction.train as train_module
from paperzoo.core.runner import run_experiment


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if x is None or y is None or (isinstance(x, float) and math.isnan(x)):
            assert x is y or (x is None and y is None) or (math.isnan(x) and math.isnan(y)), k
        else:
            assert x == y, (k, x, y)


def test_interrupted_run_resumes_to_identical_metrics(tmp_path, monkeypatch):
    full = run_experiment("induction", preset="smoke", out=tmp_path / "full", seed=3, quiet=True)

    real_step = train_module.train_step
    calls = {"n": 0}

    def flaky_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 18:  # smoke: 12 steps of the APE model, then step 6 of the relative one
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_step", flaky_step)
    run_dir = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        run_experiment("induction", preset="smoke", out=run_dir, seed=3, quiet=True)
    assert (run_dir / "FAILED").is_file() and (run_dir / "checkpoint.pt").is_file()
    assert not (run_dir / "metrics.json").exists()
    monkeypatch.setattr(train_module, "train_step", real_step)

    calls["n"] = 0
    counting = {"n": 0}

    def counted(*args, **kwargs):
        counting["n"] += 1
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_step", counted)
    resumed = run_experiment("induction", resume=run_dir, quiet=True)
    # the APE model came back from the checkpoint; the relative one continued from step 4 (checkpoint_every=4),
    # then the three-layer model (6 steps) and the one grid cell that is not the main model (4 steps)
    assert counting["n"] == (12 - 4) + 6 + 4
    assert "resuming at step 4" in (run_dir / "run.log").read_text()
    assert not (run_dir / "FAILED").exists()
    _same(full["metrics"], resumed["metrics"])
    assert json.loads((run_dir / "metrics.json").read_text())["seed"] == 3
