"""The transcription cache (``data.transcribed_midi.path``), one row per segment with audio and no real MIDI,
and the data layer's reader of it.

Columns: ``segment_id``; ``status`` (``"ok"`` or ``"absent"``); ``reason`` (why absent, else null);
``midi`` (standard MIDI file bytes, null when absent); ``n_notes``; ``provenance``
(``transcribed:basic-pitch-<version>:<thresholds>``); ``audio_hash`` (SHA-256 of the decoded audio and
its rate, null when it could not be decoded). Rows are sorted by segment id and written in small row
groups, so the data layer reads MIDI lazily per row group (:class:`TranscribedMidi`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.atomic import atomic_write
from chroma_framework.config.data import DataSection
from chroma_framework.config.transcription import TranscribedMidiSection
from chroma_framework.data.media import MediaReader
from chroma_framework.data.paths import resolve
from chroma_framework.data.splits import read_splits

STATUS_OK = "ok"
STATUS_ABSENT = "absent"
#: Rows per row group: a lazy read of one segment's MIDI loads at most this many small files.
ROW_GROUP_SIZE = 128
SCHEMA = pa.schema(
    [
        ("segment_id", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("midi", pa.binary()),
        ("n_notes", pa.int32()),
        ("provenance", pa.string()),
        ("audio_hash", pa.string()),
    ]
)


@dataclass(frozen=True)
class CacheRow:
    """One segment's transcription (see the module docstring for the fields)."""

    segment_id: str
    status: str
    reason: str | None
    midi: bytes | None
    n_notes: int
    provenance: str
    audio_hash: str | None


def audio_hash(wave: np.ndarray, sample_rate: int) -> str:
    """SHA-256 hex digest of ``wave`` as float32 little-endian samples and its rate: the cache key's audio part."""
    h = hashlib.sha256(f"{int(sample_rate)}:".encode())
    h.update(np.ascontiguousarray(wave, dtype="<f4").tobytes())
    return h.hexdigest()


def transcription_section(data: DataSection) -> TranscribedMidiSection:
    """``data.transcribed_midi``.

    Raises:
        ValueError: it is not configured.
    """
    if data.transcribed_midi is None:
        raise ValueError("data.transcribed_midi is not configured (it names the transcription cache and its settings)")
    return data.transcribed_midi


def cache_path(data: DataSection) -> Path:
    """Where ``data.transcribed_midi`` caches transcriptions (raises ``ValueError`` when it is not configured)."""
    return resolve(data, transcription_section(data).path)


def rows_table(rows: Iterable[CacheRow]) -> pa.Table:
    """The cache table of ``rows`` sorted by segment id."""
    ordered = sorted(rows, key=lambda r: r.segment_id)
    return pa.table(
        {
            "segment_id": [r.segment_id for r in ordered],
            "status": [r.status for r in ordered],
            "reason": [r.reason for r in ordered],
            "midi": [r.midi for r in ordered],
            "n_notes": [r.n_notes for r in ordered],
            "provenance": [r.provenance for r in ordered],
            "audio_hash": [r.audio_hash for r in ordered],
        },
        schema=SCHEMA,
    )


def write_rows(rows: Iterable[CacheRow], path: Path) -> None:
    """Write ``rows`` (sorted by segment id) to ``path`` atomically; the same rows give the same bytes."""
    table = rows_table(rows)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE))


def read_rows(path: Path) -> list[CacheRow]:
    """Every row of a cache or part file.

    Raises:
        ValueError: the file is not a transcription cache (columns missing).
    """
    table = pq.read_table(path)
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} is not a transcription cache: no {', '.join(missing)} column(s)")
    columns = {name: table.column(name).to_pylist() for name in SCHEMA.names}
    return [CacheRow(*values) for values in zip(*(columns[name] for name in SCHEMA.names))]


