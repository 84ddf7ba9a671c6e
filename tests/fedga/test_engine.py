"""The shared client trainer: a client's update does not depend on who it is batched with; engines agree."""

import numpy as np
import pytest
import torch

from paperzoo.fedga.algorithm import AlgoConfig, Payload
from paperzoo.fedga.baselines import ALGORITHMS, make_algorithm
from paperzoo.fedga.client import ClientShard, LocalConfig, train_clients
from paperzoo.fedga.data import synthetic
from paperzoo.fedga.engine import run_inprocess
from paperzoo.fedga.federation import DataConfig, FederationSpec, build_server
from paperzoo.fedga.models import LeNet, build_model
from paperzoo.fedga.server import FedConfig


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


def _state(model):
    return {n: t.detach().clone() for n, t in model.state_dict().items()}


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_batched_clients_equal_single_clients_exactly(algo):
    torch.manual_seed(0)
    model = build_model("mlp", (12,), 5)
    state = _state(model)
    shards = [*_shards(), ClientShard(9, torch.zeros(0, 12), torch.zeros(0, dtype=torch.long))]  # + an empty one
    payload = Payload(shared={"class_weight": torch.linspace(1.0, 2.0, 5)},
                      per_client={3: {"weight": 0.5}, 4: {"weight": 1.5}, 5: {"weight": 1.0}})
    local = LocalConfig(epochs=2, batch_size=16, lr=0.1, momentum=0.5 if algo == "fedga" else 0.0)
    method = make_algorithm(algo, AlgoConfig(fedprox_mu=0.1))
    before = {n: t.clone() for n, t in state.items()}
    together, _ = train_clients(model, state, shards, 4, 0, method, local, 5, payload)
    for i, s in enumerate(shards):
        alone, _ = train_clients(model, state, [s], 4, 0, method, local, 5, payload)
        for n in state:
            assert torch.equal(together[n][i], alone[n][0]), (algo, n, i)
        trained = not torch.equal(alone["fc1.weight"][0], state["fc1.weight"])
        assert trained == (len(s) > 0)  # it trained, unless it has no data: then it returns the global model
    assert all(torch.equal(before[n], state[n]) for n in state)  # the global state is never written
    assert all(torch.isfinite(t).all() for t in together.values())


def test_pooled_rows_equal_copied_shards():
    """In-process clients index the shared training set; a ClientApp's copy of its rows gives the same update."""
    torch.manual_seed(0)
    model = build_model("mlp", (12,), 5)
    data = synthetic(n_train=200, n_classes=5, dim=12)
    rows = [torch.arange(0, 200, 3), torch.arange(1, 200, 7)]
    pooled = [ClientShard(c, data.x_train, data.y_train, r) for c, r in enumerate(rows)]
    copied = [ClientShard(c, data.x_train[r], data.y_train[r]) for c, r in enumerate(rows)]
    a, _ = train_clients(model, _state(model), pooled, 1, 0, make_algorithm("fedga"), LocalConfig(batch_size=16), 5)
    b, _ = train_clients(model, _state(model), copied, 1, 0, make_algorithm("fedga"), LocalConfig(batch_size=16), 5)
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_conv_model_path_matches_plain_module_training():
    torch.manual_seed(1)
    model = LeNet(3, 4, 32)
    state = _state(model)
    g = torch.Generator().manual_seed(0)
    shard = ClientShard(0, torch.rand(20, 3, 32, 32, generator=g), torch.randint(0, 4, (20,), generator=g))
    local = LocalConfig(epochs=1, batch_size=32, lr=0.05, clip_norm=1e9)  # one short, padded batch
    ours, _ = train_clients(model, state, [shard], 1, 0, make_algorithm("fedavg"), local, 4)
    ref = LeNet(3, 4, 32)  # one full-batch SGD step with a plain nn.Module
    ref.load_state_dict(state)
    torch.nn.functional.cross_entropy(ref(shard.x), shard.y).backward()
    for n, p in ref.named_parameters():
        assert torch.allclose(ours[n][0], p.detach() - 0.05 * p.grad, atol=1e-6), n


