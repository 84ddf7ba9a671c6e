"""Claims on constructed seed arrays; presets; the smoke preset end to end; CSV export of the history."""

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest

from paperzoo.core.claims import FAILS, HOLDS, TIED, UNKNOWN
from paperzoo.core.runner import run_experiment
from paperzoo.fedga.claims import evaluate_claims

ALPHAS = (0.1, 1.0, 10.0)
ALGOS = ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedga")
CFG = SimpleNamespace(alpha=0.05, speedup_vs_flower=20.0, engine_tolerance=0.0)
NOISE = np.array([-0.004, 0.001, 0.003, -0.002, 0.002])  # per-seed jitter shared by all methods (paired)


def _table(f1_margin, ea_gap=-0.3, worst_gap=0.1, spread=0.0):
    """Seed arrays where FedGA's F1 exceeds every rival's by f1_margin[i] at alpha i (+ independent noise)."""
    rng = np.random.default_rng(0)
    table = {}
    for algo in ALGOS:
        for i, alpha in enumerate(ALPHAS):
            ours = algo == "fedga"
            own = (spread or 0.0005 * ours) * rng.normal(size=5)  # a little independent noise: no constant gaps
            f1 = 0.8 + 0.05 * i + NOISE + (f1_margin[i] if ours else 0.0) + own
            table[(algo, alpha)] = {"f1": f1, "acc": f1 + 0.01,
                                    "ea_logabs": 0.5 + NOISE + own + (ea_gap if ours else 0),
                                    "minclass_acc": 0.3 + NOISE + own + (worst_gap if ours else 0)}
    return table


def _verdicts(claims):
    return [c.verdict for c in claims]


def test_claims_hold_where_fedga_wins_consistently_with_a_growing_margin():
    claims = evaluate_claims({}, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, CFG, speed_rounds=0)
    assert _verdicts(claims)[:5] == [HOLDS] * 5
    assert "in 15/15" in claims[0].evidence and "p < 0.05" in claims[0].evidence
    assert _verdicts(claims)[5:] == [UNKNOWN, UNKNOWN] and "speed_rounds=0" in claims[5].evidence


def test_claims_fail_where_a_rival_is_significantly_better():
    claims = evaluate_claims({}, _table([0.03, 0.02, -0.01], ea_gap=0.2, worst_gap=-0.1), ALPHAS, ALGOS, CFG,
                             speed_rounds=0)
    f1, acc, ea, margin, rare = claims[:5]
    assert f1.verdict == FAILS and "fedavg@10" in f1.evidence and "significantly worse in 5" in f1.evidence
    assert acc.verdict == FAILS and ea.verdict == FAILS and rare.verdict == FAILS
    assert margin.verdict == FAILS and "rho = -1.00" in margin.evidence


def test_differences_within_the_noise_are_not_distinguishable():
    claims = evaluate_claims({}, _table([0.001, 0.001, 0.001], ea_gap=0.0, worst_gap=0.0, spread=0.02), ALPHAS,
                             ALGOS, CFG, speed_rounds=0)
    assert _verdicts(claims)[:3] == [TIED] * 3 and claims[0].holds is False


def test_one_seed_and_missing_methods_are_not_evaluated_with_a_reason():
    one = {k: {m: v[:1] for m, v in e.items()} for k, e in _table([0.01, 0.02, 0.03]).items()}
    claims = evaluate_claims({}, one, ALPHAS, ALGOS, CFG, speed_rounds=0)
    assert all(c.verdict == UNKNOWN and "seed" in c.evidence for c in claims[:5])
    claims = evaluate_claims({}, _table([0.01, 0.02, 0.03]), ALPHAS, ("fedga", "fedprox"), CFG, speed_rounds=0)
    assert len(claims) == 7 and all(c.verdict == UNKNOWN for c in claims[:5])


def test_engine_claims_use_the_tolerance_and_the_speed_target():
    m = {"engines_max_metric_diff": 0.0, "engines_max_weight_diff": 0.0, "rounds_per_s_inprocess": 10.0,
         "rounds_per_s_flower": 2.0, "engine_speedup": 5.0}
    same, fast = evaluate_claims(m, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, CFG, speed_rounds=5)[5:]
    assert same.verdict == HOLDS and fast.verdict == FAILS and "5.0x" in fast.evidence
    m["engines_max_weight_diff"] = 1e-7
    same = evaluate_claims(m, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, CFG, speed_rounds=5)[5]
    assert same.verdict == FAILS
    loose = SimpleNamespace(alpha=0.05, speedup_vs_flower=4.0, engine_tolerance=1e-6)
    same, fast = evaluate_claims(m, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, loose, speed_rounds=5)[5:]
    assert same.verdict == HOLDS and fast.verdict == HOLDS


