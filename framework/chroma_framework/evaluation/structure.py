"""The structure section of ``chroma evaluate``'s report, for runs with frame heads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chroma_framework.evaluation.analysis import batch_source
from chroma_framework.scoring.run import load_run
from chroma_framework.structure.evaluation import evaluate_structure, plot_structure, report_lines


def structure_report(run_dir: Path, out: Path, split: str) -> tuple[list[str], dict[str, Any]]:
    """The report's structure section (Markdown lines) and metrics of the run in ``run_dir``; the plot goes to
    ``out``."""
    run = load_run(run_dir)
    result = evaluate_structure(run, batch_source(run), split)
    plot = plot_structure(result, out, run.config.structure.plot_tracks)
    return report_lines(result, plot), result.as_dict()
