"""The tensor contracts shared by every encoder and fusion plugin.

Shapes use ``B`` for batch, ``S`` for audio samples, ``E`` for MIDI events,
``F`` for event features, ``T`` for sequence positions and ``D`` for features.

* :class:`AudioBatch`, :class:`MidiBatch`, :class:`TextBatch` are what encoders take; :class:`FrameBatch`
  is what a stream-reading encoder (:attr:`Encoder.streams`) takes instead.
* :class:`EncoderOutput` is what every encoder returns.
* :class:`FusionOutput` is what every fusion returns.
* :class:`Encoder` and :class:`FusionModule` are the base classes plugins subclass.
  ``FusionModule.forward`` substitutes absent modalities (see :mod:`chroma.missing`)
  before calling the plugin's :meth:`FusionModule.fuse`, so every fusion gets the
  learned-null-embedding contract for free.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from chroma.modality import MODALITIES, ModalityName

#: Column order of :attr:`MidiBatch.events` ``[B, E, F]``.
#: ``onset``/``duration`` are seconds from the segment start; ``bar`` is the bar
#: index within the segment and ``position`` the position in the bar in ``[0, 1)``.
MIDI_EVENT_FEATURES: tuple[str, ...] = (
    "pitch",
    "velocity",
    "onset",
    "duration",
    "program",
    "is_drum",
    "bar",
    "position",
)


def midi_feature_index(name: str) -> int:
    """Column of ``name`` in :data:`MIDI_EVENT_FEATURES`."""
    return MIDI_EVENT_FEATURES.index(name)


@dataclass
class AudioBatch:
    """Mono waveforms.

    Attributes:
        waveform: ``[B, S]`` float, zero-padded past each row's length.
        lengths: ``[B]`` int64, valid samples per row (0 for an absent row).
        sample_rate: samples per second, the same for every row.
    """

    waveform: Tensor
    lengths: Tensor
    sample_rate: int

    def to(self, device: torch.device | str) -> AudioBatch:
        return AudioBatch(self.waveform.to(device), self.lengths.to(device), self.sample_rate)


@dataclass
class MidiBatch:
    """Note events, one row of ``F`` features per note (see :data:`MIDI_EVENT_FEATURES`).

    Attributes:
        events: ``[B, E, F]`` float32, zero-padded past each row's length.
        lengths: ``[B]`` int64, valid events per row (0 for empty or absent MIDI).
        duration: segment length in seconds the onsets are relative to.
    """

    events: Tensor
    lengths: Tensor
    duration: float

    def to(self, device: torch.device | str) -> MidiBatch:
        return MidiBatch(self.events.to(device), self.lengths.to(device), self.duration)

    def padding_mask(self) -> Tensor:
        """``[B, E]`` bool, True at valid events."""
        from chroma.pooling import length_mask

        return length_mask(self.lengths, self.events.shape[1])


@dataclass
class TextBatch:
    """Lyrics as strings, precomputed vectors, or both.

    Attributes:
        texts: ``B`` strings (``""`` for absent rows), or ``None``.
        embeddings: ``[B, D]`` float precomputed vectors, or ``None``.
    """

    texts: list[str] | None = None
    embeddings: Tensor | None = None

    def to(self, device: torch.device | str) -> TextBatch:
        emb = None if self.embeddings is None else self.embeddings.to(device)
        return TextBatch(self.texts, emb)


@dataclass
class FrameBatch:
    """Time-aligned feature frames of the streams one encoder reads (``data.streams``, see
    ``docs/feature-streams.md``), already normalised, on one frame grid.

    An encoder whose :attr:`Encoder.streams` is non-empty takes a ``FrameBatch`` of those streams instead of its
    modality's media; a row without any available frame is an absent modality.

    Attributes:
        values: ``{stream: [B, T, D_s]}`` float32, zero where unavailable or past a row's length.
        masks: ``{stream: [B, T]}`` bool, True where the stream has a value (never past a row's length).
        lengths: ``[B]`` int64 grid frames per row (0 for an absent row).
    """

    values: dict[str, Tensor]
    masks: dict[str, Tensor]
    lengths: Tensor

    def to(self, device: torch.device | str) -> FrameBatch:
        return FrameBatch(
            {k: v.to(device) for k, v in self.values.items()},
            {k: m.to(device) for k, m in self.masks.items()},
            self.lengths.to(device),
        )

    def take(self, rows: Tensor) -> FrameBatch:
        """Rows ``rows`` (``[K]`` int64)."""
        return FrameBatch(
            {k: v[rows] for k, v in self.values.items()},
            {k: m[rows] for k, m in self.masks.items()},
            self.lengths[rows],
        )

    def frame_mask(self) -> Tensor:
        """``[B, T]`` bool, True at frames inside each row's length."""
        from chroma.pooling import length_mask

        width = next(iter(self.values.values())).shape[1] if self.values else 0
        return length_mask(self.lengths, width)


@dataclass
class EncoderOutput:
    """What an encoder returns.

    Attributes:
        pooled: ``[B, D]`` one vector per row, ``D == encoder.output_dim``.
        sequence: optional ``[B, T, D_seq]`` region vectors for cross-attention.
        sequence_mask: ``[B, T]`` bool, True at valid positions; required with ``sequence``.
    """

    pooled: Tensor
    sequence: Tensor | None = None
    sequence_mask: Tensor | None = None

    def __post_init__(self) -> None:
        if (self.sequence is None) != (self.sequence_mask is None):
            raise ValueError("EncoderOutput: sequence and sequence_mask must be given together")


@dataclass
class FusionOutput:
    """What a fusion returns.

    Attributes:
        hidden: ``[B, hidden_dim]`` fused representation fed to the heads.
        weights: inspection tensors, e.g. ``{"gates": [B, 3]}`` or attention maps.
    """

    hidden: Tensor
    weights: dict[str, Tensor] = field(default_factory=dict)


class Encoder(nn.Module, ABC):
    """Base class of every encoder plugin.

    Subclasses set the class attributes and ``self.output_dim`` and implement
    :meth:`forward` for their modality's batch type.
    """

    #: Registered plugin name, e.g. ``"piano_roll"``.
    name: ClassVar[str]
    #: Plugin version; part of the encoder fingerprint.
    version: ClassVar[str] = "0"
    #: Which modality this encoder reads.
    modality: ClassVar[ModalityName]
    #: Input sample rate for audio encoders, ``None`` otherwise.
    sample_rate: int | None = None
    #: Width of :attr:`EncoderOutput.pooled`.
    output_dim: int
    #: Whether :meth:`forward` returns a sequence for cross-attention (an instance may set it from its config).
    returns_sequence: bool = False
    #: Width of :attr:`EncoderOutput.sequence` when it differs from ``output_dim`` (``None``: same).
    sequence_dim: int | None = None
    #: ``{stream: dim}`` of the ``data.streams`` this encoder reads as a :class:`FrameBatch` instead of its
    #: modality's media (an instance sets it from its config; empty: it reads media).
    streams: Mapping[str, int] = MappingProxyType({})

    @abstractmethod
    def forward(self, batch: Any) -> EncoderOutput:  # pragma: no cover - abstract
        """Encode one batch of this modality into an :class:`EncoderOutput`."""

    def fingerprint_extra(self) -> str:
        """Identity of loaded weights (e.g. a checkpoint hash); empty for random init."""
        return ""

    # ------------------------------------------------------------------ optional preparation split
    # An encoder may split ``forward`` into parameter-free, deterministic preprocessing (:meth:`prepare`)
    # and the trainable network (:meth:`forward_prepared`), so a framework can compute the prepared
    # inputs once, cache them and train the network on them. ``forward(batch)`` must equal
    # ``forward_prepared(prepare(batch))``.

    @property
    def splits_preparation(self) -> bool:
        """Whether this encoder implements :meth:`prepare` / :meth:`forward_prepared`."""
        return type(self).forward_prepared is not Encoder.forward_prepared

    def prepare(self, batch: Any) -> dict[str, Tensor]:
        """Parameter-free, deterministic preprocessing of one batch (on the batch's device).

        Returns:
            ``{name: [B, ...]}``: every tensor's shape past ``B`` is the same for every row and batch
            (e.g. a piano roll ``[B, C, 128, T]``, a log-mel ``[B, n_mels, T]`` with ``frames [B]``,
            token ids ``[B, L]`` padded to a fixed ``L`` with a mask), and row ``i`` depends only on
            row ``i`` of ``batch``, so rows can be cached and regrouped into other batches.
        """
        raise NotImplementedError(f"encoder {self.name!r} does not split preparation from its network")

    def forward_prepared(self, inputs: Mapping[str, Tensor]) -> EncoderOutput:
        """The trainable network on :meth:`prepare`'s output (any grouping of rows, on any device)."""
        raise NotImplementedError(f"encoder {self.name!r} does not split preparation from its network")

    def prepare_fingerprint(self) -> str:
        """Identity of what :meth:`prepare` produces (its settings and code version); caches key on it."""
        raise NotImplementedError(f"encoder {self.name!r} does not split preparation from its network")

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """Training-time augmentation of prepared inputs (default: none); never called in eval.

        Args:
            inputs: a batch of :meth:`prepare` output.
            policy: which augmentations to draw and the generator to draw them from.
        """
        return dict(inputs)


@dataclass
class PreparedAugmentation:
    """Training-time augmentation of prepared inputs; each ``*_p`` is a per-row probability (0: off).

    Encoders apply the entries that make sense for their inputs (a roll or tokens transpose; a
    spectrogram masks) and ignore the others.

    Attributes:
        generator: the seeded RNG every draw comes from (CPU).
        transpose_p, transpose: probability and inclusive semitone range of a pitch shift.
        velocity_p, velocity: probability and factor range of a velocity scaling.
        time_shift_p, time_shift: probability and largest shift in seconds (either direction).
        time_mask_p, time_mask: probability and largest width (fraction of the frames) of one time mask.
        freq_mask_p, freq_mask: probability and largest width (fraction of the bands) of one frequency mask.
    """

    generator: torch.Generator
    transpose_p: float = 0.0
    transpose: tuple[int, int] = (0, 0)
    velocity_p: float = 0.0
    velocity: tuple[float, float] = (1.0, 1.0)
    time_shift_p: float = 0.0
    time_shift: float = 0.0
    time_mask_p: float = 0.0
    time_mask: float = 0.0
    freq_mask_p: float = 0.0
    freq_mask: float = 0.0

    def draw(self, rows: int, p: float, device: torch.device | str = "cpu") -> Tensor:
        """``[rows]`` bool, True where an augmentation of probability ``p`` fires."""
        return (torch.rand(rows, generator=self.generator) < p).to(device)

    def uniform(self, rows: int, low: float, high: float, device: torch.device | str = "cpu") -> Tensor:
        """``[rows]`` float32 uniform draws in ``[low, high]``."""
        return (low + (high - low) * torch.rand(rows, generator=self.generator)).to(device)


@dataclass(frozen=True)
class FusionDims:
    """What a fusion is built for.

    Attributes:
        inputs: pooled width per modality, e.g. ``{"text": 768, "audio": 512, "midi": 512}``.
        hidden: width of :attr:`FusionOutput.hidden`.
        sequences: width of each modality's optional sequence input (``{}``: none).
        missing: ``"learned_null"`` (trainable vector per modality) or ``"zero"``.
    """

    inputs: Mapping[str, int]
    hidden: int
    sequences: Mapping[str, int] = field(default_factory=dict)
    missing: str = "learned_null"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.inputs) - set(MODALITIES))
        if unknown:
            raise ValueError(f"FusionDims: unknown modalities {unknown}; expected some of {', '.join(MODALITIES)}")
        bad = {m: d for m, d in {**self.inputs, **self.sequences}.items() if int(d) <= 0}
        if bad or self.hidden <= 0:
            raise ValueError(
                f"FusionDims: widths must be positive, got inputs={dict(self.inputs)} hidden={self.hidden}"
            )
        object.__setattr__(self, "inputs", {m: int(self.inputs[m]) for m in MODALITIES if m in self.inputs})
        object.__setattr__(self, "sequences", {m: int(d) for m, d in self.sequences.items()})


