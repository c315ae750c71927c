"""Feature streams as model inputs: stream slots, the frames of every segment, the saved normalisation file.

A **stream slot** (:func:`chroma_framework.config.stream_slots.stream_slots`) is a ``model.<modality>_encoder`` whose plugin options name ``streams:`` (declared in
``data.streams``); that modality is then read as a :class:`chroma.FrameBatch` of those streams instead of its
media, and a segment without any available frame of them is that modality absent (the fusion's learned null
embedding). The normalisation is fitted on the training split's frames only and saved beside the checkpoint as
``stream_normalisation.json``; scoring applies the saved file (imports torch).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chroma.contracts import FrameBatch
from chroma.errors import ConfigError
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.streams.align import align_streams, split_segments
from chroma_framework.streams.collate import collate_streams
from chroma_framework.streams.grid import FrameGrid
from chroma_framework.streams.normalise import StreamNormaliser
from chroma_framework.streams.spec import StreamSpec, StreamValidationError
from chroma_framework.streams.stream import StreamBatch

#: The normalisation file of a run trained with streams, beside ``model.safetensors``.
NORMALISATION_FILE = "stream_normalisation.json"


@dataclass(frozen=True)
class SegmentFrames:
    """Aligned, normalised frames of ``N`` segments, padded to their longest ``T``.

    Attributes:
        segment_ids: ``N`` ids.
        values: ``{stream: [N, T, D] float32}``, zero where unavailable.
        masks: ``{stream: [N, T] bool}``.
        lengths: ``[N]`` int64 frames per segment.
    """

    segment_ids: tuple[str, ...]
    values: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    lengths: torch.Tensor

    def present(self, streams: Sequence[str]) -> np.ndarray:
        """``[N]`` bool: the segment has an available frame of at least one of ``streams``."""
        return np.asarray(torch.stack([self.masks[s].any(dim=1) for s in streams]).any(dim=0))

    def batch(self, rows: torch.Tensor, streams: Sequence[str]) -> FrameBatch:
        """The :class:`FrameBatch` of ``streams`` at ``rows`` (``[B]`` int64)."""
        return FrameBatch(
            {s: self.values[s][rows] for s in streams}, {s: self.masks[s][rows] for s in streams}, self.lengths[rows]
        )


def aligned_frames(batches: Sequence[StreamBatch], grid: FrameGrid, normaliser: StreamNormaliser) -> SegmentFrames:
    """Align ``batches`` onto ``grid``, normalise with ``normaliser`` and pad them per segment."""
    aligned = {name: normaliser.transform(stream) for name, stream in align_streams(batches, grid).items()}
    specs = [b.spec for b in batches]
    tensors = collate_streams(split_segments(aligned), specs)
    return SegmentFrames(grid.segment_ids, tensors.values, tensors.masks, tensors.lengths)


def fit_normaliser(batches: Sequence[StreamBatch], grid: FrameGrid, train_ids: set[str]) -> StreamNormaliser:
    """The normalisation fitted on the available frames of the training segments ``train_ids`` only.

    Raises:
        StreamValidationError: a continuous group with no available training frame.
    """
    in_train = np.isin(np.asarray(grid.segment_ids, dtype=object), list(train_ids))[grid.frame_segments()]
    aligned = align_streams(batches, grid)
    return StreamNormaliser.fit(dataclasses.replace(s, mask=s.mask & in_train) for s in aligned.values())


def write_normaliser(run_dir: Path, normaliser: StreamNormaliser) -> Path:
    """Write ``stream_normalisation.json`` into ``run_dir`` atomically."""
    from chroma_framework.atomic import write_json

    path = Path(run_dir) / NORMALISATION_FILE
    write_json(path, normaliser.to_json())
    return path


def read_normaliser(run_dir: Path) -> StreamNormaliser:
    """The run's saved normalisation.

    Raises:
        StreamValidationError: the file is absent or malformed (named).
    """
    path = Path(run_dir) / NORMALISATION_FILE
    if not path.is_file():
        raise StreamValidationError(
            f"{path} is missing: the run was trained with data.streams but its normalisation file is gone"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StreamValidationError(f"{path} is not readable JSON ({exc})") from None
    try:
        return StreamNormaliser.from_json(data)
    except StreamValidationError as exc:
        raise StreamValidationError(f"{path}: {exc}") from None


def scoring_frames(
    config: ChromaConfig,
    normaliser: StreamNormaliser,
    given: Mapping[str, tuple[Any, Any]],
    duration: float | None = None,
) -> SegmentFrames:
    """Frames of one scored segment from raw stream samples ``{stream: (timestamps [N], values [N, D])}``.

    The grid is ``data.streams.grid``: a rate grid over ``[0, duration)`` (``grid.duration`` when set, else the
    given ``duration``, else up to the last given sample), or the primary stream's own timestamps. A declared
    stream left out of ``given`` is missing in the segment.

    Raises:
        StreamValidationError: an undeclared stream, bad samples, or no way to build the grid (named).
    """
    section = config.data.streams
    if section is None:
        raise StreamValidationError("the run declares no data.streams")
    specs = {name: spec for name, spec in normaliser.streams.items()}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise StreamValidationError(
            f"stream(s) {', '.join(map(repr, unknown))} were not part of the run (it knows {', '.join(sorted(specs))})"
        )
    ids = ("scored",)
    batches = [_one_segment(spec, ids, given.get(name)) for name, spec in sorted(specs.items())]
    grid_section = section.grid
    if grid_section.primary is not None:
        primary = next(b for b in batches if b.spec.name == grid_section.primary)
        if primary.offsets[-1] == 0:
            raise StreamValidationError(
                "the run's frame grid is this stream's timestamps: give it to score", stream=grid_section.primary
            )
        grid = FrameGrid.from_stream(primary)
    else:
        end = grid_section.duration or duration
        if end is None:
            stamps = [float(b.timestamps.max()) for b in batches if len(b.timestamps)]
            end = max(stamps) + 1.0 / float(grid_section.rate or 1.0) if stamps else 0.0
        grid = FrameGrid.from_rate(ids, [0.0], [float(end)], float(grid_section.rate or 0))
    return aligned_frames(batches, grid, normaliser)


def _one_segment(spec: StreamSpec, ids: tuple[str, ...], samples: tuple[Any, Any] | None) -> StreamBatch:
    if samples is None:
        return StreamBatch(spec, ids, np.array([0, 0]), np.empty(0), np.empty((0, spec.dim)))
    times = np.asarray(samples[0], dtype=np.float64).reshape(-1)
    values = np.asarray(samples[1], dtype=np.float64)
    return StreamBatch(spec, ids, np.array([0, len(times)]), times, values.reshape(len(times), -1))


def read_streams_npz(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{stream: (times, values)}`` of an NPZ file holding ``<stream>_times`` ``[N]`` and ``<stream>_values``
    ``[N, D]`` (or ``[N]``) arrays per stream (no pickles), as ``chroma score --streams`` takes.

    Raises:
        StreamValidationError: not a pickle-free NPZ, or an array without its pair (named).
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise StreamValidationError(f"{path} is not a pickle-free NPZ file ({exc})") from None
    names = {k.removesuffix("_times") for k in arrays if k.endswith("_times")}
    names |= {k.removesuffix("_values") for k in arrays if k.endswith("_values")}
    out = {}
    for name in sorted(names):
        if f"{name}_times" not in arrays or f"{name}_values" not in arrays:
            raise StreamValidationError(f"{path}: stream {name!r} needs both {name}_times and {name}_values arrays")
        out[name] = (arrays[f"{name}_times"], arrays[f"{name}_values"])
    if not out:
        raise StreamValidationError(f"{path} holds no <stream>_times / <stream>_values arrays")
    return out


def run_streams(build_info: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{modality: {stream: dim}}`` a run's model reads as streams (from ``run.json``'s ``build``)."""
    return {m: dict(s) for m, s in (build_info.get("streams") or {}).items()}


