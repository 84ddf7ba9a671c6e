"""Task samplers behind one interface (jiant-style): `sampler.next() -> task name`, one task per step.

With N_t training examples of task t and T tasks:

    proportional   p_t = N_t / sum_j N_j
    uniform        p_t = 1 / T
    temperature    p_t = N_t^(1/temp) / sum_j N_j^(1/temp)           (T5-style mixing; temp = 1: proportional)
    annealed       p_t = N_t^a / sum_j N_j^a,  a = 1 - 0.8 f        (Stickland & Murray 2019; f = step/(steps-1))
    explicit       p_t given (normalised to sum 1)
"""

from __future__ import annotations

import numpy as np


class TaskSampler:
    """Draws one task per step from `probabilities(step)` with a seeded generator (proportional by default)."""

    name = "proportional"

    def __init__(self, tasks: list[str], sizes: list[int], seed: int = 0, total_steps: int = 1) -> None:
        if not tasks or len(tasks) != len(sizes):
            raise ValueError(f"need one size per task, got {len(tasks)} tasks and {len(sizes)} sizes")
        if min(sizes) < 1:
            raise ValueError(f"every task needs at least one training example, got sizes {sizes}")
        self.tasks = list(tasks)
        self.sizes = np.asarray(sizes, dtype=float)
        self.total_steps = max(1, int(total_steps))
        self.step = 0
        self.rng = np.random.default_rng(seed)

    def probabilities(self, step: int) -> np.ndarray:
        return self.sizes / self.sizes.sum()

    def next(self) -> str:
        p = self.probabilities(self.step)
        self.step += 1
        return self.tasks[int(self.rng.choice(len(self.tasks), p=p))]


class UniformSampler(TaskSampler):
    name = "uniform"

    def probabilities(self, step: int) -> np.ndarray:
        return np.full(len(self.tasks), 1.0 / len(self.tasks))


class TemperatureSampler(TaskSampler):
    name = "temperature"

    def __init__(self, tasks: list[str], sizes: list[int], seed: int = 0, total_steps: int = 1,
                 temperature: float = 2.0) -> None:
        super().__init__(tasks, sizes, seed, total_steps)
        if temperature <= 0:
            raise ValueError(f"sampler temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def probabilities(self, step: int) -> np.ndarray:
        p = self.sizes ** (1.0 / self.temperature)
        return p / p.sum()


class AnnealedSampler(TaskSampler):
    name = "annealed"

    def exponent(self, step: int) -> float:
        f = min(step, self.total_steps - 1) / max(1, self.total_steps - 1)
        return 1.0 - 0.8 * f

    def probabilities(self, step: int) -> np.ndarray:
        p = self.sizes ** self.exponent(step)
        return p / p.sum()


class ExplicitSampler(TaskSampler):
    name = "explicit"

    def __init__(self, tasks: list[str], sizes: list[int], seed: int = 0, total_steps: int = 1,
                 probabilities: list[float] | None = None) -> None:
        super().__init__(tasks, sizes, seed, total_steps)
        p = np.asarray(probabilities if probabilities is not None else [], dtype=float)
        if p.shape != (len(tasks),) or (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"explicit sampler needs {len(tasks)} non-negative probabilities with a positive "
                             f"sum, got {list(p)}")
        self.p = p / p.sum()

    def probabilities(self, step: int) -> np.ndarray:
        return self.p


SAMPLERS = {c.name: c for c in (TaskSampler, UniformSampler, TemperatureSampler, AnnealedSampler, ExplicitSampler)}


def make_sampler(kind: str, tasks: list[str], sizes: list[int], seed: int = 0, total_steps: int = 1,
                 temperature: float = 2.0, probabilities: list[float] | None = None) -> TaskSampler:
    """The sampler `kind` (one of SAMPLERS) over `tasks` with training-set sizes `sizes`."""
    if kind not in SAMPLERS:
        raise ValueError(f"unknown sampler {kind!r}; valid: {', '.join(SAMPLERS)}")
    if kind == "temperature":
        return TemperatureSampler(tasks, sizes, seed, total_steps, temperature)
    if kind == "explicit":
        return ExplicitSampler(tasks, sizes, seed, total_steps, probabilities)
    return SAMPLERS[kind](tasks, sizes, seed, total_steps)
