"""The Flower engine: the same federation as a ``flwr`` ServerApp + ClientApp, simulated on Ray or deployed.

The ClientApp's train function calls ``client.train_clients`` for its one client with the algorithm built from
the spec the message carries; the server rules (sampling, the algorithm's payload and aggregation, evaluation)
are ``server.Server``'s, wrapped in a Strategy whose ``configure_train``/``aggregate_train`` replace FedAvg's
sampling and weighted mean. A QUERY round first asks every SuperNode which clients (partition ids) it holds, so
each round's sampled client ids reach the node that owns that data: one client per virtual SuperNode in the
simulation (``partition-id``), ``cid % num-nodes == node-index`` on a deployed SuperNode.

Only the small JSON ``FederationSpec`` travels in the messages, never the data: every node rebuilds the
dataset and the (seeded) partition itself and trains only its own clients.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from .algorithm import Payload
from .client import ClientShard, train_clients
from .federation import FederationSpec, build, build_server
from .models import build_model, stack_states
from .server import FedConfig, Server

ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "0",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
}
CLIENT_THREADS = 1  # torch threads of a ClientApp (the in-process engine trains with the same count)


def _flwr():
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    import flwr.app
    import flwr.clientapp
    import flwr.serverapp
    import flwr.serverapp.strategy

    return flwr


def node_clients(node_config: dict, n_clients: int) -> list[int]:
    """The client ids a SuperNode holds: its ``partition-id`` (simulation), or ``node-index`` of ``num-nodes``."""
    if "partition-id" in node_config:
        return [int(node_config["partition-id"])]
    if "node-index" in node_config and "num-nodes" in node_config:
        index, nodes = int(node_config["node-index"]), int(node_config["num-nodes"])
        return list(range(index, n_clients, nodes))
    raise RuntimeError(f"SuperNode node-config {dict(node_config)} names no clients: give partition-id=N, or "
                       "node-index=I num-nodes=M")


def payload_to_config(payload: Payload, cid: int) -> dict:
    """The part of ``payload`` client ``cid`` needs, as ConfigRecord values (float32 tensors -> exact floats)."""
    out: dict = {f"shared.{k}": [float(v) for v in t.flatten()] for k, t in payload.shared.items()}
    out.update({f"client.{k}": float(v) for k, v in payload.per_client.get(cid, {}).items()})
    return out


def payload_from_config(cfg, cid: int) -> Payload:
    shared = {k[7:]: torch.tensor(list(cfg[k]), dtype=torch.float32) for k in cfg if k.startswith("shared.")}
    mine = {k[7:]: float(cfg[k]) for k in cfg if k.startswith("client.")}
    return Payload(shared=shared, per_client={cid: mine} if mine else {})


def train_one(spec: FederationSpec, state: dict, cid: int, rnd: int, payload: Payload) -> tuple[dict, float, int]:
    """One client's local update, as a ClientApp runs it: (new state, mean loss, number of samples)."""
    from .baselines import make_algorithm

    torch.set_num_threads(CLIENT_THREADS)
    data, parts = build(spec)
    model = build_model(spec.model, data.in_shape, data.n_classes)
    idx = torch.from_numpy(parts[cid])
    shard = ClientShard(cid, data.x_train, data.y_train, idx)
    states, loss = train_clients(model, state, [shard], rnd, spec.seed, make_algorithm(spec.algo, spec.algo_cfg),
                                 spec.local, data.n_classes, payload)
    return {n: t[0].contiguous() for n, t in states.items()}, float(loss[0]), len(idx)


def make_client_app():
    """ClientApp: QUERY -> the client ids this node holds; TRAIN -> one client's local update."""
    flwr = _flwr()
    from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

    app = flwr.clientapp.ClientApp()

    @app.query()
    def query(msg: Message, context) -> Message:
        n_clients = int(msg.content["info"]["n_clients"])
        cids = node_clients(context.node_config, n_clients)
        return Message(RecordDict({"info": ConfigRecord({"cids": cids})}), reply_to=msg)

    @app.train()
    def train(msg: Message, context) -> Message:
        cfg = msg.content["config"]
        spec = FederationSpec.from_json(str(cfg["spec"]))
        cid, rnd = int(cfg["cid"]), int(cfg["rnd"])
        if cid not in node_clients(context.node_config, spec.n_clients):
            raise RuntimeError(f"node {dict(context.node_config)} does not hold client {cid}")
        state, loss, n = train_one(spec, msg.content["arrays"].to_torch_state_dict(), cid, rnd,
                                   payload_from_config(cfg, cid))
        reply = RecordDict({"arrays": ArrayRecord(state),
                            "metrics": MetricRecord({"num-examples": n, "loss": loss, "cid": cid})})
        return Message(reply, reply_to=msg)

    return app


