"""Soft targets (``data.soft_labels``): the loss, reading and validating the column, both training paths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from pydantic import ValidationError

from chroma_framework.config import load_config
from chroma_framework.config.data import DataSection
from chroma_framework.config.training import LossSection
from chroma_framework.data.labels import LabelError, read_labels
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.metrics import IGNORE_INDEX
from chroma_framework.training.data import PrecomputedSource, load_precomputed
from chroma_framework.training.end_to_end import DatasetSource
from chroma_framework.training.loop import train
from chroma_framework.training.losses import MultiHeadLoss
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

CLASSES = {"a": ["x", "y", "z"], "b": ["p", "q"]}
METADATA = "training_segments_metadata.parquet"


def soft_ce(logits: torch.Tensor, probs: torch.Tensor, weight: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Mean over rows of ``-sum_c w_c q_c log softmax(logits)_c`` with ``q`` the smoothed targets."""
    q = probs * (1 - smoothing) + smoothing / probs.shape[1]
    return -(weight * q * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def test_loss_equals_hand_computed_soft_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = {"a": torch.randn(6, 3, generator=gen), "b": torch.randn(6, 2, generator=gen)}
    labels = {"a": torch.tensor([0, 1, IGNORE_INDEX, 2, 1, 0]), "b": torch.tensor([0, 1, 1, 0, 1, 0])}
    probs = torch.distributions.Dirichlet(torch.ones(3)).sample((6,))
    config = LossSection(head_weights={"a": 0.7}, class_weights={"a": [1.0, 2.0, 0.5]}, label_smoothing=0.1)
    total, per_head = MultiHeadLoss(CLASSES, config)(logits, labels, {"a": probs})

    keep = labels["a"] != IGNORE_INDEX
    expected_a = soft_ce(logits["a"][keep], probs[keep], torch.tensor([1.0, 2.0, 0.5]), 0.1)
    expected_b = soft_ce(logits["b"], torch.eye(2)[labels["b"]], torch.ones(2), 0.1)
    torch.testing.assert_close(per_head["a"], expected_a)
    torch.testing.assert_close(per_head["b"], expected_b)
    torch.testing.assert_close(total, 0.7 * expected_a + expected_b)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_one_hot_soft_targets_give_the_hard_label_loss(smoothing: float) -> None:
    gen = torch.Generator().manual_seed(1)
    logits = {"a": torch.randn(8, 3, generator=gen), "b": torch.randn(8, 2, generator=gen)}
    labels = {"a": torch.tensor([0, 1, 2, IGNORE_INDEX, 1, 0, 2, 2]), "b": torch.tensor([1, 0, 1, 0, 0, 1, 1, 0])}
    one_hot = {"a": torch.eye(3)[labels["a"].clamp(min=0)], "b": torch.eye(2)[labels["b"]]}
    loss_fn = MultiHeadLoss(CLASSES, LossSection(head_weights={"b": 2.0}, label_smoothing=smoothing))
    hard_total, hard = loss_fn(logits, labels)
    soft_total, soft = loss_fn(logits, labels, one_hot)
    torch.testing.assert_close(soft_total, hard_total)
    for head in CLASSES:
        torch.testing.assert_close(soft[head], hard[head])


# ------------------------------------------------------------------ reading the column


def write_metadata(root: Path, probs: pa.Array) -> DataSection:
    """Four segments whose ``spatial_mode`` soft targets are ``probs`` (class order Person, Place, Thing)."""
    table = pa.table(
        {
            "segment_id": ["s0", "s1", "s2", "s3"],
            "temporal_mode": ["Past", "Present", "Future", "Past"],
            "spatial_mode": ["Thing", "Place", "Person", "Place"],
            "ontological_mode": ["Known", "Known", "Imagined", "Forgotten"],
            "probs": probs,
        }
    )
    pq.write_table(table, root / METADATA)
    return DataSection(root=str(root), soft_labels={"spatial_mode": "probs"})


GOOD = [[0.1, 0.2, 0.7], None, [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]


def test_soft_labels_are_read_in_class_order_with_one_hot_for_null_rows(tmp_path: Path) -> None:
    data = write_metadata(tmp_path, pa.array(GOOD, type=pa.list_(pa.float32())))
    labels = read_labels(data)
    assert labels.vocab["spatial_mode"] == ["Person", "Place", "Thing"]
    assert set(labels.soft) == {"spatial_mode"}
    soft = labels.soft["spatial_mode"]
    assert soft.dtype == np.float32 and soft.shape == (4, 3)
    np.testing.assert_allclose(soft, [[0.1, 0.2, 0.7], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], rtol=1e-6)
    # Without the setting no soft targets are read.
    assert read_labels(DataSection(root=str(tmp_path))).soft == {}


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (pa.array([[0.5, 0.5], *GOOD[1:]]), r"segment 's0' in soft-label column 'probs' has 2 values; the head has 3"),
        (pa.array([GOOD[0], [1.2, -0.2, 0.0], *GOOD[2:]]), r"segment 's1' .* non-finite or negative"),
        (pa.array([*GOOD[:2], [float("nan"), 0.5, 0.5], GOOD[3]]), r"segment 's2' .* non-finite or negative"),
        (pa.array([*GOOD[:2], [None, 0.5, 0.5], GOOD[3]]), r"segment 's2' .* a null"),
        (pa.array([*GOOD[:3], [0.3, 0.3, 0.3]]), r"segment 's3' in soft-label column 'probs' sums to 0\.9, not 1"),
        (pa.array(["a", "b", "c", "d"]), r"soft-label column 'probs' must hold lists of numbers, not string"),
    ],
)
def test_bad_soft_label_rows_are_clear_errors(tmp_path: Path, probs: pa.Array, message: str) -> None:
    data = write_metadata(tmp_path, probs)
    with pytest.raises(LabelError, match=message):
        read_labels(data)


