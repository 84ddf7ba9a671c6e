"""The shared client trainer: a client's update does not depend on who it is batched with; engines agree."""

import numpy as np
import pytest
import torch

from paperzoo.fedga.baselines import ALGORITHMS, AlgoConfig
from paperzoo.fedga.client import ClientShard, LocalConfig, ServerPayload, train_clients
from paperzoo.fedga.data import synthetic
from paperzoo.fedga.engine import run_inprocess
from paperzoo.fedga.federation import DataConfig, FederationSpec, build
from paperzoo.fedga.models import LeNet, build_model
from paperzoo.fedga.server import FedConfig, Server


def _shards(sizes=(70, 45, 130), seed=0):
    data = synthetic(n_train=sum(sizes), n_classes=5, dim=12, seed=seed)
    out, start = [], 0
    for cid, n in enumerate(sizes):
        y = data.y_train[start:start + n].clone()
        if cid == 1:
            y = y % 3  # client 1 lacks classes 3 and 4
        out.append(ClientShard(cid + 3, data.x_train[start:start + n], y))
        start += n
    return out


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_batched_clients_equal_single_clients_exactly(algo):
    torch.manual_seed(0)
    model = build_model("mlp", (12,), 5)
    state = {n: t.detach().clone() for n, t in model.state_dict().items()}
    shards = _shards()
    payload = ServerPayload(class_weight=torch.linspace(1.0, 2.0, 5), client_weight={3: 0.5, 4: 1.5, 5: 1.0})
    local = LocalConfig(epochs=2, batch_size=16, lr=0.1, momentum=0.5 if algo == "fedga" else 0.0)
    cfg = AlgoConfig(fedprox_mu=0.1)
    before = {n: t.clone() for n, t in state.items()}
    together, _ = train_clients(model, state, shards, 4, 0, algo, cfg, local, 5, payload)
    for i, s in enumerate(shards):
        alone, _ = train_clients(model, state, [s], 4, 0, algo, cfg, local, 5, payload)
        for n in state:
            assert torch.equal(together[n][i], alone[n][0]), (algo, n, i)
        assert not torch.equal(alone["fc1.weight"][0], state["fc1.weight"])  # it did train
    assert all(torch.equal(before[n], state[n]) for n in state)  # the global state is never written


def test_conv_model_path_matches_plain_module_training():
    torch.manual_seed(1)
    model = LeNet(3, 4, 32)
    state = {n: t.detach().clone() for n, t in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    shard = ClientShard(0, torch.rand(20, 3, 32, 32, generator=g), torch.randint(0, 4, (20,), generator=g))
    local = LocalConfig(epochs=1, batch_size=20, lr=0.05, clip_norm=1e9)
    ours, _ = train_clients(model, state, [shard], 1, 0, "fedavg", AlgoConfig(), local, 4)
    # one full-batch SGD step with a plain nn.Module
    ref = LeNet(3, 4, 32)
    ref.load_state_dict(state)
    torch.nn.functional.cross_entropy(ref(shard.x), shard.y).backward()
    for n, p in ref.named_parameters():
        assert torch.allclose(ours[n][0], p.detach() - 0.05 * p.grad, atol=1e-6), n


def test_gradient_clipping_bounds_the_step():
    torch.manual_seed(2)
    model = build_model("mlp", (12,), 5)
    state = {n: t.detach().clone() for n, t in model.state_dict().items()}
    shard = _shards()[0]
    local = LocalConfig(epochs=1, batch_size=200, lr=1.0, clip_norm=0.01)
    new, _ = train_clients(model, state, [shard], 1, 0, "fedavg", AlgoConfig(), local, 5)
    step = torch.sqrt(sum(((new[n][0] - state[n]) ** 2).sum() for n in state))
    assert step <= 0.01 * (1 + 1e-5)


def test_inprocess_federation_learns_and_is_deterministic():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=8, alpha=1.0, seed=0, algo="fedga")
    data, parts = build(spec)
    fed = FedConfig(n_clients=8, clients_per_round=4, rounds=4, eval_every=2)
    a = Server(data, parts, "fedga", AlgoConfig(), fed, "mlp", 0)
    init_acc = a.evaluate(0)["acc"]
    a.history.clear()
    hist_a = run_inprocess(a, LocalConfig())
    hist_b = run_inprocess(Server(data, parts, "fedga", AlgoConfig(), fed, "mlp", 0), LocalConfig())
    assert [h["round"] for h in hist_a] == [2, 4]
    assert hist_a[-1]["acc"] > init_acc + 0.3
    assert hist_a == hist_b
    assert np.isfinite(a.rounds_per_s())


