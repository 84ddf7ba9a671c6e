"""The `paperzoo` command: list, run, config, reproduce, report, export, data; plus each system's own subcommands.

Imports stay lazy: `paperzoo --help` loads neither torch nor any system; a system's subcommands are
imported only when that system is named on the command line.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from paperzoo.core.errors import UserError
from paperzoo.core.registry import SYSTEMS, discover, system_has_module

app = typer.Typer(help="Ten research papers as runnable software. Start with `paperzoo list`.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        import paperzoo

        out.print(f"paperzoo {paperzoo.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Ten research papers as runnable software. Start with `paperzoo list`."""
data_app = typer.Typer(help="Offline data sources.", no_args_is_help=True)
app.add_typer(data_app, name="data")
out = Console()
err = Console(stderr=True)


@app.command("list")
def list_systems() -> None:
    """Every system, its paper and whether it is implemented."""
    experiments = discover()
    table = Table("system", "arXiv", "what", "experiments")
    for system, (paper, title) in SYSTEMS.items():
        names = sorted(n for n, e in experiments.items() if e.system == system)
        table.add_row(system, paper, title, ", ".join(names) if names else "[dim]not implemented[/dim]")
    out.print(table)


@app.command()
def run(
    system: str = typer.Argument(..., help="experiment name, e.g. fedga or distill.lm"),
    preset: str | None = typer.Option(None, help="smoke | quick | full  [default: quick]"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: --set train.steps=100"),
    config: Path | None = typer.Option(None, help="YAML file of config overrides (nested keys)"),
    seed: int | None = typer.Option(None, help="random seed  [default: 0]"),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N"),
    out_dir: Path | None = typer.Option(None, "--out", help="run folder, new or empty "
                                        "(default runs/<system>/<time>-<preset>)"),
    force: bool = typer.Option(False, "--force", help="write into a non-empty --out folder"),
    resume: Path | None = typer.Option(None, help="continue the run in this folder from its last checkpoint"),
) -> None:
    """Run one experiment; writes config.yaml, metrics.json, report.md and figures to its folder."""
    from paperzoo.core.config import parse_set_options
    from paperzoo.core.runner import RunInterrupted, run_experiment

    if resume is not None and out_dir is not None:
        raise UserError("--resume continues the run in its own folder; drop --out")
    try:
        record = run_experiment(system, preset=preset, out=out_dir, seed=seed, overrides=parse_set_options(set_),
                                config_file=config, device=device, resume=resume, force=force)
    except RunInterrupted as exc:  # typer turns a KeyboardInterrupt into a silent exit 130: say where things are
        err.print(f"[yellow]{_escape(exc.one_line())}[/yellow]", highlight=False)
        raise typer.Exit(130) from None
    _print_claims(record)


@app.command("config")
def show_config(
    system: str = typer.Argument(..., help="experiment name, e.g. fedga or distill.lm"),
    preset: str = typer.Option("quick", help="the preset whose values are shown beside the defaults"),
) -> None:
    """Every config key of an experiment: type, default, the preset's value, constraint and a one-line doc."""
    from paperzoo.core.config import describe_config
    from paperzoo.core.registry import PRESETS, get_experiment

    experiment = get_experiment(system)
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    rows = describe_config(experiment.config, experiment.presets.get(preset, {}))
    width = max(len(r["key"]) for r in rows)
    lines = [f"{experiment.name} config (values of preset {preset!r} after '->' where they differ from the default)"]
    for r in rows:
        value = r["default"] + (f" -> {r['preset']}" if r["preset"] != r["default"] else "")
        rule = f"; {r['constraint']}" if r["constraint"] else ""
        lines.append(f"  {r['key']:<{width}}  {value}  ({r['type']}{rule})" + (f"  {r['doc']}" if r["doc"] else ""))
    lines.append("set a key with --set KEY=VALUE, or give a YAML file of nested keys with --config FILE")
    print("\n".join(lines))


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="a finished run folder"),
    csv: bool = typer.Option(True, "--csv", help="write CSV files (the only format so far)"),
    to: Path | None = typer.Option(None, help="folder for the CSV files (default <run>/csv)"),
) -> None:
    """Export a run's curves and tables (one CSV each, plus metrics.csv)."""
    from paperzoo.core.export import export_csv

    files = export_csv(run_dir, to)
    out.print(f"wrote {len(files)} CSV files to {files[0].parent}")


