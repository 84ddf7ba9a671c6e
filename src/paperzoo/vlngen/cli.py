"""`paperzoo vlngen check|score`: validate real Matterport/R2R files, and score an agent's trajectories with the
R2R metrics (NE, SR, SPL, nDTW, SDTW) on the real navigation graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from paperzoo.core import DataError, UserError

app = typer.Typer(help="VLN data tools (arXiv 2412.06413).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """VLN data tools (arXiv 2412.06413)."""


def load_graphs(connectivity: Path) -> dict:
    """Every `<scan>_connectivity.json` under a folder (or one such file)."""
    from .formats import read_connectivity

    connectivity = Path(connectivity)
    files = [connectivity] if connectivity.is_file() else sorted(connectivity.glob("*_connectivity.json"))
    if not files:
        raise UserError(f"{connectivity}: no *_connectivity.json files there (Matterport3D simulator layout: "
                        "connectivity/<scan>_connectivity.json)")
    return {g.scan: g for g in (read_connectivity(f) for f in files)}


def load_checked(connectivity: Path, r2r: Path) -> tuple[dict, list[dict]]:
    from .formats import check_episodes, read_r2r

    graphs = load_graphs(connectivity)
    episodes = read_r2r(r2r)
    check_episodes(episodes, graphs, r2r)
    return graphs, episodes


@app.command()
def check(connectivity: Path = typer.Argument(..., help="connectivity folder or one <scan>_connectivity.json"),
          r2r: Path = typer.Argument(..., help="R2R episodes JSON (e.g. R2R_val_unseen.json)")) -> None:
    """Read the graphs and episodes and check every path and goal against them (exit 2 on the first problem)."""
    graphs, episodes = load_checked(connectivity, r2r)
    scans = {ep["scan"] for ep in episodes}
    n_nodes = sum(len(graphs[s].ids) for s in scans)
    typer.echo(f"{len(episodes)} episodes over {len(scans)} scans ({n_nodes} viewpoints): every path follows known "
               f"viewpoints and every goal is reachable")


@app.command()
def score(connectivity: Path = typer.Argument(..., help="connectivity folder or one <scan>_connectivity.json"),
          r2r: Path = typer.Argument(..., help="R2R episodes JSON with the reference paths"),
          predictions: Path = typer.Argument(..., help='R2R predictions: [{"instr_id": "<path_id>_<k>", "trajectory": '
                                             '[[viewpoint, heading, elevation], ...]}]')) -> None:
    """NE, SR, SPL, nDTW and SDTW of predicted trajectories (R2R definitions, 3 m success radius)."""
    from .formats import _read_json
    from .metrics import episode_metrics

    graphs, episodes = load_checked(connectivity, r2r)
    by_path = {str(ep.get("path_id")): ep for ep in episodes}
    preds = _read_json(predictions, "R2R predictions [{instr_id, trajectory}]")
    if not isinstance(preds, list) or not preds:
        raise DataError(f"{predictions}: expected a non-empty list of {{instr_id, trajectory}}")
    rows, dist_cache = [], {}
    for k, p in enumerate(preds):
        if not isinstance(p, dict) or "instr_id" not in p or not p.get("trajectory"):
            raise DataError(f"{predictions}: entry {k} lacks instr_id or a non-empty trajectory")
        ep = by_path.get(str(p["instr_id"]).rsplit("_", 1)[0])
        if ep is None:
            raise DataError(f"{predictions}: entry {k}: instr_id {p['instr_id']!r} matches no path_id in {r2r}")
        g = graphs[ep["scan"]]
        idx = g.index()
        try:
            query = [idx[step[0] if isinstance(step, list) else step] for step in p["trajectory"]]
        except KeyError as exc:
            raise DataError(f"{predictions}: entry {k} visits viewpoint {exc.args[0]} unknown to scan "
                            f"{ep['scan']!r}") from None
        dist = dist_cache.setdefault(ep["scan"], g.distances())
        rows.append(episode_metrics([idx[v] for v in ep["path"]], query, dist))
    summary = {key: float(np.mean([r[key] for r in rows])) for key in ("ne", "sr", "spl", "ndtw", "sdtw", "tl")}
    typer.echo(json.dumps({"episodes": len(rows), **{k: round(v, 4) for k, v in summary.items()}}))