class FusionModule(nn.Module, ABC):
    """Base class of every fusion plugin.

    Args:
        dims: input, hidden and sequence widths and the missing-modality strategy.

    Version-1 plugins call ``super().__init__(input_dims, hidden_dim, missing, sequence_dims)``; that form
    still works, with a DeprecationWarning, for one release.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0"
    #: Whether :meth:`fuse` reads ``sequences`` when given.
    uses_sequences: ClassVar[bool] = False

    def __init__(
        self,
        dims: FusionDims | Mapping[str, int] | None = None,
        hidden_dim: int | None = None,
        missing: str = "learned_null",
        sequence_dims: Mapping[str, int] | None = None,
        *,
        input_dims: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        from chroma.missing import MissingModalityEmbedding

        if not isinstance(dims, FusionDims):
            widths = dims if dims is not None else input_dims
            if widths is None or hidden_dim is None:
                raise TypeError(f"{type(self).__name__}: FusionModule.__init__ takes one chroma.FusionDims")
            warnings.warn(
                f"{type(self).__name__}: FusionModule(input_dims, hidden_dim, missing, sequence_dims) is the "
                "version-1 signature; pass one chroma.FusionDims",
                DeprecationWarning,
                stacklevel=2,
            )
            dims = FusionDims(dict(widths), int(hidden_dim), dict(sequence_dims or {}), missing)
        self.dims = dims
        self.input_dims = dict(dims.inputs)
        self.sequence_dims = dict(dims.sequences)
        self.hidden_dim = dims.hidden
        self.missing = MissingModalityEmbedding(self.input_dims, strategy=dims.missing)

    def forward(
        self,
        embeddings: Mapping[str, Tensor],
        modality_mask: Tensor,
        sequences: Mapping[str, tuple[Tensor, Tensor]] | None = None,
    ) -> FusionOutput:
        """Fuse per-modality embeddings.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``; values in absent rows are ignored.
            modality_mask: ``[B, 3]`` bool in :data:`chroma.modality.MODALITIES` order.
            sequences: optional ``{modality: (sequence [B, T, D], mask [B, T] bool)}``.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]``.
        """
        mask = modality_mask.bool()
        filled = self.missing(embeddings, mask)
        seqs = None
        if sequences is not None and self.uses_sequences:
            seqs = self.missing.mask_sequences(sequences, mask)
        return self.fuse(filled, mask, seqs)

    @abstractmethod
    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:  # pragma: no cover - abstract
        """Combine embeddings whose absent rows already hold the null embedding."""
