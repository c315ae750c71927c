"""MIDI preprocessing and encoder throughput on a few hundred real MIDI files.

Corpus: seeded synthetic multi-track songs (chords, melodies, drums; several meters and
tempi) plus Bach chorales from music21's bundled corpus written out as MIDI (cached).

Prints files/s for
  * parse only: symusic (``parse_midi``) vs pretty_midi,
  * parse + piano roll: ``parse_midi`` + batched ``piano_roll`` vs a plain pretty_midi
    ``get_piano_roll`` loop producing the same 256 frames of 100 ms,
  * parse + piano roll against symusic plus a vectorised numpy roll (``Score.from_midi(...).to("second")``,
    ``np.repeat`` + ``np.maximum.at``; the same three channels, 64 files a batch): CPU seconds, the best of
    ``--repeats`` interleaved runs after one warm-up run of each, and the ratio (target >= 1.0x),
  * parse + tokenise: ``parse_midi`` + ``MidiTokenizer`` vs miditok MIDILike from bytes,
and segments/s of each MIDI encoder plugin (default config, CPU, eval, batch 32).

Usage: python benchmarks/midi_speed.py [--synthetic 300] [--chorales 60] [--cache DIR] [--threads 1] [--repeats 7]
       [--reference-only]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from chroma.midi.pianoroll import piano_roll
from chroma.midi.tokenize import MidiTokenizer, Vocabulary
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

STEPS, RESOLUTION = 256, 0.1
WINDOW = STEPS * RESOLUTION


def corpus(n_synthetic: int, n_chorales: int, cache: Path) -> list[bytes]:
    """Synthetic songs plus cached music21 chorales as MIDI bytes."""
    meters = ((4, 4), (3, 4), (6, 8), (5, 4))
    files = [
        synthetic_midi(
            seed, bars=16 + seed % 49, tracks=2 + seed % 3, qpm=70 + seed % 90, time_signature=meters[seed % 4]
        )
        for seed in range(n_synthetic)
    ]
    if n_chorales:
        import music21

        cache.mkdir(parents=True, exist_ok=True)
        for path in music21.corpus.getComposer("bach")[:n_chorales]:
            out = cache / f"{path.stem}.mid"
            if not out.exists():
                music21.converter.parse(path).write("midi", fp=str(out))
            files.append(out.read_bytes())
    return files


def symusic_numpy_rolls(files: list[bytes]) -> np.ndarray:
    """The reference: symusic seconds and a numpy roll, ``[N, 3, 128, STEPS]`` (notes, drums, onsets)."""
    import symusic

    rolls = np.zeros((len(files), 3, 128, STEPS), np.float32)
    for b, data in enumerate(files):
        for track in symusic.Score.from_midi(data).to("second").tracks:
            notes = track.notes.numpy()
            keep = notes["time"] < WINDOW
            if not keep.any():
                continue
            onset = notes["time"][keep].astype(np.float64)
            end = np.minimum(onset + notes["duration"][keep], WINDOW)
            pitch, value = notes["pitch"][keep].astype(np.int64), notes["velocity"][keep] / np.float32(127)
            first = np.floor(onset / RESOLUTION).astype(np.int64)
            last = np.maximum(np.ceil(end / RESOLUTION - 1e-9).astype(np.int64), first + 1)
            counts = last - first
            note = np.repeat(np.arange(counts.size), counts)
            frame = first[note] + np.arange(note.size) - np.repeat(np.cumsum(counts) - counts, counts)
            np.maximum.at(rolls[b, int(track.is_drum)], (pitch[note], frame), value[note])
            if not track.is_drum:
                np.maximum.at(rolls[b, 2], (pitch, first), value)
    return rolls


def interleaved_cpu_seconds(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best CPU seconds of each function over ``repeats`` interleaved runs, after one warm-up run of each."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def chroma_rolls(files: list[bytes]) -> None:
    """``parse_midi`` + ``events_to_batch`` + ``piano_roll`` (notes, drums, onsets), 64 files a batch."""
    for lo in range(0, len(files), 64):
        rows = [parse_midi(d, end=WINDOW) for d in files[lo : lo + 64]]
        piano_roll(events_to_batch(rows, WINDOW, 4096)[0], steps=STEPS, resolution=RESOLUTION, onsets=True)


def compare_with_symusic_numpy(files: list[bytes], repeats: int) -> None:
    print(f"\n-- parse + piano roll vs symusic + numpy (CPU s, best of {repeats} interleaved, 64/batch)")

    def reference() -> None:
        for lo in range(0, len(files), 64):
            symusic_numpy_rolls(files[lo : lo + 64])

    best = interleaved_cpu_seconds({"reference": reference, "chroma": lambda: chroma_rolls(files)}, repeats)
    ref_rate = rate("symusic .to('second') + numpy np.maximum.at roll", len(files), best["reference"])
    ours_rate = rate("chroma parse_midi + batched piano_roll", len(files), best["chroma"])
    print(f"{'ratio chroma / symusic + numpy (target >= 1.0)':58s} {ours_rate / ref_rate:10.2f} x")


def rate(label: str, n: int, seconds: float, unit: str = "files/s") -> float:
    value = n / seconds
    print(f"{label:58s} {value:10.1f} {unit}")
    return value


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=300)
    parser.add_argument("--chorales", type=int, default=60)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/chroma_midi_bench"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (DataLoader workers use 1)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved runs against symusic + numpy")
    parser.add_argument("--reference-only", action="store_true", help="only the comparison with symusic + numpy")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import miditok
    import pretty_midi
    import symusic

    files = corpus(args.synthetic, args.chorales, args.cache)
    notes = sum(len(parse_midi(f)) for f in files)
    print(f"corpus: {len(files)} files, {notes} notes, torch threads {torch.get_num_threads()}")
    if args.reference_only:
        compare_with_symusic_numpy(files, args.repeats)
        return

    rejected: list[str] = []

    def pm_parse() -> None:
        for data in files:
            try:
                pretty_midi.PrettyMIDI(io.BytesIO(data))
            except (ValueError, EOFError, OSError) as exc:
                rejected.append(str(exc)[:60])

    def pm_roll() -> None:
        times = np.arange(STEPS) * RESOLUTION
        for data in files:
            try:
                pretty_midi.PrettyMIDI(io.BytesIO(data)).get_piano_roll(fs=1 / RESOLUTION, times=times)
            except (ValueError, EOFError, OSError):
                pass

    def ours_parse() -> None:
        for data in files:
            parse_midi(data)

    def ours_roll() -> None:
        chroma_rolls(files)

    tokenizer = MidiTokenizer(Vocabulary())

    def ours_tokens() -> None:
        for data in files:
            tokenizer.encode(parse_midi(data, end=WINDOW))

    midilike = miditok.MIDILike(miditok.TokenizerConfig(use_programs=True))

    def miditok_tokens() -> None:
        for data in files:
            midilike.encode(symusic.Score.from_midi(data))

    print("\n-- parsing")
    t_pm_parse = timed(pm_parse)
    rate("pretty_midi PrettyMIDI(bytes)", len(files), t_pm_parse)
    if rejected:
        print(f"   pretty_midi rejected {len(rejected)} files, e.g. {rejected[0]!r}")
    rate("chroma parse_midi (symusic)", len(files), timed(ours_parse))
    print("\n-- parse + piano roll (256 x 100 ms)")
    base = rate("pretty_midi parse + get_piano_roll loop", len(files), timed(pm_roll))
    ours = rate("chroma parse_midi + batched piano_roll (64/batch)", len(files), timed(ours_roll))
    print(f"{'speed-up':58s} {ours / base:10.1f} x")

    compare_with_symusic_numpy(files, args.repeats)
    print("\n-- parse + tokenise")
    mt = rate("miditok MIDILike(use_programs) from bytes (whole file)", len(files), timed(miditok_tokens))
    tok = rate("chroma parse_midi + MidiTokenizer (25.6 s window)", len(files), timed(ours_tokens))
    print(f"{'speed-up vs the pretty_midi piano-roll loop':58s} {tok / base:10.1f} x")
    print(f"{'speed-up vs miditok':58s} {tok / mt:10.1f} x")

    print("\n-- encoders, default configs, eval, batch 32 of 10 s windows")
    rows = [parse_midi(d, end=10.0) for d in files[:32]]
    batch = events_to_batch(rows, 10.0, 1024)[0]
    print(f"   events per segment: mean {batch.lengths.float().mean():.0f}, max {int(batch.lengths.max())}")
    from chroma.plugins.registry import get_registry

    registry = get_registry()
    for name in ("piano_roll", "event_based", "music_transformer"):
        encoder = registry.build_encoder("midi_encoder", name).eval()
        with torch.no_grad():
            encoder(batch)
            seconds = timed(lambda enc=encoder: [enc(batch) for _ in range(2)])
        rate(f"{name}", 2 * len(rows), seconds, "segments/s")


if __name__ == "__main__":
    main()
