"""``chroma data validate-features CONFIG``: check the declared feature streams and write the report."""

from __future__ import annotations

import argparse
import json
from typing import Any

#: Report file names inside the output directory.
REPORT_JSON = "feature_report.json"
REPORT_MARKDOWN = "feature_report.md"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validate-features`` under the ``data`` command (registered before this module)."""
    data_parser = subparsers.choices["data"]
    commands = next(a for a in data_parser._actions if isinstance(a, argparse._SubParsersAction))
    parser = commands.add_parser(
        "validate-features",
        help="check data.streams: ordering, dimensions, gaps, coverage, interpolation share",
        description="Read every stream declared in data.streams, check it per segment against the target grid "
        "and write feature_report.json and feature_report.md (to data.streams.report_dir or --out). Exit 0 when "
        "every stream is usable (warnings allowed), 2 when any has errors.",
    )
    parser.add_argument("config", help="path to a YAML config with a data.streams section")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--out", help="directory for the report instead of data.streams.report_dir")
    parser.set_defaults(func=run_validate_features)


def run_validate_features(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chroma_framework.atomic import atomic_write, write_json
    from chroma_framework.cli import CommandError
    from chroma_framework.config import load_config
    from chroma_framework.data.paths import resolve
    from chroma_framework.streams import StreamValidationError, validate_streams
    from chroma_framework.streams.sources import read_streams, report_options

    config = load_config(args.config)
    section = config.data.streams
    if section is None:
        raise CommandError(f"{args.config} declares no data.streams; nothing to validate")
    try:
        inputs = read_streams(config.data, config)
        report = validate_streams(inputs.streams(), inputs.grid, inputs.specs, report_options(section))
    except StreamValidationError as exc:
        raise CommandError(str(exc)) from None
    out = Path(args.out) if args.out else resolve(config.data, section.report_dir)
    document = report.to_json()
    write_json(out / REPORT_JSON, document)
    markdown = report.to_markdown()
    atomic_write(out / REPORT_MARKDOWN, lambda tmp: tmp.write_text(markdown))
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(_summary_lines(document))
    print(f"feature report: {out / REPORT_JSON} and {out / REPORT_MARKDOWN}")
    if not report.ok:
        bad = sum(bool(check.errors) for check in report.checks)
        raise CommandError(f"{bad} stream segment(s) have errors; see {out / REPORT_MARKDOWN}")
    return 0


def _summary_lines(document: dict[str, Any]) -> str:
    lines = [f"{len(document['missing'])} segment(s) lack at least one stream"]
    for name, row in document["summary"].items():
        coverage = "-" if row["mean_coverage"] is None else f"{row['mean_coverage']:.1%}"
        share = "-" if row["mean_interpolated_share"] is None else f"{row['mean_interpolated_share']:.1%}"
        lines.append(
            f"{name} ({row['kind']}): {row['segments']} segments, {row['missing']} missing, "
            f"{row['with_errors']} with errors, {row['with_warnings']} with warnings, coverage {coverage}, "
            f"interpolated {share}"
        )
    return "\n".join(lines)
