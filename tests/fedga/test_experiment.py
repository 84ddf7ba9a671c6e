"""Claims logic on constructed numbers; config errors; the smoke preset end to end."""

import json

import numpy as np
import pytest

from paperzoo.core import UserError
from paperzoo.core.runner import run_experiment
from paperzoo.fedga.experiment import evaluate_claims

ALPHAS = (0.1, 1.0, 10.0)
ALGOS = ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedga")


def _table(f1_margin, ea_fedga=0.2, ea_fedavg=0.5, worst=(0.3, 0.2)):
    table = {}
    for algo in ALGOS:
        for i, alpha in enumerate(ALPHAS):
            base = 0.8 + 0.05 * i
            f1 = base + (f1_margin[i] if algo == "fedga" else 0.0)
            table[(algo, alpha)] = {
                "f1": np.array([f1 - 0.01, f1 + 0.01]), "acc": np.array([f1, f1]),
                "ea_logabs": np.full(2, ea_fedga if algo == "fedga" else ea_fedavg),
                "minclass_acc": np.full(2, worst[0] if algo == "fedga" else worst[1]),
            }
    return table


def test_claims_hold_on_a_table_where_fedga_wins_with_growing_margin():
    claims = evaluate_claims(_table([0.01, 0.02, 0.03]), ALPHAS, ALGOS)
    assert [c.holds for c in claims] == [True, True, True, True, True]
    assert "15/15" in claims[0].evidence


def test_claims_fail_where_the_numbers_say_so():
    claims = evaluate_claims(_table([0.03, 0.02, -0.01], ea_fedga=0.6, worst=(0.1, 0.2)), ALPHAS, ALGOS)
    f1, acc, ea, margin, rare = claims
    assert f1.holds is False and "fedavg@10" in f1.evidence
    assert acc.holds is False
    assert ea.holds is False
    assert margin.holds is False and "rho = -1.00" in margin.evidence
    assert rare.holds is False


def test_claims_not_evaluated_without_fedavg():
    claims = evaluate_claims(_table([0.01, 0.02, 0.03]), ALPHAS, ("fedga", "fedprox"))
    assert len(claims) == 1 and claims[0].holds is None


def test_bad_config_values_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="engine"):
        run_experiment("fedga", preset="smoke", out=tmp_path / "a", seed=0, overrides={"engine": "spark"})
    with pytest.raises(UserError, match="sweep.algorithms"):
        run_experiment("fedga", preset="smoke", out=tmp_path / "b", seed=0, overrides={"sweep.algorithms": "fedx"})
    with pytest.raises(UserError, match="partition"):
        run_experiment("fedga", preset="smoke", out=tmp_path / "c", seed=0, overrides={"data.partition": "iid"})


def test_smoke_preset_end_to_end(tmp_path):
    record = run_experiment("fedga", preset="smoke", out=tmp_path, seed=0, overrides={})
    metrics = record["metrics"]
    algos = ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedlc", "fedrs", "fedga")
    for algo in algos:
        for a in ("a0.1", "a1", "a10"):
            for m in ("acc", "f1", "ea_logabs", "minclass_acc"):
                assert np.isfinite(metrics[f"{m}.{algo}.{a}"]), (m, algo, a)
    assert metrics["acc.fedga.a10"] > 0.5  # it learned something in 3 rounds
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert len(saved["claims"]) == 5
    for fig in ("curves.png", "per_class.png", "margin.png", "clients_a0.1.png"):
        assert (tmp_path / fig).is_file()


def test_presets_resolve_to_the_documented_protocol():
    from paperzoo.core.config import build_config
    from paperzoo.core.registry import get_experiment
    from paperzoo.fedga.experiment import QUICK_ROUNDS, FedGAConfig, resolve

    presets = get_experiment("fedga").presets
    quick = build_config(FedGAConfig, presets["quick"])
    assert (quick.fed.n_clients, quick.fed.clients_per_round, quick.fed.rounds) == (100, 10, QUICK_ROUNDS)
    assert quick.sweep.alphas == (0.05, 0.1, 0.5, 1.0, 10.0) and len(quick.sweep.algorithms) == 8
    assert quick.sweep.seeds >= 2 and quick.data.dataset == "mnist"
    assert (quick.local.epochs, quick.local.batch_size, quick.local.lr, quick.local.clip_norm) == (2, 64, 0.1, 5.0)
    full = build_config(FedGAConfig, presets["full"])
    assert resolve(full, 0.05)[1].rounds == 100 and full.sweep.seeds == 5
    cifar = build_config(FedGAConfig, {**presets["full"], "data.dataset": "cifar10"})
    model, fed, local = resolve(cifar, 0.05)
    assert (model, fed.rounds, local.lr) == ("lenet", 600, 0.1)
