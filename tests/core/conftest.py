"""A toy experiment registered in place of the real registry, so core tests run in milliseconds."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pytest

from paperzoo.core import Claim, Outcome, RunContext, param, registry


@dataclass
class ToyTrain:
    steps: int = 3
    lr: float = param(0.1, gt=0, doc="learning rate")
    alphas: tuple[float, ...] = param((0.1, 1.0), gt=0, nonempty=True, doc="Dirichlet alphas")


@dataclass
class ToyConfig:
    train: ToyTrain = field(default_factory=ToyTrain)
    mode: Literal["paper", "aligned"] = "paper"
    note: str | None = None
    fail: bool = False
    interrupt: bool = False
    broken_figure: bool = False

    def __post_init__(self) -> None:
        if self.train.steps < 1:
            raise ValueError(f"train.steps must be >= 1, got {self.train.steps}")


def toy_run(cfg: ToyConfig, ctx: RunContext) -> Outcome:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = 0.0
    for _ in ctx.progress(range(cfg.train.steps), desc="toy"):
        total += float(np.random.rand()) + random.random()
        if cfg.fail:
            raise RuntimeError("toy failure")
        if cfg.interrupt:
            raise KeyboardInterrupt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, total])
    ctx.savefig(fig, "curve", caption="a line")
    with ctx.figure("bars", "a bar chart") as (_fig, ax):
        ax.bar([0, 1], [1, total])
        if cfg.broken_figure:
            raise ValueError("bad data for the bar chart")
    table = ctx.table("per_step", ["step", "value"], [[i, i * total] for i in range(cfg.train.steps)])
    return Outcome(
        metrics={"total": total, "steps": cfg.train.steps},
        claims=[Claim("total is positive", total > 0, f"total={total:.3f}")],
        sections=[("Extra", "some text"), ("Per step", table)],
    )


@pytest.fixture
def toy_registry(monkeypatch):
    experiments = {
        "multitask.toy": registry.Experiment(
            name="multitask.toy", paper="0000.00000", title="toy", config=ToyConfig, run=toy_run,
            presets={"smoke": {"train.steps": 2}, "quick": {}, "full": {"train.steps": 10}},
        )
    }
    monkeypatch.setattr(registry, "_EXPERIMENTS", experiments)
    monkeypatch.setattr(registry, "_discovered", True)
    return experiments
