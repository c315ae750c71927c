"""``chroma evaluate RUN [--baseline RUN]``: metrics, missing-modality analyses and a report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chroma_framework.cli.run_errors import user_errors
from chroma_framework.threads import add_threads_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a run: per-head metrics, missing-modality matrix, baseline gain, Markdown + PNG report",
        description="Evaluate RUN on its test split and write RUN/report/ (report.md, metrics.json, plots).",
    )
    parser.add_argument("run", help="run directory written by `chroma train`")
    parser.add_argument("--baseline", metavar="RUN", help="run to compare against (e.g. the text-only baseline)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split to evaluate")
    parser.add_argument("--out", metavar="DIR", help="report directory (default: RUN/report)")
    add_threads_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError

    with user_errors():
        from chroma_framework.evaluation.analysis import evaluate
        from chroma_framework.evaluation.report import write_report
        from chroma_framework.scoring.run import load_run
        from chroma_framework.threads import apply_threads, resolve_threads
        from chroma_framework.training.run_dir import REPORT_DIR

        loaded = load_run(args.run)
        apply_threads(resolve_threads(loaded.config.training.num_threads, args.threads))
        baseline = load_run(args.baseline) if args.baseline else None
        try:
            result = evaluate(loaded, args.split, baseline)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = Path(args.out) if args.out else loaded.path / REPORT_DIR
        report = write_report(result, loaded.path, out, loaded.header)
    print(f"{args.split} rows: {result.n_rows}")
    for head, m in result.overall.items():
        line = f"  {head}: accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f}"
        if result.baseline:
            gain = result.baseline["heads"][head]
            line += f"  (vs baseline: {gain['accuracy_gain']:+.3f} accuracy, {gain['macro_f1_gain']:+.3f} macro-F1)"
        print(line)
    from chroma_framework.structure.evaluation import summary_lines

    for line in summary_lines(json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))):
        print(line)
    print(f"report: {report}")
    return 0
