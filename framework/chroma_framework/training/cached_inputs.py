"""Batches of ``training.mode: precomputed`` with trainable encoders: embeddings plus cached prepared inputs.

Frozen encoders' modalities come from the embeddings file as on the plain fast path; each trainable encoder's
modality comes from its input cache (:mod:`chroma_framework.data.input_cache`), so an epoch never decodes media.
A batch carries ``batch["prepared"][modality] = {"rows": [K], "inputs": {name: [K, ...]}}`` for the ``K`` rows
where the modality is present (after any test-time mask), read from the memory maps, pinned when training on
CUDA and moved once per batch. Training batches get the encoder's tensor-level augmentation
(:meth:`chroma.Encoder.augment_prepared`), drawn from a generator seeded by ``training.seed`` and the epoch;
evaluation batches never do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from chroma.contracts import Encoder, PreparedAugmentation
from chroma.errors import ConfigError
from chroma.modality import modality_index
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.fingerprints import trainable_sections
from chroma_framework.data.input_cache import InputCache, load_input_cache
from chroma_framework.model_build import build_encoder
from chroma_framework.training.data import PrecomputedSource, SplitTensors, load_precomputed

logger = logging.getLogger(__name__)


def augmentation_policy(config: ChromaConfig, modality: str, generator: torch.Generator) -> PreparedAugmentation:
    """The tensor-level augmentation ``preprocessing.<modality>.augmentations`` asks for."""
    if modality == "midi":
        aug = config.preprocessing.midi.augmentations
        return PreparedAugmentation(
            generator,
            transpose_p=aug.transpose.p,
            transpose=(aug.transpose.min, aug.transpose.max),
            velocity_p=aug.velocity_scale.p,
            velocity=(aug.velocity_scale.min, aug.velocity_scale.max),
            time_shift_p=aug.time_shift.p,
            time_shift=aug.time_shift.max_seconds,
        )
    if modality == "audio":
        spec = config.preprocessing.audio.augmentations.spec_augment
        return PreparedAugmentation(
            generator,
            time_mask_p=spec.time_mask_p,
            time_mask=spec.time_mask,
            freq_mask_p=spec.freq_mask_p,
            freq_mask=spec.freq_mask,
        )
    return PreparedAugmentation(generator)


def open_caches(config: ChromaConfig) -> dict[str, InputCache]:
    """The input cache of every trainable encoder of the run (none for the text-only baseline).

    Raises:
        ConfigError: a trainable encoder cannot be cached, or its cache is missing or stale.
    """
    if config.training.text_only_baseline:
        return {}
    caches = {}
    for modality in trainable_sections(config):
        encoder = build_encoder(config, modality)
        if not encoder.splits_preparation:
            raise ConfigError(
                f"model.{modality}_encoder ({encoder.name!r}) is trainable (frozen: false) but does not split "
                "prepare/forward_prepared, so training.mode: precomputed cannot cache its inputs; use "
                "training.mode: end_to_end, or freeze it"
            )
        if modality == "audio" and config.preprocessing.audio.augmentations.enabled:
            logger.warning(
                "preprocessing.audio.augmentations time_stretch/pitch_shift/noise act on waveforms and do not "
                "apply to cached log-mels; use preprocessing.audio.augmentations.spec_augment"
            )
        caches[modality] = load_input_cache(config, modality, encoder)
    return caches


class CachedInputSource(PrecomputedSource):
    """:class:`PrecomputedSource` whose trainable modalities come from input caches.

    Args:
        config: the run configuration.
        caches: ``{modality: InputCache}`` (see :func:`open_caches`).
        device: the training device.
        vocab: fixed classes per head.
    """

    def __init__(
        self,
        config: ChromaConfig,
        caches: Mapping[str, InputCache],
        device: torch.device,
        vocab: dict[str, list[str]] | None = None,
    ) -> None:
        data = load_precomputed(config, vocab, caches)
        super().__init__(data, config.training.batch_size, device, config.training.seed)
        self.config = config
        self.caches = dict(caches)
        self.pin = device.type == "cuda"
        self._encoders: dict[str, Encoder] = {}

    def bind_model(self, model: nn.Module) -> None:
        """Augment with the model's own encoders."""
        encoders = getattr(model, "encoders", {})
        self._encoders = {m: encoders[m] for m in self.caches if m in encoders}

    def _with_prepared(
        self, split: SplitTensors, rows: Tensor, mask: Tensor | None, augment: torch.Generator | None
    ) -> dict[str, Any]:
        batch = split.batch(rows, mask)
        present = batch["modality_mask"]
        assert isinstance(present, Tensor)
        prepared = {}
        for modality, cache in self.caches.items():
            keep = torch.nonzero(present[:, modality_index(modality)]).flatten()
            cache_rows = split.cache_rows[modality][rows.cpu()[keep.cpu()]].numpy()
            inputs = cache.rows(cache_rows, pin=self.pin and augment is None)
            if augment is not None and modality in self._encoders and keep.numel():
                policy = augmentation_policy(self.config, modality, augment)
                inputs = self._encoders[modality].augment_prepared(inputs, policy)
                inputs = {k: v.pin_memory() for k, v in inputs.items()} if self.pin else inputs
            prepared[modality] = {"rows": keep, "inputs": inputs}
        batch["prepared"] = prepared
        return batch

    def train_batches(self, epoch: int) -> Iterator[dict[str, object]]:
        """Epoch ``epoch``'s shuffled, augmented batches (order and draws depend only on the seed and epoch)."""
        order = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        # Each process draws its own augmentations (rank 0 those of a single-process run).
        augment = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 500_009 + 104_729 * self.shard.rank)
        split = self.splits["train"]
        rows = split.batch_rows(self.batch_size, order)
        yield from self.shard.train_batches(rows, lambda part: self._with_prepared(split, part, None, augment))

    def eval_batches(self, split: str, mask: Tensor | None = None) -> Iterator[dict[str, object]]:
        """Batches of ``split`` in order (this process's contiguous part when sharded), never augmented."""
        data = self.splits[split]
        for rows in self.shard.eval_rows(len(data), 4 * self.batch_size, data.mask.device):
            yield self._with_prepared(data, rows, mask, None)
