"""Item dicts of :class:`~chroma_framework.data.dataset.SegmentDataset` -> one batch dict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from chroma.contracts import AudioBatch, TextBatch
from chroma.modality import MODALITIES
from chroma_framework.midi.collate import events_to_batch


def audio_rows(batch_size: int, num_samples: int) -> Tensor:
    """An uninitialised ``[batch_size, num_samples]`` float32 tensor for a batch's waveforms.

    In a DataLoader worker it lives in shared memory (as torch's default collate allocates its
    batches), so handing the batch to the main process does not copy it again. Otherwise it is
    allocated from Arrow's memory pool, which recycles the pages of freed batches as it does those
    of the row groups read before them: a fresh allocation of tens of MB per batch would fault in
    every page (about as much CPU as reading the row group).
    """
    numel = batch_size * num_samples
    if torch.utils.data.get_worker_info() is not None:
        proto = torch.empty(0, dtype=torch.float32)
        storage = proto._typed_storage()._new_shared(numel, device=proto.device)
        return proto.new(storage).resize_(batch_size, num_samples)
    if numel == 0:
        return torch.empty(batch_size, num_samples, dtype=torch.float32)
    buffer = pa.allocate_buffer(numel * 4)  # the tensor keeps the buffer alive
    return torch.frombuffer(buffer, dtype=torch.float32).view(batch_size, num_samples)


class SegmentItems(list[dict[str, Any]]):
    """The items of one ``SegmentDataset.__getitems__`` call, their waveforms written into one batch tensor.

    Args:
        items: the item dicts; item ``k``'s ``audio`` tensor (when present) is row ``k`` of ``rows``.
        rows: ``[len(items), num_samples]`` float32, or ``None`` (audio not loaded). The rows of
            items without audio are not initialised; :class:`SegmentCollator` zeroes them.
    """

    def __init__(self, items: Sequence[dict[str, Any]], rows: Tensor | None) -> None:
        super().__init__(items)
        self.rows = rows


@dataclass(frozen=True)
class SegmentCollator:
    """Collate function (picklable for DataLoader workers).

    Args:
        num_samples: audio width ``S`` of every batch.
        sample_rate: audio rate stored on :class:`AudioBatch`.
        midi_duration: seconds stored on :class:`MidiBatch`.
        max_events: cap on MIDI events per row.
        text_dim: width of precomputed lyric vectors, ``None`` when texts are encoded.
        heads: label heads to stack.
        soft_heads: heads whose soft targets (item ``soft_label``) are stacked.

    Batch dict:
        ``text``: :class:`TextBatch` (``texts`` ``B`` strings, ``""`` when absent;
        ``embeddings`` ``[B, text_dim]`` zeros where absent, or ``None``);
        ``audio``: :class:`AudioBatch` ``[B, num_samples]`` with ``lengths`` 0 where absent;
        ``midi``: :class:`MidiBatch` ``[B, E, F]`` with ``lengths`` 0 where absent;
        ``modality_mask``: ``[B, 3]`` bool; ``label``: ``{head: [B] int64}``;
        ``soft_label``: ``{head: [B, C] float32}`` (only with ``soft_heads``);
        ``segment_id``: ``B`` ids; ``absent``: ``B`` dicts of absence reasons;
        ``midi_source``: ``B`` of ``"real"``, ``"transcribed"`` or ``None`` (no MIDI).
    """

    num_samples: int
    sample_rate: int
    midi_duration: float
    max_events: int
    text_dim: int | None = None
    heads: tuple[str, ...] = ()
    soft_heads: tuple[str, ...] = ()

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        b = len(items)
        present = [[m in item["absent"] and item["absent"][m] is None for m in MODALITIES] for item in items]
        mask = torch.tensor(present, dtype=torch.bool).reshape(b, len(MODALITIES))

        embeddings = None
        if self.text_dim is not None:
            emb = np.zeros((b, self.text_dim), dtype=np.float32)
            for row, item in enumerate(items):
                if item["text_embedding"] is not None:
                    emb[row] = item["text_embedding"]
            embeddings = torch.from_numpy(emb)
        text = TextBatch(texts=[item["text"] for item in items], embeddings=embeddings)

        audio = AudioBatch(*self._waveforms(items), self.sample_rate)

        midi, _ = events_to_batch([item["midi"] for item in items], self.midi_duration, self.max_events)

        labels = {h: torch.tensor([item["label"][h] for item in items], dtype=torch.int64) for h in self.heads}
        batch = {
            "text": text,
            "audio": audio,
            "midi": midi,
            "modality_mask": mask,
            "label": labels,
            "segment_id": [item["segment_id"] for item in items],
            "absent": [dict(item["absent"]) for item in items],
            "midi_source": [item.get("midi_source") for item in items],
        }
        if self.soft_heads:
            batch["soft_label"] = {
                h: torch.from_numpy(np.stack([item["soft_label"][h] for item in items])) for h in self.soft_heads
            }
        return batch

    def _waveforms(self, items: Sequence[dict[str, Any]]) -> tuple[Tensor, Tensor]:
        """``(waveform [B, num_samples], lengths [B])``, zeros where audio is absent.

        Items from one ``__getitems__`` call already hold their waveforms as the rows of one
        tensor (:class:`SegmentItems`): that tensor is the batch, no row is copied. Other items
        (e.g. a list of ``dataset[i]``) are copied row by row.
        """
        b, width = len(items), self.num_samples
        counts = [0 if it["audio"] is None else min(int(it["audio"][1]), width) for it in items]
        lengths = torch.tensor(counts, dtype=torch.int64)
        rows = items.rows if isinstance(items, SegmentItems) else None
        if rows is not None and _rows_hold(rows, items, width):
            for row, item in enumerate(items):
                if item["audio"] is None:
                    rows[row].zero_()
            return rows, lengths
        # Items hold exactly num_samples (AudioPreprocessor pads/truncates); fill in place.
        waveform = torch.zeros(b, width, dtype=torch.float32)
        for row, item in enumerate(items):
            if item["audio"] is not None:
                wave = item["audio"][0]
                waveform[row, : wave.shape[0]] = wave[:width]
        return waveform, lengths


def _rows_hold(rows: Tensor, items: Sequence[dict[str, Any]], width: int) -> bool:
    """Whether ``rows`` is ``[len(items), width]`` float32 and item ``k``'s waveform is its row ``k``."""
    if tuple(rows.shape) != (len(items), width) or rows.dtype != torch.float32 or not rows.is_contiguous():
        return False
    start, step = rows.data_ptr(), width * rows.element_size()
    return all(
        it["audio"] is None or (it["audio"][0].data_ptr() == start + k * step and it["audio"][0].shape == (width,))
        for k, it in enumerate(items)
    )
