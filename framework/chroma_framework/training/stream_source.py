"""Batches of ``training.mode: precomputed`` runs with stream slots (see :mod:`chroma_framework.streams.model_inputs`).

The frozen modalities come from the embeddings file as on the plain fast path; each stream slot's modality is a
:class:`chroma.FrameBatch` of aligned frames, normalised with statistics fitted on the training split only, and
present where the segment has an available frame of one of the slot's streams. The fitted normalisation is
written into the run directory (``stream_normalisation.json``) when the run starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import torch
from torch import Tensor

from chroma.errors import ConfigError
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.config.stream_slots import stream_slots
from chroma_framework.data.input_cache import InputCache
from chroma_framework.streams.model_inputs import (
    SegmentFrames,
    aligned_frames,
    check_no_other_trainable,
    fit_normaliser,
    write_normaliser,
)
from chroma_framework.streams.spec import StreamValidationError
from chroma_framework.training.data import PrecomputedSource, SplitTensors, load_precomputed, split_and_album

logger = logging.getLogger(__name__)


class _Presence:
    """What :func:`load_precomputed` reads of an input cache: ``{segment id: frame row}`` where present."""

    def __init__(self, frames: SegmentFrames, streams: list[str]) -> None:
        present = frames.present(streams)
        self._index = {sid: i for i, sid in enumerate(frames.segment_ids) if present[i]}

    def index(self) -> dict[str, int]:
        return self._index


class StreamSplit(SplitTensors):
    """A split whose batches also carry each stream slot's :class:`chroma.FrameBatch` (all rows; absent rows have
    no valid frame)."""

    frames: SegmentFrames
    slots: dict[str, list[str]]
    frame_rows: dict[str, Tensor]
    device: torch.device

    @classmethod
    def wrap(
        cls, split: SplitTensors, frames: SegmentFrames, slots: dict[str, list[str]], device: torch.device
    ) -> StreamSplit:
        out = cls(**{name: getattr(split, name) for name in SplitTensors.__dataclass_fields__})
        out.frames, out.slots, out.device = frames, slots, device
        position = {sid: i for i, sid in enumerate(frames.segment_ids)}
        rows = torch.tensor([position[sid] for sid in split.segment_ids], dtype=torch.int64)
        out.frame_rows = {m: rows for m in slots}
        return out

    def batch(self, rows: Tensor, mask: Tensor | None = None) -> dict[str, object]:
        batch = super().batch(rows, mask)
        for modality, streams in self.slots.items():
            frame_rows = self.frame_rows[modality][rows.cpu()]
            batch[modality] = self.frames.batch(frame_rows, streams).to(self.device)
        return batch


class StreamSource(PrecomputedSource):
    """:class:`PrecomputedSource` whose stream slots are frame batches of ``data.streams``.

    Raises:
        ConfigError: bad stream data (named stream and segment), a trainable non-stream encoder next to them, or
            ``training.mode`` other than ``precomputed``.
    """

    def __init__(self, config: ChromaConfig, device: torch.device, vocab: dict[str, list[str]] | None = None) -> None:
        from chroma_framework.streams.sources import read_streams

        self.slots = stream_slots(config)
        if config.training.mode != "precomputed":
            modality = next(iter(self.slots))
            raise ConfigError(
                f"model.{modality}_encoder reads data.streams, which trains with training.mode: precomputed "
                f"(got {config.training.mode!r}); set training.mode: precomputed"
            )
        check_no_other_trainable(config, self.slots)
        try:
            inputs = read_streams(config.data, config)
            batches = inputs.batches()
            split_of, _ = split_and_album(config)
            train_ids = {sid for sid, split in split_of.items() if split == "train"}
            self.normaliser = fit_normaliser(batches, inputs.grid, train_ids)
            frames = aligned_frames(batches, inputs.grid, self.normaliser)
        except StreamValidationError as exc:
            raise ConfigError(f"data.streams: {exc}") from None
        presence = {m: _Presence(frames, streams) for m, streams in self.slots.items()}
        data = load_precomputed(config, vocab, cast(Mapping[str, InputCache], presence))
        super().__init__(data, config.training.batch_size, device, config.training.seed)
        self.splits = {name: StreamSplit.wrap(split, frames, self.slots, device) for name, split in self.splits.items()}
        for modality, streams in self.slots.items():
            logger.info(
                "stream slot %s (%s): %d of %d segments have frames",
                modality,
                ", ".join(streams),
                len(presence[modality].index()),
                len(frames.segment_ids),
            )

    def write_run_files(self, run_dir: Path) -> None:
        """Save the normalisation fitted on the training split beside the checkpoint."""
        write_normaliser(run_dir, self.normaliser)
