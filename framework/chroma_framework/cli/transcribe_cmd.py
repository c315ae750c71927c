"""``chroma transcribe CONFIG``: MIDI from audio (basic-pitch) for segments with audio and no MIDI."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe MIDI from audio (basic-pitch, ONNX) for every segment with audio and no MIDI, cached",
        description="Write data.transcribed_midi.path: for each segment with audio and no usable MIDI, basic-pitch's "
        "transcription as MIDI bytes with its provenance, or no MIDI and the reason. Rows whose audio and "
        "settings are unchanged are reused; an interrupted run resumes from its finished chunks. Needs "
        "'chroma-framework[transcription]' and `pip install --no-deps basic-pitch==0.4.0`.",
    )
    parser.add_argument("config", help="path to a YAML config with a data.transcribed_midi section")
    parser.add_argument("--force", action="store_true", help="transcribe every segment again")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_config
    from chroma_framework.data.labels import LabelError
    from chroma_framework.data.memory import fix_mmap_threshold
    from chroma_framework.transcription.model import TranscriptionUnavailable
    from chroma_framework.transcription.run import run_transcribe

    fix_mmap_threshold()
    try:
        config = load_config(args.config)
        result = run_transcribe(config, force=args.force, progress=not args.no_progress)
    except (ConfigError, LabelError, FileNotFoundError, ValueError, TranscriptionUnavailable) as exc:
        raise CommandError(str(exc)) from None
    print(f"provenance: {result.provenance}")
    print(f"segments with audio and no MIDI: {result.ok + sum(result.absent.values())}")
    print(f"  computed now: {result.computed}, unchanged and reused: {result.reused}")
    print(f"  with transcribed MIDI: {result.ok}")
    for reason, count in result.absent.items():
        print(f"  no MIDI ({reason}): {count}")
    print(f"transcribed MIDI: {result.path}")
    return 0
