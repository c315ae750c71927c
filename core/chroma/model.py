"""The Chroma model: per-modality encoders (optional), a fusion plugin and classification heads.

Two ways in, per modality (they can be mixed in one batch):

* fast path -- ``batch["embeddings"][modality]`` ``[B, D]`` precomputed vectors (design D4);
* end to end -- ``batch[modality]`` (:class:`~chroma.contracts.TextBatch`,
  :class:`~chroma.contracts.AudioBatch` or :class:`~chroma.contracts.MidiBatch`) run through
  that modality's encoder (lyric vectors precomputed in the data go through the
  ``precomputed`` text encoder); a stream-reading encoder (:attr:`~chroma.contracts.Encoder.streams`)
  takes a :class:`~chroma.contracts.FrameBatch` of time-aligned feature frames there instead.

In training mode each present modality of each sample is hidden with probability
``modality_dropout`` (the fusion then sees its null embedding), never all present
modalities of a sample.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import torch
from torch import Tensor, nn

from chroma.contracts import AudioBatch, Encoder, EncoderOutput, FrameBatch, FusionModule, MidiBatch, TextBatch
from chroma.frame_heads.base import FrameHead
from chroma.heads import ClassificationHeads
from chroma.modality import MODALITIES, modality_index
from chroma.standardize import InputStandardizer


class FittedTransform(Protocol):
    """An input transform fitted once on training rows (:meth:`ChromaModel.fit_standardizers`)."""

    fitted: Tensor

    def fit(self, rows: Tensor) -> None: ...


@dataclass
class ModelOutput:
    """What :class:`ChromaModel` returns.

    Attributes:
        logits: ``{head: [B, num_classes]}``.
        hidden: ``[B, hidden_dim]`` fused representation.
        weights: the fusion's inspection tensors (e.g. ``{"gates": [B, 3]}``).
        embeddings: ``{modality: [B, D]}`` pooled embeddings as given or encoded, before the input transforms,
            so they can be fed back as ``batch["embeddings"]``.
        modality_mask: ``[B, 3]`` bool mask the fusion used (after restriction and modality dropout).
        frames: ``{frame head: [B, T, K]}`` logits of the frame heads (0 at padded frames), for the heads whose
            modality's encoder ran on the batch.
        frame_masks: ``{frame head: [B, T]}`` bool, True at the valid frames of that head's sequence.
    """

    logits: dict[str, Tensor]
    hidden: Tensor
    weights: dict[str, Tensor] = field(default_factory=dict)
    embeddings: dict[str, Tensor] = field(default_factory=dict)
    modality_mask: Tensor | None = None
    frames: dict[str, Tensor] = field(default_factory=dict)
    frame_masks: dict[str, Tensor] = field(default_factory=dict)
    #: ``{modality: [B, D']}`` what the fusion received: ``embeddings`` after the input transforms
    #: (standardizers, quantile bins), before null substitution.
    inputs: dict[str, Tensor] = field(default_factory=dict)


def drop_modalities(mask: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Hide each present modality of each sample with probability ``p``, keeping at least one.

    Args:
        mask: ``[B, 3]`` bool, True where a modality is present.
        p: drop probability in ``[0, 1)``.
        generator: RNG for reproducible drops (default: torch's global RNG).

    Returns:
        ``[B, 3]`` bool, a subset of ``mask``. A sample whose every present modality was
        drawn for dropping keeps one of them, chosen uniformly, so the effective drop
        rate is slightly below ``p`` for samples with few modalities.
    """
    mask = mask.bool()
    if p <= 0:
        return mask
    rng_device = generator.device if generator is not None else mask.device
    draws = torch.rand(mask.shape, generator=generator, device=rng_device).to(mask.device)
    keep = mask & (draws >= p)
    emptied = mask.any(dim=1) & ~keep.any(dim=1)
    scores = torch.rand(mask.shape, generator=generator, device=rng_device).to(mask.device)
    rescued = scores.masked_fill(~mask, -1.0).argmax(dim=1)
    restore = torch.zeros_like(mask)
    restore[torch.arange(mask.shape[0], device=mask.device), rescued] = True
    return keep | (restore & emptied.unsqueeze(1))