def check_no_other_trainable(config: ChromaConfig, slots: Mapping[str, Sequence[str]]) -> None:
    """Streams in ``training.mode: precomputed`` go with frozen (precomputed) encoders only, for now.

    Raises:
        ConfigError: another trainable encoder is configured, naming it.
    """
    from chroma_framework.data.fingerprints import trainable_sections

    others = [m for m in trainable_sections(config) if m not in slots]
    if others:
        raise ConfigError(
            f"model.{others[0]}_encoder is trainable (frozen: false) next to the stream slot(s) "
            f"{', '.join(slots)}; a run with data.streams trains stream encoders with frozen (precomputed) "
            "encoders only: freeze it"
        )


def slot_batches(
    config: ChromaConfig,
    normaliser: StreamNormaliser,
    slots: Mapping[str, Mapping[str, int]],
    given: Mapping[str, tuple[Any, Any]],
) -> dict[str, tuple[FrameBatch, bool]]:
    """``{modality: (FrameBatch of one row, present)}`` of a run's stream slots for one scored segment; a slot
    none of whose streams has an available frame is absent (scored with the learned null embedding).

    Raises:
        StreamValidationError: an undeclared stream or bad samples (see :func:`scoring_frames`).
    """
    frames = scoring_frames(config, normaliser, given)
    rows = torch.zeros(1, dtype=torch.int64)
    return {m: (frames.batch(rows, list(s)), bool(frames.present(list(s))[0])) for m, s in slots.items()}


def describe_run_kind(modalities: Sequence[str], slots: Mapping[str, Mapping[str, int]]) -> str:
    """``"text, audio (streams rms, mel), midi"``: what a run reads, per modality."""
    return ", ".join(f"{m} (streams {', '.join(slots[m])})" if m in slots else m for m in modalities)


def derived_samples(config: ChromaConfig, media: Mapping[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{stream: (timestamps, values)}`` of the run's derived streams computable from the scored segment's
    ``media``: ``{"audio": (wave [S], rate), "midi": (events [E, F], duration s), "text": lyric text}`` (a modality
    left out or ``None`` is absent), decoded as training decodes it."""
    from chroma_framework.streams.derived import DERIVED_FROM, derive

    section = config.data.streams
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for source in section.sources if section is not None else []:
        if source.derived is None or media.get(DERIVED_FROM[source.derived]) is None:
            continue
        modality = DERIVED_FROM[source.derived]
        samples = derive(source.derived, source.hop, source.dim, **{_MEDIA_ARGUMENT[modality]: media[modality]})
        if samples is not None and len(samples[0]):
            out[source.name] = samples
    return out


def derived_from(config: ChromaConfig) -> set[str]:
    """Modalities whose media the run's derived streams are computed from."""
    from chroma_framework.streams.derived import DERIVED_FROM

    section = config.data.streams
    return {DERIVED_FROM[s.derived] for s in (section.sources if section else []) if s.derived is not None}


_MEDIA_ARGUMENT = {"audio": "audio", "midi": "midi", "text": "lyrics"}