def test_server_aggregation_is_the_unweighted_mean_of_updates():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=4, alpha=1.0, seed=0)
    data, parts = build(spec)
    server = Server(data, parts, "fedavg", AlgoConfig(), FedConfig(n_clients=4, clients_per_round=2, server_lr=0.5),
                    "mlp", 0)
    old = {n: t.clone() for n, t in server.state.items()}
    stacked = {n: torch.stack([t + 1.0, t + 3.0]) for n, t in old.items()}
    server.aggregate(1, stacked)
    for n in old:
        assert torch.allclose(server.state[n], old[n] + 0.5 * 2.0)


def test_climb_and_fedrl_payloads():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=6, alpha=0.3, seed=1)
    data, parts = build(spec)
    fed = FedConfig(n_clients=6, clients_per_round=3, rounds=2)
    climb = Server(data, parts, "climb", AlgoConfig(), fed, "mlp", 1)
    p = climb.payload(1, [0, 2, 4])
    assert set(p.client_weight) == {0, 2, 4} and all(w == 1.0 for w in p.client_weight.values())
    run_inprocess(climb, LocalConfig())
    assert not torch.allclose(climb.lambdas, torch.ones(6, dtype=torch.float64))  # the duals moved
    fedrl = Server(data, parts, "fedrl", AlgoConfig(), fed, "mlp", 1)
    w = fedrl.payload(1, [0, 1, 2]).class_weight
    assert w.shape == (data.n_classes,) and torch.all(w >= 1.0)


def test_flower_engine_matches_inprocess_exactly():
    """One small Flower simulation on Ray (loopback): same histories as the in-process engine."""
    pytest.importorskip("flwr", reason="flwr[simulation] (extra 'fl') is not installed")
    from paperzoo.fedga.flower_engine import history_equal, run_flower

    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=5, alpha=0.3, seed=0, algo="fedrl",
                          local=LocalConfig(batch_size=32))
    fed = FedConfig(n_clients=5, clients_per_round=3, rounds=2)
    data, parts = build(spec)
    ours = Server(data, parts, spec.algo, spec.algo_cfg, fed, spec.model, spec.seed)
    run_inprocess(ours, spec.local)
    flower = run_flower(spec, fed)
    assert len(flower.history) == 2
    assert history_equal(ours.history, flower.history)
    for n in ours.state:
        assert torch.equal(ours.state[n], flower.state[n])
    import ray

    assert not ray.is_initialized()


def test_fedprox_step_matches_autograd_of_the_proximal_objective():
    torch.manual_seed(3)
    model = build_model("mlp", (12,), 5)
    state = {n: t.detach().clone() for n, t in model.state_dict().items()}
    shard = _shards()[0]
    local = LocalConfig(epochs=2, batch_size=len(shard.y), lr=0.5, clip_norm=1e9)
    mu = 0.7
    ours, _ = train_clients(model, state, [shard], 1, 0, "fedprox", AlgoConfig(fedprox_mu=mu), local, 5)
    # two full-batch steps on CE + mu/2 ||w - w_g||^2 with a plain module (batch order is irrelevant here)
    ref = build_model("mlp", (12,), 5)
    ref.load_state_dict(state)
    for _ in range(2):
        prox = sum(((p - state[n]) ** 2).sum() for n, p in ref.named_parameters())
        loss = torch.nn.functional.cross_entropy(ref(shard.x), shard.y) + 0.5 * mu * prox
        grads = torch.autograd.grad(loss, list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads, strict=True):
                p -= 0.5 * g
    for n, p in ref.named_parameters():
        assert torch.allclose(ours[n][0], p.detach(), atol=1e-5), n
    plain, _ = train_clients(model, state, [shard], 1, 0, "fedavg", AlgoConfig(), local, 5)
    assert not torch.allclose(plain["fc1.weight"], ours["fc1.weight"])
