"""What an experiment's `run(config, ctx)` gets (RunContext) and returns (Outcome).

Under a launcher (torchrun, accelerate) every rank gets a RunContext, but only rank 0's writes anything:
the others log nothing, save no figures or checkpoints, and record no tables, so one run folder results.
"""

from __future__ import annotations

import io
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from paperzoo.core.claims import Claim
from paperzoo.core.data import data_root
from paperzoo.core.distributed import Distributed
from paperzoo.core.io import atomic_write_bytes
from paperzoo.core.report import md_table

T = TypeVar("T")
console = Console(stderr=True)
PROGRESS_LOG_PERCENT = 5  # without a terminal, a progress line every 5 % ...
PROGRESS_LOG_MIN_S = 2.0  # ... but not more often than every 2 s


@dataclass
class Outcome:
    """What an experiment's run returns: flat metrics, evaluated claims, extra report sections, warnings."""

    metrics: dict[str, float]
    claims: list[Claim] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class RunContext:
    """Output folder, seed, device, logging, progress, figures, tables and checkpoints of one run."""

    def __init__(self, out: Path, seed: int, device: str, preset: str, resuming: bool = False,
                 quiet: bool = False, dist: Distributed | None = None) -> None:
        self.out = out
        self.seed = seed
        self.device = device
        self.preset = preset
        self.resuming = resuming
        self.quiet = quiet
        self.dist = dist or Distributed()
        self.data_root = data_root()
        self.figures: list[dict[str, str]] = []
        self.failed_figures: list[dict[str, str]] = []
        self.tables: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self._progress: Progress | None = None
        self._progress_depth = 0

    @property
    def writer(self) -> bool:
        """Whether this process writes the run folder (rank 0, or the only process)."""
        return self.dist.is_main

    def log(self, msg: str) -> None:
        """A time-stamped line in run.log and on stderr (rank 0 only)."""
        if not self.writer:
            return
        stamp = datetime.now().strftime("%H:%M:%S")
        with open(self.out / "run.log", "a") as fh:
            fh.write(f"{stamp} {msg}\n")
        if not self.quiet:
            console.print(f"[dim]{stamp}[/dim] {escape(msg)}", highlight=False)

    def warn(self, msg: str) -> None:
        """A warning logged now and listed at the top of the report (e.g. a model that ended near chance)."""
        self.warnings.append(msg)
        self.log(f"WARNING: {msg}")

    def progress(self, iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
        """Iterate with a progress bar on a terminal; elsewhere (batch jobs) a line in run.log every few percent."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        if not self.writer:
            yield from iterable
        elif console.is_terminal and not self.quiet:
            yield from self._bar(iterable, total, desc)
        else:
            yield from self._logged(iterable, total, desc)

    def _bar(self, iterable: Iterable[T], total: int | None, desc: str) -> Iterator[T]:
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

    def _logged(self, iterable: Iterable[T], total: int | None, desc: str) -> Iterator[T]:
        start = last = time.perf_counter()
        next_pct = PROGRESS_LOG_PERCENT
        done = 0
        for item in iterable:
            yield item
            done += 1
            now = time.perf_counter()
            if total:
                pct = 100 * done / total
                if (pct >= next_pct and now - last >= PROGRESS_LOG_MIN_S) or (done == total and now - start > 1):
                    left = (now - start) / done * (total - done)
                    self.log(f"{desc or 'progress'}: {done}/{total} ({pct:.0f}%), {now - start:.0f} s elapsed, "
                             f"~{left:.0f} s left")
                    last = now
                    next_pct = (pct // PROGRESS_LOG_PERCENT + 1) * PROGRESS_LOG_PERCENT
            elif now - last >= 10 * PROGRESS_LOG_MIN_S:
                self.log(f"{desc or 'progress'}: {done} done, {now - start:.0f} s elapsed")
                last = now

    def savefig(self, fig: Any, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as `<out>/<name>.png` (atomically), close it, list it in the report."""
        import matplotlib.pyplot as plt

        file = name if name.endswith(".png") else f"{name}.png"
        if not self.writer:
            plt.close(fig)
            return self.out / file
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        path = atomic_write_bytes(self.out / file, buf.getvalue())
        self.figures = [f for f in self.figures if f["file"] != file] + [{"file": file, "caption": caption}]
        return path

    @contextmanager
    def figure(self, name: str, caption: str = "", nrows: int = 1, ncols: int = 1,
               figsize: tuple[float, float] | None = None, **kw: Any) -> Iterator[tuple[Any, Any]]:
        """Draw one figure in house style: `with ctx.figure("loss", "caption") as (fig, ax): ...`.

        Saved when the block ends. An error inside the block is logged and listed in the report ("figures
        that failed"); the run goes on, so a plotting bug never costs the metrics.
        """
        from paperzoo.core.figures import pyplot, subplots

        fig = None
        try:
            fig, axes = subplots(nrows, ncols, figsize=figsize, **kw)
            yield fig, axes
            self.savefig(fig, name, caption)
        except Exception as exc:  # noqa: BLE001 - a figure must never take the run down
            if fig is not None:
                pyplot().close(fig)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            error = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
            self.failed_figures.append({"file": f"{name}.png", "error": error})
            self.log(f"figure {name} failed: {error}")

    def table(self, name: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
        """Record a table (exported as CSV by `paperzoo export RUN --csv`) and return it as markdown."""
        if self.writer:
            self.tables[name] = {"title": title, "headers": [str(h) for h in headers],
                                 "rows": [[_plain(v) for v in row] for row in rows]}
        return md_table(headers, rows)

    def save_checkpoint(self, state: dict[str, Any]) -> Path:
        """Atomically write `<out>/checkpoint.pt` (loadable with weights_only=True); rank 0 only."""
        import torch

        path = self.out / "checkpoint.pt"
        if not self.writer:
            return path
        buf = io.BytesIO()
        torch.save(state, buf)
        return atomic_write_bytes(path, buf.getvalue())

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint if this run resumes one, else None."""
        import torch

        path = self.out / "checkpoint.pt"
        if not self.resuming or not path.is_file():
            return None
        return torch.load(path, weights_only=True)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
