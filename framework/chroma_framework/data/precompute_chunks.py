"""One precompute chunk: read its rows, encode them, return one part table per modality.

This is the unit every precompute engine runs (in process, in a local process pool, or in a Ray actor): a
:class:`ChunkTask` names dataset rows and the media row groups they live in -- never media bytes -- and a
:class:`ChunkEncoder` holding one replica of each frozen encoder reads those rows from the media file
itself and returns part tables. Because every engine encodes the same rows in the same batches with the
same encoders, their part files (and so the final embeddings file) are byte-identical.

A part table has one row per encoded segment: ``segment_id`` string, ``embedding`` nullable
``fixed_size_list<float32>[D]`` (null where absent), ``absent`` the absence reason and ``input`` the row's
input digest (:func:`~chroma_framework.data.precompute_inputs.row_digest`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import torch

from chroma.contracts import AudioBatch, Encoder, MidiBatch, TextBatch
from chroma.modality import MODALITIES, modality_index
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.fingerprints import column_fingerprint, encoder_fingerprint, frozen_sections
from chroma_framework.data.precompute_inputs import DigestedDataset

if TYPE_CHECKING:
    from chroma_framework.config.model import EncoderSection

#: ``(modality, section) -> Encoder``.
BuildEncoder = Callable[[str, "EncoderSection"], Encoder]


@dataclass(frozen=True)
class ChunkTask:
    """The rows of one chunk to encode.

    Attributes:
        chunk: chunk number (names the part files).
        indices: dataset indices of every row the chunk reads, in media order.
        rows: ``{modality: dataset indices to encode}`` (each a subset of ``indices``, same order).
        row_groups: media-parquet row groups the rows live in (what a worker reads).
    """

    chunk: int
    indices: tuple[int, ...]
    rows: Mapping[str, tuple[int, ...]]
    row_groups: tuple[int, ...]


@dataclass
class ChunkResult:
    """What encoding one chunk produced: ``{modality: part table}`` and the rows read."""

    chunk: int
    parts: dict[str, pa.Table]
    segments: int


def sub_batch(batch: Any, rows: torch.Tensor) -> Any:
    """Rows ``rows`` of a modality batch (MIDI trimmed to its longest kept row)."""
    if isinstance(batch, AudioBatch):
        return AudioBatch(batch.waveform[rows], batch.lengths[rows], batch.sample_rate)
    if isinstance(batch, MidiBatch):
        lengths = batch.lengths[rows]
        width = max(1, int(lengths.max()))
        return MidiBatch(batch.events[rows][:, :width], lengths, batch.duration)
    idx = rows.tolist()
    texts = None if batch.texts is None else [batch.texts[i] for i in idx]
    emb = None if batch.embeddings is None else batch.embeddings[rows]
    return TextBatch(texts, emb)


def encode_rows(
    modality: str, encoder: Encoder | None, batch: dict[str, Any], want: torch.Tensor, device: str = "cpu"
) -> tuple[np.ndarray | None, np.ndarray]:
    """``([K, D] float32 or None when nothing wanted is present, [K] present)`` of the ``K`` wanted rows.

    Args:
        modality: the modality encoded.
        encoder: its frozen encoder; ``None`` takes the batch's lyric vectors as they are.
        batch: a collated batch of ``B`` rows.
        want: ``[B]`` bool, the rows to encode.
        device: where ``encoder`` lives (its inputs are moved there).

    A row whose encoder output is not finite is returned absent.
    """
    present = batch["modality_mask"][:, modality_index(modality)] & want
    rows = torch.nonzero(present).flatten()
    if encoder is None:
        return batch["text"].embeddings[want].numpy(), present[want].numpy()
    if rows.numel() == 0:
        return None, present[want].numpy()
    with torch.no_grad():
        pooled = encoder(sub_batch(batch[modality], rows).to(device)).pooled.float().cpu()
    finite = torch.isfinite(pooled).all(dim=1)
    out = torch.zeros(len(present), pooled.shape[1])
    out[rows] = torch.where(finite[:, None], pooled, torch.zeros_like(pooled))
    present = present.clone()
    present[rows[~finite]] = False
    return out[want].numpy(), present[want].numpy()


def part_table(
    ids: list[str], values: np.ndarray, present: np.ndarray, reasons: list[str | None], digests: list[str]
) -> pa.Table:
    """One part file's table (see the module docstring); ``values`` ``[K, D]``, ``present`` ``[K]``."""
    flat = np.where(present[:, None], values, 0).astype(np.float32).reshape(-1)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), values.shape[1], mask=pa.array(~present))
    return pa.table(
        {
            "segment_id": pa.array(ids, pa.string()),
            "embedding": emb,
            "absent": pa.array(reasons, pa.string()),
            "input": pa.array(digests, pa.string()),
        }
    )


