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


SMOKE_BANNER = ("> **Smoke test.** This run used the `smoke` preset: tiny data and a few steps, to exercise every "
                "code path. Its numbers and claim verdicts mean nothing; run `quick` or `full` for results.")


def verdict(claim: dict[str, Any] | bool | None) -> str:
    """A claim's verdict: its recorded one, else derived from `holds` (records written before verdicts)."""
    if isinstance(claim, dict):
        return claim.get("verdict") or verdict(claim.get("holds"))
    return {True: "holds", False: "does not hold", None: "not evaluated"}[claim]


def claims_table(claims: Sequence[dict[str, Any]], system: str | None = None) -> str:
    headers = (["system"] if system else []) + ["claim", "verdict", "evidence"]
    rows = [([system] if system else []) + [c["claim"], verdict(c), c["evidence"]] for c in claims]
    return md_table(headers, rows)


def _run_header(record: dict[str, Any], extra: dict[str, Any]) -> list[str]:
    label = record.get("label", record["preset"])
    out = [
        f"Paper: arXiv {extra.get('paper', '?')} · preset `{label}` · seed {record['seed']} · "
        f"wall time {record['wall_s']:.1f} s · device {extra.get('device', '?')}"
        + (f" · {record['world_size']} processes" if record.get("world_size", 1) > 1 else "")
        + (f" · {record['threads']} torch threads" if record.get("threads") else ""),
        "",
    ]
    if record["preset"] == "smoke":
        out += [SMOKE_BANNER, ""]
    if record.get("command"):
        out += [f"Command: `{record['command']}`", ""]
    if record.get("overrides"):
        out += ["Overrides of the preset: " + ", ".join(f"`{k}={v}`" for k, v in record["overrides"].items()), ""]
    if extra.get("warnings"):
        out += ["## Warnings", ""] + [f"- {w}" for w in extra["warnings"]] + [""]
    return out


def render_run_report(record: dict[str, Any], extra: dict[str, Any]) -> str:
    """report.md of one run, from metrics.json (`record`) and report.json (`extra`: sections, figures)."""
    out = [
        f"# {record['experiment']} — {extra.get('title', '')}".rstrip(" —"),
        "",
        *_run_header(record, extra),
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
    if extra.get("failed_figures"):
        out += ["## Figures that failed", "", "The run's metrics are complete; only these pictures are missing.", ""]
        out += [f"- `{f['file']}`: {f['error']}" for f in extra["failed_figures"]] + [""]
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
        *([SMOKE_BANNER, ""] if preset == "smoke" else []),
        "## Runs",
        "",
    ]
    rows = []
    for name, folder, record, error in entries:
        if record is None:
            rows.append([name, "FAILED", "—", "—", _link(folder / "FAILED", root), error or ""])
            continue
        claims = record["claims"]
        held = sum(c["holds"] is True for c in claims)
        evaluated = sum(c["holds"] is not None for c in claims)
        rows.append([name, "ok", f"{held}/{evaluated}", f"{record['wall_s']:.0f} s",
                     _link(folder / "report.md", root), ""])
    out.append(md_table(["experiment", "status", "claims held", "wall", "report", "error"], rows))
    out += ["## Claims", ""]
    claim_rows = []
    for name, _folder, record, _error in entries:
        for c in (record or {}).get("claims", []):
            claim_rows.append([name, c["claim"], verdict(c), c["evidence"]])
    out.append(md_table(["experiment", "claim", "verdict", "evidence"], claim_rows) if claim_rows else "(none)\n")
    out += ["## Key figures", ""]
    for name, folder, record, _error in entries:
        for fig in figures.get(name, [])[:2]:
            if record is not None and (Path(folder) / fig["file"]).is_file():
                out += [f"**{name}** — {fig['caption'] or fig['file']}", "",
                        f"![{name}]({_rel(folder / fig['file'], root)})", ""]
    versions: dict[str, str] = {}
    for _name, _folder, record, _error in entries:
        versions.update((record or {}).get("versions", {}))
    out += ["## Versions", "", md_table(["package", "version"], sorted(versions.items()))]
    return "\n".join(out)


def _link(path: Path, root: Path) -> str:
    """The path relative to REPORT.md's folder, or a note when the file does not exist (never a dead link)."""
    return _rel(path, root) if Path(path).is_file() else f"(no {Path(path).name})"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
