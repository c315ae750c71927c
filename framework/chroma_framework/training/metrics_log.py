"""Run metrics as JSON lines (every event) and CSV (one table per event kind).

``metrics.jsonl`` gets every record; ``<kind>.csv`` (``epochs.csv``,
``steps.csv``, ``grad_norms.csv`` ...) gets the records of one kind with the
columns of the first record written (later keys outside them go to the JSONL only).
Writes only append, each record whole or not at all (a full disk never leaves half a line); a
resume drops the records of the interrupted epoch by replacing each file atomically with its kept
lines (a kill at any point leaves every earlier record), and a torn last line (a kill mid-append)
is dropped with a warning.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from functools import partial
from pathlib import Path
from typing import Any

from chroma_framework.atomic import append_whole, atomic_write
from chroma_framework.training.run_dir import RunError

logger = logging.getLogger(__name__)

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
        """Atomically replace each log with its records up to ``keep_until_step`` (CSV columns kept as they are).

        Records written at the first step of the interrupted epoch (``grad_norm``, ``warning``: logged before
        the step counter moves) share the last kept step; they go too, by their epoch number being past the
        last ``epoch`` record kept.
        """
        kept = [r for r in read_records(self.run_dir) if int(r.get("step", 0)) <= keep_until_step]
        done = max((int(r.get("epoch", 0)) for r in kept if r.get("kind") == "epoch"), default=0)
        kept = [r for r in kept if int(r.get("epoch", 0)) <= done]
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write(self.run_dir / JSONL_NAME, partial(_write_text, lines))
        for path in self.run_dir.glob("*.csv"):
            text = path.read_text(encoding="utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            if not rows:
                continue
            header, body = rows[0], rows[1:]
            if body and not text.endswith("\n"):
                body = body[:-1]  # torn by a kill mid-append
            step = header.index("step") if "step" in header else None
            epoch = header.index("epoch") if "epoch" in header else None
            body = [
                r
                for r in body
                if len(r) == len(header)
                and (step is None or _step(r[step]) <= keep_until_step)
                and (epoch is None or _step(r[epoch]) <= done)
            ]
            out = io.StringIO()
            csv.writer(out).writerows([header, *body])
            atomic_write(path, partial(_write_text, out.getvalue()))

    def write(self, record: dict[str, Any]) -> None:
        """Append one record; it must have a ``kind`` key (e.g. ``"epoch"``)."""
        kind = record["kind"]
        clean = {k: _jsonable(v) for k, v in record.items()}
        append_whole(self.run_dir / JSONL_NAME, (json.dumps(clean, sort_keys=True) + "\n").encode())
        path = self.run_dir / f"{kind}s.csv"
        row = io.StringIO()
        if kind not in self._columns:
            if path.exists():
                with open(path, newline="", encoding="utf-8") as f:
                    self._columns[kind] = next(csv.reader(f), [])
            if not self._columns.get(kind):
                self._columns[kind] = [k for k in clean if k != "kind"]
                csv.writer(row).writerow(self._columns[kind])
        csv.DictWriter(row, self._columns[kind], extrasaction="ignore").writerow(clean)
        append_whole(path, row.getvalue().encode())


def _write_text(text: str, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _step(value: str) -> float:
    """A CSV ``step`` or ``epoch`` cell as a number (an empty cell counts as 0)."""
    return float(value) if value else 0.0


def read_records(run_dir: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The JSONL records of a run, optionally only those of ``kind``; a torn last line is dropped with a warning.

    Raises:
        RunError: a line other than the last is not JSON (the file was damaged, not just interrupted).
    """
    path = Path(run_dir) / JSONL_NAME
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise RunError(
                    f"{path} line {number} is not a JSON record ({error}); the metrics log is damaged"
                ) from None
            logger.warning("%s: dropped a torn last line (the run was interrupted while writing it)", path)
    return [r for r in records if kind is None or r.get("kind") == kind]
