"""The audit's tables as CSV (every row) and Markdown (a summary and the top rows), written atomically."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from chroma_framework.atomic import atomic_write
from chroma_framework.audit.beat_grid import GridCheck, OffGridCue
from chroma_framework.audit.issues import LabelIssue
from chroma_framework.audit.out_of_fold import OutOfFold, out_of_fold_arrays

ISSUES_CSV = "label_issues.csv"
#: The out-of-fold probabilities and every source of evidence (:func:`~chroma_framework.audit.out_of_fold.
#: load_out_of_fold` reads it), to compare rankings without retraining.
OUT_OF_FOLD_NPZ = "out_of_fold.npz"
OFF_GRID_CSV = "off_grid_cues.csv"
REPORT_MD = "label_audit.md"


@dataclass
class LabelAudit:
    """Everything ``chroma labels audit`` found.

    Attributes:
        oof: the out-of-fold predictions the issues come from.
        issues: likely mislabelled segments, least believable first.
        grid: the beat-grid pre-filter's outcome.
        tolerance_ms: the pre-filter's tolerance.
    """

    oof: OutOfFold
    issues: list[LabelIssue]
    grid: GridCheck
    tolerance_ms: float


def _cell(value: Any) -> Any:
    return f"{value:.4f}" if isinstance(value, float) else value


def _csv(header: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def _markdown_escape(value: Any) -> str:
    return str(_cell(value)).replace("|", "\\|").replace("\n", " ")


def _markdown(header: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_markdown_escape(v) for v in row) + " |" for row in rows]
    return lines


def _issue_rows(issues: Sequence[LabelIssue]) -> tuple[list[str], list[tuple[Any, ...]]]:
    header = ["rank", *(f.name for f in fields(LabelIssue))]
    return header, [(rank, *astuple(issue)) for rank, issue in enumerate(issues, start=1)]


def _cue_rows(cues: Sequence[OffGridCue]) -> tuple[list[str], list[tuple[Any, ...]]]:
    return [f.name for f in fields(OffGridCue)], [astuple(c) for c in cues]


def summary_lines(audit: LabelAudit) -> list[str]:
    """Per head: segments, classes, out-of-fold accuracy (of each source, on the rows it covers, when there are
    several) and issues found; then the pre-filter's counts."""
    oof = audit.oof
    folds = int(oof.folds.max()) + 1
    lines = [f"{len(oof)} segments, {folds} folds"]
    for head, classes in oof.classes.items():
        found = sum(1 for i in audit.issues if i.head == head)
        per_source = ", ".join(
            f"{name} {float((p[head].argmax(axis=1) == oof.labels[head])[oof.covered[name]].mean()):.3f}"
            for name, p in oof.sources.items()
            if oof.covered[name].any()
        )
        lines.append(
            f"{head}: {len(classes)} classes, out-of-fold accuracy {oof.accuracy(head):.3f}"
            + (f" ({per_source})" if len(oof.sources) > 1 else "")
            + f", {found} likely mislabelled ({found / len(oof):.1%})"
        )
    grid = audit.grid
    if grid.skipped:
        lines.append(f"beat-grid pre-filter skipped: {grid.skipped}")
    else:
        lines.append(
            f"beat-grid pre-filter: {len(grid.off_grid)} of {grid.checked_cues} cues in {grid.checked_segments} "
            f"segments are more than {audit.tolerance_ms:g} ms off the grid"
        )
    return lines


def write_audit(audit: LabelAudit, out_dir: str | Path, top: int = 50) -> list[Path]:
    """Write :data:`ISSUES_CSV`, :data:`OFF_GRID_CSV` (when the pre-filter ran), :data:`REPORT_MD` and
    :data:`OUT_OF_FOLD_NPZ`.

    Args:
        audit: what to write.
        out_dir: the directory (created).
        top: rows of each table in the Markdown report (the CSV files hold all).

    Returns:
        the written paths.
    """
    out = Path(out_dir)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        path = out / name
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        written.append(path)

    issue_header, issue_rows = _issue_rows(audit.issues)
    put(ISSUES_CSV, _csv(issue_header, issue_rows))
    md = ["# Label audit", "", *(f"- {line}" for line in summary_lines(audit)), ""]
    md += [f"## Likely mislabelled segments (top {min(top, len(issue_rows))} of {len(issue_rows)})", ""]
    md += [*_markdown(issue_header, issue_rows[:top]), "", f"All of them: `{ISSUES_CSV}`."]
    if not audit.grid.skipped:
        cue_header, cue_rows = _cue_rows(audit.grid.off_grid)
        put(OFF_GRID_CSV, _csv(cue_header, cue_rows))
        md += ["", f"## Cue points off the beat grid by more than {audit.tolerance_ms:g} ms", ""]
        md += [*_markdown(cue_header, cue_rows[:top]), "", f"All of them: `{OFF_GRID_CSV}`."]
    put(REPORT_MD, "\n".join(md) + "\n")
    npz = out / OUT_OF_FOLD_NPZ
    arrays = out_of_fold_arrays(audit.oof)

    def save(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    atomic_write(npz, save)
    written.append(npz)
    return written
