"""Build the demo data set once, and reuse it afterwards.

``build_demo_dataset(out_dir)`` writes, in the user's two-file layout,

* ``training_segments_metadata.parquet``: one row per segment with ``segment_id``,
  ``song_id``, ``rainbow_color`` (the album), ``segment_index``, ``lyric_text``,
  ``vocals``, ``has_audio``, ``has_midi``, ``segment_audio_file``, ``midi_file``, the
  SMPTE audio and MIDI windows of the segment in its piece, ``split`` and the three
  label columns;
* ``training_segments_media.parquet``: the same columns plus ``audio_waveform``
  (raw little-endian float32 PCM), ``audio_sample_rate`` (int32) and ``midi_binary``
  (a standard MIDI file), in row groups of :data:`ROW_GROUP` rows;
* ``audio/*.wav`` (16-bit PCM) and ``midi/*.mid`` for the segments whose media are kept on disk only;
* ``demo_manifest.json``: builder version, parameters, music21 version, SHA-256 of
  every written file, a summary (counts, modality rates, class balance) and the
  corpus file of each ``song_id``.

A second call with the same parameters finds the manifest, checks the hashes and
returns the existing files without rebuilding. Files are written to a staging
directory and moved into place, the manifest last, so an interrupted build is
never mistaken for a finished one.

Scores are parsed and segments rendered in a process pool; results are consumed in
submission order, so the output does not depend on scheduling.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chroma_demo.assign import assign_presence, assign_splits
from chroma_demo.corpus import ALBUMS, Album, album_works, load_piece
from chroma_demo.labels import LABEL_CLASSES, NoteStats, assign_labels, note_stats
from chroma_demo.layout import MEDIA_NAME, METADATA_NAME, TwoParquetDataset
from chroma_demo.lyrics import segment_lyrics
from chroma_demo.render import fluidsynth_available, midi_bytes, render_fluidsynth, synthesize
from chroma_demo.segment import cut, windows
from chroma_framework.atomic import write_json
from chroma_framework.config.data import AlignmentSection, ColumnsSection, DataSection

#: Bump when the output for the same parameters changes.
BUILDER_VERSION = 1
MANIFEST_NAME = "demo_manifest.json"
ROW_GROUP = 32
#: Segments rendered per worker task (one FluidSynth run each).
RENDER_GROUP = 24
SYNTHS = ("auto", "numpy", "fluidsynth")


@dataclass(frozen=True)
class DemoParams:
    """What a build depends on (all of it goes into the manifest).

    Attributes:
        max_segments: segments to build at most, shared among the albums by :attr:`Album.share`; an album whose
            corpus holds fewer windows gives what it has (the default 2400 builds 2208: madrigals run out).
        seed: seeds work order, presence draws and splits.
        segment_seconds: length of every segment.
        sample_rate: rate of the rendered audio (16 kHz keeps the demo small; the data
            layer resamples to each encoder's rate).
        synth: ``numpy``, ``fluidsynth``, or ``auto`` (FluidSynth when installed).
        midi_present, audio_absent, disk_fraction: see :mod:`chroma_demo.assign`.
        split: train/val/test fractions of each album's songs.
        works: explicit ``(album name, corpus path)`` pieces instead of the album shares.
    """

    max_segments: int = 2400
    seed: int = 0
    segment_seconds: float = 10.0
    sample_rate: int = 16000
    synth: str = "auto"
    midi_present: float = 0.43
    audio_absent: float = 0.15
    disk_fraction: float = 0.1
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    works: tuple[tuple[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if self.synth not in SYNTHS:
            raise ValueError(f"demo synth must be one of {', '.join(SYNTHS)}, got {self.synth!r}")
        if self.max_segments < 1:
            raise ValueError(f"demo max_segments must be >= 1, got {self.max_segments}")
        names = {a.name for a in ALBUMS}
        for album, _path in self.works or ():
            if album not in names:
                raise ValueError(f"demo work album {album!r} is not one of {', '.join(sorted(names))}")

    def resolved(self) -> DemoParams:
        """These parameters with ``synth="auto"`` replaced by the synthesizer that will run."""
        if self.synth != "auto":
            return self
        return DemoParams(**{**asdict(self), "synth": "fluidsynth" if fluidsynth_available() else "numpy"})

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


@dataclass
class DemoDataset(TwoParquetDataset):
    """A built (or reused) demo data set.

    Attributes:
        root: directory holding every file.
        params: what it was built with (``synth`` resolved).
        summary: counts, modality rates, class balance, build time (as in the manifest).
        reused: whether an existing build was returned.
    """

    params: DemoParams
    summary: dict[str, Any]
    reused: bool

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    def data_section(self) -> DataSection:
        """A ``data:`` section reading this data set (class order fixed to the demo's)."""
        return self.section(label_classes={head: list(classes) for head, classes in LABEL_CLASSES.items()})


@dataclass
class _Segment:
    """One segment as read from its score, before presence and labels are assigned."""

    album: str
    path: str
    index: int
    start: float
    notes: np.ndarray
    programs: tuple[int, ...]
    lyrics: str
    vocals: bool
    stats: NoteStats


@dataclass
class _SongResult:
    segments: list[_Segment] = field(default_factory=list)
    error: str | None = None


def _read_song(job: tuple[str, str, float]) -> _SongResult:
    """Parse and cut one work; a failure is returned as a message, not raised."""
    album_name, path, length = job
    album = next(a for a in ALBUMS if a.name == album_name)
    try:
        piece = load_piece(path, album)
        starts = windows(piece, length, album.max_segments_per_song)
    except Exception as exc:  # a broken corpus file is skipped and reported
        return _SongResult(error=f"{path}: {type(exc).__name__}: {exc}")
    segments = []
    for index, start in enumerate(starts):
        notes = cut(piece, start, length)
        text = segment_lyrics(piece, start, length)
        segments.append(
            _Segment(album.name, path, index, start, notes, piece.programs, text, piece.vocals, note_stats(notes))
        )
    return _SongResult(segments)


def _render(job: tuple[list[tuple[np.ndarray, tuple[int, ...]]], int, float, str]) -> list[np.ndarray]:
    """``[length * sample_rate]`` float32 audio of each ``(notes, programs)`` segment of a group."""
    segments, sample_rate, length, synth = job
    if synth == "fluidsynth":
        return render_fluidsynth(segments, sample_rate, length)
    return [synthesize(notes, programs, sample_rate, length) for notes, programs in segments]


class _Runner:
    """Ordered ``map`` over a spawn process pool, or in-process for one worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 else None
        )

    def map(self, fn: Callable[[Any], Any], jobs: list[Any]) -> Iterator[Any]:
        return self.pool.map(fn, jobs) if self.pool else map(fn, jobs)

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()


def _rendered(
    runner: _Runner, jobs: list[tuple[np.ndarray, tuple[int, ...]]], params: DemoParams
) -> Iterator[np.ndarray]:
    """Audio of each ``(notes, programs)`` job in order: groups of :data:`RENDER_GROUP` per task,
    a few groups in flight at a time (bounds memory)."""
    groups = [
        (jobs[lo : lo + RENDER_GROUP], params.sample_rate, params.segment_seconds, params.synth)
        for lo in range(0, len(jobs), RENDER_GROUP)
    ]
    in_flight = 4 * max(1, runner.workers)
    for lo in range(0, len(groups), in_flight):
        for waves in runner.map(_render, groups[lo : lo + in_flight]):
            yield from waves


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="seg", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _quotas(total: int) -> dict[str, int]:
    """Segments per album, proportional to :attr:`Album.share`, summing to ``total``."""
    shares = np.array([a.share for a in ALBUMS])
    raw = shares / shares.sum() * total
    quota = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - quota))[: total - quota.sum()]:
        quota[i] += 1
    return {a.name: int(q) for a, q in zip(ALBUMS, quota)}


def _collect(params: DemoParams, runner: _Runner, progress: bool) -> tuple[list[_Segment], list[str]]:
    """Segments of the selected works, in album then work order; and the skipped files."""
    errors: list[str] = []
    if params.works is not None:
        jobs = [(album, path, params.segment_seconds) for album, path in params.works]
        with _progress(len(jobs), "demo data: reading scores", progress) as bar:
            results = []
            for result in runner.map(_read_song, jobs):
                results.append(result)
                bar.update(len(result.segments))
        errors = [r.error for r in results if r.error]
        return [s for r in results for s in r.segments][: params.max_segments], errors
    quota = _quotas(params.max_segments)
    queues: dict[str, list[str]] = {a.name: album_works(a, params.seed) for a in ALBUMS}
    accepted: dict[str, list[_SongResult]] = {a.name: [] for a in ALBUMS}

    def have(album: Album) -> int:
        return sum(len(r.segments) for r in accepted[album.name])

    with _progress(params.max_segments, "demo data: reading scores", progress) as bar:
        while True:
            jobs = []
            for album in ALBUMS:
                deficit = quota[album.name] - have(album)
                if deficit <= 0 or not queues[album.name]:
                    continue
                done = [r for r in accepted[album.name] if r.segments]
                per_song = np.mean([len(r.segments) for r in done]) if done else 0.6 * album.max_segments_per_song
                take = min(len(queues[album.name]), math.ceil(deficit / max(per_song, 1.0)))
                jobs += [(album.name, queues[album.name].pop(0), params.segment_seconds) for _ in range(take)]
            if not jobs:
                break
            for (album_name, _, _), result in zip(jobs, runner.map(_read_song, jobs)):
                before = min(sum(len(r.segments) for r in accepted[album_name]), quota[album_name])
                accepted[album_name].append(result)
                after = min(sum(len(r.segments) for r in accepted[album_name]), quota[album_name])
                bar.update(after - before)
                if result.error:
                    errors.append(result.error)
    segments: list[_Segment] = []
    for album in ALBUMS:
        room = quota[album.name]
        for result in accepted[album.name]:
            segments += result.segments[:room]
            room -= len(result.segments[:room])
    return segments, errors


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _song_id(album: str, path: str) -> str:
    """Opaque song id: album plus a hash of the corpus path (titles stay out of the data)."""
    return f"{album}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


def _smpte(seconds: float, fps: float) -> str:
    frames = int(round(seconds * fps))
    whole, ff = divmod(frames, int(fps))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}:{ff:02d}"


def _write(
    stage: Path, segments: list[_Segment], params: DemoParams, runner: _Runner, progress: bool
) -> dict[str, Any]:
    """Write every file of the data set into ``stage``; return the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import soundfile as sf

    cols, align = ColumnsSection(), AlignmentSection()
    rng = np.random.default_rng(params.seed)
    n = len(segments)
    albums = [s.album for s in segments]
    songs = [_song_id(s.album, s.path) for s in segments]
    ids = [f"{song}_{s.index:02d}" for song, s in zip(songs, segments)]
    has_lyrics = np.array([bool(s.lyrics) for s in segments])
    labels = assign_labels([s.stats for s in segments], albums)
    splits = assign_splits(songs, albums, rng, params.split)
    presence = assign_presence(
        songs,
        has_lyrics,
        rng,
        midi_present=params.midi_present,
        audio_absent=params.audio_absent,
        disk_fraction=params.disk_fraction,
    )
    length = params.segment_seconds
    audio_files = [f"audio/{sid}.wav" if presence.audio_on_disk[i] else None for i, sid in enumerate(ids)]
    midi_files = [f"midi/{sid}.mid" if presence.midi_on_disk[i] else None for i, sid in enumerate(ids)]
    starts = [_smpte(s.start, align.fps) for s in segments]
    ends = [_smpte(s.start + length, align.fps) for s in segments]
    columns: dict[str, pa.Array] = {
        cols.segment_id: pa.array(ids, pa.string()),
        cols.song: pa.array(songs, pa.string()),
        cols.album: pa.array(albums, pa.string()),
        "segment_index": pa.array([s.index for s in segments], pa.int16()),
        cols.lyric_text: pa.array([s.lyrics or None for s in segments], pa.string()),
        cols.vocals: pa.array([s.vocals for s in segments], pa.bool_()),
        cols.has_audio: pa.array(presence.audio, pa.bool_()),
        cols.has_midi: pa.array(presence.midi, pa.bool_()),
        cols.segment_audio_file: pa.array(audio_files, pa.string()),
        cols.midi_file: pa.array(midi_files, pa.string()),
        align.audio_start: pa.array(starts, pa.string()),
        align.audio_end: pa.array(ends, pa.string()),
        align.midi_start: pa.array([t if m else None for t, m in zip(starts, presence.midi)], pa.string()),
        align.midi_end: pa.array([t if m else None for t, m in zip(ends, presence.midi)], pa.string()),
        cols.split: pa.array(splits, pa.string()),
        **{head: pa.array(values, pa.string()) for head, values in labels.items()},
    }
    meta = pa.table(columns)
    pq.write_table(meta, stage / METADATA_NAME)

    (stage / "audio").mkdir()
    (stage / "midi").mkdir()
    media_schema = (
        meta.schema.append(pa.field(cols.audio_waveform, pa.binary()))
        .append(pa.field(cols.audio_sample_rate, pa.int32()))
        .append(pa.field(cols.midi_binary, pa.binary()))
    )
    audio_rows = np.flatnonzero(presence.audio)
    jobs = [(segments[i].notes, segments[i].programs) for i in audio_rows]
    next_audio = zip(audio_rows, _rendered(runner, jobs, params))
    pending = next(next_audio, None)
    with (
        pq.ParquetWriter(stage / MEDIA_NAME, media_schema) as writer,
        _progress(n, "demo data: rendering audio, writing media", progress) as bar,
    ):
        for lo in range(0, n, ROW_GROUP):
            blobs, rates, midis = [], [], []
            for i in range(lo, min(n, lo + ROW_GROUP)):
                wave = None
                if pending is not None and pending[0] == i:
                    wave = pending[1]
                    pending = next(next_audio, None)
                if wave is not None and presence.audio_on_disk[i]:
                    sf.write(stage / audio_files[i], wave, params.sample_rate, subtype="PCM_16")
                    wave = None
                blobs.append(None if wave is None else wave.astype("<f4").tobytes())
                rates.append(None if wave is None else params.sample_rate)
                midi = midi_bytes(segments[i].notes, segments[i].programs) if presence.midi[i] else None
                if midi is not None and presence.midi_on_disk[i]:
                    (stage / midi_files[i]).write_bytes(midi)
                    midi = None
                midis.append(midi)
                bar.update(1)
            chunk = meta.slice(lo, len(blobs))
            chunk = chunk.append_column(cols.audio_waveform, pa.array(blobs, pa.binary()))
            chunk = chunk.append_column(cols.audio_sample_rate, pa.array(rates, pa.int32()))
            chunk = chunk.append_column(cols.midi_binary, pa.array(midis, pa.binary()))
            writer.write_table(chunk, row_group_size=ROW_GROUP)
    return _summary(segments, albums, splits, labels, presence, has_lyrics)


def _summary(
    segments: list[_Segment],
    albums: list[str],
    splits: list[str],
    labels: dict[str, list[str]],
    presence: Any,
    has_lyrics: np.ndarray,
) -> dict[str, Any]:
    n = len(segments)
    return {
        "segments": n,
        "songs": len({(s.album, s.path) for s in segments}),
        "albums": dict(Counter(albums)),
        "splits": dict(Counter(splits)),
        "modality_present": {
            "text": round(float(has_lyrics.mean()), 4),
            "audio": round(float(presence.audio.mean()), 4),
            "midi": round(float(presence.midi.mean()), 4),
        },
        "stored_on_disk": {"audio": int(presence.audio_on_disk.sum()), "midi": int(presence.midi_on_disk.sum())},
        "classes": {head: {c: values.count(c) for c in LABEL_CLASSES[head]} for head, values in labels.items()},
    }


def _hash_files(root: Path) -> dict[str, str]:
    names = [METADATA_NAME, MEDIA_NAME] + sorted(
        p.relative_to(root).as_posix() for sub in ("audio", "midi") for p in (root / sub).glob("*")
    )
    return {name: _sha256(root / name) for name in names}


def load_cached(out_dir: str | os.PathLike[str], params: DemoParams | None = None) -> DemoDataset | None:
    """The build in ``out_dir`` when its manifest matches ``params`` and every file hash; else ``None``."""
    root = Path(out_dir)
    resolved = (params or DemoParams()).resolved()
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("builder_version") != BUILDER_VERSION or manifest.get("params") != resolved.to_json():
        return None
    files = manifest.get("files", {})
    if not isinstance(files, dict) or METADATA_NAME not in files or MEDIA_NAME not in files:
        return None
    for name, digest in files.items():
        if not (root / name).is_file() or _sha256(root / name) != digest:
            return None
    return DemoDataset(root, resolved, manifest["summary"], reused=True)


def build_demo_dataset(
    out_dir: str | os.PathLike[str],
    params: DemoParams | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
    force: bool = False,
) -> DemoDataset:
    """Build the demo data set in ``out_dir`` (see the module doc), or reuse a matching build.

    Args:
        out_dir: created if needed; files of an earlier build are replaced.
        params: what to build (defaults: :class:`DemoParams`).
        workers: processes parsing and rendering (default: up to 2 CPU cores).
        progress: show progress bars on stderr.
        force: rebuild even when a matching build exists.

    Raises:
        RuntimeError: no segment could be built (the skipped files are named).
    """
    root = Path(out_dir)
    params = (params or DemoParams()).resolved()
    if not force:
        cached = load_cached(root, params)
        if cached is not None:
            return cached
    began = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    stage = root / f".staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    runner = _Runner(workers if workers is not None else max(1, min(2, os.cpu_count() or 1)))
    try:
        segments, errors = _collect(params, runner, progress)
        if not segments:
            raise RuntimeError("demo data: no segment could be built; " + ("; ".join(errors) or "no work selected"))
        summary = _write(stage, segments, params, runner, progress)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        runner.close()
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    for name in (METADATA_NAME, MEDIA_NAME):
        os.replace(stage / name, root / name)
    for sub in ("audio", "midi"):
        shutil.rmtree(root / sub, ignore_errors=True)
        os.replace(stage / sub, root / sub)
    stage.rmdir()
    import music21

    summary.update(
        skipped_files=errors,
        synth=params.synth,
        sample_rate=params.sample_rate,
        build_seconds=round(time.perf_counter() - began, 1),
    )
    manifest = {
        "builder_version": BUILDER_VERSION,
        "params": params.to_json(),
        "music21_version": music21.__version__,
        "files": _hash_files(root),
        "summary": summary,
        "songs": {_song_id(s.album, s.path): s.path for s in segments},
    }
    write_json(root / MANIFEST_NAME, manifest)
    return DemoDataset(root, params, summary, reused=False)


def describe(summary: dict[str, Any]) -> Iterable[str]:
    """Human-readable lines of a build summary."""
    rates = summary["modality_present"]
    yield (
        f"{summary['segments']} segments from {summary['songs']} pieces "
        f"({', '.join(f'{a} {k}' for a, k in sorted(summary['albums'].items()))})"
    )
    yield (
        f"present: lyrics {rates['text']:.0%}, audio {rates['audio']:.0%}, MIDI {rates['midi']:.0%}; "
        f"splits {', '.join(f'{k} {v}' for k, v in sorted(summary['splits'].items()))}"
    )
    for head, counts in summary["classes"].items():
        yield f"{head}: " + ", ".join(f"{c} {k}" for c, k in counts.items())
    if summary.get("skipped_files"):
        yield f"skipped {len(summary['skipped_files'])} unreadable file(s): {summary['skipped_files'][0]}"
