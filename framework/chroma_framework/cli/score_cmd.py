"""``chroma score --run RUN song.mid [--audio song.wav] [--lyrics TEXT|FILE] [--json]``.

A MIDI file longer than the run's segments is scored window by window and the probabilities averaged
(``--windows first`` scores its start only); the output says which windows were scored (text: a
``windows:`` line; ``--json``: a ``"windows"`` entry beside the heads).

Given a folder instead of one MIDI file, every ``*.mid``/``*.midi`` in it is scored;
``--audio`` may then be a folder too, matched to the MIDI files by file stem. A file of a folder that
cannot be scored is reported (name and reason, also in ``--json`` as ``{"error": reason}``) and the others
are scored; the exit status is 0 when any input was scored and 2 when none was.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from chroma_framework.cli.run_errors import user_errors
from chroma_framework.threads import add_threads_argument

MIDI_SUFFIXES = (".mid", ".midi")

#: ``{input: {head: {class: probability}}}``, or ``{input: {"error": reason}}`` for an input that was not scored.
Scores = dict[str, Any]
#: The key a long MIDI file's window report takes beside its heads in ``--json``.
WINDOWS_KEY = "windows"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score MIDI (and optionally audio and lyrics) with a trained run",
        description="Print class probabilities per head for a MIDI file, or for every MIDI file of a folder.",
    )
    parser.add_argument("--run", required=True, metavar="RUN", help="run directory written by `chroma train`")
    parser.add_argument("midi", nargs="?", help="a .mid file or a folder of them")
    parser.add_argument(
        "--audio", metavar="PATH", help="an audio file (or, with a MIDI folder, a folder matched by stem)"
    )
    parser.add_argument("--lyrics", metavar="TEXT|FILE", help="lyric text, or a file holding it")
    parser.add_argument(
        "--streams",
        metavar="NPZ",
        help="feature streams of the segment, for a run trained with data.streams: an NPZ file with "
        "<stream>_times [N] and <stream>_values [N, D] arrays per stream (a stream left out is missing)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print JSON {input: {head: {class: probability}}} ({input: {"error": reason}} when not scored; '
        'a long MIDI adds "windows": {aggregate, window_seconds, total, scored, without_notes})',
    )
    parser.add_argument(
        "--windows",
        choices=("mean", "first"),
        default="mean",
        help="a MIDI file longer than the run's segments: average the probabilities of every window with notes "
        "(mean, the default) or score its first window only (first)",
    )
    add_threads_argument(parser)
    parser.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path | None, Path | None]]:
    """``(name, midi path, audio path)`` per segment to score."""
    from chroma_framework.cli import CommandError

    midi = Path(args.midi) if args.midi else None
    audio = Path(args.audio) if args.audio else None
    for path, what in ((midi, "MIDI"), (audio, "audio")):
        if path is not None and not path.exists():
            raise CommandError(f"{what} input {path} does not exist")
    if midi is not None and midi.is_dir():
        files = sorted(p for p in midi.iterdir() if p.suffix.lower() in MIDI_SUFFIXES)
        if not files:
            raise CommandError(f"folder {midi} holds no {'/'.join(MIDI_SUFFIXES)} files")
        if audio is not None and not audio.is_dir():
            raise CommandError("with a MIDI folder, --audio must be a folder of audio files matched by file stem")
        by_stem = {p.stem: p for p in audio.iterdir() if p.is_file()} if audio is not None else {}
        return [(str(f), f, by_stem.get(f.stem)) for f in files]
    if midi is not None and midi.suffix.lower() not in MIDI_SUFFIXES:
        raise CommandError(f"{midi} is not a MIDI file (expected {', '.join(MIDI_SUFFIXES)} or a folder)")
    if audio is not None and audio.is_dir():
        raise CommandError("--audio is a folder; give a MIDI folder to score a batch")
    if midi is None and audio is None and args.lyrics is None and args.streams is None:
        raise CommandError("nothing to score: give a MIDI file or folder, --audio, --lyrics or --streams")
    return [(str(midi or audio or ("lyrics" if args.lyrics is not None else args.streams)), midi, audio)]


def _streams(path: str | None, inputs: int) -> dict[str, Any] | None:
    """The ``--streams`` file's ``{stream: (times, values)}`` (one scored segment only)."""
    from chroma_framework.cli import CommandError
    from chroma_framework.streams.model_inputs import read_streams_npz
    from chroma_framework.streams.spec import StreamValidationError

    if path is None:
        return None
    if inputs != 1:
        raise CommandError("--streams holds the streams of one segment; score a single MIDI file with it")
    if not Path(path).is_file():
        raise CommandError(f"--streams file {path} does not exist")
    try:
        return dict(read_streams_npz(Path(path)))
    except StreamValidationError as exc:
        raise CommandError(f"--streams: {exc}") from None