def test_missing_soft_label_column_and_unknown_head_are_clear_errors(tmp_path: Path) -> None:
    write_metadata(tmp_path, pa.array(GOOD))
    with pytest.raises(LabelError, match=r"missing soft-label column\(s\) 'nope' \(data.soft_labels\)"):
        read_labels(DataSection(root=str(tmp_path), soft_labels={"spatial_mode": "nope"}))
    with pytest.raises(ValidationError, match="data.soft_labels names unknown head"):
        DataSection(root=str(tmp_path), soft_labels={"spatial": "probs"})


# ------------------------------------------------------------------ training


def add_probs(metadata: Path, head: str, order: list[str], true_mass: float, null_every: int = 0) -> np.ndarray:
    """Append ``<head>_probs`` (``true_mass`` on the labelled class, the rest spread evenly) to ``metadata``.

    Every ``null_every``-th row is null. Returns the ``[N, C]`` targets the reader should produce.
    """
    table = pq.read_table(metadata)
    rest = (1 - true_mass) / (len(order) - 1)
    index = np.array([order.index(v) for v in table.column(head).to_pylist()])
    targets = np.full((len(index), len(order)), rest, dtype=np.float32)
    targets[np.arange(len(index)), index] = true_mass
    null = np.arange(len(index)) % null_every == 0 if null_every else np.zeros(len(index), dtype=bool)
    column = [None if null[i] else row.tolist() for i, row in enumerate(targets)]
    targets[null] = np.eye(len(order), dtype=np.float32)[index[null]]
    pq.write_table(table.append_column(f"{head}_probs", pa.array(column, type=pa.list_(pa.float64()))), metadata)
    return targets


def entropy(true_mass: float, num_classes: int) -> float:
    rest = (1 - true_mass) / (num_classes - 1)
    return -(true_mass * math.log(true_mass) + (num_classes - 1) * rest * math.log(rest))


def test_fast_path_carries_soft_targets_and_converges(tmp_path: Path) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 240, {"text": 16, "audio": 12, "midi": 12}, separation=1.5)
    order = ["Person", "Place", "Thing"]
    targets = add_probs(root / METADATA, "spatial_mode", order, true_mass=0.8)
    config = load_config(
        {
            "data": {"root": str(root), "soft_labels": {"spatial_mode": "spatial_mode_probs"}},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "project_dim": 8}},
            "training": {"epochs": 8, "batch_size": 32, "learning_rate": 1e-2, "progress": False},
        }
    )
    source = PrecomputedSource(load_precomputed(config), 32, torch.device("cpu"))
    batch = next(iter(source.train_batches(0)))
    assert set(batch["soft_label"]) == {"spatial_mode"} and batch["soft_label"]["spatial_mode"].shape == (32, 3)
    row_of = {sid: i for i, sid in enumerate(pq.read_table(root / METADATA).column("segment_id").to_pylist())}
    ids = source.splits["train"].segment_ids
    np.testing.assert_array_equal(source.splits["train"].soft_labels["spatial_mode"], targets[[row_of[s] for s in ids]])

    result = train(config, tmp_path / "run")
    epochs = read_records(result.run_dir, "epoch")
    assert epochs[-1]["train_loss"] < 0.8 * epochs[0]["train_loss"], [e["train_loss"] for e in epochs]
    # Cross-entropy against 0.8/0.1/0.1 targets cannot fall below their entropy (hard labels could reach 0).
    assert min(e["val_spatial_mode_loss"] for e in epochs) >= entropy(0.8, 3) - 1e-4
    assert result.best_metrics["spatial_mode_accuracy"] > 0.6


def test_end_to_end_run_trains_on_soft_targets(tmp_path: Path) -> None:
    dataset = write_synthetic(tmp_path / "data", n_segments=48, seed=1, lyric_embedding_dim=16)
    order = ["Thing", "Place", "Person"]  # fixed by data.label_classes, not sorted
    targets = add_probs(dataset.metadata_path, "spatial_mode", order, true_mass=0.7, null_every=5)
    config = load_config(
        {
            "data": {
                "root": str(dataset.root),
                "columns": {"lyric_embedding": "lyric_embedding"},
                "label_classes": {"spatial_mode": order},
                "soft_labels": {"spatial_mode": "spatial_mode_probs"},
            },
            "preprocessing": {"audio": {"duration": 1.0}},
            "model": {
                "modalities": ["text", "midi"],
                "text_encoder": {"type": "precomputed", "dim": 16},
                "midi_encoder": {
                    "type": "piano_roll",
                    "frozen": False,
                    "hidden_dim": 16,
                    "resolution": 0.0625,
                    "steps": 16,
                    "channels": [4, 8, 8],
                },
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
            },
            "training": {"mode": "end_to_end", "epochs": 2, "batch_size": 16, "progress": False},
        }
    )
    source = DatasetSource(config)
    batch = next(iter(source.eval_batches("train")))
    row_of = {sid: i for i, sid in enumerate(pq.read_table(dataset.metadata_path).column("segment_id").to_pylist())}
    expected = targets[[row_of[s] for s in batch["segment_id"]]]
    np.testing.assert_array_equal(batch["soft_label"]["spatial_mode"].numpy(), expected)

    result = train(config, tmp_path / "run")
    epochs = read_records(result.run_dir, "epoch")
    assert len(epochs) == 2 and all(math.isfinite(e["train_loss"]) for e in epochs)
    assert all(math.isfinite(e["val_spatial_mode_loss"]) for e in epochs)
