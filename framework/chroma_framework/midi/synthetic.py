"""Seeded synthetic multi-track MIDI files (chords, melody, drums) for tests, benchmarks and demo data."""

from __future__ import annotations

import numpy as np
import symusic

_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])


def synthetic_midi(
    seed: int,
    *,
    bars: int = 8,
    tracks: int = 3,
    drums: bool = True,
    qpm: float = 120.0,
    time_signature: tuple[int, int] = (4, 4),
    tpq: int = 480,
) -> bytes:
    """Write a random but musical standard MIDI file.

    Track 0 plays block chords (polyphony, held up to two beats), the other pitched
    tracks play eighth-note melodies, and an optional drum track (channel 10) plays kick,
    snare and hi-hat. Programs, key and velocities come from ``seed``. No track overlaps
    two notes of one pitch, so every MIDI reader pairs note-ons and note-offs alike.

    Returns:
        The file's bytes (format 1, ``tpq`` ticks per quarter).
    """
    rng = np.random.default_rng(seed)
    num, den = time_signature
    beat = tpq * 4 // den
    bar_len = beat * num
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, float(qpm)))
    score.time_signatures.append(symusic.TimeSignature(0, num, den))
    root = int(rng.integers(48, 60))
    for k in range(max(tracks, 1)):
        track = symusic.Track(name=f"part{k}", program=int(rng.integers(0, 96)), is_drum=False)
        for b in range(bars):
            if k == 0:
                for i in range(0, num, 2):
                    degree = int(rng.integers(0, 7))
                    chord = [root + _SCALE[(degree + s) % 7] + 12 * ((degree + s) // 7) for s in (0, 2, 4)]
                    for p in chord:
                        t = b * bar_len + i * beat
                        track.notes.append(symusic.Note(t, min(2, num - i) * beat, int(p), int(rng.integers(50, 100))))
            else:
                for i in range(num * 2):
                    if rng.random() < 0.2:
                        continue
                    p = root + 12 + _SCALE[int(rng.integers(0, 7))] + 12 * int(rng.integers(0, 2))
                    t = b * bar_len + i * beat // 2
                    track.notes.append(
                        symusic.Note(t, int(beat // 2 * rng.uniform(0.5, 1.0)), int(p), int(rng.integers(40, 120)))
                    )
        score.tracks.append(track)
    if drums:
        kit = symusic.Track(name="drums", program=0, is_drum=True)
        for b in range(bars):
            for i in range(num * 2):
                t = b * bar_len + i * beat // 2
                kit.notes.append(symusic.Note(t, beat // 4, 42, int(rng.integers(60, 90))))
                if i % 4 == 0:
                    kit.notes.append(symusic.Note(t, beat // 4, 36, 110))
                elif i % 4 == 2:
                    kit.notes.append(symusic.Note(t, beat // 4, 38, 100))
        score.tracks.append(kit)
    return bytes(score.dumps_midi())
