"""``chroma demo``: the framework's whole job on real music, with no data of your own.

``chroma demo build-data`` only builds (or reuses) the demo data set; ``chroma demo build-structure DIR``
writes the structure data set (:mod:`chroma_demo.structure`); ``chroma demo build-streams [DIR]`` writes
per-frame feature streams of a built demo (:mod:`chroma_demo.streams`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chroma_demo.build import DemoDataset

DEFAULT_OUT = "chroma-demo"


def _add_build_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The build options; ``suppress`` (on ``build-data``) keeps values given before the stage name."""
    from chroma_demo.build import SYNTHS, DemoParams

    defaults = DemoParams()

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--out", default=default(DEFAULT_OUT), help=f"output directory (default: ./{DEFAULT_OUT})")
    parser.add_argument(
        "--segments",
        type=int,
        default=default(defaults.max_segments),
        help=f"segments to build (default: {defaults.max_segments})",
    )
    parser.add_argument("--seed", type=int, default=default(defaults.seed), help="seed of the build (default: 0)")
    parser.add_argument(
        "--synth",
        choices=SYNTHS,
        default=default(defaults.synth),
        help="audio renderer; auto uses FluidSynth when it and a GM soundfont are installed (default: auto)",
    )
    parser.add_argument("--workers", type=int, default=default(None), help="processes (default: up to 2)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        default=default(False),
        help="rebuild the data even when a matching build exists",
    )
    parser.add_argument("--no-progress", action="store_true", default=default(False), help="hide progress bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build demo data from music21's corpus, then precompute, train, evaluate and score",
        description="Build the demo data set from real scores bundled with music21 (cached), then run the "
        "whole pipeline on it and print the text-only vs fused comparison.",
    )
    _add_build_options(parser)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the demo config's)")
    parser.add_argument(
        "--audio-encoder",
        choices=("audio_features", "musicnn"),
        default="audio_features",
        help="audio encoder: classic features, or the pretrained musicnn tagger (MTT, pools layer; needs "
        "chroma-audio-musicnn and musicnn's checkpoint files) (default: audio_features)",
    )
    parser.set_defaults(func=run_all)
    stages = parser.add_subparsers(dest="demo_stage")
    build = stages.add_parser("build-data", help="only build (or reuse) the demo data set")
    _add_build_options(build, suppress=True)
    build.set_defaults(func=run_build)
    structure = stages.add_parser(
        "build-structure",
        help="write multi-section tracks with known boundaries, beat grids and energy (structure detection)",
        description="Generate tracks whose sections change instrumentation, note density and loudness, render "
        "them with the demo's synthesizer, and write them with their section boundaries, beat grid and BPM as "
        "metadata columns in the two-parquet layout.",
    )
    structure.add_argument("out_dir", help="output directory")
    structure.add_argument("--tracks", type=int, default=48, help="tracks to write (default: 48)")
    structure.add_argument("--seed", type=int, default=0, help="seed of the build (default: 0)")
    structure.add_argument("--sample-rate", type=int, default=16000, help="audio sample rate (default: 16000)")
    structure.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    structure.set_defaults(func=run_build_structure)
    streams = stages.add_parser(
        "build-streams",
        help="write per-frame audio RMS and log-mel streams of a built demo as side files, and their config",
        description="Derive per-frame audio RMS (0.1 s) and 16-band log-mel vectors (0.08 s) from a built demo's "
        "audio, write them as NPZ side files with DIR/demo_streams.yaml (the demo config reading them in the "
        "audio slot through stream_projection) and DIR/example_streams.npz for `chroma score --streams`.",
    )
    streams.add_argument(
        "out_dir", nargs="?", default=DEFAULT_OUT, help=f"the demo's directory (default: ./{DEFAULT_OUT})"
    )
    streams.set_defaults(func=run_build_streams)


def _build(args: argparse.Namespace) -> DemoDataset:
    from chroma_demo.build import DemoParams, build_demo_dataset, describe
    from chroma_framework.cli import CommandError

    try:
        params = DemoParams(max_segments=args.segments, seed=args.seed, synth=args.synth)
        print(f"[demo] data: building {params.max_segments} segments in {Path(args.out).resolve()}", flush=True)
        dataset = build_demo_dataset(
            args.out, params, workers=args.workers, progress=not args.no_progress, force=args.rebuild
        )
    except ModuleNotFoundError as exc:
        raise CommandError(f"{exc}; the demo needs: pip install 'chroma-core[demo]'") from None
    except (LookupError, ValueError, RuntimeError) as exc:
        raise CommandError(str(exc)) from None
    how = "reused the existing build" if dataset.reused else f"built in {dataset.summary['build_seconds']:.0f} s"
    print(f"[demo] data: {how} ({dataset.summary['synth']} synthesizer)", flush=True)
    for line in describe(dataset.summary):
        print(f"[demo]   {line}", flush=True)
    print(f"[demo] data: {dataset.metadata_path}", flush=True)
    print(f"[demo] data: {dataset.media_path}", flush=True)
    return dataset


def run_build(args: argparse.Namespace) -> int:
    _build(args)
    return 0


def run_build_structure(args: argparse.Namespace) -> int:
    from chroma_demo.structure import StructureParams, write_structure_dataset
    from chroma_framework.cli import CommandError

    try:
        params = StructureParams(tracks=args.tracks, seed=args.seed, sample_rate=args.sample_rate)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    dataset = write_structure_dataset(args.out_dir, params, progress=not args.no_progress)
    summary = dataset.summary
    print(
        f"[demo] structure: {summary['tracks']} tracks, {summary['sections']} sections, {summary['seconds']:.0f} s "
        f"of audio; splits {summary['splits']}",
        flush=True,
    )
    print(f"[demo] structure: {dataset.metadata_path}", flush=True)
    print(f"[demo] structure: {dataset.media_path}", flush=True)
    return 0


def run_build_streams(args: argparse.Namespace) -> int:
    from chroma_demo.streams import write_demo_streams
    from chroma_framework.cli import CommandError

    try:
        written = write_demo_streams(args.out_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    for name, path in written.files.items():
        print(f"[demo] streams: {name}: {written.segments[name]} segments -> {path}", flush=True)
    print(f"[demo] streams: example segment {written.example_segment} -> {written.example}", flush=True)
    print(f"[demo] streams: config {written.config}", flush=True)
    return 0


def run_all(args: argparse.Namespace) -> int:
    from chroma_framework.cli.run_errors import user_errors

    began = time.perf_counter()
    dataset = _build(args)
    with user_errors():
        from chroma_demo.config import DEMO_EPOCHS
        from chroma_demo.pipeline import run_pipeline

        epochs = DEMO_EPOCHS if args.epochs is None else args.epochs
        run_pipeline(
            dataset, Path(args.out), progress=not args.no_progress, epochs=epochs, audio_encoder=args.audio_encoder
        )
    print(f"[demo] finished in {time.perf_counter() - began:.0f} s", flush=True)
    return 0
