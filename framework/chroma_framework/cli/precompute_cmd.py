"""``chroma precompute CONFIG``: run frozen encoders once and write the embeddings parquet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "precompute",
        help="encode every segment with the frozen encoders once (cached, resumable)",
        description="Write data.embeddings_path. Modalities whose encoder fingerprint is unchanged are "
        "reused; an interrupted run resumes from its finished chunks.",
    )
    parser.add_argument("config", help="path to a YAML config")
    parser.add_argument("--force", action="store_true", help="recompute every modality")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma.plugins.errors import PluginError
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_config
    from chroma_framework.data.labels import LabelError
    from chroma_framework.data.memory import fix_mmap_threshold
    from chroma_framework.data.precompute import run_precompute

    fix_mmap_threshold()
    try:
        config = load_config(args.config)
        result = run_precompute(config, force=args.force, progress=not args.no_progress)
    except (ConfigError, LabelError, PluginError, FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if result.computed:
        print(f"computed: {', '.join(result.computed)}")
    if result.reused:
        print(f"unchanged, reused: {', '.join(result.reused)}")
    print(f"embeddings: {result.path}")
    if result.report is not None:
        print(result.report.summary())
    return 0
