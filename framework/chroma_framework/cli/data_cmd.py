"""``chroma data inspect CONFIG`` and ``chroma data synth OUT_DIR``."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="inspect a dataset or write the synthetic one")
    commands = parser.add_subparsers(dest="data_command", required=True)
    inspect = commands.add_parser(
        "inspect",
        help="coverage per modality, label and album; absent-modality reasons; alignment flags",
        description="Decode every segment once and print coverage and problems; the data report "
        "(JSON, every absent segment by reason) goes to data.report_path or --report.",
    )
    inspect.add_argument("config", help="path to a YAML config")
    inspect.add_argument("--report", help="write the data report JSON here instead of data.report_path")
    inspect.add_argument("--json", action="store_true", help="print the full result as JSON")
    inspect.add_argument("--batch-size", type=int, default=32)
    inspect.set_defaults(func=run_inspect)
    synth = commands.add_parser("synth", help="write the small deterministic synthetic dataset")
    synth.add_argument("out_dir")
    synth.add_argument("--segments", type=int, default=120)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--duration", type=float, default=1.0, help="seconds per segment")
    synth.add_argument(
        "--lyric-embedding-dim",
        type=int,
        default=None,
        help="also write a precomputed lyric_embedding column of this width",
    )
    synth.set_defaults(func=run_synth)


def run_inspect(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_config, plugin_registry
    from chroma_framework.data.inspect import format_inspect, inspect_data
    from chroma_framework.data.labels import LabelError
    from chroma_framework.data.paths import resolve

    try:
        config = load_config(args.config)
        plugin_registry(config)  # CHROMA_STRICT_PLUGINS=1: stop on a broken plugin the config does not disable
        result = inspect_data(config, batch_size=args.batch_size)
    except (ConfigError, LabelError, FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    path = result.report.write_json(args.report or resolve(config.data, config.data.report_path))
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_inspect(result))
    print(f"data report: {path}")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError
    from chroma_framework.data.synthetic import write_synthetic

    if args.segments < 1:
        raise CommandError("--segments must be at least 1")
    ds = write_synthetic(
        args.out_dir,
        n_segments=args.segments,
        seed=args.seed,
        duration=args.duration,
        lyric_embedding_dim=args.lyric_embedding_dim,
    )
    print(f"wrote {ds.n_segments} segments: {ds.metadata_path} and {ds.media_path}")
    return 0
