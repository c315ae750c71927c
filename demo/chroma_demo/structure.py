"""Multi-section tracks with known boundaries and energy, to train and test structure detection on.

``write_structure_dataset(out_dir)`` writes, in the two-parquet layout, one row per track:

* ``training_segments_metadata.parquet``: ``segment_id`` and ``song_id`` (the track), ``split``,
  ``has_audio``/``has_midi`` (true), ``vocals`` (false), the label column ``section_count`` (how many
  sections the track has, as text: a segment-level head the framework trains today), and the cue columns
  of :mod:`chroma_framework.cues.columns`, in seconds from the start of the track:
  ``boundary_times`` (every section start, the first at the first downbeat), ``cue_names`` (the
  section kinds), ``beat_times``, ``downbeat_times``, ``bpm``, ``first_beat``; plus
  ``section_energy`` (the planned energy of each section, in [0, 1]) and ``music_end`` (where the
  last section ends; a short release tail follows);
* ``training_segments_media.parquet``: the same columns plus ``audio_waveform`` (raw float32 PCM),
  ``audio_sample_rate`` and ``midi_binary``;
* ``structure_manifest.json``: the parameters and a summary.

A track is a chord progression in a random key and tempo, played section by section; each section
has a kind (intro, verse, build, drop, breakdown, outro) with an energy level that sets which layers
play (pad; bass from 0.3; arpeggio from 0.4; kick and hi-hat from 0.6; lead from 0.8), how many notes
per beat they play and how loud (velocity), and every section changes the pad, arpeggio and lead
instruments. Neighbouring sections differ in energy by at least :data:`MIN_STEP`, and every boundary
falls on a downbeat. The notes become MIDI with :func:`chroma_demo.render.midi_bytes` and audio with the
demo's numpy synthesizer (:func:`chroma_demo.render.synthesize`). Everything derives from the seed: the
same parameters give the same tables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chroma_demo.layout import MEDIA_NAME, METADATA_NAME, TwoParquetDataset
from chroma_demo.render import midi_bytes, synthesize
from chroma_framework.atomic import atomic_write, write_json
from chroma_framework.config.data import ColumnsSection, DataSection
from chroma_framework.cues.columns import BEAT_TIMES, BOUNDARY_TIMES, BPM, CUE_NAMES, DOWNBEAT_TIMES, FIRST_BEAT

MANIFEST_NAME = "structure_manifest.json"
#: The segment label of the data set (its classes: :meth:`StructureParams.label_classes`).
LABEL = "section_count"
SECTION_ENERGY_COLUMN = "section_energy"
MUSIC_END_COLUMN = "music_end"
#: Energy of each section kind.
KINDS = {"intro": 0.2, "verse": 0.45, "build": 0.65, "drop": 0.95, "breakdown": 0.3, "outro": 0.15}
#: Kinds a track's inner sections are drawn from (intro first and outro last).
INNER_KINDS = ("verse", "build", "drop", "breakdown")
#: Smallest energy difference between neighbouring sections.
MIN_STEP = 0.15
BEATS_PER_BAR = 4
ROW_GROUP = 16
#: General MIDI programs each layer picks from (pad, arpeggio and lead change at every section).
PADS = (48, 49, 16, 19, 52, 89)
ARPS = (0, 2, 11, 12, 24, 26)
LEADS = (56, 61, 64, 71, 73, 80)
BASSES = (33, 34, 38, 39)
KICK, HAT = 116, 9
#: Chord progressions as scale degrees (0-based) of a natural minor or major scale.
PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 4, 5, 3))
SCALES = {"minor": (0, 2, 3, 5, 7, 8, 10), "major": (0, 2, 4, 5, 7, 9, 11)}


@dataclass(frozen=True)
class StructureParams:
    """What a build depends on (all of it goes into the manifest).

    Attributes:
        tracks: tracks to write.
        seed: every draw derives from it (track ``i`` from ``(seed, i)``).
        sample_rate: rate of the rendered audio.
        bpm: lowest and highest tempo.
        sections: fewest and most sections per track (intro and outro included).
        bars: the section lengths in bars to draw from.
        tail: seconds of release after the last section.
        split: train/val/test fractions of the tracks.
    """

    tracks: int = 48
    seed: int = 0
    sample_rate: int = 16000
    bpm: tuple[float, float] = (112.0, 132.0)
    sections: tuple[int, int] = (4, 6)
    bars: tuple[int, ...] = (2, 4)
    tail: float = 1.0
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)

    def __post_init__(self) -> None:
        problems = []
        if self.tracks < 1:
            problems.append(f"tracks must be >= 1, got {self.tracks}")
        if not 1000 <= self.sample_rate <= 192_000:
            problems.append(f"sample_rate must be in 1000-192000 Hz, got {self.sample_rate}")
        if not 0 < self.bpm[0] <= self.bpm[1]:
            problems.append(f"bpm must be 0 < low <= high, got {self.bpm}")
        if not 3 <= self.sections[0] <= self.sections[1]:
            problems.append(f"sections must be 3 <= fewest <= most (intro, inner, outro), got {self.sections}")
        if not self.bars or min(self.bars) < 1:
            problems.append(f"bars must be positive bar counts, got {self.bars}")
        if self.tail < 0:
            problems.append(f"tail must be >= 0 s, got {self.tail}")
        if min(self.split) < 0 or abs(sum(self.split) - 1.0) > 1e-6:
            problems.append(f"split fractions must be >= 0 and sum to 1, got {self.split}")
        if problems:
            raise ValueError("structure data: " + "; ".join(problems))

    def label_classes(self) -> list[str]:
        """The classes of :data:`LABEL`: every section count a track may have."""
        return [str(n) for n in range(self.sections[0], self.sections[1] + 1)]


@dataclass(frozen=True)
class Section:
    """One planned section: ``kind``, ``energy`` in [0, 1], ``start``/``end`` in seconds, its instruments."""

    kind: str
    energy: float
    start: float
    end: float
    pad: int
    arp: int
    lead: int
    bass: int


@dataclass(frozen=True)
class Track:
    """One generated track: its plan, its notes (``[n, 5]`` onset s, duration s, pitch, velocity, part)
    and the General MIDI program of each part."""

    track_id: str
    bpm: float
    first_beat: float
    sections: tuple[Section, ...]
    notes: np.ndarray
    programs: tuple[int, ...]
    length: float

    @property
    def beat(self) -> float:
        return 60.0 / self.bpm

    @property
    def music_end(self) -> float:
        return self.sections[-1].end

    def beat_times(self) -> np.ndarray:
        """``[n]`` seconds of every beat from the first downbeat to the end of the last section."""
        count = int(round((self.music_end - self.first_beat) / self.beat))
        return self.first_beat + self.beat * np.arange(count)

    def downbeat_times(self) -> np.ndarray:
        return self.beat_times()[::BEATS_PER_BAR]


def _section_kinds(rng: np.random.Generator, count: int) -> list[str]:
    """Intro, ``count - 2`` inner kinds, outro: no kind twice in a row, neighbours :data:`MIN_STEP` apart."""
    while True:
        kinds = ["intro"]
        for _ in range(count - 2):
            allowed = [k for k in INNER_KINDS if abs(KINDS[k] - KINDS[kinds[-1]]) >= MIN_STEP - 1e-9]
            kinds.append(str(rng.choice(allowed)))
        if abs(KINDS[kinds[-1]] - KINDS["outro"]) >= MIN_STEP - 1e-9:
            return [*kinds, "outro"]


def _other(rng: np.random.Generator, pool: tuple[int, ...], previous: int | None) -> int:
    return int(rng.choice([p for p in pool if p != previous]))


class _Notes:
    """Collects notes, giving each General MIDI program one part."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, int, int, int]] = []
        self.programs: list[int] = []

    def add(self, program: int, onset: float, duration: float, pitch: int, velocity: float) -> None:
        if program not in self.programs:
            self.programs.append(program)
        vel = int(np.clip(round(velocity), 1, 127))
        self.rows.append((onset, duration, pitch, vel, self.programs.index(program)))

    def array(self) -> np.ndarray:
        return np.array(self.rows, dtype=np.float64).reshape(-1, 5)