class ChunkEncoder:
    """Encodes :class:`ChunkTask` rows with one replica of each frozen encoder.

    Args:
        encoders: ``{modality: encoder or None}`` (``None``: text from the lyric vector column).
        dataset: the dataset the task indices refer to (reads media by row group, lazily).
        batch_size: rows per encoder call (``data.precompute.batch_size``).
        device: where the encoders run (``"cuda"`` on a GPU worker); moved there here.
    """

    def __init__(
        self,
        encoders: Mapping[str, Encoder | None],
        dataset: DigestedDataset,
        batch_size: int,
        device: str = "cpu",
    ) -> None:
        self.encoders = {m: e.to(device) if e is not None else None for m, e in encoders.items()}
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.device = device

    def output_dim(self, modality: str) -> int:
        encoder = self.encoders[modality]
        return int(encoder.output_dim) if encoder is not None else int(self.dataset.text_dim or 1)

    def __call__(self, task: ChunkTask) -> ChunkResult:
        ds = self.dataset
        ds.modalities = tuple(m for m in MODALITIES if m in task.rows)
        wanted = {m: set(rows) for m, rows in task.rows.items()}
        acc: dict[str, tuple[list[str], list[np.ndarray | None], list[np.ndarray], list[str | None], list[str]]]
        acc = {m: ([], [], [], [], []) for m in task.rows}
        for start in range(0, len(task.indices), self.batch_size):
            indices = task.indices[start : start + self.batch_size]
            batch = ds.collate(ds.__getitems__(list(indices)))
            for m, (ids, values, present, reasons, digests) in acc.items():
                want = torch.tensor([i in wanted[m] for i in indices], dtype=torch.bool)
                vals, pres = encode_rows(m, self.encoders[m], batch, want, self.device)
                keep = want.nonzero().flatten().tolist()
                ids.extend(batch["segment_id"][j] for j in keep)
                values.append(vals)
                present.append(pres)
                for j, ok in zip(keep, pres.tolist()):
                    reason = batch["absent"][j].get(m)
                    reasons.append(reason if reason is not None or ok else "encoder_non_finite")
                digests.extend(batch["input_digest"][j][m] for j in keep)
        parts = {}
        for m, (ids, values, present, reasons, digests) in acc.items():
            dim = next((v.shape[1] for v in values if v is not None), self.output_dim(m))
            stacked = np.concatenate(
                [v if v is not None else np.zeros((len(p), dim), np.float32) for v, p in zip(values, present)]
            )
            parts[m] = part_table(ids, stacked, np.concatenate(present), reasons, digests)
        return ChunkResult(task.chunk, parts, len(task.indices))


def build_encoders(config: ChromaConfig, build: BuildEncoder, modalities: Sequence[str]) -> dict[str, Encoder | None]:
    """``{modality: encoder in eval mode or None}`` built as precompute builds them (seeded per modality)."""
    sections = frozen_sections(config)
    out: dict[str, Encoder | None] = {}
    for modality in MODALITIES:
        if modality not in modalities:
            continue
        if modality not in sections:
            out[modality] = None  # text from the lyric vector column
            continue
        # Seeded so an encoder without loaded weights gets the same random init in every process.
        torch.manual_seed(config.training.seed)
        encoder = build(modality, sections[modality])
        encoder.eval()
        out[modality] = encoder
    return out


def worker_chunk_encoder(
    config: ChromaConfig,
    build: BuildEncoder,
    fingerprints: Mapping[str, str],
    audio_sample_rate: int | None,
    batch_size: int,
    device: str = "cpu",
) -> ChunkEncoder:
    """A :class:`ChunkEncoder` built inside a worker process from the config alone.

    Raises:
        ValueError: a rebuilt encoder's fingerprint differs from the driver's (another plugin version or
            other weights on this worker), so its embeddings would not match the file.
    """
    encoders = build_encoders(config, build, list(fingerprints))
    sections = frozen_sections(config)
    for modality, encoder in encoders.items():
        got = (
            column_fingerprint(config)
            if encoder is None
            else encoder_fingerprint(encoder, sections[modality], config, modality)
        )
        if got != fingerprints[modality]:
            raise ValueError(
                f"precompute worker built the {modality} encoder as {got}, but the driver planned "
                f"{fingerprints[modality]}: install the same plugin versions and weights on every node"
            )
    dataset = DigestedDataset(
        config, modalities=list(fingerprints), audio_sample_rate=audio_sample_rate, with_labels=False
    )
    return ChunkEncoder(encoders, dataset, batch_size, device)
