"""Run one experiment into its own folder: config.yaml, metrics.json, report.md, figures, or FAILED.

Order of work, so that bad input costs nothing and leaves nothing behind: resolve the experiment, preset and
config (types and constraints), the device, and the output folder (new or empty, writable); only then create
the folder and run. Under a launcher (torchrun) rank 0 chooses and checks the folder and the others follow.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import shlex
import stat
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import paperzoo
from paperzoo.core.claims import Claim
from paperzoo.core.config import build_config, dump_yaml, flatten, load_yaml_overrides
from paperzoo.core.context import Outcome, RunContext
from paperzoo.core.distributed import Distributed
from paperzoo.core.errors import UserError
from paperzoo.core.io import atomic_write_json, atomic_write_text
from paperzoo.core.registry import PRESETS, Experiment, get_experiment
from paperzoo.core.report import render_run_report

__all__ = ["Claim", "Outcome", "RunContext", "RunInterrupted", "prepare", "rerender", "run_experiment"]

RESULT_FILES = ("metrics.json", "report.md", "report.json", "FAILED")
OPTIONAL_PACKAGES = ("scipy", "sklearn", "transformers", "flwr", "safetensors", "wannierberri", "pythtb", "h5py",
                     "cv2", "dlib", "skimage", "sacrebleu", "jiwer")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: FAILED is written; carries the folder and the command that continues it."""

    def __init__(self, out: Path, resume_command: str, has_checkpoint: bool) -> None:
        super().__init__(str(out))
        self.out, self.resume_command, self.has_checkpoint = out, resume_command, has_checkpoint

    def one_line(self) -> str:
        how = "from its last checkpoint" if self.has_checkpoint else "no checkpoint yet: it starts over"
        return f"interrupted: see {self.out / 'FAILED'}; continue with `{self.resume_command}` ({how})"


def offset_seeds(cfg: Any, seed: int) -> Any:
    """The config an experiment runs with: each entry of a top-level `seeds` list added to the run's --seed
    (config.json keeps the offsets, so --resume applies them again to the same seed)."""
    if any(f.name == "seeds" for f in fields(cfg)):
        return replace(cfg, seeds=[seed + s for s in cfg.seeds])
    return cfg


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
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


def _saved_run(resume: Path) -> dict[str, Any]:
    """The header and config of a run folder's config.yaml, or a UserError saying what is wrong with it."""
    saved_file = Path(resume) / "config.yaml"
    if not saved_file.is_file():
        raise UserError(f"--resume {resume}: no config.yaml there; point it at a run folder")
    try:
        saved = yaml.safe_load(saved_file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"--resume {resume}: config.yaml is not readable YAML ({str(exc).splitlines()[0]})") from None
    needed = ("experiment", "preset", "seed", "config")
    if not isinstance(saved, dict) or any(k not in saved for k in needed) or not isinstance(saved["config"], dict):
        raise UserError(f"--resume {resume}: config.yaml is incomplete; it needs {', '.join(needed)} "
                        "(the header paperzoo writes)")
    if (Path(resume) / "metrics.json").is_file():
        raise UserError(f"--resume {resume}: this run finished (metrics.json is there); its results are kept. "
                        "Start a new run with --out instead")
    return saved


def prepare(
    name: str | None,
    preset: str | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    resume: Path | None = None,
) -> tuple[Experiment, Any, str, int]:
    """Resolve experiment, preset and config (raising UserError on bad input) before anything is written."""
    if resume is not None:
        saved = _saved_run(resume)
        if name is not None and name != saved["experiment"]:
            raise UserError(f"--resume {resume} is a run of {saved['experiment']!r}, not {name!r}; "
                            f"resume it with `paperzoo run {saved['experiment']} --resume {resume}`")
        given = [flag for flag, v in (("--set", overrides), ("--config", config_file)) if v]
        given += [f"--preset {preset}"] if preset not in (None, saved["preset"]) else []
        given += [f"--seed {seed}"] if seed not in (None, saved["seed"]) else []
        if given:
            raise UserError(f"--resume continues {resume} with its saved config; it would ignore "
                            f"{', '.join(given)}. Drop them, or start a new run with --out")
        name, preset, seed = saved["experiment"], saved["preset"], int(saved["seed"])
        layers = [flatten(saved["config"])]
    else:
        layers = []
    assert name is not None
    experiment = get_experiment(name)
    preset = preset or "quick"
    seed = 0 if seed is None else seed
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if resume is None:
        layers.append(experiment.presets.get(preset, {}))
        if config_file is not None:
            layers.append(load_yaml_overrides(config_file))
        layers.append(overrides or {})
    cfg = build_config(experiment.config, *layers)
    return experiment, cfg, preset, seed


