"""In-memory training data for the fast (precomputed-embeddings) path.

Embeddings (from ``data.embeddings_path``) are joined with the labels of the
metadata parquet by segment id and split into train/val/test (the metadata's
split column, else a seeded split by song). Each split is a set of tensors that
batches are sliced from directly, with no per-item ``Dataset`` overhead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import Tensor

from chroma.errors import ConfigError
from chroma.modality import MODALITIES, modality_index
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.input_cache import InputCache
from chroma_framework.data.labels import read_labels
from chroma_framework.data.paths import metadata_path, resolve
from chroma_framework.data.splits import SPLITS, assign_splits
from chroma_framework.training.shard import Shard

logger = logging.getLogger(__name__)


@dataclass
class SplitTensors:
    """The segments of one split.

    Attributes:
        segment_ids: ``N`` ids.
        embeddings: ``{modality: [N, D] float32}``, zero rows where absent.
        mask: ``[N, 3]`` bool presence in :data:`chroma.modality.MODALITIES` order.
        labels: ``{head: [N] int64}``.
        albums: ``N`` album names (``data.columns.album``), ``None`` where unknown.
        soft_labels: ``{head: [N, C] float32}`` target distributions of the heads in ``data.soft_labels``.
        cache_rows: ``{modality: [N] int64}`` row of each segment in the modality's input cache (-1 where
            absent), for the trainable encoders; stays on the CPU (it indexes memory maps).
        frame_targets: ``{name: [N, ...]}`` the frame heads' targets in time (see
            :mod:`chroma_framework.structure.targets`), sliced into ``batch["frame_targets"]``.
    """

    segment_ids: list[str]
    embeddings: dict[str, Tensor]
    mask: Tensor
    labels: dict[str, Tensor]
    albums: list[str | None] = field(default_factory=list)
    soft_labels: dict[str, Tensor] = field(default_factory=dict)
    cache_rows: dict[str, Tensor] = field(default_factory=dict)
    frame_targets: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.segment_ids)

    def to(self, device: torch.device | str) -> SplitTensors:
        return SplitTensors(
            self.segment_ids,
            {m: e.to(device) for m, e in self.embeddings.items()},
            self.mask.to(device),
            {h: y.to(device) for h, y in self.labels.items()},
            self.albums,
            {h: p.to(device) for h, p in self.soft_labels.items()},
            self.cache_rows,
            {k: t.to(device) for k, t in self.frame_targets.items()},
        )

    def batch(self, rows: Tensor, mask: Tensor | None = None) -> dict[str, object]:
        """The model batch of ``rows`` (``[B]`` int64 index).

        Args:
            rows: row indices into this split.
            mask: optional ``[3]`` bool applied on top of the natural presence (test-time masking).

        Returns:
            ``{"embeddings": {modality: [B, D]}, "modality_mask": [B, 3], "label": {head: [B]}}``,
            plus ``"soft_label": {head: [B, C]}`` when the split has soft targets.
        """
        present = self.mask[rows]
        if mask is not None:
            present = present & mask.to(present.device)
        batch: dict[str, object] = {
            "embeddings": {m: e[rows] for m, e in self.embeddings.items()},
            "modality_mask": present,
            "label": {h: y[rows] for h, y in self.labels.items()},
        }
        if self.soft_labels:
            batch["soft_label"] = {h: p[rows] for h, p in self.soft_labels.items()}
        if self.frame_targets:
            batch["frame_targets"] = {k: t[rows] for k, t in self.frame_targets.items()}
        return batch

    def batch_rows(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Tensor]:
        """Row indices ``[B]`` of consecutive batches, shuffled when ``generator`` is given."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        order = order.to(self.mask.device)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None, mask: Tensor | None = None
    ) -> Iterator[dict[str, object]]:
        """Consecutive batches, shuffled when ``generator`` is given."""
        for rows in self.batch_rows(batch_size, generator):
            yield self.batch(rows, mask)


