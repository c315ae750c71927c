"""Which pieces of music21's bundled corpus the demo uses, and how one is read into notes.

Each :class:`Album` (stored in the ``rainbow_color`` column) is one corpus collection
of a single texture: Bach chorales (four-part vocal, German text), Monteverdi
madrigals (five-part vocal, Italian text), Trecento songs and mass movements (two-
to four-part vocal, Italian/Latin text), Palestrina masses (polyphony whose score
carries no text), fiddle tunes from Ryan's Mammoth Collection (one melodic line)
and string quartet / chamber movements (Beethoven, Haydn, Mozart). The works are
found at run time with :func:`music21.corpus.getPaths`, so the selection follows the
installed music21.

:func:`load_piece` parses one file and returns a :class:`Piece`: every sounding
note in seconds, the barlines, the sung syllables and the General MIDI program of
each part. Quarter lengths become seconds through the score's own metronome marks;
unmarked passages are played at :data:`DEFAULT_QPM`.
"""

from __future__ import annotations

import fnmatch
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Quarter notes per minute where a score has no metronome mark.
DEFAULT_QPM = 100.0
#: Marked tempi are clamped into this range (a few scores carry implausible marks).
QPM_RANGE = (40.0, 220.0)
#: Velocity of notes whose score gives none.
DEFAULT_VELOCITY = 80
#: Columns of :attr:`Piece.notes`.
NOTE_COLUMNS = ("onset", "duration", "pitch", "velocity", "part")


@dataclass(frozen=True)
class Album:
    """One corpus collection.

    Attributes:
        name: value of the album column.
        patterns: ``fnmatch`` patterns over corpus-relative paths.
        share: fraction of the demo's segments taken from this album.
        program: General MIDI program of parts whose score names no instrument.
        max_segments_per_song: cap per piece, so an album spans many pieces.
    """

    name: str
    patterns: tuple[str, ...]
    share: float
    program: int
    max_segments_per_song: int


#: General MIDI programs used as album defaults.
CHOIR_AAHS, VOICE_OOHS, VIOLIN = 52, 53, 40

ALBUMS: tuple[Album, ...] = (
    Album("chorales", ("bach/bwv*.mxl",), 0.40, CHOIR_AAHS, 4),
    Album(
        "madrigals",
        ("monteverdi/madrigal.[0-9].[0-9].mxl", "monteverdi/madrigal.[0-9].[0-9][0-9].mxl"),
        0.20,
        VOICE_OOHS,
        6,
    ),
    Album("trecento", ("trecento/*.xml",), 0.14, VOICE_OOHS, 5),
    Album("masses", ("palestrina/*.krn",), 0.08, CHOIR_AAHS, 4),
    Album("fiddle_tunes", ("ryansMammoth/*.abc",), 0.10, VIOLIN, 3),
    Album(
        "chamber",
        ("beethoven/opus*/movement*.mxl", "haydn/opus*/movement*.mxl", "mozart/k*/movement*.mxl"),
        0.08,
        VIOLIN,
        8,
    ),
)


@dataclass
class Piece:
    """One parsed score.

    Attributes:
        path: corpus-relative path (provenance; never stored in the parquet files).
        album: :attr:`Album.name`.
        notes: ``[N, 5]`` float64 rows of :data:`NOTE_COLUMNS`, times in seconds, sorted by onset.
        programs: General MIDI program of each part (``notes[:, 4]`` indexes it).
        bars: ``[M]`` float64 start time in seconds of every measure of the first part.
        lyrics: ``(onset seconds, part, text, syllabic)`` of every first-verse syllable.
    """

    path: str
    album: str
    notes: np.ndarray
    programs: tuple[int, ...]
    bars: np.ndarray
    lyrics: list[tuple[float, int, str, str]]

    @property
    def vocals(self) -> bool:
        """Whether the score carries sung text."""
        return bool(self.lyrics)


def corpus_root() -> Path:
    """Directory of music21's bundled corpus."""
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent


def album_works(album: Album, seed: int) -> list[str]:
    """Corpus-relative paths matching ``album``, shuffled deterministically by ``seed``.

    Raises:
        LookupError: the installed music21 ships no work for the album.
    """
    from music21 import corpus

    root = corpus_root()
    rel = sorted(Path(p).resolve().relative_to(root).as_posix() for p in corpus.getPaths())
    works = [p for p in rel if any(fnmatch.fnmatchcase(p, pat) for pat in album.patterns)]
    if not works:
        raise LookupError(
            f"demo album {album.name!r}: music21's corpus at {root} has no file matching {', '.join(album.patterns)}"
        )
    random.Random(f"{seed}:{album.name}").shuffle(works)
    return works


