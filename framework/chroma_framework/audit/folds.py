"""Seeded, stratified K-fold assignment, and the rows of one fold as fast-path split tensors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from chroma_framework.training.data import SplitTensors


def joint_strata(labels: Mapping[str, np.ndarray]) -> np.ndarray:
    """``[N]`` int64 stratum of each row: one per distinct combination of its labels over every head.

    Args:
        labels: ``{head: [N] int64}`` class indices.
    """
    stacked = np.stack([np.asarray(y, dtype=np.int64) for y in labels.values()], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def stratified_folds(strata: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``[N]`` int64 fold (``0 .. k-1``) of each row, stratified by ``strata`` and seeded.

    The rows are shuffled with ``seed``, grouped by stratum (keeping the shuffled order inside each)
    and dealt to the folds in turn, so fold sizes differ by at most one overall and within every
    stratum.

    Raises:
        ValueError: ``k < 2`` or fewer than ``k`` rows.
    """
    n = len(strata)
    if k < 2:
        raise ValueError(f"K-fold needs at least 2 folds, got {k}")
    if n < k:
        raise ValueError(f"{k} folds need at least {k} segments, got {n}")
    shuffled = np.random.default_rng(seed).permutation(n)
    order = shuffled[np.argsort(np.asarray(strata)[shuffled], kind="stable")]
    folds = np.empty(n, dtype=np.int64)
    folds[order] = np.arange(n) % k
    return folds


def concat_splits(splits: Mapping[str, SplitTensors]) -> SplitTensors:
    """Every segment of ``splits`` (e.g. train, val and test) as one :class:`SplitTensors`, in order."""
    parts = [s for s in splits.values() if len(s)]
    if not parts:
        raise ValueError("no segments in any split")
    first = parts[0]
    return SplitTensors(
        segment_ids=[sid for s in parts for sid in s.segment_ids],
        embeddings={m: torch.cat([s.embeddings[m] for s in parts]) for m in first.embeddings},
        mask=torch.cat([s.mask for s in parts]),
        labels={h: torch.cat([s.labels[h] for s in parts]) for h in first.labels},
        albums=[a for s in parts for a in s.albums],
        soft_labels={h: torch.cat([s.soft_labels[h] for s in parts]) for h in first.soft_labels},
        cache_rows={m: torch.cat([s.cache_rows[m] for s in parts]) for m in first.cache_rows},
    )


def take_rows(split: SplitTensors, rows: np.ndarray) -> SplitTensors:
    """The rows ``rows`` (``[K]`` int64 indices) of ``split``, in that order."""
    index = torch.from_numpy(np.asarray(rows, dtype=np.int64))
    on_device = index.to(split.mask.device)
    return SplitTensors(
        segment_ids=[split.segment_ids[i] for i in rows],
        embeddings={m: e[on_device] for m, e in split.embeddings.items()},
        mask=split.mask[on_device],
        labels={h: y[on_device] for h, y in split.labels.items()},
        albums=[split.albums[i] for i in rows] if split.albums else [],
        soft_labels={h: p[on_device] for h, p in split.soft_labels.items()},
        cache_rows={m: r[index] for m, r in split.cache_rows.items()},
    )
