"""Item dicts of :class:`~chroma_framework.data.dataset.SegmentDataset` -> one batch dict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from chroma.contracts import AudioBatch, TextBatch
from chroma.modality import MODALITIES
from chroma_framework.midi.collate import events_to_batch


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
        mask = torch.zeros(b, len(MODALITIES), dtype=torch.bool)
        for row, item in enumerate(items):
            for col, modality in enumerate(MODALITIES):
                mask[row, col] = modality in item["absent"] and item["absent"][modality] is None

        embeddings = None
        if self.text_dim is not None:
            emb = np.zeros((b, self.text_dim), dtype=np.float32)
            for row, item in enumerate(items):
                if item["text_embedding"] is not None:
                    emb[row] = item["text_embedding"]
            embeddings = torch.from_numpy(emb)
        text = TextBatch(texts=[item["text"] for item in items], embeddings=embeddings)

        # Items already hold exactly num_samples (AudioPreprocessor pads/truncates); fill in place.
        waveform = torch.zeros(b, self.num_samples, dtype=torch.float32)
        lengths = torch.zeros(b, dtype=torch.int64)
        for row, item in enumerate(items):
            if item["audio"] is not None:
                wave, length = item["audio"]
                waveform[row, : wave.shape[0]] = wave[: self.num_samples]
                lengths[row] = min(int(length), self.num_samples)
        audio = AudioBatch(waveform, lengths, self.sample_rate)

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
