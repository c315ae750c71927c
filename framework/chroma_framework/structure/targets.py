"""Frame targets of the frame heads: boundary and event times from the metadata, band energy from the audio.

Per segment, targets are kept in time (seconds), not in frames: boundary and event times ``[M]`` and an
energy curve ``[F, bands]`` sampled at ``structure.targets.energy_rate``. They are turned into frame targets
on the encoder's own frame grid (:class:`chroma.frame_heads.base.FrameTiming`) when a loss is computed
(:func:`boundary_frames`, :func:`resample_curve`), so any encoder frame rate reads the same targets.

Stored per split as NaN-padded tensors (:func:`target_tensors`): ``boundary`` ``[N, M]``, ``event:<name>``
``[N, M]`` and ``energy`` ``[N, F, bands]`` (NaN where a segment has no value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import Tensor

from chroma.errors import ConfigError
from chroma.frame_heads.base import FrameTiming
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.config.structure import StructureTargetsSection
from chroma_framework.cues.columns import CueDataError, tempo, time_list
from chroma_framework.data.paths import metadata_path
from chroma_framework.structure.postprocess import snap_to_grid

#: Key of the energy curve in :func:`target_tensors`' output; boundaries are ``boundary``, events ``event:<name>``.
ENERGY = "energy"
BOUNDARY = "boundary"


def event_key(name: str) -> str:
    return f"event:{name}"


@dataclass
class SegmentCues:
    """The cue columns of one segment (times in seconds; ``None`` where the metadata has none).

    Attributes:
        boundaries: section starts.
        names: one cue name per boundary (``""`` unnamed).
        beats: the beat grid (from ``beats``, else ``bpm`` + ``first_beat``).
        downbeats: first beats of bars.
    """

    boundaries: np.ndarray | None = None
    names: list[str] = field(default_factory=list)
    beats: np.ndarray | None = None
    downbeats: np.ndarray | None = None


def _grid(bpm: float | None, first: float | None, end: float) -> np.ndarray | None:
    if bpm is None or first is None or not math.isfinite(end):
        return None
    beat = 60.0 / bpm
    return first + beat * np.arange(max(0, int((end - first) / beat) + 1))


def read_cues(config: ChromaConfig, segment_ids: Sequence[str], end: float = math.inf) -> dict[str, SegmentCues]:
    """``{segment_id: SegmentCues}`` of ``segment_ids`` from the metadata parquet.

    Args:
        end: seconds up to which a ``bpm`` + ``first_beat`` grid is laid out (the audio length).

    Raises:
        ConfigError: the boundary column is missing, or a cue value is malformed (segment and column named).
    """
    cols = config.structure.targets
    path = metadata_path(config.data)
    names = set(pq.read_schema(path).names)
    if cols.boundaries not in names:
        raise ConfigError(
            f"structure.targets.boundaries: the metadata {path} has no column {cols.boundaries!r}; frame heads "
            "train on section boundary times (list<float64> seconds per segment)"
        )
    id_col = config.data.columns.segment_id
    wanted = [
        id_col,
        *(
            c
            for c in (cols.boundaries, cols.cue_names, cols.beats, cols.downbeats, cols.bpm, cols.first_beat)
            if c in names
        ),
    ]
    table = pq.read_table(path, columns=list(dict.fromkeys(wanted))).to_pydict()
    index = {str(s): i for i, s in enumerate(table[id_col])}
    out: dict[str, SegmentCues] = {}
    for sid in segment_ids:
        i = index.get(sid)
        if i is None:
            raise ConfigError(f"segment {sid!r} is not in the metadata {path}")

        def cell(column: str, row: int = i) -> object:
            return table[column][row] if column in table else None

        try:
            boundaries = time_list(cell(cols.boundaries), sid, cols.boundaries)  # type: ignore[arg-type]
            beats = time_list(cell(cols.beats), sid, cols.beats)  # type: ignore[arg-type]
            downbeats = time_list(cell(cols.downbeats), sid, cols.downbeats)  # type: ignore[arg-type]
            bpm = tempo(cell(cols.bpm), sid, cols.bpm)  # type: ignore[arg-type]
        except CueDataError as exc:
            raise ConfigError(str(exc)) from None
        first = cell(cols.first_beat)
        if beats is None:
            beats = _grid(bpm, None if first is None else float(first), end)  # type: ignore[arg-type]
        names_cell = cell(cols.cue_names)
        cue_names = [str(n or "") for n in names_cell] if isinstance(names_cell, list) else []
        if boundaries is not None and cue_names and len(cue_names) != len(boundaries):
            raise ConfigError(
                f"segment {sid!r}: column {cols.cue_names!r} has {len(cue_names)} names for "
                f"{len(boundaries)} boundaries in {cols.boundaries!r}"
            )
        out[sid] = SegmentCues(boundaries, cue_names, beats, downbeats)
    return out


def band_energy(wave: np.ndarray, sample_rate: int, section: StructureTargetsSection) -> np.ndarray:
    """Normalised per-band RMS energy of ``wave [S]``: ``[F, bands]`` in ``[0, 1]`` at ``section.energy_rate``.

    Frame ``f`` is centred at ``f / energy_rate`` seconds (a Hann window of two hops). Each band's RMS is taken
    in dB and mapped linearly from its ``energy_floor`` percentile (0) to its ``100 - energy_floor``
    percentile (1) over the segment, clipped.
    """
    hop = max(1, int(round(sample_rate / section.energy_rate)))
    n_fft = 2 * hop
    x = torch.from_numpy(np.asarray(wave, dtype=np.float32))
    frames = x.numel() // hop + 1
    spec = (
        torch.stft(
            torch.nn.functional.pad(x, (0, n_fft)),
            n_fft,
            hop,
            window=torch.hann_window(n_fft),
            center=True,
            return_complex=True,
        )
        .abs()
        .pow(2)[:, :frames]
    )  # [bins, F]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = [*section.energy_bands_hz, sample_rate / 2 + 1]
    out = np.zeros((frames, len(section.energy_bands_hz)), dtype=np.float32)
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        bins = np.flatnonzero((freqs >= low) & (freqs < high))
        if bins.size == 0:
            raise ConfigError(
                f"structure.targets.energy_bands_hz: band {low:g}-{high:g} Hz holds no frequency bin at "
                f"{sample_rate} Hz with a {n_fft}-point window; widen the band or lower energy_rate"
            )
        db = 10.0 * np.log10(spec[bins].mean(dim=0).numpy() + 1e-10)
        lo, hi = np.percentile(db, [section.energy_floor, 100.0 - section.energy_floor])
        out[:, k] = np.clip((db - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return out


def _padded(rows: Sequence[np.ndarray | None], width: int | None = None) -> Tensor:
    """NaN-padded ``[N, max_len(, K)]`` float32 of ragged rows (``None`` rows all NaN)."""
    longest = max([0, *(len(r) for r in rows if r is not None)]) if width is None else width
    tail = next((r.shape[1:] for r in rows if r is not None), ())
    out = np.full((len(rows), max(1, longest), *tail), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None and len(r):
            out[i, : len(r)] = r[:longest]
    return torch.from_numpy(out)


def target_tensors(
    config: ChromaConfig,
    cues: Sequence[SegmentCues],
    energies: Sequence[np.ndarray | None] | None = None,
    events: Sequence[str] = (),
) -> dict[str, Tensor]:
    """The stored targets of ``N`` segments (see the module doc).

    Args:
        cues: each segment's cues.
        energies: each segment's :func:`band_energy` curve (``None``: no energy targets, e.g. no audio).
        events: event names whose cue times become ``event:<name>`` targets.
    """
    section = config.structure.targets
    boundaries: list[np.ndarray | None] = []
    for c in cues:
        times = c.boundaries
        if times is not None and section.snap_to_beats:
            times = np.array([snap_to_grid(np.array([t]), c.beats, math.inf)[0] for t in times])
        boundaries.append(times)
    out = {BOUNDARY: _padded(boundaries)}
    for name in events:
        rows = [
            None
            if times is None
            else times[np.array([n == name for n in c.names], dtype=bool)]
            if c.names
            else np.zeros(0)
            for c, times in zip(cues, boundaries, strict=True)
        ]
        out[event_key(name)] = _padded(rows)
    if energies is not None:
        out[ENERGY] = _padded(list(energies))
    return out


def boundary_frames(times: Tensor, timing: FrameTiming, frames: int) -> Tensor:
    """``[B, T]`` float 0/1 targets: 1 at the frame nearest each time of ``times [B, M]`` (NaN-padded).

    Times falling outside the ``frames`` frames are dropped.
    """
    out = torch.zeros(times.shape[0], frames, device=times.device)
    valid = torch.isfinite(times)
    index = timing.frame_of(torch.nan_to_num(times, nan=-1e9))
    valid = valid & (index >= 0) & (index < frames)
    rows = torch.arange(times.shape[0], device=times.device)[:, None].expand_as(index)
    out[rows[valid], index[valid]] = 1.0
    return out


def resample_curve(curve: Tensor, rate: float, timing: FrameTiming, frames: int) -> Tensor:
    """``curve [B, F, K]`` sampled at ``rate`` Hz, linearly interpolated at the ``frames`` frame centres.

    Returns:
        ``[B, T, K]``; NaN where the curve has no value on either side (past a segment's audio).
    """
    position = (timing.times(frames).to(curve.device) * rate).float()  # [T] in curve samples
    low = position.floor().long().clamp(0, curve.shape[1] - 1)
    high = (low + 1).clamp(max=curve.shape[1] - 1)
    weight = (position - low.float()).clamp(0, 1)[None, :, None]
    inside = (position <= curve.shape[1] - 1)[None, :, None]
    value = curve[:, low] * (1 - weight) + curve[:, high] * weight
    return torch.where(inside, value, torch.full_like(value, math.nan))
