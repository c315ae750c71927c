"""The multimodal segment dataset over the split parquet layout.

Metadata (labels, flags, paths, lyrics) is read once from the metadata parquet,
only the columns in use. Audio and MIDI blobs are fetched lazily per item or per
batch from the media parquet through :class:`~chroma_framework.data.media.MediaReader`
(only the needed columns and row groups), with files on disk as fallback.

Bad data never raises here: an undecodable blob, a missing file, NaN samples, a
zero or absurd sample rate or an empty MIDI file marks that modality absent and
records the reason in the item's ``absent`` entry (aggregated by
:class:`~chroma_framework.data.report.DataReport`). Label problems do raise
(:class:`~chroma_framework.data.labels.LabelError`), naming the column and segment.

With ``data.transcribed_midi`` set, a segment whose real MIDI is absent takes the MIDI
``chroma transcribe`` made from its audio, when the segment's split allows it: train and
validation rows with ``train_on``, test rows with ``evaluate_on``. The item's ``midi_source``
says which MIDI it holds (``"real"`` or ``"transcribed"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset, Sampler

from chroma.modality import MODALITIES
from chroma_framework.audio.pipeline import AudioPreprocessor
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.alignment import AlignmentResult, alignment_columns, check_alignment
from chroma_framework.data.audio_decode import (
    AudioDecodeError,
    decode_audio_blob,
    load_audio_file,
)
from chroma_framework.data.collate import SegmentCollator, SegmentItems, audio_rows
from chroma_framework.data.labels import LabelSet, encode_labels, label_columns
from chroma_framework.data.lyrics import (
    LyricVectors,
    check_lyric_text_column,
    lyric_absent_reason,
    lyric_embedding_dim,
    lyric_vectors,
    strip_lrc,
)
from chroma_framework.data.media import MediaReader
from chroma_framework.data.paths import existing_metadata_path, media_path, open_metadata, read_columns, resolve
from chroma_framework.data.segment_ids import check_id_kinds, segment_ids
from chroma_framework.data.splits import assign_splits
from chroma_framework.data.transcribed_midi import TranscribedMidi, allowed_splits
from chroma_framework.midi.errors import MidiParseError
from chroma_framework.midi.pipeline import MidiPreprocessor

#: Audio rate used when neither the caller (encoder) nor ``preprocessing.audio.sample_rate`` sets one.
DEFAULT_SAMPLE_RATE = 44_100
#: Key of a segment's transcribed MIDI bytes in its media row (never a parquet column name: it has a space).
TRANSCRIBED_KEY = "transcribed midi"
#: Key of the batch-tensor row a segment's audio is decoded into, in its media row (also never a column name).
AUDIO_ROW_KEY = "audio row"


class SegmentDataset(Dataset):
    """Segments of one split as item dicts (collate with :attr:`collate`).

    Args:
        config: the whole configuration (``data`` and ``preprocessing`` sections are read).
        split: ``"train"``, ``"val"``, ``"test"`` or ``None`` for every segment.
        modalities: modalities to load; the others are absent and not reported.
        audio_sample_rate: output audio rate (the audio encoder's); defaults to
            ``preprocessing.audio.sample_rate`` or :data:`DEFAULT_SAMPLE_RATE`.
        train: apply training-time augmentation.
        vocab: fixed label classes per head (e.g. from a checkpoint).
        with_labels: read and encode the label columns (off for unlabelled inference data).
        seed: split and augmentation seed.

    Item dict: ``segment_id`` str; ``text`` str (``""`` when absent); ``text_embedding``
    ``[D]`` float32 or ``None``; ``audio`` ``([num_samples] float32, length)`` or ``None``;
    ``midi`` ``[E, F]`` float32 events (at most ``preprocessing.midi.max_events``) or ``None``; ``label`` ``{head: int}``;
    ``soft_label`` ``{head: [C] float32}`` for the heads in ``data.soft_labels``;
    ``absent`` ``{modality: reason or None}`` for each loaded modality;
    ``midi_source`` ``"real"``, ``"transcribed"`` (``data.transcribed_midi``) or ``None`` when MIDI is absent.
    """

    def __init__(
        self,
        config: ChromaConfig,
        *,
        split: str | None = None,
        modalities: Iterable[str] = MODALITIES,
        audio_sample_rate: int | None = None,
        train: bool = False,
        vocab: Mapping[str, list[str]] | None = None,
        with_labels: bool = True,
        seed: int | None = None,
    ) -> None:
        self.config = config
        data = config.data
        cols = data.columns
        self.modalities = tuple(m for m in MODALITIES if m in set(modalities))
        self.train = train
        self.seed = config.training.seed if seed is None else int(seed)
        self.epoch = 0

        meta_file = existing_metadata_path(data)
        pf = open_metadata(data)
        wanted = [
            cols.segment_id,
            cols.split,
            cols.song,
            cols.album,
            cols.vocals,
            cols.lyric_text,
            cols.has_audio,
            cols.has_midi,
            cols.segment_audio_file,
            cols.midi_file,
            *(label_columns(data) if with_labels else []),
            *([cols.lyric_embedding] if cols.lyric_embedding else []),
            *alignment_columns(data.alignment),
        ]
        names = pf.schema_arrow.names
        if cols.segment_id not in names:
            raise ValueError(f"metadata parquet {meta_file} has no segment id column {cols.segment_id!r}")
        if cols.lyric_embedding and "text" in self.modalities and cols.lyric_embedding not in names:
            raise ValueError(
                f"metadata parquet {meta_file} has no lyric embedding column {cols.lyric_embedding!r} "
                "(data.columns.lyric_embedding)"
            )
        check_lyric_text_column(pf.schema_arrow, cols.lyric_text, f"metadata parquet {meta_file}")
        meta = read_columns(pf, meta_file, "metadata parquet", [c for c in dict.fromkeys(wanted) if c in names])

        self.labels: LabelSet | None = None
        if with_labels:
            self.labels = encode_labels(meta, data, vocab, source=f"metadata parquet {meta_file}")
        rows = np.arange(meta.num_rows)
        transcribed = data.transcribed_midi if "midi" in self.modalities else None
        if transcribed is not None and not (transcribed.train_on or transcribed.evaluate_on):
            transcribed = None
        row_splits = assign_splits(meta, config, self.seed) if split is not None or transcribed is not None else None
        if split is not None:
            rows = rows[row_splits == split]
        #: Alignment check of every metadata row (flags are reported even when not excluded).
        self.alignment: AlignmentResult = check_alignment(meta, data)
        ids_all = segment_ids(meta.column(cols.segment_id), f"metadata parquet {meta_file}", cols.segment_id)
        self.excluded: list[str] = []
        if data.alignment.exclude_flagged and self.alignment.flagged:
            keep = np.array([ids_all[r] not in self.alignment.flagged for r in rows], dtype=bool)
            self.excluded = [ids_all[r] for r in rows[~keep]]
            rows = rows[keep]
        self._rows = rows
        self.segment_ids = [ids_all[r] for r in rows]
        #: The transcription cache, when this dataset may use transcribed MIDI.
        self.transcribed: TranscribedMidi | None = TranscribedMidi(data) if transcribed is not None else None
        #: ``[N]`` bool: the row's split lets it take transcribed MIDI in place of missing real MIDI.
        self._transcribed_allowed = np.zeros(len(rows), dtype=bool)
        if transcribed is not None and row_splits is not None:
            self._transcribed_allowed = np.isin(row_splits[rows], allowed_splits(transcribed))

        def column(name: str | None) -> list[Any] | None:
            if name is None or name not in meta.column_names:
                return None
            values = meta.column(name).to_pylist()
            return [values[r] for r in rows]

        self._vocals = column(cols.vocals)
        self._lyrics = column(cols.lyric_text)
        #: The precomputed lyric vectors (one ``[N, D]`` float32 block), ``None`` without that column.
        self._lyric_emb: LyricVectors | None = None
        if cols.lyric_embedding and "text" in self.modalities and cols.lyric_embedding in meta.column_names:
            self._lyric_emb = lyric_vectors(meta.column(cols.lyric_embedding), rows, self._lyric_embedding_dim(meta))
        self._has_audio = column(cols.has_audio)
        self._has_midi = column(cols.has_midi)
        self._audio_file = column(cols.segment_audio_file)
        self._midi_file = column(cols.midi_file)
        #: Album of each segment (``None`` when the column is absent).
        self.albums = column(cols.album)
        self.text_dim = self._lyric_emb.values.shape[1] if self._lyric_emb is not None else None

        self.media: MediaReader | None = None
        media_cols = {"audio": [cols.audio_waveform, cols.audio_sample_rate], "midi": [cols.midi_binary]}
        needed = [c for m in ("audio", "midi") if m in self.modalities for c in media_cols[m]]
        if needed and media_path(data).is_file():
            self.media = MediaReader(media_path(data), cols.segment_id, needed)
            check_id_kinds(
                pf.schema_arrow.field(cols.segment_id).type,
                self.media.id_type,
                f"metadata parquet {meta_file}",
                f"media parquet {media_path(data)}",
                cols.segment_id,
            )
        elif needed:
            raise FileNotFoundError(f"media parquet {media_path(data)} does not exist (data.media_path)")

        audio_rate = audio_sample_rate or config.preprocessing.audio.sample_rate or DEFAULT_SAMPLE_RATE
        self.audio = AudioPreprocessor(config.preprocessing.audio, int(audio_rate))
        midi_cfg = config.preprocessing.midi
        self.midi = MidiPreprocessor(midi_cfg)
        self.midi_duration = float(midi_cfg.duration or config.preprocessing.audio.duration)
        #: Collate function building the batch dict (picklable, for DataLoader workers).
        self.collate = SegmentCollator(
            num_samples=self.audio.num_samples,
            sample_rate=self.audio.target_rate,
            midi_duration=self.midi_duration,
            max_events=midi_cfg.max_events,
            text_dim=self.text_dim,
            heads=tuple(data.labels) if with_labels else (),
            soft_heads=tuple(data.soft_labels) if with_labels else (),
        )

    def _lyric_embedding_dim(self, meta: pa.Table) -> int:
        col = self.config.data.columns.lyric_embedding
        assert col is not None
        return lyric_embedding_dim(meta.column(col), col)

    def __len__(self) -> int:
        return len(self.segment_ids)

    def set_epoch(self, epoch: int) -> None:
        """Vary augmentation draws per epoch (deterministic given seed and epoch)."""
        self.epoch = int(epoch)

    @property
    def label_vocab(self) -> dict[str, list[str]]:
        return {} if self.labels is None else dict(self.labels.vocab)

    def label_array(self, head: str) -> np.ndarray:
        """``[len(self)]`` int64 class indices of ``head``."""
        if self.labels is None:
            raise ValueError("dataset was built with with_labels=False")
        return self.labels.labels[head][self._rows]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> SegmentItems:
        """Load several items, reading each media row group once.

        Their waveforms are decoded straight into the rows of one ``[len(indices), num_samples]``
        tensor, which :attr:`collate` then takes as the batch without copying; with
        ``data.decode_threads`` > 1 the items are decoded by that many threads (each writes its own row;
        augmentation draws are seeded per item, so the result does not depend on the thread count).
        """
        indices = [int(i) for i in indices]
        ids = [self.segment_ids[i] for i in indices]
        media = self.media.rows(ids) if self.media is not None else {}
        if self.transcribed is not None and "midi" in self.modalities:
            allowed = [sid for i, sid in zip(indices, ids) if self._transcribed_allowed[i]]
            for sid, blob in self.transcribed.midi(allowed).items():
                media[sid] = {**media.get(sid, {}), TRANSCRIBED_KEY: blob}
        rows = audio_rows(len(indices), self.audio.num_samples) if "audio" in self.modalities else None
        if rows is not None:
            for sid, row in zip(ids, rows):
                media[sid] = {**media.get(sid, {}), AUDIO_ROW_KEY: row}
        threads = min(self.config.data.decode_threads, len(indices))
        if threads <= 1:
            return SegmentItems([self._item(i, media.get(sid, {})) for i, sid in zip(indices, ids)], rows)
        with ThreadPoolExecutor(threads, thread_name_prefix="chroma-decode") as pool:
            items = list(pool.map(lambda i, sid: self._item(i, media.get(sid, {})), indices, ids))
        return SegmentItems(items, rows)

    def _item(self, i: int, media: Mapping[str, Any]) -> dict[str, Any]:
        sid = self.segment_ids[i]
        item: dict[str, Any] = {
            "segment_id": sid,
            "text": "",
            "text_embedding": None,
            "audio": None,
            "midi": None,
            "midi_source": None,
        }
        absent: dict[str, str | None] = {}
        if "text" in self.modalities:
            absent["text"] = self._load_text(i, item)
        if "audio" in self.modalities:
            absent["audio"] = self._load_audio(i, media, item)
        if "midi" in self.modalities:
            absent["midi"] = self._load_midi(i, sid, media, item)
        item["absent"] = absent
        labels = self.labels
        item["label"] = {} if labels is None else {h: int(v[self._rows[i]]) for h, v in labels.labels.items()}
        item["soft_label"] = {} if labels is None else {h: v[self._rows[i]] for h, v in labels.soft.items()}
        return item

    def _rng(self, i: int, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i, salt])

    def _load_text(self, i: int, item: dict[str, Any]) -> str | None:
        text = self._lyrics[i] if self._lyrics is not None else None
        if text is not None and self.config.data.text.strip_lrc_timestamps:
            text = strip_lrc(text)
        reason = lyric_absent_reason(self._vocals[i] if self._vocals is not None else None, text)
        if reason is None and self._lyric_emb is not None:
            reason = self._lyric_emb.reason(i)
            item["text_embedding"] = self._lyric_emb[i]
        if reason is None:
            item["text"] = text
        else:
            item["text_embedding"] = None
        return reason

    def decoded_audio(self, i: int, media: Mapping[str, Any], *, copy: bool = True) -> tuple[np.ndarray, int]:
        """The ``i``-th segment's audio as stored: ``([S] float32 mono, sample rate)``, checked.

        Args:
            i: dataset index.
            media: its media row (``self.media.rows([segment_id])[segment_id]``; ``{}`` when it has none).
            copy: ``False`` returns raw PCM as a read-only view of the media buffer
                (:func:`~chroma_framework.data.audio_decode.decode_audio_blob`).

        Raises:
            AudioDecodeError: no audio (``not_available``), or audio that cannot be used (the reason).
        """
        cols = self.config.data.columns
        if self._has_audio is not None and self._has_audio[i] is not None and not self._has_audio[i]:
            raise AudioDecodeError("not_available", "has_audio is false")
        blob = media.get(cols.audio_waveform)
        path = self._audio_file[i] if self._audio_file is not None else None
        if blob is not None:
            return decode_audio_blob(blob, media.get(cols.audio_sample_rate), copy=copy)
        if path:
            return load_audio_file(resolve(self.config.data, path))
        raise AudioDecodeError("not_available", "no audio blob or file")

    def _load_audio(self, i: int, media: Mapping[str, Any], item: dict[str, Any]) -> str | None:
        """Decode, check and fit the audio (into its batch row, ``media[AUDIO_ROW_KEY]``, when given).

        Returns the absence reason, or ``None``.
        """
        try:
            wave, rate = self.decoded_audio(i, media, copy=False)
            rng = self._rng(i, 1) if self.train else None
            item["audio"] = self.audio.fit(wave, rate, train=self.train, rng=rng, out=media.get(AUDIO_ROW_KEY))
        except AudioDecodeError as exc:
            return exc.reason
        except ValueError:
            return "corrupt"
        return None

    def _load_midi(self, i: int, sid: str, media: Mapping[str, Any], item: dict[str, Any]) -> str | None:
        """Real MIDI, else (where allowed) transcribed MIDI; returns the real MIDI's absence reason when neither."""
        reason = self._load_real_midi(i, sid, media, item)
        if reason is None:
            item["midi_source"] = "real"
        elif TRANSCRIBED_KEY in media and self._parse_midi(i, sid, media[TRANSCRIBED_KEY], 0.0, item) is None:
            # Transcribed from this segment's own audio: already aligned with it, no offset.
            item["midi_source"] = "transcribed"
            return None
        return reason

    def _load_real_midi(self, i: int, sid: str, media: Mapping[str, Any], item: dict[str, Any]) -> str | None:
        cols = self.config.data.columns
        if self._has_midi is not None and self._has_midi[i] is not None and not self._has_midi[i]:
            return "not_available"
        blob = media.get(cols.midi_binary)
        path = self._midi_file[i] if self._midi_file is not None else None
        source: bytes | Path
        if blob is not None:
            source = bytes(blob)
        elif path:
            source = resolve(self.config.data, path)
            if not source.is_file():
                return "missing_file"
        else:
            return "not_available"
        return self._parse_midi(i, sid, source, self.alignment.offsets.get(sid, 0.0), item)

    def _parse_midi(self, i: int, sid: str, source: bytes | Path, offset: float, item: dict[str, Any]) -> str | None:
        try:
            events = self.midi(
                source,
                offset=offset,
                train=self.train,
                rng=self._rng(i, 2) if self.train else None,
                source=f"segment {sid}",
            )
        except MidiParseError:
            return "corrupt"
        if events.shape[0] == 0:
            return "empty"
        item["midi"] = events
        return None

    def media_order(self) -> np.ndarray:
        """Dataset indices sorted by media (row group, offset): sequential reads for full passes."""
        if self.media is None:
            return np.arange(len(self))
        far = (1 << 62, 0)
        keys = [self.media.location(sid) or far for sid in self.segment_ids]
        return np.array(sorted(range(len(self)), key=lambda i: keys[i]), dtype=np.int64)


class RowGroupSampler(Sampler[int]):
    """Indices grouped by media row group (groups and rows within shuffled when ``shuffle``).

    Random access over a large media file reads a row group per item; grouping keeps
    consecutive batches within a cached row group.
    """

    def __init__(self, dataset: SegmentDataset, shuffle: bool = True, seed: int = 0) -> None:
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[int]:
        order = self.dataset.media_order()
        if not self.shuffle:
            return iter(order.tolist())
        media = self.dataset.media
        groups: dict[int, list[int]] = {}
        for i in order:
            loc = media.location(self.dataset.segment_ids[i]) if media is not None else None
            groups.setdefault(loc[0] if loc else -1, []).append(int(i))
        rng = np.random.default_rng([self.seed, self.epoch])
        keys = list(groups)
        out: list[int] = []
        for k in rng.permutation(len(keys)):
            members = groups[keys[k]]
            out.extend(members[j] for j in rng.permutation(len(members)))
        return iter(out)


def make_loader(
    dataset: SegmentDataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    num_workers: int = 0,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """A DataLoader over ``dataset`` with its collate function and row-group-aware order."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=RowGroupSampler(dataset, shuffle=shuffle, seed=seed),
        collate_fn=dataset.collate,
        num_workers=num_workers,
        persistent_workers=False,
    )
