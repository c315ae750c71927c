"""Issue 11 item 12: a non-finite training loss stops the run (or drops the batch) and is never saved as best."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from chroma.errors import ConfigError
from chroma_framework.config import load_config
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import Trainer, TrainingDiverged, make_source, train
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 24, "audio": 16, "midi": 16}


def make_config(root: Path, **training: object) -> object:
    base: dict[str, object] = {"epochs": 2, "batch_size": 32, "progress": False, "log_every": 1}
    base.update(training)
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "project_dim": 8},
                "standardize_inputs": False,
            },
            "training": base,
        }
    )


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_learnable_embeddings(tmp_path_factory.mktemp("nonfinite"), 200, DIMS, seed=3)


class NanOnBatches:
    """Fault injection: the real training loss, turned NaN on the given (0-based) calls."""

    def __init__(self, loss_fn: Any, bad_calls: set[int] | None = None) -> None:
        self.loss_fn, self.bad_calls, self.calls = loss_fn, bad_calls, 0

    def __call__(self, *args: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, per_head = self.loss_fn(*args)
        bad = self.bad_calls is None or self.calls in self.bad_calls
        self.calls += 1
        return (loss * float("nan") if bad else loss), per_head


def trainer(config: Any, run: Path, bad_calls: set[int] | None) -> Trainer:
    fitter = Trainer(config, run, make_source(config, torch.device("cpu")))
    fitter.loss_fn = NanOnBatches(fitter.loss_fn, bad_calls)  # type: ignore[assignment]
    return fitter


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_non_finite_learning_rate_is_a_config_error(data_root: Path, tmp_path: Path, value: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{root: {data_root}}}\ntraining: {{learning_rate: {value}}}\n")
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(path)


def test_diverging_learning_rate_stops_with_a_clear_error(data_root: Path, tmp_path: Path) -> None:
    config = make_config(data_root, learning_rate=1e30, grad_clip=None)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d+.*lower training.learning_rate") as info:
        train(config, tmp_path / "run")
    assert "not saved" in str(info.value)
    assert not (tmp_path / "run" / rd.MODEL_FILE).exists()


def test_nan_loss_errors_by_default_and_is_skipped_when_configured(data_root: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingDiverged, match=r"loss is nan at epoch 1, step 1.*training.nonfinite: skip"):
        trainer(make_config(data_root), tmp_path / "strict", {1}).fit()
    result = trainer(make_config(data_root, nonfinite="skip"), tmp_path / "skip", {1, 2, 9}).fit()
    warnings = [r for r in read_records(result.run_dir) if r.get("type") == "nonfinite_loss"]
    assert [(r["kind"], r["skipped_batches"]) for r in warnings] == [("warning", 1), ("warning", 2), ("warning", 3)]
    assert result.best_epoch is not None and math.isfinite(result.best_metrics["loss"])
    assert all(math.isfinite(r["train_loss"]) for r in read_records(result.run_dir) if "train_loss" in r)


def test_skip_stops_after_too_many_non_finite_batches_in_a_row(data_root: Path, tmp_path: Path) -> None:
    config = make_config(data_root, nonfinite="skip", nonfinite_max_consecutive=2)
    with pytest.raises(TrainingDiverged, match="2 training batches in a row"):
        trainer(config, tmp_path / "run", None).fit()
    assert not (tmp_path / "run" / rd.MODEL_FILE).exists()