@app.command()
def reproduce(
    preset: str = typer.Option("quick", help="smoke | quick | full"),
    systems: str = typer.Option("", help="comma-separated systems (default: every implemented one)"),
    seed: int = typer.Option(0, help="random seed"),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N"),
    out_dir: Path | None = typer.Option(None, "--out", help="parent folder of the runs"),
    report: Path = typer.Option(Path("REPORT.md"), help="where to write the cross-system report"),
) -> None:
    """Run every implemented system's experiments and write REPORT.md (claims table, key figures)."""
    from paperzoo.core.io import atomic_write_text
    from paperzoo.core.registry import PRESETS
    from paperzoo.core.report import render_reproduce_report
    from paperzoo.core.runner import RunInterrupted, resolve_device, run_experiment

    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    device = resolve_device(device)  # a bad --device fails before any run starts
    experiments = discover()
    chosen = [s.strip() for s in systems.split(",") if s.strip()] or sorted({e.system for e in experiments.values()})
    for s in chosen:
        if s not in SYSTEMS:
            raise UserError(f"unknown system {s!r}; valid systems: {', '.join(SYSTEMS)}")
    names = [n for n in sorted(experiments) if experiments[n].system in chosen]
    if not names:
        raise UserError(f"no implemented experiment among {chosen}; see `paperzoo list`")
    parent = out_dir or Path("runs") / f"reproduce-{datetime.now():%Y%m%d-%H%M%S}-{preset}"
    entries, figures, start = [], {}, time.perf_counter()
    for i, name in enumerate(names, 1):
        err.rule(f"[{i}/{len(names)}] {name}")
        folder = parent / name
        try:
            record = run_experiment(name, preset=preset, out=folder, seed=seed, device=device)
            error = None
        except RunInterrupted as exc:
            err.print(f"[yellow]{_escape(exc.one_line())}[/yellow]", highlight=False)
            raise typer.Exit(130) from None
        except Exception as exc:  # one failed system must not stop the others
            record, error = None, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            err.print(f"[red]{name} failed:[/red] {error}")
        entries.append((name, folder, record, error))
        report_json = folder / "report.json"
        figures[name] = json.loads(report_json.read_text())["figures"] if report_json.is_file() else []
    text = render_reproduce_report(entries, figures, report.resolve().parent, preset, time.perf_counter() - start)
    atomic_write_text(report, text)
    out.print(f"wrote {report}")
    failed = [e[0] for e in entries if e[2] is None]
    if failed:
        err.print(f"[red]failed:[/red] {', '.join(failed)}")
        raise typer.Exit(1)


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a finished run folder")) -> None:
    """Re-render a run's report.md from its metrics.json and report.json."""
    from paperzoo.core.runner import rerender

    out.print(f"wrote {rerender(run_dir)}")


@data_app.command("status")
def data_status() -> None:
    """Every offline data source: where it is looked for, whether it is present, how to get it."""
    from paperzoo.core.data import SOURCES, data_root

    table = Table("source", "systems", "needed for", "present", "path")
    missing = []
    for source in SOURCES.values():
        found = source.locate()
        if found is None:
            missing.append(source)
        table.add_row(source.name, ", ".join(source.systems), source.needed_for,
                      "[green]yes[/green]" if found else "[red]no[/red]",
                      str(found) if found else "looked in: " + ", ".join(str(p) for p in source.candidates()))
    out.print(table)
    for source in missing:
        out.print(f"[bold]{source.name}[/bold] ({source.description}): {source.how_to_get}", highlight=False)
    out.print(f"data folder: {data_root()}  (set PAPERZOO_DATA to move it)")


def _print_claims(record: dict) -> None:
    from paperzoo.core.report import verdict

    table = Table("claim", "verdict", "evidence", title=f"{record['experiment']} ({record['preset']})")
    colour = {True: "green", False: "red", None: "yellow"}
    for c in record["claims"]:
        table.add_row(c["claim"], f"[{colour[c['holds']]}]{verdict(c)}[/]", c["evidence"])
    out.print(table)


def _mount_system_commands(argv: list[str]) -> None:
    """Mount the named system's subcommands for real; the others as one-line placeholders for --help."""
    for system in SYSTEMS:
        if not system_has_module(system, "cli"):
            continue
        if argv[1:2] == [system]:
            module = importlib.import_module(f"paperzoo.{system}.cli")
            app.add_typer(module.app, name=system, help=f"{system}-specific tools")
        else:
            placeholder = typer.Typer(help=f"{system}-specific tools (paperzoo {system} --help)")
            placeholder.callback()(lambda: None)
            app.add_typer(placeholder, name=system)


def main() -> None:
    """Entry point: user errors print one message and exit 2, never a traceback."""
    try:
        _mount_system_commands(sys.argv)
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except UserError as exc:
        err.print(f"[red]error:[/red] {_escape(str(exc))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


if __name__ == "__main__":
    main()
