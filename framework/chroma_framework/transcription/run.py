"""``chroma transcribe``: MIDI from audio for every segment with audio and no usable real MIDI.

Candidates are the segments whose real MIDI the data layer finds absent (not available, a missing
file, corrupt or empty) and that have audio; audio that cannot be decoded still gets a row, with
no MIDI and the reason ``audio_<reason>``. Each row is keyed by the provenance (basic-pitch's
version and the thresholds) and a hash of the decoded audio: a rerun reuses the rows whose key is
unchanged and transcribes the others, so changed audio or thresholds are recomputed.

Resumability: the segments to transcribe are processed in media order in chunks of
``data.transcribed_midi.chunk_size``; each finished chunk is written atomically as a part file under
``<path>.parts/`` named by a digest of its keys. A run that dies midway resumes from the parts
already written; the cache is then assembled, written atomically, and the parts removed. An
interrupted and resumed run writes the same file as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.audio_decode import AudioDecodeError
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.transcribed_midi import (
    STATUS_ABSENT,
    STATUS_OK,
    CacheRow,
    audio_hash,
    cache_path,
    read_rows,
    transcription_section,
    write_rows,
)
from chroma_framework.transcription.model import basic_pitch_version
from chroma_framework.transcription.transcriber import Transcriber, Transcription
from chroma_framework.transcription.transcriber import provenance as provenance_of

#: Segments whose real MIDI is checked per read while looking for candidates.
SCAN_BATCH = 64

#: ``(wave, sample_rate) -> Transcription``: a :class:`Transcriber` or anything called like one.
TranscribeFn = Callable[[np.ndarray, int], Transcription]


@dataclass
class TranscribeResult:
    """What :func:`run_transcribe` did.

    Attributes:
        path: the cache file.
        provenance: the provenance string of every row.
        computed: segments computed by this run (including those resumed from part files).
        reused: segments whose cached row was kept.
        ok: rows with MIDI.
        absent: ``{reason: count}`` of rows without MIDI.
    """

    path: Path
    provenance: str
    computed: int = 0
    reused: int = 0
    ok: int = 0
    absent: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    index: int
    segment_id: str
    audio_hash: str | None
    audio_reason: str | None


def _real_midi_config(config: ChromaConfig) -> ChromaConfig:
    """``config`` without ``data.transcribed_midi``: its dataset reports only the real MIDI."""
    return config.model_copy(update={"data": config.data.model_copy(update={"transcribed_midi": None})})


def find_candidates(dataset: SegmentDataset) -> list[_Candidate]:
    """The segments with no usable real MIDI and with audio, in media order, with their audio hash or reason.

    ``dataset`` loads audio and MIDI media columns with no transcribed MIDI; it is left loading MIDI only.
    """
    order = dataset.media_order().tolist()
    out: list[_Candidate] = []
    dataset.modalities = ("midi",)
    for start in range(0, len(order), SCAN_BATCH):
        chunk = order[start : start + SCAN_BATCH]
        items = dataset.__getitems__(chunk)
        missing = [(i, it["segment_id"]) for i, it in zip(chunk, items) if it["absent"]["midi"] is not None]
        media = dataset.media.rows([sid for _, sid in missing]) if dataset.media is not None else {}
        for i, sid in missing:
            try:
                wave, rate = dataset.decoded_audio(i, media.get(sid, {}))
            except AudioDecodeError as exc:
                if exc.reason != "not_available":
                    out.append(_Candidate(i, sid, None, f"audio_{exc.reason}"))
                continue
            out.append(_Candidate(i, sid, audio_hash(wave, rate), None))
    return out


def _part_name(index: int, provenance: str, chunk: Sequence[_Candidate]) -> str:
    keys = json.dumps([provenance, [(c.segment_id, c.audio_hash, c.audio_reason) for c in chunk]])
    return f"part-{index:06d}-{hashlib.sha256(keys.encode()).hexdigest()[:16]}.parquet"


def _transcribe_one(
    dataset: SegmentDataset, candidate: _Candidate, transcribe: TranscribeFn, provenance: str
) -> CacheRow:
    if candidate.audio_reason is not None:
        return CacheRow(candidate.segment_id, STATUS_ABSENT, candidate.audio_reason, None, 0, provenance, None)
    media = dataset.media.rows([candidate.segment_id]) if dataset.media is not None else {}
    wave, rate = dataset.decoded_audio(candidate.index, media.get(candidate.segment_id, {}))
    result = transcribe(wave, rate)
    status = STATUS_OK if result.midi is not None else STATUS_ABSENT
    return CacheRow(
        candidate.segment_id,
        status,
        result.reason,
        result.midi,
        int(result.notes.shape[0]),
        provenance,
        candidate.audio_hash,
    )


def run_transcribe(
    config: ChromaConfig,
    *,
    force: bool = False,
    progress: bool = True,
    transcriber: TranscribeFn | None = None,
    provenance: str | None = None,
) -> TranscribeResult:
    """Transcribe (or reuse) MIDI for every segment with audio and no real MIDI; write ``data.transcribed_midi.path``.

    Args:
        config: the whole configuration; ``data.transcribed_midi`` must be set.
        force: ignore the existing cache and transcribe every candidate again (part files of an interrupted
            run with the same keys are still resumed).
        progress: show a tqdm bar.
        transcriber: called as ``transcriber(wave, sample_rate)``; defaults to basic-pitch with the config's settings.
        provenance: the provenance string of ``transcriber`` (its ``provenance`` attribute when omitted).

    Raises:
        ValueError: ``data.transcribed_midi`` is not set.
        TranscriptionUnavailable: basic-pitch or onnxruntime is missing (default transcriber).
    """
    from tqdm.auto import tqdm

    section = transcription_section(config.data)
    path = cache_path(config.data)
    if transcriber is None:
        tag = provenance or provenance_of(basic_pitch_version(), section)
    else:
        tag = provenance or str(getattr(transcriber, "provenance", ""))
        if not tag:
            raise ValueError("run_transcribe: the transcriber has no provenance attribute; pass provenance=")
    loaded: list[TranscribeFn] = [transcriber] if transcriber is not None else []

    def transcribe(wave: np.ndarray, rate: int) -> Transcription:
        if not loaded:  # basic-pitch loads only when a segment needs it (not on a rerun that reuses every row)
            loaded.append(Transcriber(section))
        return loaded[0](wave, rate)

    dataset = SegmentDataset(_real_midi_config(config), modalities=("audio", "midi"), with_labels=False)
    candidates = find_candidates(dataset)

    previous = {r.segment_id: r for r in read_rows(path)} if path.is_file() and not force else {}
    rows: list[CacheRow] = []
    todo: list[_Candidate] = []
    for c in candidates:
        old = previous.get(c.segment_id)
        if old is not None and old.provenance == tag and old.audio_hash is not None and old.audio_hash == c.audio_hash:
            rows.append(old)
        else:
            todo.append(c)
    result = TranscribeResult(path, tag, computed=len(todo), reused=len(rows))

    parts = path.with_name(path.name + ".parts")
    size = section.chunk_size
    chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
    names = [_part_name(k, tag, chunk) for k, chunk in enumerate(chunks)]
    bar = tqdm(total=len(todo), desc="transcribe", unit="segment", disable=not progress or not todo)
    for chunk, name in zip(chunks, names):
        part = parts / name
        if part.is_file():
            rows.extend(read_rows(part))
            bar.update(len(chunk))
            continue
        done = []
        for candidate in chunk:
            done.append(_transcribe_one(dataset, candidate, transcribe, tag))
            bar.update(1)
        write_rows(done, part)
        rows.extend(done)
    bar.close()

    write_rows(rows, path)
    for name in names:
        (parts / name).unlink(missing_ok=True)
    if parts.is_dir() and not any(parts.iterdir()):
        parts.rmdir()
    result.ok = sum(r.status == STATUS_OK for r in rows)
    result.absent = dict(sorted(Counter(str(r.reason) for r in rows if r.status != STATUS_OK).items()))
    return result
