"""Learning-rate schedules shared by the training loops: linear warm-up, then a decay.

    factor(s) = (s + 1) / W                                   s < W   (linear warm-up over W steps)
    factor(s) = floor + (1 − floor) · shape(p),  p = min(1, (s − W) / max(1, S − W))   otherwise

    shape(p) = ½ (1 + cos π p)        decay="cosine"
             = (1 − p)^power          decay="poly"   (power 1: linear to `floor` at step S)
             = (S − s) / max(1, S − W), clipped at 0   decay="linear"

S is the total number of optimiser steps. The factor multiplies each parameter group's base learning rate
(`torch.optim.lr_scheduler.LambdaLR(opt, schedule)`).
"""
from __future__ import annotations

import math
from collections.abc import Callable

DECAYS = ("cosine", "poly", "linear")


def warmup_decay(total: int, warmup: int, decay: str = "cosine", *, power: float = 1.0,
                 floor: float = 0.0) -> Callable[[int], float]:
    """The factor s ↦ lr(s)/lr of the formula above, for `LambdaLR`."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {', '.join(DECAYS)}, got {decay!r}")
    if total < 1 or warmup < 0:
        raise ValueError(f"need total >= 1 and warmup >= 0 steps, got total={total}, warmup={warmup}")
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor is a fraction of the base learning rate in [0, 1), got {floor}")

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if decay == "linear":
            return max(0.0, (total - step) / max(1, total - warmup))
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if decay == "cosine" else (1 - progress) ** power
        return shape if floor == 0.0 else floor + (1 - floor) * shape

    return factor