@dataclass
class PrecomputedData:
    """Everything the fast path trains and evaluates on.

    Attributes:
        classes: ``{head: class names}``.
        splits: ``{"train" | "val" | "test": SplitTensors}``.
        input_dims: ``{modality: D}`` of the modalities the model reads.
        fingerprints: ``{modality: encoder fingerprint}`` of the embeddings file.
        unmatched: labelled segments with no row in the embeddings file (left out).
    """

    classes: dict[str, list[str]]
    splits: dict[str, SplitTensors]
    input_dims: dict[str, int]
    fingerprints: dict[str, str]
    unmatched: int = 0


def effective_modalities(config: ChromaConfig) -> list[str]:
    """The modalities a run trains on: ``model.modalities``, or only text for the text-only baseline."""
    if config.training.text_only_baseline:
        return ["text"]
    return [m for m in MODALITIES if m in config.model.modalities]


def split_and_album(config: ChromaConfig) -> tuple[dict[str, str], dict[str, str | None]]:
    """``({segment_id: split}, {segment_id: album})`` from the metadata parquet."""
    data = config.data
    path = metadata_path(data)
    names = pq.read_schema(path).names
    cols = data.columns
    wanted = [c for c in (cols.segment_id, cols.split, cols.song, cols.album) if c in names]
    table = pq.read_table(path, columns=wanted)
    ids = [str(s) for s in table.column(cols.segment_id).to_pylist()]
    albums = table.column(cols.album).to_pylist() if cols.album in names else [None] * len(ids)
    split = assign_splits(table, config, config.training.seed)
    return dict(zip(ids, (str(s) for s in split))), dict(zip(ids, albums))


def load_precomputed(
    config: ChromaConfig,
    vocab: dict[str, list[str]] | None = None,
    caches: Mapping[str, InputCache] | None = None,
) -> PrecomputedData:
    """Join the embeddings file (and the input caches of trainable encoders) with labels and splits.

    Args:
        config: the run configuration.
        vocab: fixed classes per head (from a trained run); ``None`` derives them from the data.
        caches: ``{modality: InputCache}`` of the trainable encoders; those modalities are read from their
            cache (present where the cache has the segment) instead of the embeddings file.

    Raises:
        ConfigError: the embeddings file lacks a modality the run trains on, or no segment matches.
    """
    data = config.data
    caches = dict(caches or {})
    modalities = effective_modalities(config)
    embedded = [m for m in modalities if m not in caches]
    emb_path = resolve(data, data.embeddings_path)
    table = read_embeddings(emb_path) if embedded else None
    absent = [m for m in embedded if table is not None and m not in table.embeddings]
    if absent:
        raise ConfigError(
            f"training.mode is precomputed but {emb_path} has no {', '.join(absent)} embeddings; run "
            f"`chroma precompute` with a model.<modality>_encoder for them, or remove them from model.modalities"
        )
    labels = read_labels(config, vocab)
    split_of, albums = split_and_album(config)

    emb_row = table.index() if table is not None else {sid: i for i, sid in enumerate(labels.segment_ids)}
    label_rows = np.array([i for i, sid in enumerate(labels.segment_ids) if sid in emb_row], dtype=np.int64)
    unmatched = len(labels.segment_ids) - len(label_rows)
    if len(label_rows) == 0:
        raise ConfigError(
            f"no labelled segment of {metadata_path(data)} has a row in {emb_path} "
            f"(compare the {data.columns.segment_id!r} values); was it precomputed from this metadata?"
        )
    if unmatched:
        logger.warning("%d labelled segments have no precomputed embeddings and are left out", unmatched)

    ids = [labels.segment_ids[i] for i in label_rows]
    rows = np.array([emb_row[sid] for sid in ids], dtype=np.int64)
    mask = table.mask[rows].copy() if table is not None else np.zeros((len(ids), len(MODALITIES)), dtype=bool)
    cache_rows: dict[str, np.ndarray] = {}
    for m, cache in caches.items():
        index = cache.index()
        cache_rows[m] = np.array([index.get(sid, -1) for sid in ids], dtype=np.int64)
        mask[:, modality_index(m)] = cache_rows[m] >= 0
    for m in MODALITIES:
        if m not in modalities:
            mask[:, modality_index(m)] = False
    split_names = np.array([split_of[sid] for sid in ids])
    splits: dict[str, SplitTensors] = {}
    for name in SPLITS:
        sel = np.flatnonzero(split_names == name)
        splits[name] = SplitTensors(
            segment_ids=[ids[i] for i in sel],
            embeddings={
                m: torch.from_numpy(np.ascontiguousarray(table.embeddings[m][rows[sel]]))
                for m in embedded
                if table is not None
            },
            mask=torch.from_numpy(mask[sel]),
            labels={h: torch.from_numpy(labels.labels[h][label_rows[sel]]) for h in labels.vocab},
            albums=[albums.get(ids[i]) for i in sel],
            soft_labels={h: torch.from_numpy(p[label_rows[sel]]) for h, p in labels.soft.items()},
            cache_rows={m: torch.from_numpy(r[sel]) for m, r in cache_rows.items()},
        )
    if len(splits["train"]) == 0:
        raise ConfigError("the training split is empty; check data.split fractions or the split column")
    return PrecomputedData(
        classes=labels.vocab,
        splits=splits,
        input_dims={m: table.dims[m] for m in embedded} if table is not None else {},
        fingerprints={m: f for m, f in table.fingerprints.items() if m in embedded} if table is not None else {},
        unmatched=unmatched,
    )


