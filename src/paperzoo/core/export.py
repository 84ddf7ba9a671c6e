"""`paperzoo export RUN --csv`: every table and curve a run recorded (ctx.table) as one CSV file each."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from paperzoo.core.errors import UserError
from paperzoo.core.io import atomic_write_text
from paperzoo.core.runner import read_run


def export_csv(run_dir: Path, to: Path | None = None) -> list[Path]:
    """Write `<to>/<table>.csv` for each recorded table (default `<run>/csv/`); returns the files written."""
    record, extra = read_run(run_dir)
    tables = extra.get("tables") or {}
    if not tables:
        raise UserError(f"{run_dir} recorded no tables (a run made before `export` support, or one without "
                        "curves); re-run it to get CSV files")
    folder = Path(to) if to is not None else Path(run_dir) / "csv"
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--to {folder} is a file; give a folder")
    written = []
    for name, table in tables.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table["headers"])
        writer.writerows(table["rows"])
        written.append(atomic_write_text(folder / f"{_safe(name)}.csv", buf.getvalue()))
    metrics = io.StringIO()
    writer = csv.writer(metrics, lineterminator="\n")
    writer.writerow(["metric", "value"])
    writer.writerows(sorted(record["metrics"].items()))
    written.append(atomic_write_text(folder / "metrics.csv", metrics.getvalue()))
    return written


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "table"
