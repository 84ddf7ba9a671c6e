"""The Flower engine: the same federation as a ``flwr`` ServerApp + ClientApp, simulated on Ray (loopback).

The ClientApp's train function calls ``client.train_clients`` for its one client; the server rules (sampling,
CLIMB/FedRL payloads, unweighted averaging, evaluation) are ``server.Server``'s, wrapped in a Strategy whose
``aggregate_train`` replaces FedAvg's weighted mean. A first QUERY round asks every SuperNode which client
(partition id) it holds, so each round's sampled client ids reach the node that owns that data.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from .client import ClientShard, ServerPayload, train_clients
from .federation import FederationSpec, build
from .models import build_model, stack_states
from .server import FedConfig, Server

_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "0",
}


def _flwr():
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    import flwr.app
    import flwr.clientapp
    import flwr.serverapp
    import flwr.serverapp.strategy
    import flwr.simulation

    return flwr


def make_client_app(spec_json: str):
    """ClientApp: QUERY -> its partition id; TRAIN -> one client's local update from the global arrays."""
    flwr = _flwr()
    from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

    app = flwr.clientapp.ClientApp()

    @app.query()
    def query(msg: Message, context) -> Message:
        return Message(RecordDict({"info": ConfigRecord({"cid": int(context.node_config["partition-id"])})}),
                       reply_to=msg)

    @app.train()
    def train(msg: Message, context) -> Message:
        torch.set_num_threads(1)
        spec = FederationSpec.from_json(spec_json)
        cfg = msg.content["config"]
        cid, rnd = int(cfg["cid"]), int(cfg["rnd"])
        if cid != int(context.node_config["partition-id"]):
            raise RuntimeError(f"node holds client {context.node_config['partition-id']}, asked to train {cid}")
        data, parts = build(spec)
        torch.manual_seed(spec.seed)
        model = build_model(spec.model, data.in_shape, data.n_classes)
        state = msg.content["arrays"].to_torch_state_dict()
        payload = ServerPayload()
        if "class_weight" in cfg:
            payload.class_weight = torch.tensor(list(cfg["class_weight"]), dtype=torch.float32)
        if "client_weight" in cfg:
            payload.client_weight = {cid: float(cfg["client_weight"])}
        idx = torch.from_numpy(parts[cid])
        shard = ClientShard(cid, data.x_train[idx], data.y_train[idx])
        states, loss = train_clients(model, state, [shard], rnd, spec.seed, spec.algo, spec.algo_cfg, spec.local,
                                     data.n_classes, payload)
        reply = RecordDict({
            "arrays": ArrayRecord({n: t[0].contiguous() for n, t in states.items()}),
            "metrics": MetricRecord({"num-examples": len(idx), "loss": float(loss[0]), "cid": cid}),
        })
        return Message(reply, reply_to=msg)

    return app


def make_server_app(server: Server, spec_json: str, outcome: dict):
    """ServerApp running ``server`` for ``server.fed.rounds`` rounds; fills ``outcome`` when done."""
    flwr = _flwr()
    from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict

    class AlignedStrategy(flwr.serverapp.strategy.FedAvg):
        """FedAvg's message flow with the paper's server: chosen clients, unweighted mean of updates."""

        def __init__(self, node_of: dict[int, int]):
            super().__init__(fraction_evaluate=0.0)
            self.node_of = node_of

        def configure_train(self, server_round, arrays, config, grid):
            selected = server.sample(server_round)
            payload = server.payload(server_round, selected)
            messages = []
            for cid in selected:
                cfg = ConfigRecord({"cid": cid, "rnd": server_round})
                if payload.class_weight is not None:
                    cfg["class_weight"] = [float(v) for v in payload.class_weight]
                if cid in payload.client_weight:
                    cfg["client_weight"] = payload.client_weight[cid]
                content = RecordDict({"arrays": arrays, "config": cfg})
                messages.append(Message(content, dst_node_id=self.node_of[cid], message_type=MessageType.TRAIN))
            return messages

        def aggregate_train(self, server_round, replies):
            replies = list(replies)
            errors = [m.error.reason for m in replies if m.has_error()]
            if errors:
                raise RuntimeError(f"round {server_round}: {len(errors)} client(s) failed: {errors[0]}")
            by_cid = {int(m.content["metrics"]["cid"]): m.content["arrays"].to_torch_state_dict() for m in replies}
            server.aggregate(server_round, stack_states([by_cid[c] for c in sorted(by_cid)]))
            metrics = server.evaluate(server_round) if server.due(server_round) else None
            record = MetricRecord({"acc": metrics["acc"]}) if metrics else MetricRecord({})
            return ArrayRecord(server.state), record

    app = flwr.serverapp.ServerApp()

    @app.main()
    def main(grid, context) -> None:
        deadline = time.monotonic() + 300
        while len(node_ids := sorted(grid.get_node_ids())) < server.fed.n_clients:  # SuperNodes register late
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(node_ids)} of {server.fed.n_clients} SuperNodes came up")
            time.sleep(0.05)
        queries = [Message(RecordDict({"info": ConfigRecord({})}), dst_node_id=n, message_type=MessageType.QUERY)
                   for n in node_ids]
        node_of = {}
        for reply in grid.send_and_receive(queries):
            if reply.has_error():
                raise RuntimeError(f"node {reply.metadata.src_node_id} failed the query: {reply.error.reason}")
            node_of[int(reply.content["info"]["cid"])] = reply.metadata.src_node_id
        strategy = AlignedStrategy(node_of)
        strategy.start(grid, ArrayRecord(server.state), num_rounds=server.fed.rounds)
        outcome["history"] = server.history

    return app


def run_flower(spec: FederationSpec, fed: FedConfig, num_cpus: int = 2, double_softmax_ea: bool = False) -> Server:
    """Simulate the federation on Flower's Ray backend; returns the finished ``Server`` (history, state)."""
    flwr = _flwr()
    import ray

    data, parts = build(spec)
    server = Server(data, parts, spec.algo, spec.algo_cfg, fed, spec.model, spec.seed, double_softmax_ea)
    spec_json = spec.to_json()
    outcome: dict = {}
    backend = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {"num_cpus": num_cpus, "include_dashboard": False, "log_to_driver": False,
                      "_node_ip_address": "127.0.0.1"},
    }
    try:
        flwr.simulation.run_simulation(server_app=make_server_app(server, spec_json, outcome),
                                       client_app=make_client_app(spec_json), num_supernodes=fed.n_clients,
                                       backend_config=backend)
    finally:
        if ray.is_initialized():
            ray.shutdown()
    if "history" not in outcome:
        raise RuntimeError("the Flower simulation ended before the ServerApp finished (see the log above)")
    return server


def history_equal(a: list[dict], b: list[dict]) -> bool:
    """True when two evaluation histories hold exactly the same numbers."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for k in x:
            if not np.array_equal(np.asarray(x[k], dtype=float), np.asarray(y[k], dtype=float), equal_nan=True):
                return False
    return True