def subset_mask(modalities: Sequence[str]) -> Tensor:
    """``[3]`` bool, True at the columns of ``modalities``."""
    mask = torch.zeros(len(MODALITIES), dtype=torch.bool)
    for m in modalities:
        mask[modality_index(m)] = True
    return mask


class PrecomputedSource:
    """Batches of the fast path, sliced from tensors already on the training device.

    Args:
        data: the loaded splits.
        batch_size: training batch size (evaluation uses 4x).
        device: where the tensors live.
        seed: shuffling seed.
    """

    def __init__(self, data: PrecomputedData, batch_size: int, device: torch.device, seed: int = 0) -> None:
        self.data = data
        self.seed = seed
        self.classes = data.classes
        self.input_dims: dict[str, int] | None = data.input_dims
        self.fingerprints = data.fingerprints
        self.batch_size = batch_size
        self.splits = {name: split.to(device) for name, split in data.splits.items()}
        #: The rows this process trains and validates on (all of them in a single-process run).
        self.shard = Shard()

    def split_size(self, split: str) -> int:
        return len(self.splits[split])

    def num_train_batches(self) -> int:
        return -(-len(self.splits["train"]) // self.batch_size)

    def bind_model(self, model: torch.nn.Module) -> None:
        """Nothing to adapt: the embeddings are already model inputs."""

    def train_batches(self, epoch: int) -> Iterator[dict[str, object]]:
        """Epoch ``epoch``'s shuffled batches; the order depends only on the seed and the epoch."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        train = self.splits["train"]
        return self.shard.train_batches(train.batch_rows(self.batch_size, generator), train.batch)

    def eval_batches(self, split: str, mask: Tensor | None = None) -> Iterator[dict[str, object]]:
        """Batches of ``split`` in order (this process's contiguous part of it when sharded)."""
        data = self.splits[split]
        for rows in self.shard.eval_rows(len(data), 4 * self.batch_size, data.mask.device):
            yield data.batch(rows, mask)

    def train_labels(self) -> dict[str, Tensor]:
        return {h: y.cpu() for h, y in self.splits["train"].labels.items()}

    def train_embeddings(self) -> dict[str, Tensor]:
        """``{modality: [N_m, D]}`` precomputed embeddings of the training rows where each modality is present."""
        train = self.splits["train"]
        return {m: e[train.mask[:, modality_index(m)]] for m, e in train.embeddings.items()}

    def albums(self, split: str) -> list[str | None]:
        return list(self.splits[split].albums)
