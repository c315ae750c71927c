"""MIDI preprocessing and encoder throughput on a few hundred real MIDI files.

Corpus: seeded synthetic multi-track songs (chords, melodies, drums; several meters and
tempi) plus Bach chorales from music21's bundled corpus written out as MIDI (cached).

Prints files/s for
  * parse only: symusic (``parse_midi``) vs pretty_midi,
  * parse + piano roll: ``parse_midi`` + batched ``piano_roll`` vs a plain pretty_midi
    ``get_piano_roll`` loop producing the same 256 frames of 100 ms,
  * parse + tokenise: ``parse_midi`` + ``MidiTokenizer`` vs miditok MIDILike from bytes,
and segments/s of each MIDI encoder plugin (default config, CPU, eval, batch 32).

Usage: python benchmarks/midi_speed.py [--synthetic 300] [--chorales 60] [--cache DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import time
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import miditok
    import pretty_midi
    import symusic

    files = corpus(args.synthetic, args.chorales, args.cache)
    notes = sum(len(parse_midi(f)) for f in files)
    print(f"corpus: {len(files)} files, {notes} notes, torch threads {torch.get_num_threads()}")

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
        for lo in range(0, len(files), 64):
            rows = [parse_midi(d, end=WINDOW) for d in files[lo : lo + 64]]
            piano_roll(events_to_batch(rows, WINDOW, 4096)[0], steps=STEPS, resolution=RESOLUTION, onsets=True)

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