def _play_section(
    notes: _Notes, section: Section, chords: list[list[int]], scale: list[int], beat: float, rng: np.random.Generator
) -> None:
    """The notes of one section; ``chords`` holds the section's bars' triads (MIDI pitches near C4)."""
    e = section.energy
    loud = 0.35 + 0.65 * e
    bars = int(round((section.end - section.start) / (beat * BEATS_PER_BAR)))
    for bar in range(bars):
        chord = chords[bar % len(chords)]
        t0 = section.start + bar * BEATS_PER_BAR * beat
        bar_len = BEATS_PER_BAR * beat
        for pitch in chord:
            notes.add(section.pad, t0, bar_len * 0.95, pitch, 70 * loud)
        if e >= 0.3:
            per_beat = 2 if e >= 0.6 else 1
            step = beat / per_beat
            for k in range(BEATS_PER_BAR * per_beat):
                notes.add(section.bass, t0 + k * step, step * 0.8, chord[0] - 24, 95 * loud)
        if e >= 0.4:
            per_beat = 4 if e >= 0.8 else 2
            step = beat / per_beat
            tones = [*chord, chord[0] + 12]
            for k in range(BEATS_PER_BAR * per_beat):
                notes.add(section.arp, t0 + k * step, step * 0.9, tones[k % len(tones)] + 12, 80 * loud)
        if e >= 0.6:
            for k in range(BEATS_PER_BAR):
                notes.add(KICK, t0 + k * beat, beat * 0.5, 36, 120 * loud)
            per_beat = 4 if e >= 0.9 else 2
            step = beat / per_beat
            for k in range(BEATS_PER_BAR * per_beat):
                notes.add(HAT, t0 + k * step, step * 0.3, 96 + (k % 2) * 4, 55 * loud)
        if e >= 0.8:
            t = t0
            while t < t0 + bar_len - 1e-9:
                length = beat * float(rng.choice([0.5, 1.0]))
                notes.add(section.lead, t, length * 0.9, int(rng.choice(scale)) + 12, 90 * loud)
                t += length