def check_out_dir(out: Path, force: bool = False) -> None:
    """A new run folder must be new or empty (or --force), not a file, not under a file, and writable."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder (new or empty)")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out} exists and is not empty; choose a new folder, or pass --force to write "
                        "into it (old results there are replaced)")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"--out {out} is under {ancestor}, which is a file, not a folder")
    mode = ancestor.stat().st_mode
    # the permission bits decide, root included: a folder marked read-only is not written into
    if not os.access(ancestor, os.W_OK | os.X_OK) or not mode & stat.S_IWUSR:
        raise UserError(f"--out {out}: {ancestor} is read-only (mode {stat.filemode(mode)}); "
                        "choose a writable folder")


def _label(preset: str, overrides: dict[str, Any]) -> str:
    return f"{preset}+overrides" if overrides else preset


def _recorded_overrides(config_file: Path | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Every key the user set on top of the preset: from --config, then --set."""
    recorded = dict(load_yaml_overrides(config_file)) if config_file is not None else {}
    recorded.update(overrides or {})
    return {k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in recorded.items()}


def command_line() -> str:
    """The command that started this process, as a shell would re-run it."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("paperzoo"):
        argv[0] = "paperzoo"
    return " ".join(shlex.quote(a) for a in argv)


@contextmanager
def _deterministic_threads(cfg: Any):
    """Apply the config's `threads` (0: torch's default) and torch's deterministic algorithms for the run."""
    import torch

    threads_before = torch.get_num_threads()
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    wanted = getattr(cfg, "threads", 0) or 0
    if wanted:
        torch.set_num_threads(int(wanted))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(threads_before)
        torch.use_deterministic_algorithms(deterministic_before)