def take_rows(batch: Any, rows: Tensor) -> Any:
    """Rows ``rows`` (``[K]`` int64) of an :class:`AudioBatch`, :class:`MidiBatch`, :class:`TextBatch` or
    :class:`FrameBatch`."""
    if isinstance(batch, FrameBatch):
        return batch.take(rows)
    if isinstance(batch, AudioBatch):
        return AudioBatch(batch.waveform[rows], batch.lengths[rows], batch.sample_rate)
    if isinstance(batch, MidiBatch):
        return MidiBatch(batch.events[rows], batch.lengths[rows], batch.duration)
    if isinstance(batch, TextBatch):
        index = rows.tolist()
        texts = None if batch.texts is None else [batch.texts[i] for i in index]
        return TextBatch(texts, None if batch.embeddings is None else batch.embeddings[rows])
    raise TypeError(f"cannot take rows of a {type(batch).__name__}")


def scatter_rows(out: EncoderOutput, rows: Tensor, size: int) -> EncoderOutput:
    """``out`` of rows ``rows`` placed into ``size`` rows, zeros (and invalid sequence positions) elsewhere."""
    pooled = out.pooled.new_zeros(size, out.pooled.shape[1]).index_copy(0, rows, out.pooled)
    if out.sequence is None or out.sequence_mask is None:
        return EncoderOutput(pooled)
    seq = out.sequence.new_zeros(size, *out.sequence.shape[1:]).index_copy(0, rows, out.sequence)
    mask = out.sequence_mask.new_zeros(size, out.sequence_mask.shape[1]).index_copy(0, rows, out.sequence_mask)
    return EncoderOutput(pooled, seq, mask)


