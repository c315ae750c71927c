"""Batches for end-to-end training: encoders run in the loop on decoded media.

Each split is a :class:`~chroma_framework.data.dataset.SegmentDataset` (lazy media reads,
bad data marked absent) behind a DataLoader. Audio is decoded at the model's
audio encoder rate, so the datasets are created once the model is bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset, make_loader
from chroma_framework.data.labels import read_labels
from chroma_framework.training.data import effective_modalities


class DatasetSource:
    """Train/val/test DataLoaders over the split parquet files.

    Args:
        config: the run configuration.
        vocab: fixed classes per head (from a run being resumed or evaluated).
    """

    def __init__(self, config: ChromaConfig, vocab: dict[str, list[str]] | None = None) -> None:
        self.config = config
        self.classes = read_labels(config, vocab).vocab
        self.modalities = effective_modalities(config)
        #: Every modality goes through its encoder (lyric vectors through the ``precomputed`` text encoder).
        self.input_dims: dict[str, int] | None = None
        self.fingerprints: dict[str, str] = {}
        self._datasets: dict[str, SegmentDataset] = {}
        self._audio_rate: int | None = None

    def bind_model(self, model: nn.Module) -> None:
        """Decode audio at the rate of ``model``'s audio encoder (if it has one)."""
        encoders = getattr(model, "encoders", {})
        encoder = encoders["audio"] if "audio" in encoders else None  # noqa: SIM401 (ModuleDict has no get)
        self._audio_rate = getattr(encoder, "sample_rate", None)
        self._datasets.clear()

    def dataset(self, split: str) -> SegmentDataset:
        if split not in self._datasets:
            self._datasets[split] = SegmentDataset(
                self.config,
                split=split,
                modalities=self.modalities,
                audio_sample_rate=self._audio_rate,
                train=split == "train",
                vocab=self.classes,
            )
        return self._datasets[split]

    def split_size(self, split: str) -> int:
        return len(self.dataset(split))

    def num_train_batches(self) -> int:
        return -(-self.split_size("train") // self.config.training.batch_size)

    def train_batches(self, epoch: int) -> Iterable[Mapping[str, Any]]:
        dataset = self.dataset("train")
        dataset.set_epoch(epoch)
        loader = make_loader(
            dataset,
            self.config.training.batch_size,
            shuffle=True,
            num_workers=self.config.training.num_workers,
            seed=self.config.training.seed,
        )
        loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        return loader

    def eval_batches(self, split: str, mask: Tensor | None = None) -> Iterable[Mapping[str, Any]]:
        loader = make_loader(
            self.dataset(split), self.config.training.batch_size, num_workers=self.config.training.num_workers
        )
        for batch in loader:
            if mask is not None:
                batch["modality_mask"] = batch["modality_mask"] & mask
            yield batch

    def train_labels(self) -> dict[str, Tensor]:
        dataset = self.dataset("train")
        return {h: torch.from_numpy(dataset.label_array(h)) for h in self.classes}

    def train_embeddings(self) -> dict[str, Tensor]:
        """None: end to end, every modality comes through an encoder (nothing to standardise up front)."""
        return {}

    def albums(self, split: str) -> list[str | None]:
        albums = self.dataset(split).albums
        return list(albums) if albums is not None else [None] * self.split_size(split)
