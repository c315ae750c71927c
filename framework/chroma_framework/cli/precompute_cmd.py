"""``chroma precompute CONFIG [--engine local|ray]``: run frozen encoders once and write the embeddings parquet."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from chroma_framework.threads import add_threads_argument

if TYPE_CHECKING:
    from chroma_framework.config.schema import ChromaConfig
    from chroma_framework.data.precompute import PrecomputeResult
    from chroma_framework.data.precompute_engines import Engine

#: Changed segment ids printed per modality before "and N more".
SHOWN_IDS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "precompute",
        help="encode every segment with the frozen encoders, and prepare the inputs of the trainable ones, once",
        description="Write data.embeddings_path (frozen encoders) and data.input_cache_path (the prepared "
        "inputs of trainable encoders: piano rolls, log-mels, tokens). Modalities whose fingerprint is "
        "unchanged are reused, and only the segments whose data changed (or are new) are recomputed; an "
        "interrupted run resumes from its finished chunks, whichever engine ran it.",
    )
    parser.add_argument("config", help="path to a YAML config")
    parser.add_argument("--force", action="store_true", help="recompute every modality")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process, or data.precompute.num_workers processes; ray: Ray Data actors on a Ray "
        "cluster (the ray extra). Both write the same files",
    )
    parser.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        help="with --engine ray: the cluster to join (default: start a local Ray instance)",
    )
    parser.add_argument(
        "--num-gpus", type=float, default=0.0, metavar="N", help="with --engine ray: GPUs to use, one replica each"
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        metavar="N",
        help="encoder replicas: Ray actors with --engine ray (default: one per CPU, or per GPU), else local "
        "processes (default: data.precompute.num_workers)",
    )
    add_threads_argument(parser)
    parser.set_defaults(func=run)


def _engine(args: argparse.Namespace, config: ChromaConfig) -> Engine:
    from chroma_framework.cli import CommandError

    if args.num_workers is not None and args.num_workers < 1:
        raise CommandError(f"--num-workers must be >= 1, got {args.num_workers}")
    if args.engine == "local":
        if args.address or args.num_gpus:
            raise CommandError("--address and --num-gpus need --engine ray")
        from chroma_framework.data.precompute_engines import local_engine

        workers = args.num_workers if args.num_workers is not None else config.data.precompute.num_workers
        return local_engine(workers)
    if args.num_gpus < 0:
        raise CommandError(f"--num-gpus must be >= 0, got {args.num_gpus:g}")
    from chroma_framework.data.precompute_ray import RayOptions, ray_engine

    return ray_engine(RayOptions(args.address, args.num_workers, args.num_gpus))


def _changes(result: PrecomputeResult) -> list[str]:
    lines = []
    for modality, ids in result.changed.items():
        more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
        lines.append(
            f"{modality}: {len(ids)} segment(s) whose data changed since the last run, recomputed: "
            f"{', '.join(ids[:SHOWN_IDS])}{more}"
        )
    for modality, count in result.added.items():
        lines.append(f"{modality}: {count} new segment(s), computed")
    return lines


def run(args: argparse.Namespace) -> int:
    from chroma.plugins.errors import PluginError
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_and_validate
    from chroma_framework.data.fingerprints import trainable_sections
    from chroma_framework.data.input_cache import build_input_caches
    from chroma_framework.data.labels import LabelError
    from chroma_framework.data.memory import fix_mmap_threshold
    from chroma_framework.data.precompute import needs_embeddings, run_precompute
    from chroma_framework.threads import apply_threads, resolve_threads

    fix_mmap_threshold()
    try:
        config = load_and_validate(args.config)
        threads = resolve_threads(config.training.num_threads, args.threads)
        config = config.model_copy(update={"training": config.training.model_copy(update={"num_threads": threads})})
        apply_threads(threads)
        result = None
        if needs_embeddings(config) or not trainable_sections(config):
            result = run_precompute(
                config,
                force=args.force,
                progress=not args.no_progress,
                engine=_engine(args, config),
            )
        caches = build_input_caches(config, force=args.force, progress=not args.no_progress)
    except (ConfigError, LabelError, PluginError, FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if result is not None:
        for warning in result.warnings:
            print(f"WARNING: {warning}")
        if result.computed:
            print(f"computed: {', '.join(result.computed)}")
        for line in _changes(result):
            print(line)
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