class TranscribedMidi:
    """The data layer's view of the cache: which segments have transcribed MIDI, and their bytes (lazily).

    Args:
        data: the ``data`` section; ``data.transcribed_midi`` must be set.

    Raises:
        FileNotFoundError: the cache does not exist yet.
        ValueError: the cache was made with other thresholds than ``data.transcribed_midi`` asks for.
    """

    def __init__(self, data: DataSection) -> None:
        section = transcription_section(data)
        self.path = resolve(data, section.path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"transcribed MIDI cache {self.path} does not exist (data.transcribed_midi.path); "
                "run `chroma transcribe CONFIG` first"
            )
        table = pq.read_table(self.path, columns=["segment_id", "status", "reason", "provenance", "audio_hash"])
        tag = section.settings_tag()
        stale = sorted({p for p in table.column("provenance").to_pylist() if not p.endswith(":" + tag)})
        if stale:
            raise ValueError(
                f"transcribed MIDI cache {self.path} holds MIDI made with {stale[0]!r}, but data.transcribed_midi "
                f"asks for {tag!r}; rerun `chroma transcribe CONFIG`"
            )
        ids = [str(s) for s in table.column("segment_id").to_pylist()]
        statuses = table.column("status").to_pylist()
        #: Segments whose transcription produced MIDI.
        self.ok: frozenset[str] = frozenset(s for s, st in zip(ids, statuses) if st == STATUS_OK)
        #: ``{reason: count}`` of the segments that got no MIDI.
        self.absent_counts: dict[str, int] = dict(
            sorted(Counter(r for st, r in zip(statuses, table.column("reason").to_pylist()) if st != STATUS_OK).items())
        )
        h = hashlib.sha256()
        for row in zip(ids, statuses, table.column("provenance").to_pylist(), table.column("audio_hash").to_pylist()):
            h.update(repr(row).encode())
        #: Identity of the cache's contents (segments, statuses, provenance, audio), for precompute fingerprints.
        self.digest = h.hexdigest()[:20]
        self._reader = MediaReader(self.path, "segment_id", ["midi"], cache_row_groups=2)

    def midi(self, segment_ids: Sequence[str]) -> dict[str, bytes]:
        """``{segment_id: MIDI bytes}`` of those of ``segment_ids`` that have transcribed MIDI."""
        wanted = [s for s in segment_ids if s in self.ok]
        return {s: bytes(row["midi"]) for s, row in self._reader.rows(wanted).items() if row["midi"] is not None}


def allowed_splits(section: TranscribedMidiSection) -> list[str]:
    """The splits whose rows may take transcribed MIDI in place of missing real MIDI (``train_on``, ``evaluate_on``)."""
    return ["train", "val"] * section.train_on + ["test"] * section.evaluate_on


def transcribed_inputs(data: DataSection, seed: int) -> dict[str, object] | None:
    """What decides the transcribed MIDI the MIDI encoder is fed (a data identity for precompute fingerprints),
    ``None`` when unused.

    Besides the settings and the cache's contents, it digests the ids of the segments that take transcribed MIDI:
    those with MIDI in the cache whose split allows it, so a split drawn with another ``seed`` (no split column)
    or other ``data.split`` fractions make other embeddings.

    Raises:
        FileNotFoundError: transcribed MIDI is switched on but ``chroma transcribe`` has not written the cache.
        chroma_framework.data.errors.DataError: the metadata's split column holds values that are not splits.
    """
    section = data.transcribed_midi
    if section is None or not (section.train_on or section.evaluate_on):
        return None
    cache = TranscribedMidi(data)
    allowed = set(allowed_splits(section))
    splits = read_splits(data, seed)
    rows = hashlib.sha256("\n".join(sorted(s for s in cache.ok if splits.get(s) in allowed)).encode())
    return {
        "settings": section.settings_tag(),
        "train_on": section.train_on,
        "evaluate_on": section.evaluate_on,
        "cache": cache.digest,
        "rows": rows.hexdigest()[:20],
    }
