"""Run metrics as JSON lines (every event) and CSV (one table per event kind).

``metrics.jsonl`` gets every record; ``<kind>.csv`` (``epochs.csv``,
``steps.csv``, ``grad_norms.csv`` ...) gets the records of one kind with the
columns of the first record written (later keys outside them go to the JSONL only).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

JSONL_NAME = "metrics.jsonl"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLog:
    """Appends records to the run directory's logs.

    Args:
        run_dir: the run directory.
        resume: keep existing logs but drop records after ``keep_until_step``
            (they belong to the interrupted epoch that is re-run).
        keep_until_step: last optimiser step whose records survive a resume.
    """

    def __init__(self, run_dir: Path, resume: bool = False, keep_until_step: int | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._columns: dict[str, list[str]] = {}
        if not resume:
            for path in [self.run_dir / JSONL_NAME, *self.run_dir.glob("*.csv")]:
                path.unlink(missing_ok=True)
            return
        if keep_until_step is not None:
            self._truncate(keep_until_step)

    def _truncate(self, keep_until_step: int) -> None:
        records = read_records(self.run_dir)
        kept = [r for r in records if int(r.get("step", 0)) <= keep_until_step]
        for path in [self.run_dir / JSONL_NAME, *self.run_dir.glob("*.csv")]:
            path.unlink(missing_ok=True)
        for record in kept:
            self.write(record)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record; it must have a ``kind`` key (e.g. ``"epoch"``)."""
        kind = record["kind"]
        clean = {k: _jsonable(v) for k, v in record.items()}
        with open(self.run_dir / JSONL_NAME, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean, sort_keys=True) + "\n")
        path = self.run_dir / f"{kind}s.csv"
        if kind not in self._columns:
            if path.exists():
                with open(path, newline="", encoding="utf-8") as f:
                    self._columns[kind] = next(csv.reader(f), [])
            else:
                self._columns[kind] = [k for k in clean if k != "kind"]
                with open(path, "w", newline="", encoding="utf-8") as f:
                    csv.writer(f).writerow(self._columns[kind])
        with open(path, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, self._columns[kind], extrasaction="ignore").writerow(clean)


def read_records(run_dir: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The JSONL records of a run, optionally only those of ``kind``."""
    path = Path(run_dir) / JSONL_NAME
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if kind is None or r.get("kind") == kind]
