"""Which teacher layer each student layer imitates.

Uniform map (no divisibility requirement): student layer i (0-based) <-> teacher layer round((i+1)·L_T/L_S) − 1,
so the last student layer always matches the last teacher layer. With embeddings mapped as layer 0, index 0
is the embedding output and block k is index k+1 on both sides (``hidden_states`` convention).
"""

from __future__ import annotations

from typing import Literal

MapKind = Literal["uniform", "last", "explicit"]


def uniform_map(n_student: int, n_teacher: int) -> list[int]:
    """Teacher block index for each student block: round((i+1)·L_T/L_S) − 1 (round half up)."""
    if n_student < 1 or n_teacher < 1:
        raise ValueError(f"layer counts must be >= 1, got student={n_student}, teacher={n_teacher}")
    if n_student > n_teacher:
        raise ValueError(f"student has more layers ({n_student}) than the teacher ({n_teacher})")
    return [int((i + 1) * n_teacher / n_student + 0.5) - 1 for i in range(n_student)]


def layer_map(kind: MapKind, n_student: int, n_teacher: int, explicit: list[int] | None = None,
              embeddings: bool = False) -> list[tuple[int, int]]:
    """(student, teacher) pairs in ``hidden_states`` numbering when ``embeddings`` (0 = embeddings),
    otherwise in block numbering (0 = first block)."""
    if kind == "uniform":
        pairs = list(enumerate(uniform_map(n_student, n_teacher)))
    elif kind == "last":
        pairs = [(n_student - 1, n_teacher - 1)]
    elif kind == "explicit":
        if explicit is None or len(explicit) != n_student:
            raise ValueError(f"explicit layer map needs {n_student} teacher indices, got {explicit}")
        if any(not 0 <= t < n_teacher for t in explicit):
            raise ValueError(f"explicit teacher indices must be in [0, {n_teacher}), got {explicit}")
        pairs = list(enumerate(explicit))
    else:
        raise ValueError(f"unknown layer map {kind!r}; valid: uniform, last, explicit")
    if embeddings:
        pairs = [(0, 0)] + [(s + 1, t + 1) for s, t in pairs]
    return pairs