def run_experiment(
    name: str | None,
    preset: str | None = None,
    out: Path | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    device: str = "auto",
    resume: Path | None = None,
    quiet: bool = False,
    force: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Run an experiment end to end and return the metrics.json record.

    With `resume=RUN_DIR` the run continues in RUN_DIR with its saved config, preset and seed, and the
    experiment's `ctx.load_checkpoint()` returns the last checkpoint.
    """
    experiment, cfg, preset, seed = prepare(name, preset, seed, overrides, config_file, resume)
    device = resolve_device(device)
    dist = Distributed.from_env(device)
    device = dist.device_for(device)
    out, header = _claim_folder(experiment, cfg, preset, seed, device, out, resume, force, dist,
                                _recorded_overrides(config_file, overrides) if resume is None else None,
                                command or command_line())
    seed_everything(seed)
    ctx = RunContext(out, seed, device, preset, resuming=resume is not None, quiet=quiet, dist=dist)
    ctx.log(f"{experiment.name} ({header['label']}, seed {seed}, {dist.world_size} process"
            f"{'es' if dist.enabled else ''}) -> {out}" + (" [resuming]" if resume else ""))
    start = time.perf_counter()
    try:
        with _deterministic_threads(cfg) as threads:
            outcome = _check_outcome(experiment.name, experiment.run(offset_seeds(cfg, seed), ctx))
    except BaseException as exc:
        if ctx.writer:
            kind = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else type(exc).__name__
            atomic_write_text(out / "FAILED", f"{kind}: {exc}\n\n{traceback.format_exc()}")
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
            resume_cmd = f"paperzoo run {experiment.name} --resume {shlex.quote(str(out))}"
            raise RunInterrupted(out, resume_cmd, (out / "checkpoint.pt").is_file()) from None
        raise
    wall = time.perf_counter() - start
    record = {
        "system": experiment.system, "experiment": experiment.name, "preset": preset, "label": header["label"],
        "seed": seed, "wall_s": round(wall, 3), "threads": threads, "world_size": dist.world_size,
        "command": header["command"], "overrides": header["overrides"], "versions": versions(),
        "metrics": {k: (float(v) if isinstance(v, float) and math.isfinite(v) else v)
                    for k, v in outcome.metrics.items()},
        "claims": [c.as_dict() for c in outcome.claims],
    }
    if ctx.writer:
        _write_results(ctx, experiment, record, outcome)
        ctx.log(f"done in {wall:.1f} s: {out / 'report.md'}")
    dist.barrier()  # the other ranks wait until rank 0 has written the folder
    return dist.broadcast(json.loads((out / "metrics.json").read_text()) if ctx.writer else None)


def _claim_folder(experiment: Experiment, cfg: Any, preset: str, seed: int, device: str, out: Path | None,
                  resume: Path | None, force: bool, dist: Distributed, overrides: dict[str, Any] | None,
                  command: str) -> tuple[Path, dict[str, Any]]:
    """Rank 0 checks and creates the run folder and writes config.yaml; every rank learns the folder."""
    if resume is not None:
        saved = yaml.safe_load((Path(resume) / "config.yaml").read_text())
        overrides = saved.get("overrides") or {}
        folder, error = Path(resume), None
        header = {"experiment": experiment.name, "preset": preset, "label": saved.get("label", preset),
                  "seed": seed, "device": device, "command": saved.get("command", command), "overrides": overrides,
                  "resumed_by": command}
    else:
        folder, error = Path(out or default_out(experiment.name, preset)), None
        header = {"experiment": experiment.name, "preset": preset, "label": _label(preset, overrides or {}),
                  "seed": seed, "device": device, "command": command, "overrides": overrides or {}}
    if dist.is_main:
        try:
            if resume is None:
                check_out_dir(folder, force)
            folder.mkdir(parents=True, exist_ok=True)
            for stale in RESULT_FILES:
                (folder / stale).unlink(missing_ok=True)
            atomic_write_text(folder / "config.yaml", yaml.safe_dump(header, sort_keys=False)
                              + "config:\n" + _indent(dump_yaml(cfg)))
        except UserError as exc:
            error = str(exc)
    folder, error = dist.broadcast((str(folder), error))
    if error:
        raise UserError(error)
    return Path(folder), header


def _write_results(ctx: RunContext, experiment: Experiment, record: dict[str, Any], outcome: Outcome) -> None:
    extra = {"title": experiment.title, "paper": experiment.paper, "device": ctx.device,
             "sections": [list(s) for s in outcome.sections], "figures": ctx.figures,
             "failed_figures": ctx.failed_figures, "tables": ctx.tables,
             "warnings": [*ctx.warnings, *outcome.warnings]}
    atomic_write_json(ctx.out / "report.json", extra)
    atomic_write_text(ctx.out / "report.md", render_run_report(record, extra))
    atomic_write_json(ctx.out / "metrics.json", record)


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """metrics.json and report.json of a finished run, or a UserError saying what is wrong with them."""
    run_dir = Path(run_dir)
    metrics_file, extra_file = run_dir / "metrics.json", run_dir / "report.json"
    if not metrics_file.is_file():
        why = " (the run failed: see FAILED)" if (run_dir / "FAILED").exists() else ""
        raise UserError(f"{run_dir} holds no metrics.json{why}; point it at a finished run folder")
    try:
        record = json.loads(metrics_file.read_bytes().decode("utf-8"))
        extra = json.loads(extra_file.read_bytes().decode("utf-8")) if extra_file.is_file() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{run_dir}: metrics.json or report.json is corrupt ({exc}); re-run the experiment") from None
    needed = ("experiment", "preset", "seed", "wall_s", "metrics", "claims")
    if not isinstance(record, dict) or any(k not in record for k in needed) or not isinstance(extra, dict):
        raise UserError(f"{metrics_file} is incomplete: it needs {', '.join(needed)}; re-run the experiment")
    return record, extra


def rerender(run_dir: Path) -> Path:
    """Rebuild `report.md` of a finished run from its metrics.json and report.json."""
    record, extra = read_run(run_dir)
    try:
        text = render_run_report(record, extra)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{run_dir}: metrics.json does not have the layout paperzoo writes ({exc!r})") from None
    return atomic_write_text(Path(run_dir) / "report.md", text)


def _indent(text: str) -> str:
    return "".join("  " + line + "\n" for line in text.splitlines())