def test_padding_never_enters_batchnorm_statistics():
    """ResNet20 in train mode: a padded short batch gives the running statistics of the real rows only."""
    torch.manual_seed(2)
    model = build_model("resnet20", (3, 8, 8), 3)
    state = _state(model)
    g = torch.Generator().manual_seed(1)
    shard = ClientShard(0, torch.rand(5, 3, 8, 8, generator=g), torch.randint(0, 3, (5,), generator=g))
    local = LocalConfig(epochs=1, batch_size=16, lr=1e-9, clip_norm=1e9)
    ours, _ = train_clients(model, state, [shard], 1, 0, make_algorithm("fedavg"), local, 3)
    ref = build_model("resnet20", (3, 8, 8), 3)
    ref.load_state_dict(state)
    ref.train()
    ref(shard.x)
    assert torch.allclose(ours["bn.running_mean"][0], ref.bn.running_mean, atol=1e-6)


def test_gradient_clipping_bounds_the_step():
    torch.manual_seed(2)
    model = build_model("mlp", (12,), 5)
    state = _state(model)
    local = LocalConfig(epochs=1, batch_size=200, lr=1.0, clip_norm=0.01)
    new, _ = train_clients(model, state, [_shards()[0]], 1, 0, make_algorithm("fedavg"), local, 5)
    step = torch.sqrt(sum(((new[n][0] - state[n]) ** 2).sum() for n in state))
    assert step <= 0.01 * (1 + 1e-5)


def test_inprocess_federation_learns_and_is_deterministic():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=8, alpha=1.0, seed=0, algo="fedga")
    fed = FedConfig(n_clients=8, clients_per_round=4, rounds=4, eval_every=2)
    a = build_server(spec, fed)
    init_acc = a.evaluate(0)["acc"]
    a.history.clear()
    hist_a = run_inprocess(a, LocalConfig())
    hist_b = run_inprocess(build_server(spec, fed), LocalConfig())
    assert [h["round"] for h in hist_a] == [2, 4]
    assert hist_a[-1]["acc"] > init_acc + 0.3
    assert hist_a == hist_b
    assert np.isfinite(a.rounds_per_s())


def test_server_aggregation_is_the_unweighted_mean_of_updates():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=4, alpha=1.0, seed=0)
    server = build_server(spec, FedConfig(n_clients=4, clients_per_round=2, server_lr=0.5))
    old = {n: t.clone() for n, t in server.state.items()}
    server.aggregate(1, {n: torch.stack([t + 1.0, t + 3.0]) for n, t in old.items()})
    for n in old:
        assert torch.allclose(server.state[n], old[n] + 0.5 * 2.0)


def test_climb_and_fedrl_payloads():
    spec = FederationSpec(DataConfig(dataset="synthetic"), n_clients=6, alpha=0.3, seed=1, algo="climb")
    fed = FedConfig(n_clients=6, clients_per_round=3, rounds=2)
    climb = build_server(spec, fed)
    p = climb.payload(1, [0, 2, 4])
    assert set(p.per_client) == {0, 2, 4} and all(w["weight"] == 1.0 for w in p.per_client.values())
    run_inprocess(climb, LocalConfig())
    assert not torch.allclose(climb.algo.lambdas, torch.ones(6, dtype=torch.float64))  # the duals moved
    fedrl = build_server(FederationSpec(spec.data, 6, 0.3, 1, algo="fedrl"), fed)
    w = fedrl.payload(1, [0, 1, 2]).shared["class_weight"]
    assert w.shape == (fedrl.data.n_classes,) and torch.all(w >= 1.0)


