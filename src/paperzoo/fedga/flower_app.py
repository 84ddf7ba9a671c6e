"""The Flower App of the deployment engine: module-level ``server_app`` and ``client_app`` (what a Flower App's
``pyproject.toml`` names in ``[tool.flwr.app.components]``), the same ServerApp/ClientApp as the simulation.

Run config (``[tool.flwr.app.config]`` or ``flwr run --run-config``) read by the ServerApp:

    spec-file  JSON written by ``deploy.write_job``: the FederationSpec, the federation config, EA flag
    out-dir    where the ServerApp writes ``history.json`` and ``state.pt`` when the run ends
    wait-s     how long to wait for SuperNodes to register and cover every client id

The ServerApp sends the spec inside every message, so a SuperNode needs nothing but its node config
(``node-index=I num-nodes=M``: it holds the clients with ``cid % M == I``) and the dataset at the same path.
"""

from __future__ import annotations

import json
from pathlib import Path

from .flower_engine import make_client_app, make_server_app


def _setup(context):
    from .federation import FederationSpec, build_server
    from .server import FedConfig

    job = json.loads(Path(str(context.run_config["spec-file"])).read_text())
    spec = FederationSpec.from_json(job["spec"])
    return build_server(spec, FedConfig(**job["fed"]), bool(job.get("ea_double_softmax", False))), job["spec"]


def _done(server, context) -> None:
    import io

    import torch

    from paperzoo.core.io import atomic_write_bytes, atomic_write_json

    out = Path(str(context.run_config["out-dir"]))
    buf = io.BytesIO()
    torch.save(server.state, buf)
    atomic_write_bytes(out / "state.pt", buf.getvalue())
    atomic_write_json(out / "history.json", {"history": server.history, "rounds_per_s": server.rounds_per_s()})


client_app = make_client_app()
server_app = make_server_app(_setup, _done, wait_s=300.0)