def make_server_app(setup, on_done=None, wait_s: float = 300.0):
    """ServerApp: ``setup(context)`` returns the ``Server`` and the spec JSON the messages carry; the app runs the
    server's rounds, then calls ``on_done(server, context)``."""
    flwr = _flwr()
    from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict

    class AlignedStrategy(flwr.serverapp.strategy.FedAvg):
        """FedAvg's message flow with the paper's server: chosen clients, the algorithm's aggregation."""

        def __init__(self, server: Server, spec_json: str, node_of: dict[int, int]):
            super().__init__(fraction_evaluate=0.0)
            self.server, self.spec_json, self.node_of = server, spec_json, node_of

        def configure_train(self, server_round, arrays, config, grid):
            selected = self.server.sample(server_round)
            payload = self.server.payload(server_round, selected)
            messages = []
            for cid in selected:
                cfg = ConfigRecord({"cid": cid, "rnd": server_round, "spec": self.spec_json,
                                    **payload_to_config(payload, cid)})
                content = RecordDict({"arrays": arrays, "config": cfg})
                messages.append(Message(content, dst_node_id=self.node_of[cid], message_type=MessageType.TRAIN))
            return messages

        def aggregate_train(self, server_round, replies):
            replies = list(replies)
            errors = [m.error.reason for m in replies if m.has_error()]
            if errors:
                raise RuntimeError(f"round {server_round}: {len(errors)} client(s) failed: {errors[0]}")
            by_cid = {int(m.content["metrics"]["cid"]): m.content["arrays"].to_torch_state_dict() for m in replies}
            self.server.aggregate(server_round, stack_states([by_cid[c] for c in sorted(by_cid)]))
            metrics = self.server.evaluate(server_round) if self.server.due(server_round) else None
            record = MetricRecord({"acc": metrics["acc"]}) if metrics else MetricRecord({})
            return ArrayRecord(self.server.state), record

    app = flwr.serverapp.ServerApp()

    @app.main()
    def main(grid, context) -> None:
        server, spec_json = setup(context)
        node_of = discover_clients(grid, server.fed.n_clients, wait_s)
        AlignedStrategy(server, spec_json, node_of).start(grid, ArrayRecord(server.state),
                                                          num_rounds=server.fed.rounds)
        if on_done is not None:
            on_done(server, context)

    return app


def discover_clients(grid, n_clients: int, wait_s: float) -> dict[int, int]:
    """Query SuperNodes as they register until every client id 0..n_clients-1 has a node: {cid: node id}."""
    from flwr.app import ConfigRecord, Message, MessageType, RecordDict

    node_of: dict[int, int] = {}
    asked: set[int] = set()
    deadline = time.monotonic() + wait_s
    while len(node_of) < n_clients:
        new = [n for n in grid.get_node_ids() if n not in asked]
        if not new:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(node_of)} of {n_clients} clients have a SuperNode after {wait_s:.0f} s")
            time.sleep(0.05)
            continue
        asked.update(new)
        queries = [Message(RecordDict({"info": ConfigRecord({"n_clients": n_clients})}), dst_node_id=n,
                           message_type=MessageType.QUERY) for n in new]
        for reply in grid.send_and_receive(queries):
            if reply.has_error():
                raise RuntimeError(f"node {reply.metadata.src_node_id} failed the query: {reply.error.reason}")
            for cid in reply.content["info"]["cids"]:
                node_of[int(cid)] = reply.metadata.src_node_id
    return node_of


def run_flower(spec: FederationSpec, fed: FedConfig, num_cpus: int = 2, double_softmax_ea: bool = False) -> Server:
    """Simulate the federation on Flower's Ray backend; returns the finished ``Server`` (history, state)."""
    _flwr()
    import ray
    from flwr.simulation import run_simulation

    server = build_server(spec, fed, double_softmax_ea)
    outcome: dict = {}
    app = make_server_app(lambda _ctx: (server, spec.to_json()), lambda srv, _ctx: outcome.update(server=srv))
    backend = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {"num_cpus": num_cpus, "include_dashboard": False, "log_to_driver": False,
                      "_node_ip_address": "127.0.0.1"},
    }
    try:
        run_simulation(server_app=app, client_app=make_client_app(), num_supernodes=fed.n_clients,
                       backend_config=backend)
    finally:
        if ray.is_initialized():
            ray.shutdown()
    if "server" not in outcome:
        raise RuntimeError("the Flower simulation ended before the ServerApp finished (see the log above)")
    return server


def history_equal(a: list[dict], b: list[dict]) -> bool:
    """True when two evaluation histories hold exactly the same numbers."""
    return history_max_diff(a, b) == 0.0


def history_max_diff(a: list[dict], b: list[dict]) -> float:
    """Largest absolute difference between two evaluation histories (inf if their shapes differ; NaN == NaN)."""
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        if set(x) != set(y):
            return float("inf")
        for k in x:
            u, v = np.asarray(x[k], dtype=float), np.asarray(y[k], dtype=float)
            if u.shape != v.shape or not np.array_equal(np.isnan(u), np.isnan(v)):
                return float("inf")
            ok = ~np.isnan(u)
            worst = max(worst, float(np.abs(u[ok] - v[ok]).max(initial=0.0)))
    return worst