def test_payload_survives_flower_config_records_exactly():
    from paperzoo.fedga.flower_engine import payload_from_config, payload_to_config

    g = torch.Generator().manual_seed(0)
    payload = Payload(shared={"class_weight": torch.rand(7, generator=g) * 100},
                      per_client={3: {"weight": 0.123456789}, 5: {"weight": 2.0}})
    back = payload_from_config(payload_to_config(payload, 3), 3)
    assert torch.equal(back.shared["class_weight"], payload.shared["class_weight"])
    assert back.per_client == {3: {"weight": 0.123456789}}
    assert payload_from_config(payload_to_config(Payload(), 1), 1) == Payload()


def test_fedprox_step_matches_autograd_of_the_proximal_objective():
    torch.manual_seed(3)
    model = build_model("mlp", (12,), 5)
    state = _state(model)
    shard = _shards()[0]
    local = LocalConfig(epochs=2, batch_size=len(shard.y), lr=0.5, clip_norm=1e9)
    mu = 0.7
    ours, _ = train_clients(model, state, [shard], 1, 0, make_algorithm("fedprox", AlgoConfig(fedprox_mu=mu)),
                            local, 5)
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
    plain, _ = train_clients(model, state, [shard], 1, 0, make_algorithm("fedavg"), local, 5)
    assert not torch.allclose(plain["fc1.weight"], ours["fc1.weight"])


def test_flower_engine_matches_inprocess_exactly_on_the_quick_federation_shape():
    """Issue 20: MNIST-shaped inputs, the MLP, 10 clients per round, several rounds, CLIMB's per-client payload;
    Ray actors at 1 torch thread and the in-process run at 1 thread: identical histories and weights."""
    pytest.importorskip("flwr", reason="flwr[simulation] (extra 'fl') is not installed")
    import ray

    from paperzoo.fedga.sweep import check_task, engine_check

    spec = FederationSpec(DataConfig(dataset="mnist", n_train=4000, n_test=1000), n_clients=20, alpha=0.5, seed=0,
                          algo="climb")
    task = check_task(spec, FedConfig(n_clients=20, clients_per_round=10), rounds=3, ea_double_softmax=False)
    task["fed"]["eval_every"] = 1
    m = engine_check(task)
    assert m["engines_identical"] == 1.0, m
    assert m["engines_max_metric_diff"] == 0.0 and m["engines_max_weight_diff"] == 0.0
    assert not ray.is_initialized()


@pytest.mark.parametrize("k,b", [(1, 7), (3, 16)])
def test_mlp_closed_form_backward_is_autograds_bit_for_bit(k, b):
    """The MLP's hand-written backward (no graph over the large layers) equals autograd's on mlp_forward exactly,
    including ReLU units that are off and padding rows whose logit gradient is 0."""
    from paperzoo.fedga.models import mlp_backward, mlp_forward, to_compute_layout

    torch.manual_seed(4)
    model = build_model("mlp", (1, 6, 6), 5)
    stacked = to_compute_layout(model, {n: t.detach().unsqueeze(0).repeat(k, *[1] * t.dim()) + 0.1 * torch.randn(
        k, *t.shape) for n, t in model.state_dict().items()})
    x, y = torch.rand(k, b, 1, 6, 6), torch.randint(0, 5, (k, b))
    mask = torch.ones(k, b)
    mask[:, b // 2:] = 0.0
    params = {n: t.clone().requires_grad_(True) for n, t in stacked.items()}
    loss = make_algorithm("fedga").objective(mlp_forward(params, x)[1], y, mask, {}).sum()
    ref = torch.autograd.grad(loss, list(params.values()))
    h, z = mlp_forward(stacked, x)
    z.requires_grad_(True)
    dz = torch.autograd.grad(make_algorithm("fedga").objective(z, y, mask, {}).sum(), z)[0]
    ours = mlp_backward(stacked, x, h, dz)
    assert (h == 0).any() and (h > 0).any()
    for n, g in zip(params, ref, strict=True):
        assert torch.equal(ours[n], g), n
