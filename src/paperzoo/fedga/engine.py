"""The in-process engine: one python loop over rounds, the round's clients trained together (batched)."""

from __future__ import annotations

from collections.abc import Callable

from .client import LocalConfig, train_clients
from .server import Server


def run_inprocess(server: Server, local: LocalConfig, on_round: Callable[[int, dict | None], None] | None = None,
                  ) -> list[dict]:
    """Run ``server.fed.rounds`` rounds; returns the evaluation history (one dict per evaluated round)."""
    for rnd in range(1, server.fed.rounds + 1):
        selected = server.sample(rnd)
        payload = server.payload(rnd, selected)
        states, _ = train_clients(server.model, server.state, [server.shard(c) for c in selected], rnd, server.seed,
                                  server.algo, local, server.data.n_classes, payload)
        server.aggregate(rnd, states)
        metrics = server.evaluate(rnd) if server.due(rnd) else None
        if on_round is not None:
            on_round(rnd, metrics)
    return server.history
