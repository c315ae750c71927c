"""Stratified fold assignment and fold split tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chroma_framework.audit.folds import concat_splits, joint_strata, stratified_folds, take_rows
from chroma_framework.training.data import SplitTensors


def test_joint_strata_is_one_stratum_per_label_combination() -> None:
    labels = {"a": np.array([0, 0, 1, 1, 0]), "b": np.array([2, 2, 2, 0, 0])}
    strata = joint_strata(labels)
    assert strata[0] == strata[1]
    assert len(set(strata.tolist())) == 4


def test_folds_are_balanced_within_every_stratum_and_seeded() -> None:
    rng = np.random.default_rng(0)
    strata = rng.integers(0, 7, size=503)
    folds = stratified_folds(strata, 5, seed=11)
    assert set(folds.tolist()) == set(range(5))
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1
    for s in np.unique(strata):
        per_fold = np.bincount(folds[strata == s], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1, f"stratum {s}: {per_fold}"
    assert np.array_equal(folds, stratified_folds(strata, 5, seed=11))
    assert not np.array_equal(folds, stratified_folds(strata, 5, seed=12))


@pytest.mark.parametrize(("n", "k", "message"), [(10, 1, "at least 2 folds"), (3, 5, "at least 5 segments")])
def test_bad_fold_counts_are_errors(n: int, k: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stratified_folds(np.zeros(n, dtype=np.int64), k, seed=0)


def _split(ids: list[str], offset: float) -> SplitTensors:
    n = len(ids)
    return SplitTensors(
        segment_ids=ids,
        embeddings={"text": torch.arange(n * 2, dtype=torch.float32).reshape(n, 2) + offset},
        mask=torch.ones(n, 3, dtype=torch.bool),
        labels={"h": torch.arange(n)},
        albums=[f"album{i}" for i in range(n)],
        cache_rows={"audio": torch.arange(n) + int(offset)},
    )


def test_concat_then_take_rows_keeps_every_field_aligned() -> None:
    pool = concat_splits({"train": _split(["a", "b", "c"], 0.0), "val": _split([], 0.0), "test": _split(["d"], 100.0)})
    assert pool.segment_ids == ["a", "b", "c", "d"]
    picked = take_rows(pool, np.array([3, 0]))
    assert picked.segment_ids == ["d", "a"]
    assert torch.equal(picked.embeddings["text"], torch.tensor([[100.0, 101.0], [0.0, 1.0]]))
    assert picked.labels["h"].tolist() == [0, 0]
    assert picked.albums == ["album0", "album0"]
    assert picked.cache_rows["audio"].tolist() == [100, 0]
