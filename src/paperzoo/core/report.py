"""Markdown rendering: one run's `report.md`, and `REPORT.md` across systems for `paperzoo reproduce`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def fmt(value: Any) -> str:
    """Numbers to 4 significant digits; None/NaN as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def verdict(holds: bool | None) -> str:
    return {True: "holds", False: "does not hold", None: "not evaluated"}[holds]


def claims_table(claims: Sequence[dict[str, Any]], system: str | None = None) -> str:
    headers = (["system"] if system else []) + ["claim", "verdict", "evidence"]
    rows = [([system] if system else []) + [c["claim"], verdict(c["holds"]), c["evidence"]] for c in claims]
    return md_table(headers, rows)


def render_run_report(record: dict[str, Any], extra: dict[str, Any]) -> str:
    """report.md of one run, from metrics.json (`record`) and report.json (`extra`: sections, figures)."""
    out = [
        f"# {record['experiment']} — {extra.get('title', '')}".rstrip(" —"),
        "",
        f"Paper: arXiv {extra.get('paper', '?')} · preset `{record['preset']}` · seed {record['seed']} · "
        f"wall time {record['wall_s']:.1f} s · device {extra.get('device', '?')}",
        "",
        "## Claims",
        "",
        claims_table(record["claims"]) if record["claims"] else "(none)\n",
        "## Metrics",
        "",
        md_table(["metric", "value"], sorted(record["metrics"].items())),
    ]
    for heading, body in extra.get("sections", []):
        out += [f"## {heading}", "", body.rstrip() + "\n"]
    if extra.get("figures"):
        out += ["## Figures", ""]
        for fig in extra["figures"]:
            out += [f"![{fig['caption'] or fig['file']}]({fig['file']})", ""]
            if fig["caption"]:
                out += [f"*{fig['caption']}*", ""]
    out += ["## Versions", "", md_table(["package", "version"], sorted(record["versions"].items()))]
    return "\n".join(out)


def render_reproduce_report(
    entries: Sequence[tuple[str, Path, dict[str, Any] | None, str | None]],
    figures: dict[str, list[dict[str, str]]],
    root: Path,
    preset: str,
    total_wall_s: float,
) -> str:
    """REPORT.md: claims across systems, key figures, versions, wall time.

    `entries`: (experiment, run folder, metrics.json record or None, error text or None).
    """
    out = [
        "# paperzoo — reproduction report",
        "",
        f"Preset `{preset}` · {len(entries)} experiments · total wall time {total_wall_s / 60:.1f} min",
        "",
        "## Runs",
        "",
    ]
    rows = []
    for name, folder, record, error in entries:
        if record is None:
            rows.append([name, "FAILED", "—", "—", _rel(folder / "FAILED", root), error or ""])
            continue
        claims = record["claims"]
        held = sum(c["holds"] is True for c in claims)
        evaluated = sum(c["holds"] is not None for c in claims)
        rows.append([name, "ok", f"{held}/{evaluated}", f"{record['wall_s']:.0f} s",
                     _rel(folder / "report.md", root), ""])
    out.append(md_table(["experiment", "status", "claims held", "wall", "report", "error"], rows))
    out += ["## Claims", ""]
    claim_rows = []
    for name, _folder, record, _error in entries:
        for c in (record or {}).get("claims", []):
            claim_rows.append([name, c["claim"], verdict(c["holds"]), c["evidence"]])
    out.append(md_table(["experiment", "claim", "verdict", "evidence"], claim_rows) if claim_rows else "(none)\n")
    out += ["## Key figures", ""]
    for name, folder, record, _error in entries:
        for fig in figures.get(name, [])[:2]:
            if record is not None:
                out += [f"**{name}** — {fig['caption'] or fig['file']}", "",
                        f"![{name}]({_rel(folder / fig['file'], root)})", ""]
    versions: dict[str, str] = {}
    for _name, _folder, record, _error in entries:
        versions.update((record or {}).get("versions", {}))
    out += ["## Versions", "", md_table(["package", "version"], sorted(versions.items()))]
    return "\n".join(out)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