def _check_finite(scores: Scores, run: str) -> None:
    """Refuse NaN/inf probabilities (a diverged model), which would print as ``nan`` or bare ``NaN`` JSON."""
    from chroma_framework.cli import CommandError

    for name, heads in scores.items():
        for head, probs in heads.items():
            if not all(math.isfinite(p) for p in probs.values()):
                raise CommandError(
                    f"run {run} gives non-finite probabilities for {name} (head {head!r}): its model diverged; "
                    f"retrain it with a lower training.learning_rate"
                )


def _score_each(
    loaded: Any, items: list[tuple[str, Path | None, Path | None]], lyrics: str | None, windows: str
) -> Scores:
    """Scores of every input, or ``{"error": reason}`` for one that cannot be scored (the others still are)."""
    from chroma_framework.cli.run_errors import is_user_error

    out: Scores = {}
    for name, midi, audio in items:
        try:
            out[name] = loaded.score(midi=midi, audio=audio, lyrics=lyrics, windows=windows)
        except Exception as exc:
            if not is_user_error(exc):
                raise
            out[name] = {"error": str(exc)}
    return out


def _with_windows(heads: Any) -> dict[str, Any]:
    """``heads`` for ``--json``, with the window report of a long MIDI file under :data:`WINDOWS_KEY`."""
    report = getattr(heads, "windows", None)
    return {**heads, WINDOWS_KEY: report.to_dict()} if report is not None else dict(heads)


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when at least one input was scored; 2 (with ``chroma: error``) when none was."""
    with user_errors():
        from chroma_framework.scoring.run import load_run
        from chroma_framework.threads import apply_threads, resolve_threads

        items = _inputs(args)
        lyrics = args.lyrics
        if lyrics is not None and Path(lyrics).is_file():
            lyrics = Path(lyrics).read_text(encoding="utf-8")
        loaded = load_run(args.run)
        apply_threads(resolve_threads(loaded.config.training.num_threads, args.threads))
        streams = _streams(args.streams, len(items))
        if len(items) == 1:  # one input: its error is the command's error
            name, midi, audio = items[0]
            scores: Scores = {
                name: loaded.score(midi=midi, audio=audio, lyrics=lyrics, streams=streams, windows=args.windows)
            }
        else:
            scores = _score_each(loaded, items, lyrics, args.windows)
        _check_finite({name: heads for name, heads in scores.items() if "error" not in heads}, args.run)
    failed = [name for name, heads in scores.items() if "error" in heads]
    if args.json:
        print(json.dumps({name: _with_windows(heads) for name, heads in scores.items()}, indent=2))
    else:
        for name, heads in scores.items():
            print(name)
            if "error" in heads:
                print(f"  not scored: {heads['error']}")
                continue
            if getattr(heads, "windows", None) is not None:
                print(f"  windows: {heads.windows.summary()}")
            for head, probs in heads.items():
                best = max(probs, key=lambda c: probs[c])
                detail = ", ".join(f"{c} {p:.3f}" for c, p in probs.items())
                print(f"  {head}: {best}  ({detail})")
    if failed:
        scored = len(scores) - len(failed)
        if not scored:
            print(f"chroma: error: none of the {len(scores)} inputs could be scored (reasons above)", file=sys.stderr)
            return 2
        print(
            f"chroma: warning: {len(failed)} of {len(scores)} inputs could not be scored: {', '.join(failed)}",
            file=sys.stderr,
        )
    return 0
