"""Formation of the induction head over a grid of sequence lengths T, vocabularies N and trigger counts K.

Each cell (T, N, K) trains a fresh two-layer model on its own data (same prior family, same recipe) and
reports ICL accuracy, layer-1 previous-token attention and memory recall. The training budget scales with the
cell by the rule in ``cell_steps``:

    steps(T, N, K) = steps_at_base × max(1, T / T_base) × max(1, N / N_base)^2 × max(1, K_base / K)^(1/2)

(longer sequences: more positions for layer 1 to sort out; a larger vocabulary: N² bigram entries and N
output associations to store; fewer triggers: fewer ICL positions per sequence, i.e. less signal per step).
The main model's cell (the run's T, N, K) is not retrained: the main model is that cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from paperzoo.core import param

from .data import BigramTriggerData, dirichlet_bigram
from .evaluate import accuracy_at
from .model import ModelConfig
from .probes import memory_recall, previous_token_attention
from .train import Phase, TrainConfig


@dataclass
class GridConfig:
    seq_lens: list[int] = param([64], doc="sequence lengths T of the grid")
    vocabs: list[int] = param([32], doc="vocabulary sizes N of the grid")
    triggers: list[int] = param([1, 3, 5], doc="trigger counts K of the grid")
    steps_at_base: int = param(800, ge=1, doc="training steps of a cell at T = 64, N = 32, K = 5 (then the rule)")
    max_steps: int = param(4000, ge=1, doc="cap on the steps of one cell")

    def __post_init__(self) -> None:
        for key in ("seq_lens", "vocabs", "triggers"):
            if any(v < 1 for v in getattr(self, key)):
                raise ValueError(f"grid.{key} must hold positive integers, got {getattr(self, key)}")
        if any(t < 8 for t in self.seq_lens):
            raise ValueError(f"grid.seq_lens must be >= 8, got {self.seq_lens}")
        bad = [(n, k) for n in self.vocabs for k in self.triggers if not 1 <= k < n]
        if bad:
            raise ValueError(f"grid: every trigger count K needs 1 <= K < N, got (N, K) = {bad}")


T_BASE, N_BASE, K_BASE = 64, 32, 5


def cell_steps(g: GridConfig, seq_len: int, vocab: int, n_triggers: int) -> int:
    """The scaling rule of the module doc, capped at ``g.max_steps``."""
    factor = (max(1.0, seq_len / T_BASE) * max(1.0, vocab / N_BASE) ** 2
              * math.sqrt(max(1.0, K_BASE / n_triggers)))
    return min(g.max_steps, int(round(g.steps_at_base * factor)))


def cell_key(seq_len: int, vocab: int, n_triggers: int) -> str:
    return f"T{seq_len}.N{vocab}.K{n_triggers}"


def grid_phases(g: GridConfig, data_cfg, model: ModelConfig, train: TrainConfig) -> list[Phase]:
    """A Phase per grid cell except the main model's (named ``grid.<cell_key>``)."""
    main = (data_cfg.seq_len, data_cfg.vocab, data_cfg.n_triggers)
    out = []
    for seq_len in g.seq_lens:
        for vocab in g.vocabs:
            for k in g.triggers:
                if (seq_len, vocab, k) == main and data_cfg.corpus is None:
                    continue
                pi_b = dirichlet_bigram(vocab, data_cfg.dirichlet_alpha, data_cfg.seed)
                held = min(data_cfg.n_heldout_outputs, vocab - 2)
                data = BigramTriggerData(pi_b, k, data_cfg.trigger_mode, data_cfg.output_mode, held)
                steps = cell_steps(g, seq_len, vocab, k)
                out.append(Phase(f"grid.{cell_key(seq_len, vocab, k)}", replace(model, max_len=max(model.max_len,
                                 seq_len)), replace(train, steps=steps), data, seq_len))
    return out


def grid_metrics(g: GridConfig, phases: list[Phase], models: dict, main: tuple, eval_batch: int,
                 seed: int) -> tuple[dict[str, float], list[list]]:
    """icl_acc / prev_token_attn / recall per cell (keys ``<metric>.<cell>``), the minima, and table rows."""
    by_name = {ph.name: ph for ph in phases}
    m: dict[str, float] = {}
    rows = []
    for seq_len in g.seq_lens:
        for vocab in g.vocabs:
            for k in g.triggers:
                key = cell_key(seq_len, vocab, k)
                if f"grid.{key}" in by_name:
                    ph, model = by_name[f"grid.{key}"], models[f"grid.{key}"][0]
                    data, steps = ph.data, ph.train.steps
                elif (seq_len, vocab, k) == main[:3]:
                    model, data, steps = main[3], main[4], main[5]
                else:
                    continue
                acc, maps, _ = accuracy_at(model, data, seq_len, eval_batch, seed)
                rec = memory_recall(model, seq_len)
                m[f"icl_acc.{key}"] = acc
                m[f"prev_token_attn.{key}"] = previous_token_attention(maps[0])
                for name in ("wk1", "wk2", "wo2"):
                    m[f"recall_{name}.{key}"] = rec[f"recall_{name}"]
                rows.append([seq_len, vocab, k, steps, acc, m[f"prev_token_attn.{key}"], rec["recall_wk1"],
                             rec["recall_wk2"], rec["recall_wo2"]])
    if rows:
        m["icl_acc_min_grid"] = min(r[4] for r in rows)
        m["prev_token_attn_min_grid"] = min(r[5] for r in rows)
    return m, rows


GRID_HEADERS = ["T", "N", "K", "steps", "icl_acc", "prev_token_attn", "recall_wk1", "recall_wk2", "recall_wo2"]