def make_track(params: StructureParams, index: int) -> Track:
    """Track ``index`` of a build with ``params`` (drawn from the generator seeded ``(seed, index)``)."""
    rng = np.random.default_rng([params.seed, index])
    bpm = round(float(rng.uniform(*params.bpm)), 2)
    beat = 60.0 / bpm
    first_beat = round(float(rng.uniform(0.0, 0.5)), 3)
    count = int(rng.integers(params.sections[0], params.sections[1] + 1))
    mode = str(rng.choice(list(SCALES)))
    root = int(rng.integers(57, 65))  # A3 .. E4
    degrees = SCALES[mode]
    scale = [root + d for d in degrees]
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    chords = [[root + degrees[(d + s) % 7] + 12 * ((d + s) // 7) for s in (0, 2, 4)] for d in progression]
    sections: list[Section] = []
    start = first_beat
    pad = arp = lead = None
    bass = int(rng.choice(BASSES))
    for kind in _section_kinds(rng, count):
        bars = int(rng.choice(params.bars))
        pad, arp, lead = _other(rng, PADS, pad), _other(rng, ARPS, arp), _other(rng, LEADS, lead)
        end = start + bars * BEATS_PER_BAR * beat
        sections.append(Section(kind, KINDS[kind], start, end, pad, arp, lead, bass))
        start = end
    notes = _Notes()
    for section in sections:
        _play_section(notes, section, chords, scale, beat, rng)
    return Track(
        f"struct{index:04d}",
        bpm,
        first_beat,
        tuple(sections),
        notes.array(),
        tuple(notes.programs),
        sections[-1].end + params.tail,
    )


def _splits(params: StructureParams) -> list[str]:
    """Track splits: a seeded permutation filled train, val, test to the fractions."""
    n = params.tracks
    order = np.random.default_rng([params.seed, n, 7]).permutation(n)
    bounds = np.round(np.cumsum(params.split[:2]) * n).astype(int)
    names = np.empty(n, dtype=object)
    names[order] = np.array(["train", "val", "test"], dtype=object)[np.searchsorted(bounds, np.arange(n), "right")]
    return [str(s) for s in names]


@dataclass
class StructureDataset(TwoParquetDataset):
    """A written structure data set: where its files are, and what it holds."""

    params: StructureParams
    summary: dict[str, Any]

    def data_section(self) -> DataSection:
        """A ``data:`` section reading this data set (the ``section_count`` head, its classes in order)."""
        return self.section(
            labels=[LABEL],
            label_classes={LABEL: self.params.label_classes()},
        )


def _metadata_columns(tracks: list[Track], splits: list[str]) -> dict[str, Any]:
    import pyarrow as pa

    cols = ColumnsSection()
    times = pa.list_(pa.float64())
    return {
        cols.segment_id: pa.array([t.track_id for t in tracks], pa.string()),
        cols.song: pa.array([t.track_id for t in tracks], pa.string()),
        cols.split: pa.array(splits, pa.string()),
        cols.has_audio: pa.array([True] * len(tracks), pa.bool_()),
        cols.has_midi: pa.array([True] * len(tracks), pa.bool_()),
        cols.vocals: pa.array([False] * len(tracks), pa.bool_()),
        cols.lyric_text: pa.array([None] * len(tracks), pa.string()),
        LABEL: pa.array([str(len(t.sections)) for t in tracks], pa.string()),
        BOUNDARY_TIMES: pa.array([[s.start for s in t.sections] for t in tracks], times),
        CUE_NAMES: pa.array([[s.kind for s in t.sections] for t in tracks], pa.list_(pa.string())),
        SECTION_ENERGY_COLUMN: pa.array([[s.energy for s in t.sections] for t in tracks], times),
        BEAT_TIMES: pa.array([t.beat_times().tolist() for t in tracks], times),
        DOWNBEAT_TIMES: pa.array([t.downbeat_times().tolist() for t in tracks], times),
        BPM: pa.array([t.bpm for t in tracks], pa.float64()),
        FIRST_BEAT: pa.array([t.first_beat for t in tracks], pa.float64()),
        MUSIC_END_COLUMN: pa.array([t.music_end for t in tracks], pa.float64()),
    }


def write_structure_dataset(
    out_dir: str | Path, params: StructureParams | None = None, *, progress: bool = True
) -> StructureDataset:
    """Generate, render and write the structure data set (see the module doc) into ``out_dir``.

    Each file is written atomically; files of an earlier build in ``out_dir`` are replaced.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    params = params or StructureParams()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    tracks = [make_track(params, i) for i in range(params.tracks)]
    splits = _splits(params)
    meta = pa.table(_metadata_columns(tracks, splits))
    cols = ColumnsSection()
    waves, midis = [], []
    for track in tqdm(tracks, desc="structure data: rendering", unit="track", disable=not progress):
        waves.append(synthesize(track.notes, track.programs, params.sample_rate, track.length).astype("<f4").tobytes())
        midis.append(midi_bytes(track.notes, track.programs))
    media = (
        meta.append_column(cols.audio_waveform, pa.array(waves, pa.binary()))
        .append_column(cols.audio_sample_rate, pa.array([params.sample_rate] * len(tracks), pa.int32()))
        .append_column(cols.midi_binary, pa.array(midis, pa.binary()))
    )
    atomic_write(root / METADATA_NAME, lambda tmp: pq.write_table(meta, tmp))
    atomic_write(root / MEDIA_NAME, lambda tmp: pq.write_table(media, tmp, row_group_size=ROW_GROUP))
    summary = {
        "tracks": len(tracks),
        "splits": dict(Counter(splits)),
        "classes": dict(Counter(str(len(t.sections)) for t in tracks)),
        "sections": sum(len(t.sections) for t in tracks),
        "seconds": round(sum(t.length for t in tracks), 1),
        "notes": int(sum(len(t.notes) for t in tracks)),
    }
    write_json(root / MANIFEST_NAME, {"params": asdict(params), "summary": summary})
    return StructureDataset(root, params, summary)
