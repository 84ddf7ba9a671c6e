"""The ten systems, and the experiments that the implemented ones register."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperzoo.core.errors import UserError

SYSTEMS: dict[str, tuple[str, str]] = {
    "distill": ("2412.19449", "LLM knowledge distillation with feature, attention and output alignment"),
    "multitask": ("2412.06249", "multi-task LLM: shared encoder, task heads, loss balancing"),
    "signprod": ("2412.16944", "sign language production gloss->pose (LVMCN: CSA + MSC)"),
    "fedga": ("2412.16582", "federated learning with gradient alignment for class imbalance"),
    "induction": ("2412.11459", "induction heads vs bigram knowledge in a two-layer transformer"),
    "wsss": ("2412.11076", "weakly supervised segmentation, MoRe attention regularisation"),
    "deid": ("2412.10804", "medical-aware face de-identification and its benchmark"),
    "nlhall": ("2412.09298", "nonlinear Hall effect: Berry curvature dipole and friends"),
    "amr": ("2412.08251", "RF modulation recognition with spectral parameter estimation + LSTM"),
    "vlngen": ("2412.06413", "world-consistent panorama data generation for VLN"),
}

PRESETS = ("smoke", "quick", "full")


@dataclass
class Experiment:
    """One runnable experiment: a typed config with presets and a `run(config, ctx) -> Outcome`."""

    name: str
    paper: str
    title: str
    config: type
    run: Callable[[Any, Any], Any]
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return self.name.split(".")[0]

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"experiment {self.name!r}: system must be one of {sorted(SYSTEMS)}")
        unknown = set(self.presets) - set(PRESETS)
        if unknown:
            raise ValueError(f"experiment {self.name!r}: unknown presets {sorted(unknown)}; valid: {PRESETS}")


_EXPERIMENTS: dict[str, Experiment] = {}
_discovered = False


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (called at import of `paperzoo.<system>.experiment`)."""
    _EXPERIMENTS[experiment.name] = experiment
    return experiment


PACKAGE_DIR = Path(__file__).resolve().parents[1]


def system_has_module(system: str, module: str) -> bool:
    """Whether `paperzoo/<system>/<module>.py` exists, without importing the system (it may load torch)."""
    return (PACKAGE_DIR / system / "__init__.py").is_file() and (PACKAGE_DIR / system / f"{module}.py").is_file()


def discover() -> dict[str, Experiment]:
    """Import every `paperzoo.<system>.experiment` that exists; return all registered experiments."""
    global _discovered
    if not _discovered:
        for system in SYSTEMS:
            if system_has_module(system, "experiment"):
                importlib.import_module(f"paperzoo.{system}.experiment")
        _discovered = True
    return dict(_EXPERIMENTS)


def implemented_systems() -> list[str]:
    experiments = discover()
    return [s for s in SYSTEMS if any(e.system == s for e in experiments.values())]


def get_experiment(name: str) -> Experiment:
    """Look up an experiment by name, with an error that lists the valid ones."""
    experiments = discover()
    if name in experiments:
        return experiments[name]
    valid = ", ".join(sorted(experiments)) or "(none implemented yet)"
    if name in SYSTEMS:
        raise UserError(f"system {name!r} is not implemented yet; implemented experiments: {valid}")
    from paperzoo.core.config import did_you_mean

    raise UserError(f"unknown system {name!r}{did_you_mean(name, sorted(experiments))}; valid experiments: {valid}")