class ChromaModel(nn.Module):
    """Encoders (optional) -> fusion -> classification heads, and frame heads over encoder sequences.

    Args:
        fusion: the fusion module; its ``input_dims`` keys are the modalities the model uses.
        heads: ``{head: class names}`` for :class:`~chroma.heads.ClassificationHeads`.
        encoders: ``{modality: Encoder}`` for the end-to-end path.
        modality_dropout: per-sample, per-modality drop probability in training mode.
        frozen_encoders: modalities whose encoders get no gradients and stay in eval mode.
        head_dropout: dropout before the heads.
        standardize: modalities whose pooled inputs (precomputed embeddings or frozen-encoder outputs) pass
            an :class:`~chroma.standardize.InputStandardizer` before the fusion; fit it with
            :meth:`fit_standardizers` on training rows.
        frame_heads: ``{name: (modality, FrameHead)}``: frame heads reading that modality's encoder sequence
            (the encoder must return one, as wide as the head's ``input_dim``).
        input_transforms: other fitted input transforms by modality (e.g.
            :class:`~chroma.quantile_bins.QuantileBinEncoding`): modules with ``fit(rows [N, D])`` whose output
            width ``out_dim`` is the fusion's input width for that modality, fitted with the standardizers.
    """

    def __init__(
        self,
        fusion: FusionModule,
        heads: Mapping[str, Sequence[str]],
        encoders: Mapping[str, Encoder] | None = None,
        modality_dropout: float = 0.15,
        frozen_encoders: Collection[str] = (),
        head_dropout: float = 0.0,
        standardize: Collection[str] = (),
        frame_heads: Mapping[str, tuple[str, FrameHead]] | None = None,
        input_transforms: Mapping[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= modality_dropout < 1:
            raise ValueError(f"modality_dropout must be in [0, 1), got {modality_dropout}")
        self.fusion = fusion
        self.heads = ClassificationHeads(fusion.hidden_dim, heads, dropout=head_dropout)
        self.encoders = nn.ModuleDict(dict(encoders or {}))
        #: Modalities the model reads, in :data:`MODALITIES` order.
        self.modalities: tuple[str, ...] = tuple(m for m in MODALITIES if m in fusion.input_dims)
        for modality, encoder in self.encoders.items():
            if modality not in self.modalities:
                raise ValueError(f"encoder for {modality!r} given but the fusion does not take {modality!r}")
            if encoder.output_dim != fusion.input_dims[modality]:
                raise ValueError(
                    f"{modality} encoder {encoder.name!r} outputs {encoder.output_dim} features, "
                    f"the fusion expects {fusion.input_dims[modality]}"
                )
        self.modality_dropout = float(modality_dropout)
        self.frozen_encoders = frozenset(frozen_encoders)
        for modality in self.frozen_encoders:
            self.encoders[modality].requires_grad_(False)
        transforms = dict(input_transforms or {})
        unknown = sorted((set(standardize) | set(transforms)) - set(self.modalities))
        if unknown:
            raise ValueError(f"standardize / input_transforms name modalities the fusion does not take: {unknown}")
        both = sorted(set(standardize) & set(transforms))
        if both:
            raise ValueError(f"modalities both standardised and given another input transform: {both}")
        for modality, transform in transforms.items():
            width = getattr(transform, "out_dim", None)
            if width != fusion.input_dims[modality]:
                raise ValueError(
                    f"{modality} input transform outputs {width} features, the fusion expects "
                    f"{fusion.input_dims[modality]}"
                )
        #: Fitted input transforms by modality (standardizers and ``input_transforms``), applied before the fusion.
        self.standardizers = nn.ModuleDict(
            {m: InputStandardizer(fusion.input_dims[m]) for m in self.modalities if m in standardize} | transforms
        )
        self.frame_heads = nn.ModuleDict({name: head for name, (_, head) in (frame_heads or {}).items()})
        #: ``{frame head: modality}`` whose encoder's frame sequence each frame head reads.
        self.frame_inputs: dict[str, str] = {name: m for name, (m, _) in (frame_heads or {}).items()}
        for name, modality in self.frame_inputs.items():
            if modality not in self.encoders:
                raise ValueError(
                    f"frame head {name!r} reads the {modality} sequence, but the model has no {modality} encoder"
                )
            encoder = cast(Encoder, self.encoders[modality])
            width = int(encoder.sequence_dim or encoder.output_dim)
            if not encoder.returns_sequence or cast(FrameHead, self.frame_heads[name]).input_dim != width:
                raise ValueError(
                    f"frame head {name!r} needs the {modality} encoder {encoder.name!r}'s frame sequence "
                    f"({width} wide, returned: {encoder.returns_sequence})"
                )
        used = torch.tensor([m in self.modalities for m in MODALITIES])
        self.register_buffer("used_modalities", used, persistent=False)
        #: What a builder needs to rebuild this model (filled by ``chroma_framework.model_build``).
        self.build_info: dict[str, Any] = {}

    def fit_standardizers(self, rows: Mapping[str, Tensor]) -> None:
        """Fit each standardised modality given in ``rows`` on ``rows[modality] [N, D]``: its training rows where
        it is present. A standardised modality left out stays the identity.

        Raises:
            ValueError: rows that cannot be fitted (fewer than two, wrong width, non-finite).
        """
        for modality, transform in self.standardizers.items():
            if modality in rows:
                target = cast(FittedTransform, transform)
                target.fit(rows[modality].to(target.fitted.device))

    def train(self, mode: bool = True) -> ChromaModel:
        """Like :meth:`nn.Module.train`, but frozen encoders always stay in eval mode."""
        super().train(mode)
        for modality in self.frozen_encoders:
            self.encoders[modality].eval()
        return self

    def _encode(self, modality: str, inputs: Any, present: Tensor) -> EncoderOutput | None:
        """Run ``modality``'s encoder on the rows that have the modality (all rows when every row has it).

        Returns ``None`` when no row has it and the fusion reads no sequence of it; absent rows of the
        output are zeros.
        """
        encoder = cast(Encoder, self.encoders[modality])
        needs_sequence = self.fusion.uses_sequences and encoder.returns_sequence
        if not bool(present.any()) and not needs_sequence:
            return None
        rows = torch.nonzero(present).flatten()
        subset = rows.numel() < present.shape[0] and rows.numel() > 0
        with torch.set_grad_enabled(torch.is_grad_enabled() and modality not in self.frozen_encoders):
            out = encoder(take_rows(inputs, rows) if subset else inputs)
        return scatter_rows(out, rows, present.shape[0]) if subset else out

    def _encode_prepared(self, modality: str, prepared: Mapping[str, Any], rows: int) -> EncoderOutput | None:
        """Run ``modality``'s encoder on prepared inputs of the present rows only, scattered into ``rows`` rows.

        Args:
            prepared: ``{"rows": [K] int64 batch rows, "inputs": {name: [K, ...]}}``.

        Returns:
            ``None`` when no row is present and the fusion reads no sequence of it; zeros (and an all-invalid
            one-position sequence) at the absent rows otherwise.
        """
        encoder = cast(Encoder, self.encoders[modality])
        index = prepared["rows"]
        if index.numel() == 0:
            if not (self.fusion.uses_sequences and encoder.returns_sequence):
                return None
            width = int(encoder.sequence_dim or encoder.output_dim)
            device = index.device
            return EncoderOutput(
                torch.zeros(rows, encoder.output_dim, device=device),
                torch.zeros(rows, 1, width, device=device),
                torch.zeros(rows, 1, dtype=torch.bool, device=device),
            )
        with torch.set_grad_enabled(torch.is_grad_enabled() and modality not in self.frozen_encoders):
            out = encoder.forward_prepared(prepared["inputs"])
        return scatter_rows(out, index, rows)

    def forward(self, batch: Mapping[str, Any], generator: torch.Generator | None = None) -> ModelOutput:
        """Classify a batch.

        Args:
            batch: ``{"modality_mask": [B, 3] bool, "embeddings": {modality: [B, D]}}`` and/or
                ``{"text": TextBatch, "audio": AudioBatch, "midi": MidiBatch}`` and/or
                ``{"prepared": {modality: {"rows": [K] int64, "inputs": {name: [K, ...]}}}}``: an
                encoder's :meth:`~chroma.contracts.Encoder.prepare` output for the ``K`` rows where the
                modality is present (the encoder runs on those rows only); other keys are ignored.
            generator: RNG for modality dropout (training mode only).

        Returns:
            :class:`ModelOutput` with ``logits[head]`` ``[B, num_classes]`` and ``frames[frame head]``
            ``[B, T, K]``.
        """
        mask = batch["modality_mask"].bool() & self.used_modalities.to(batch["modality_mask"].device)
        given = batch.get("embeddings") or {}
        prepared = batch.get("prepared") or {}
        embeddings: dict[str, Tensor] = {}
        sequences: dict[str, tuple[Tensor, Tensor]] = {}
        frame_inputs: dict[str, tuple[Tensor, Tensor]] = {}
        for modality in self.modalities:
            present = mask[:, modality_index(modality)]
            if modality in given:
                embeddings[modality] = given[modality]
            elif modality in self.encoders and (modality in prepared or batch.get(modality) is not None):
                if modality in prepared:
                    out = self._encode_prepared(modality, prepared[modality], mask.shape[0])
                else:
                    out = self._encode(modality, batch[modality], present)
                if out is None:
                    embeddings[modality] = torch.zeros(
                        mask.shape[0], self.fusion.input_dims[modality], device=mask.device
                    )
                    continue
                embeddings[modality] = out.pooled
                if out.sequence is not None and out.sequence_mask is not None and self.fusion.uses_sequences:
                    sequences[modality] = (out.sequence, out.sequence_mask)
                if out.sequence is not None and out.sequence_mask is not None:
                    frame_inputs[modality] = (out.sequence, out.sequence_mask)
            else:
                source = (
                    f"batch[{modality!r}]"
                    if modality in self.encoders
                    else f"a model.{modality}_encoder and batch[{modality!r}]"
                )
                raise ValueError(
                    f"batch has no input for modality {modality!r}: expected "
                    f"batch['embeddings'][{modality!r}] or {source}"
                )
        if self.training and self.modality_dropout > 0:
            mask = drop_modalities(mask, self.modality_dropout, generator)
        inputs = {m: self.standardizers[m](e) if m in self.standardizers else e for m, e in embeddings.items()}
        fused = self.fusion(inputs, mask, sequences or None)
        logits = self.heads(fused.hidden)
        frames: dict[str, Tensor] = {}
        frame_masks: dict[str, Tensor] = {}
        for name, modality in self.frame_inputs.items():
            if modality in frame_inputs:
                sequence, valid = frame_inputs[modality]
                frames[name] = self.frame_heads[name](sequence, valid)
                frame_masks[name] = valid
        return ModelOutput(
            logits, fused.hidden, dict(fused.weights), embeddings, mask, frames, frame_masks, inputs=inputs
        )
