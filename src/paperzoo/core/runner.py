"""Run one experiment into its own folder: config.yaml, metrics.json, report.md, figures, or FAILED."""

from __future__ import annotations

import io
import json
import math
import platform
import random
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

import paperzoo
from paperzoo.core.config import build_config, dump_yaml, flatten, load_yaml_overrides
from paperzoo.core.data import data_root
from paperzoo.core.errors import UserError
from paperzoo.core.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from paperzoo.core.registry import PRESETS, Experiment, get_experiment
from paperzoo.core.report import render_run_report

T = TypeVar("T")
console = Console(stderr=True)
RESULT_FILES = ("metrics.json", "report.md", "report.json", "FAILED")
OPTIONAL_PACKAGES = ("scipy", "transformers", "flwr", "safetensors", "wannierberri", "pythtb", "h5py", "sklearn")


@dataclass
class Claim:
    """A claim of the paper, evaluated from measured numbers. holds=None: not evaluated in this preset."""

    claim: str
    holds: bool | None
    evidence: str


@dataclass
class Outcome:
    """What an experiment's run returns: flat metrics, evaluated claims, extra report sections."""

    metrics: dict[str, float]
    claims: list[Claim] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)


class RunContext:
    """What `run(config, ctx)` gets: output folder, seed, device, logging, progress, figures, checkpoints."""

    def __init__(self, out: Path, seed: int, device: str, preset: str, resuming: bool = False,
                 quiet: bool = False) -> None:
        self.out = out
        self.seed = seed
        self.device = device
        self.preset = preset
        self.resuming = resuming
        self.quiet = quiet
        self.data_root = data_root()
        self.figures: list[dict[str, str]] = []
        self._progress: Progress | None = None
        self._progress_depth = 0

    def log(self, msg: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        with open(self.out / "run.log", "a") as fh:
            fh.write(f"{stamp} {msg}\n")
        if not self.quiet:
            console.print(f"[dim]{stamp}[/dim] {msg}", highlight=False)

    def progress(self, iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
        """Iterate with a progress bar (nested bars share one display)."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        if self.quiet or not console.is_terminal:
            yield from iterable
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
            )
            self._progress.start()
        self._progress_depth += 1
        task = self._progress.add_task(desc, total=total)
        try:
            for item in iterable:
                yield item
                self._progress.advance(task)
        finally:
            self._progress.remove_task(task)
            self._progress_depth -= 1
            if self._progress_depth == 0:
                self._progress.stop()
                self._progress = None

    def savefig(self, fig: Any, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as `<out>/<name>.png` (atomically) and list it in the report."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        file = name if name.endswith(".png") else f"{name}.png"
        path = atomic_write_bytes(self.out / file, buf.getvalue())
        self.figures = [f for f in self.figures if f["file"] != file] + [{"file": file, "caption": caption}]
        return path

    def save_checkpoint(self, state: dict[str, Any]) -> Path:
        """Atomically write `<out>/checkpoint.pt` (loadable with weights_only=True)."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        return atomic_write_bytes(self.out / "checkpoint.pt", buf.getvalue())

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint if this run resumes one, else None."""
        import torch

        path = self.out / "checkpoint.pt"
        if not self.resuming or not path.is_file():
            return None
        return torch.load(path, weights_only=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {device}: no CUDA device is visible; use --device cpu or auto")
        return device
    raise UserError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "paperzoo": paperzoo.__version__, "numpy": np.__version__,
             "platform": platform.platform(terse=True)}
    for name in ("torch", *OPTIONAL_PACKAGES):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", "?"))
    return found


def default_out(experiment: str, preset: str) -> Path:
    return Path("runs") / experiment / f"{datetime.now():%Y%m%d-%H%M%S}-{preset}"


def _check_outcome(name: str, outcome: Any) -> Outcome:
    if not isinstance(outcome, Outcome):
        raise TypeError(f"experiment {name!r} returned {type(outcome).__name__}, expected Outcome")
    for key, value in outcome.metrics.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"experiment {name!r}: metric {key!r} must map a name to a number, got {value!r}")
    return outcome


def prepare(
    name: str,
    preset: str = "quick",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    resume: Path | None = None,
) -> tuple[Experiment, Any, str, int]:
    """Resolve experiment, preset and config (raising UserError on bad input) before anything is written."""
    if resume is not None:
        saved_file = Path(resume) / "config.yaml"
        if not saved_file.is_file():
            raise UserError(f"--resume {resume}: no config.yaml there; point it at a run folder")
        saved = yaml.safe_load(saved_file.read_text())
        name, preset, seed = saved["experiment"], saved["preset"], saved["seed"]
        layers = [flatten(saved["config"])]
    else:
        layers = []
    experiment = get_experiment(name)
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if resume is None:
        layers.append(experiment.presets.get(preset, {}))
        if config_file is not None:
            layers.append(load_yaml_overrides(config_file))
        layers.append(overrides or {})
    cfg = build_config(experiment.config, *layers)
    return experiment, cfg, preset, seed


def run_experiment(
    name: str,
    preset: str = "quick",
    out: Path | None = None,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    device: str = "auto",
    resume: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run an experiment end to end and return the metrics.json record.

    With `resume=RUN_DIR` the run continues in RUN_DIR with its saved config, preset and seed, and the
    experiment's `ctx.load_checkpoint()` returns the last checkpoint.
    """
    experiment, cfg, preset, seed = prepare(name, preset, seed, overrides, config_file, resume)
    device = resolve_device(device)
    out = Path(resume) if resume is not None else Path(out or default_out(experiment.name, preset))
    out.mkdir(parents=True, exist_ok=True)
    for stale in RESULT_FILES:
        (out / stale).unlink(missing_ok=True)
    header = {"experiment": experiment.name, "preset": preset, "seed": seed, "device": device}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(header, sort_keys=False)
                      + "config:\n" + _indent(dump_yaml(cfg)))
    seed_everything(seed)
    ctx = RunContext(out, seed, device, preset, resuming=resume is not None, quiet=quiet)
    ctx.log(f"{experiment.name} ({preset}, seed {seed}) -> {out}" + (" [resuming]" if resume else ""))
    start = time.perf_counter()
    try:
        outcome = _check_outcome(experiment.name, experiment.run(cfg, ctx))
    except BaseException as exc:
        kind = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else type(exc).__name__
        atomic_write_text(out / "FAILED", f"{kind}: {exc}\n\n{traceback.format_exc()}")
        raise
    wall = time.perf_counter() - start
    record = {
        "system": experiment.system,
        "experiment": experiment.name,
        "preset": preset,
        "seed": seed,
        "wall_s": round(wall, 3),
        "versions": versions(),
        "metrics": {k: (float(v) if isinstance(v, float) and math.isfinite(v) else v)
                    for k, v in outcome.metrics.items()},
        "claims": [{"claim": c.claim, "holds": c.holds, "evidence": c.evidence} for c in outcome.claims],
    }
    extra = {"title": experiment.title, "paper": experiment.paper, "device": device,
             "sections": [list(s) for s in outcome.sections], "figures": ctx.figures}
    atomic_write_json(out / "report.json", extra)
    atomic_write_text(out / "report.md", render_run_report(record, extra))
    atomic_write_json(out / "metrics.json", record)
    ctx.log(f"done in {wall:.1f} s: {out / 'report.md'}")
    return json.loads((out / "metrics.json").read_text())


def rerender(run_dir: Path) -> Path:
    """Rebuild `report.md` of a finished run from its metrics.json and report.json."""
    run_dir = Path(run_dir)
    metrics_file, extra_file = run_dir / "metrics.json", run_dir / "report.json"
    if not metrics_file.is_file():
        why = " (the run failed: see FAILED)" if (run_dir / "FAILED").exists() else ""
        raise UserError(f"{run_dir} holds no metrics.json{why}; point `paperzoo report` at a finished run folder")
    record = json.loads(metrics_file.read_text())
    extra = json.loads(extra_file.read_text()) if extra_file.is_file() else {}
    return atomic_write_text(run_dir / "report.md", render_run_report(record, extra))


def _indent(text: str) -> str:
    return "".join("  " + line + "\n" for line in text.splitlines())

