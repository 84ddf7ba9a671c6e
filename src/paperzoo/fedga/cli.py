"""`paperzoo fedga serve` (Flower's deployment engine on 127.0.0.1) and `paperzoo fedga app DIR` (the Flower App
and job file for a SuperLink and SuperNodes on several machines)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from paperzoo.core.errors import UserError

app = typer.Typer(help="FedGA on Flower's deployment engine (arXiv 2412.16582).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """FedGA on Flower's deployment engine (arXiv 2412.16582)."""


def federation(preset: str, sets: list[str], algo: str, alpha: float, seed: int, rounds: int | None):
    """The FederationSpec and FedConfig of one run of ``algo`` at ``alpha``, from an experiment preset + --set."""
    from dataclasses import replace

    from paperzoo.core.config import build_config, parse_set_options
    from paperzoo.core.registry import PRESETS, get_experiment
    from paperzoo.fedga.baselines import ALGORITHMS
    from paperzoo.fedga.experiment import FedGAConfig, resolve, spec_of

    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if algo not in ALGORITHMS:
        raise UserError(f"--algo {algo!r} is not an algorithm; valid: {', '.join(ALGORITHMS)}")
    if not alpha > 0:
        raise UserError(f"--alpha must be > 0, got {alpha}")
    if rounds is not None and rounds < 1:
        raise UserError(f"--rounds must be >= 1, got {rounds}")
    cfg = build_config(FedGAConfig, get_experiment("fedga").presets.get(preset, {}), parse_set_options(sets))
    fed = resolve(cfg, alpha)[1]
    return spec_of(cfg, alpha, seed, algo), replace(fed, rounds=rounds or fed.rounds), cfg


@app.command()
def serve(
    nodes: int = typer.Option(2, help="SuperNodes to start (each a separate process, holding cid % nodes)"),
    preset: str = typer.Option("smoke", help="experiment preset the federation comes from"),
    set_: list[str] = typer.Option([], "--set", help="override a fedga config key, as in `paperzoo run fedga`"),
    algo: str = typer.Option("fedga", help="algorithm"),
    alpha: float = typer.Option(0.5, help="Dirichlet alpha of the partition"),
    seed: int = typer.Option(0, help="federation seed"),
    rounds: int | None = typer.Option(2, help="rounds (default: the preset's)"),
    out: Path = typer.Option(Path("runs/fedga-deploy"), help="folder for logs, the Flower App and the result"),
    compare: bool = typer.Option(True, help="also run the in-process engine and compare (exit 1 if they differ)"),
) -> None:
    """Start a SuperLink and NODES SuperNodes on 127.0.0.1, run one federation on them, stop every process."""
    from paperzoo.core.io import atomic_write_json
    from paperzoo.fedga.deploy import LocalDeployment

    if nodes < 1:
        raise UserError(f"--nodes must be >= 1, got {nodes}")
    spec, fed, cfg = federation(preset, set_, algo, alpha, seed, rounds)
    typer.echo(f"SuperLink + {nodes} SuperNodes on 127.0.0.1: {algo}, alpha={alpha:g}, {fed.n_clients} clients, "
               f"{fed.clients_per_round}/round, {fed.rounds} rounds (logs in {out})")
    with LocalDeployment(out, nodes=nodes) as dep:
        typer.echo("started PIDs " + ", ".join(str(p.pid) for p in dep.procs))
        result = dep.run(spec, fed, cfg.ea_double_softmax)
    typer.echo(f"stopped {len(dep.started)} processes (daemons and their children)")
    atomic_write_json(out / "history.json", {"history": result["history"], "spec": json.loads(spec.to_json())})
    final = result["history"][-1]
    typer.echo(f"deployment: round {final['round']}: accuracy {final['acc']:.4f}, macro-F1 {final['f1']:.4f}")
    if compare and not _same_as_inprocess(spec, fed, cfg, result):
        raise typer.Exit(1)


def _same_as_inprocess(spec, fed, cfg, result) -> bool:
    from paperzoo.core.threads import torch_threads
    from paperzoo.fedga.engine import run_inprocess
    from paperzoo.fedga.federation import build_server
    from paperzoo.fedga.flower_engine import CLIENT_THREADS, history_max_diff

    server = build_server(spec, fed, cfg.ea_double_softmax)
    with torch_threads(CLIENT_THREADS):
        run_inprocess(server, spec.local)
    metric = history_max_diff(server.history, result["history"])
    weight = max(float((server.state[n].double() - result["state"][n].double()).abs().max()) for n in server.state)
    typer.echo(f"in-process engine: largest difference to the deployment: metrics {metric:.3g}, weights {weight:.3g}"
               + (" (identical)" if metric == weight == 0 else ""))
    return metric == weight == 0


@app.command("app")
def write_app_folder(
    folder: Path = typer.Argument(..., help="folder to write the Flower App (pyproject.toml) and job.json into"),
    preset: str = typer.Option("quick", help="experiment preset the federation comes from"),
    set_: list[str] = typer.Option([], "--set", help="override a fedga config key, as in `paperzoo run fedga`"),
    algo: str = typer.Option("fedga", help="algorithm"),
    alpha: float = typer.Option(0.5, help="Dirichlet alpha of the partition"),
    seed: int = typer.Option(0, help="federation seed"),
    rounds: int | None = typer.Option(None, help="rounds (default: the preset's)"),
) -> None:
    """Write a Flower App + job file for a multi-machine deployment and print the commands to run."""
    from paperzoo.fedga.deploy import write_app, write_job

    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; give a folder for the Flower App")
    spec, fed, cfg = federation(preset, set_, algo, alpha, seed, rounds)
    write_app(folder)
    job = write_job(folder / "job.json", spec, fed, cfg.ea_double_softmax).resolve()
    data = f"data.path={cfg.data.path}" if cfg.data.path else f"{cfg.data.dataset} from `make data`"
    typer.echo(f"wrote {folder / 'pyproject.toml'} and {job}\n"
               "server:  flower-superlink --ssl-ca-certfile ca.crt --ssl-certfile server.pem --ssl-keyfile server.key "
               "--host 0.0.0.0 --port 9093\n"
               "node i:  flower-supernode --root-certificates ca.crt --superlink SERVER:9093 "
               f"--node-config 'node-index=i num-nodes=M'   (i = 0..M-1; each node needs {data})\n"
               f"submit:  flwr run {folder} <connection> --run-config 'spec-file=\"{job}\" out-dir=\"/path/out\"'")