def _seconds_map(score: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Piecewise-constant tempo as ``(start_ql [K], start_seconds [K], seconds_per_ql [K])``."""
    from music21 import tempo

    found = list(score.recurse().getElementsByClass(tempo.MetronomeMark))  # type: ignore[attr-defined]
    if found:
        ids = {id(m) for m in found}
        spans = []
        for start, _end, mark in score.metronomeMarkBoundaries():  # type: ignore[attr-defined]
            qpm = mark.getQuarterBPM() if id(mark) in ids else None
            spans.append((float(start), float(np.clip(qpm or DEFAULT_QPM, *QPM_RANGE))))
    else:
        spans = [(0.0, DEFAULT_QPM)]
    starts = np.array([s for s, _ in spans])
    sec_per_ql = 60.0 / np.array([q for _, q in spans])
    start_sec = np.concatenate([[0.0], np.cumsum(np.diff(starts) * sec_per_ql[:-1])])
    return starts, start_sec, sec_per_ql


def _to_seconds(ql: np.ndarray, tempo_map: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    starts, start_sec, sec_per_ql = tempo_map
    k = np.clip(np.searchsorted(starts, ql, side="right") - 1, 0, len(starts) - 1)
    return start_sec[k] + (ql - starts[k]) * sec_per_ql[k]


def _part_notes(part: object) -> tuple[list[tuple[float, float, int, int]], list[tuple[float, str, str]]]:
    """Tie-merged ``(onset ql, duration ql, pitch, velocity)`` and first-verse syllables of one part."""
    rows: list[list[float]] = []
    open_ties: dict[int, int] = {}
    syllables: list[tuple[float, str, str]] = []
    for element in part.flatten().notes:  # type: ignore[attr-defined]
        length = float(element.quarterLength)
        if length <= 0:  # grace notes have no notated duration
            continue
        onset = float(element.offset)
        members = element.notes if element.isChord else [element]
        velocity = element.volume.velocity or DEFAULT_VELOCITY
        for member in members:
            pitch = int(round(member.pitch.ps))
            tie = member.tie.type if member.tie is not None else None
            if tie in ("continue", "stop") and pitch in open_ties:
                rows[open_ties[pitch]][1] = onset + length - rows[open_ties[pitch]][0]
                if tie == "stop":
                    del open_ties[pitch]
                continue
            rows.append([onset, length, pitch, velocity])
            if tie == "start":
                open_ties[pitch] = len(rows) - 1
        if element.lyrics:
            lyric = next((ly for ly in element.lyrics if ly.number == 1), element.lyrics[0])
            if lyric.text and lyric.text.strip():
                syllables.append((onset, lyric.text.strip(), lyric.syllabic or "single"))
    return [tuple(r) for r in rows], syllables  # type: ignore[misc]


def load_piece(path: str, album: Album) -> Piece:
    """Parse corpus-relative ``path`` into a :class:`Piece` (the first tune of a multi-tune file).

    Raises:
        ValueError: the file holds no pitched note (message names the file).
    """
    from music21 import converter, stream

    with warnings.catch_warnings():
        # music21 warns about the corpus's own engraving slips (e.g. an overfull bar it
        # then repairs); they say nothing the user can act on and would break the progress bar
        warnings.simplefilter("ignore")
        parsed = converter.parse(corpus_root() / path, forceSource=True)
    score = parsed.scores[0] if isinstance(parsed, stream.Opus) else parsed
    parts = list(score.parts) or [score]
    tempo_map = _seconds_map(score)
    notes: list[tuple[float, float, float, float, float]] = []
    lyrics: list[tuple[float, int, str, str]] = []
    programs: list[int] = []
    for index, part in enumerate(parts):
        instrument = part.getInstrument(returnDefault=False)
        program = getattr(instrument, "midiProgram", None)
        programs.append(int(program) if program is not None else album.program)
        rows, syllables = _part_notes(part)
        for onset, length, pitch, velocity in rows:
            notes.append((onset, onset + length, pitch, velocity, index))
        lyrics.extend((onset, index, text, syllabic) for onset, text, syllabic in syllables)
    if not notes:
        raise ValueError(f"demo corpus file {path!r} holds no pitched note")
    table = np.array(notes, dtype=np.float64)
    onset_s = _to_seconds(table[:, 0], tempo_map)
    table[:, 1] = _to_seconds(table[:, 1], tempo_map) - onset_s
    table[:, 0] = onset_s
    table = table[np.lexsort((table[:, 2], table[:, 0]))]
    measures = parts[0].getElementsByClass(stream.Measure)
    bars = _to_seconds(np.array([float(m.offset) for m in measures], dtype=np.float64), tempo_map)
    lyric_times = _to_seconds(np.array([ly[0] for ly in lyrics], dtype=np.float64), tempo_map)
    timed = [(float(t), part, text, syl) for t, (_, part, text, syl) in zip(lyric_times, lyrics)]
    timed.sort(key=lambda ly: (ly[1], ly[0]))
    return Piece(path, album.name, table, tuple(programs), bars, timed)