def test_a_failing_engine_check_leaves_the_sweep_and_marks_its_claims_not_evaluated(monkeypatch):
    """Ray timing out at start-up on a loaded machine once cost a quick run its 54 finished federations."""
    import paperzoo.fedga.experiment as experiment

    def ray_times_out(task):
        raise RuntimeError("The current node timed out during startup")

    monkeypatch.setattr(experiment, "engine_check", ray_times_out)
    warned = []
    ctx = SimpleNamespace(log=lambda msg: None, warn=warned.append)
    cfg = experiment.FedGAConfig(speed_rounds=2, sweep=experiment.SweepConfig(alphas=(0.5,)))
    assert experiment.check_engines(cfg, 0, ctx) == {}
    assert "engine check failed" in warned[0] and "timed out during startup" in warned[0]
    same, fast = evaluate_claims({}, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, CFG, speed_rounds=2)[5:]
    assert same.verdict == fast.verdict == UNKNOWN


def test_near_chance_models_are_named_in_the_claims():
    claims = evaluate_claims({}, _table([0.01, 0.02, 0.03]), ALPHAS, ALGOS, CFG, speed_rounds=0,
                             weak=frozenset({("fedavg", 0.1)}))
    assert "near chance in some seed: fedavg@0.1" in claims[0].evidence


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fedga") / "smoke"
    return out, run_experiment("fedga", preset="smoke", out=out, seed=0, overrides={}, quiet=True)


def test_smoke_preset_end_to_end(smoke_run):
    out, record = smoke_run
    metrics = record["metrics"]
    for algo in ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedlc", "fedrs", "fedga"):
        for a in ("a0.1", "a1", "a10"):
            for m in ("acc", "f1", "ea_logabs", "minclass_acc", "acc_std", "acc_lo", "acc_hi", "f1_std"):
                assert np.isfinite(metrics[f"{m}.{algo}.{a}"]), (m, algo, a)
            assert metrics[f"acc_lo.{algo}.{a}"] <= metrics[f"acc.{algo}.{a}"] <= metrics[f"acc_hi.{algo}.{a}"]
    assert metrics["acc.fedga.a10"] > 0.5 and metrics["near_chance_runs"] == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert len(saved["claims"]) == 7 and all(c["verdict"] for c in saved["claims"])
    for fig in ("curves.png", "per_class.png", "margin.png", "clients_a0.1.png", "clients_a10.png"):
        assert (out / fig).is_file()
    assert not json.loads((out / "report.json").read_text())["failed_figures"]


def test_smoke_is_deterministic_and_its_history_exports_as_csv(smoke_run, tmp_path):
    from paperzoo.core.export import export_csv

    out, record = smoke_run
    files = {p.name: p for p in export_csv(out, tmp_path / "csv")}
    assert {"history.csv", "final.csv", "per_class.csv", "partitions.csv", "metrics.csv"} <= set(files)
    rows = list(csv.DictReader(files["history.csv"].open()))
    assert len(rows) == 8 * 3 * 2 * 3  # algorithms x alphas x seeds x evaluated rounds
    assert {r["round"] for r in rows} == {"1", "2", "3"}
    fedga = [r for r in rows if r["algorithm"] == "fedga" and r["alpha"] == "10.0" and r["round"] == "3"]
    assert np.isclose(np.mean([float(r["acc"]) for r in fedga]), record["metrics"]["acc.fedga.a10"])
    again = run_experiment("fedga", preset="smoke", out=tmp_path / "again", seed=0,
                           overrides={"sweep.alphas": "[0.1]", "sweep.algorithms": "fedavg,fedga"}, quiet=True)
    for key in ("acc.fedga.a0.1", "f1.fedavg.a0.1", "ea_logabs.fedga.a0.1"):
        assert again["metrics"][key] == record["metrics"][key]


def test_presets_resolve_to_the_documented_protocol():
    from paperzoo.core.config import build_config
    from paperzoo.core.registry import get_experiment
    from paperzoo.fedga.experiment import QUICK_ALGORITHMS, QUICK_ALPHAS, QUICK_ROUNDS, FedGAConfig, resolve

    presets = get_experiment("fedga").presets
    quick = build_config(FedGAConfig, presets["quick"])
    assert (quick.fed.n_clients, quick.fed.clients_per_round, quick.fed.rounds) == (100, 10, QUICK_ROUNDS)
    assert quick.sweep.alphas == QUICK_ALPHAS and len(QUICK_ALPHAS) >= 3 and quick.sweep.algorithms == QUICK_ALGORITHMS
    assert {"fedga", "fedavg", "fedprox", "fedrl", "climb", "fedntd"} <= set(QUICK_ALGORITHMS)
    assert len(quick.seeds) >= 3 and quick.data.dataset == "mnist" and quick.threads == 1
    assert (quick.local.epochs, quick.local.batch_size, quick.local.lr, quick.local.clip_norm) == (2, 64, 0.1, 5.0)
    full = build_config(FedGAConfig, presets["full"])
    assert resolve(full, 0.05)[1].rounds == 100 and len(full.seeds) == 5 and len(full.sweep.algorithms) == 8
    assert full.sweep.alphas == (0.05, 0.1, 0.5, 1.0, 10.0)
    cifar = build_config(FedGAConfig, {**presets["full"], "data.dataset": "cifar10"})
    model, fed, local = resolve(cifar, 0.05)
    assert (model, fed.rounds, local.lr) == ("lenet", 600, 0.1)
