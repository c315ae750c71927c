"""What each precomputed embedding was made from: per-row input digests and data-file identities.

``chroma precompute`` keys every embedding on the encoder (its fingerprint) *and* on the data it read:

* a **row digest** per (segment, modality): BLAKE2b-128 of the raw values the dataset builds that modality
  from -- for text the vocals flag, the lyric text and the stored lyric vector; for audio the ``has_audio``
  flag, the waveform blob and its sample rate, or the per-segment file's path, size and mtime; for MIDI the
  ``has_midi`` flag, the MIDI blob or file (path, size, mtime) and the alignment offset. Digests are stored
  next to the embeddings (column ``<modality>_input``), so a rerun recomputes exactly the rows whose inputs
  changed;
* a **data identity** per modality: a digest of the size and mtime of the metadata and media parquet files
  and the per-segment files (:func:`~chroma_framework.data.input_cache.data_identity`, the input cache's key).
  When it matches the one stored in the file, no row can have changed and the rows are not re-read (an
  unchanged rerun stays cheap); when it differs, every row's digest is recomputed and compared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.input_cache import data_identity
from chroma_framework.data.paths import resolve

#: Segments whose media rows are read at once when digests are computed for planning.
DIGEST_BATCH = 64


def input_column(modality: str) -> str:
    """Embeddings-file column holding ``modality``'s row digests."""
    return f"{modality}_input"


def _feed(h: Any, value: Any) -> None:
    """Add one framed value (``None``, bool, number, str, bytes-like or float vector) to hash ``h``."""
    if value is None:
        h.update(b"N")
        return
    if isinstance(value, bool | int | float | str):
        raw = repr(value).encode()
        h.update(b"S" + len(raw).to_bytes(8, "little") + raw)
        return
    if isinstance(value, list | np.ndarray):
        raw = np.asarray(value, dtype=np.float64).tobytes()
        h.update(b"V" + len(raw).to_bytes(8, "little"))
        h.update(raw)
        return
    view = memoryview(value)  # bytes or a zero-copy pyarrow Buffer
    h.update(b"B" + view.nbytes.to_bytes(8, "little"))
    h.update(view)


def _file_stat(dataset: SegmentDataset, path: str | None) -> list[Any] | None:
    if not path:
        return None
    file = resolve(dataset.config.data, path)
    try:
        st = file.stat()
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns]  # the path as the metadata stores it: the same on every node


def _at(values: Any, i: int) -> Any:
    """Row ``i`` of a per-row column (a list, or the dataset's ``LyricVectors``); ``None`` without one."""
    return None if values is None else values[i]


def row_digest(dataset: SegmentDataset, i: int, media: Mapping[str, Any], modality: str) -> str:
    """32 hex digits identifying the raw inputs of dataset row ``i``'s ``modality``.

    Args:
        dataset: the dataset the row is read from (its per-row metadata values are hashed).
        i: dataset index.
        media: the row's media values (``dataset.media.rows([id])[id]``; ``{}`` when it has none).
        modality: ``"text"``, ``"audio"`` or ``"midi"``.
    """
    cols = dataset.config.data.columns
    h = hashlib.blake2b(digest_size=16)
    # The dataset's per-row metadata lists (private: they are exactly what its items are built from).
    if modality == "text":
        fields = [_at(dataset._vocals, i), _at(dataset._lyrics, i), _at(dataset._lyric_emb, i)]
    elif modality == "audio":
        fields = [
            _at(dataset._has_audio, i),
            media.get(cols.audio_waveform),
            media.get(cols.audio_sample_rate),
            json.dumps(_file_stat(dataset, _at(dataset._audio_file, i))),
        ]
    else:
        sid = dataset.segment_ids[i]
        fields = [
            _at(dataset._has_midi, i),
            media.get(cols.midi_binary),
            json.dumps(_file_stat(dataset, _at(dataset._midi_file, i))),
            dataset.alignment.offsets.get(sid, 0.0),
        ]
    for value in fields:
        _feed(h, value)
    return h.hexdigest()


def row_digests(dataset: SegmentDataset, indices: Sequence[int], modalities: Sequence[str]) -> dict[str, list[str]]:
    """``{modality: [digest per index]}`` of dataset rows ``indices`` (media read ``DIGEST_BATCH`` rows at a time)."""
    out: dict[str, list[str]] = {m: [] for m in modalities}
    needs_media = dataset.media is not None and any(m in ("audio", "midi") for m in modalities)
    for start in range(0, len(indices), DIGEST_BATCH):
        batch = [int(i) for i in indices[start : start + DIGEST_BATCH]]
        ids = [dataset.segment_ids[i] for i in batch]
        media = dataset.media.rows(ids) if needs_media and dataset.media is not None else {}
        for i, sid in zip(batch, ids):
            for m in modalities:
                out[m].append(row_digest(dataset, i, media.get(sid, {}), m))
    return out


def data_identities(config: ChromaConfig, modalities: Sequence[str]) -> dict[str, str]:
    """``{modality: digest of the sizes and mtimes of the files it is read from}``."""
    out = {}
    for m in modalities:
        payload = json.dumps(data_identity(config, m), default=str).encode()
        out[m] = hashlib.sha256(payload).hexdigest()[:20]
    return out


class DigestedDataset(SegmentDataset):
    """A :class:`SegmentDataset` whose items also carry ``input_digest``: ``{modality: row digest}``.

    The digest is taken from the very media values the item is built from (no second read).
    Collate with :attr:`collate` (a :class:`DigestCollator`), which adds ``input_digest``: ``B`` dicts.
    """

    def __init__(self, config: ChromaConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.collate = DigestCollator(self.collate)  # type: ignore[assignment]  # same call, one more key

    def _item(self, i: int, media: Mapping[str, Any]) -> dict[str, Any]:
        item = super()._item(i, media)
        item["input_digest"] = {m: row_digest(self, i, media, m) for m in self.modalities}
        return item


class DigestCollator:
    """Wraps a collate function to keep each item's ``input_digest`` (picklable)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        batch = self.inner(items)
        batch["input_digest"] = [dict(item["input_digest"]) for item in items]
        return dict(batch)
