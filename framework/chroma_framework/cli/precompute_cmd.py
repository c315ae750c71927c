"""``chroma precompute CONFIG``: run frozen encoders once and write the embeddings parquet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "precompute",
        help="encode every segment with the frozen encoders, and prepare the inputs of the trainable ones, once",
        description="Write data.embeddings_path (frozen encoders) and data.input_cache_path (the prepared "
        "inputs of trainable encoders: piano rolls, log-mels, tokens). Modalities whose fingerprint and data "
        "are unchanged are reused; an interrupted run resumes from its finished chunks.",
    )
    parser.add_argument("config", help="path to a YAML config")
    parser.add_argument("--force", action="store_true", help="recompute every modality")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma.plugins.errors import PluginError
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_and_validate
    from chroma_framework.data.input_cache import build_input_caches
    from chroma_framework.data.labels import LabelError
    from chroma_framework.data.memory import fix_mmap_threshold
    from chroma_framework.data.precompute import needs_embeddings, run_precompute, trainable_sections

    fix_mmap_threshold()
    try:
        config = load_and_validate(args.config)
        result = None
        if needs_embeddings(config) or not trainable_sections(config):
            result = run_precompute(config, force=args.force, progress=not args.no_progress)
        caches = build_input_caches(config, force=args.force, progress=not args.no_progress)
    except (ConfigError, LabelError, PluginError, FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if result is not None:
        for warning in result.warnings:
            print(f"WARNING: {warning}")
        if result.computed:
            print(f"computed: {', '.join(result.computed)}")
        if result.reused:
            print(f"unchanged, reused: {', '.join(result.reused)}")
        print(f"embeddings: {result.path}")
    for modality, path in caches.computed.items():
        print(f"input cache ({modality}, trainable encoder): computed {path}")
    for modality, path in caches.reused.items():
        print(f"input cache ({modality}, trainable encoder): unchanged, reused {path}")
    for modality, why in caches.skipped.items():
        print(f"input cache ({modality}): not cached: {why}")
    if result is not None and result.report is not None:
        print(result.report.summary())
    return 0
