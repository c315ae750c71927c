"""``chroma detect AUDIO --run RUN``: the sections of an audio file as JSON (boundaries, per-section energy)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chroma_framework.cli.run_errors import user_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="sections of an audio file from a run with frame heads (boundaries, energy per section) as JSON",
        description=(
            "Run RUN's boundary and energy frame heads over AUDIO, post-process (peak picking, beat snapping, "
            "minimum section length, energy smoothing as the run's structure.postprocess says) and write the "
            "sections as JSON."
        ),
    )
    parser.add_argument("audio", help="audio file (wav, flac, ogg, mp3 ...)")
    parser.add_argument("--run", required=True, help="run directory written by `chroma train` with model.frame_heads")
    parser.add_argument("--out", metavar="FILE", help="write the JSON here (atomically) instead of stdout")
    parser.add_argument("--threshold", type=float, help="override structure.postprocess.threshold")
    parser.add_argument("--no-snap", action="store_true", help="do not snap boundaries to beats")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError

    with user_errors():
        from chroma_framework.atomic import write_json
        from chroma_framework.scoring.run import load_run
        from chroma_framework.structure.detect import detect

        loaded = load_run(args.run)
        post = loaded.config.structure.postprocess
        updates: dict[str, object] = {}
        if args.threshold is not None:
            if not 0 < args.threshold < 1:
                raise CommandError(f"--threshold must be in (0, 1), got {args.threshold}")
            updates["threshold"] = args.threshold
        if args.no_snap:
            updates["snap"] = "none"
        if updates:
            structure = loaded.config.structure.model_copy(update={"postprocess": post.model_copy(update=updates)})
            loaded.config = loaded.config.model_copy(update={"structure": structure})
        if not Path(args.audio).is_file():
            raise CommandError(f"audio file {args.audio} does not exist")
        try:
            result = detect(loaded, args.audio)
        except ValueError as exc:
            raise CommandError(f"{args.audio}: {exc}") from None
        if args.out:
            write_json(Path(args.out), result)
    if args.out:
        print(f"{len(result['sections'])} sections: {args.out}")
    else:
        json.dump(result, sys.stdout, indent=2)
        print()
    return 0
