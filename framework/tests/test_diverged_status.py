"""A run that diverged says so in run.json, and a resumed one says what it is now (issue 11, item 12's resume)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from chroma_framework.config import load_config
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import Trainer, TrainingDiverged, make_source, resume_config
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


def make_config(root: Path, epochs: int = 3) -> Any:
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}, "standardize_inputs": False},
            "training": {"epochs": epochs, "batch_size": 32, "progress": False},
        }
    )


class NanFromCall:
    """Fault injection: the real training loss, turned NaN from call ``first_bad`` on."""

    def __init__(self, loss_fn: Any, first_bad: int) -> None:
        self.loss_fn, self.first_bad, self.calls = loss_fn, first_bad, 0

    def __call__(self, *args: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, per_head = self.loss_fn(*args)
        self.calls += 1
        return (loss * float("nan") if self.calls > self.first_bad else loss), per_head


def header(run: Path) -> dict[str, Any]:
    return json.loads((run / rd.RUN_JSON).read_text())


def test_diverged_then_resumed_run_json_status(tmp_path: Path) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 160, {"text": 8, "audio": 8, "midi": 8}, seed=2)
    config, run = make_config(root), tmp_path / "run"
    trainer = Trainer(config, run, make_source(config, torch.device("cpu")))
    batches_per_epoch = trainer.source.num_train_batches()
    trainer.loss_fn = NanFromCall(trainer.loss_fn, first_bad=batches_per_epoch)  # type: ignore[assignment]
    with pytest.raises(TrainingDiverged):
        trainer.fit()
    diverged = header(run)
    assert diverged["status"] == "diverged", "a diverged run must not read as still running"
    assert diverged["epochs_completed"] == 1 and "loss is nan at epoch 2" in diverged["error"]

    # Resumed with the same fault, it diverges again and says so; resumed without it, it completes.
    again = resume_config(config, run)
    trainer = Trainer(again, run, make_source(again, torch.device("cpu"), rd.read_labels_json(run)), resume=True)
    trainer.loss_fn = NanFromCall(trainer.loss_fn, first_bad=0)  # type: ignore[assignment]
    with pytest.raises(TrainingDiverged):
        trainer.fit()
    assert header(run)["status"] == "diverged" and header(run)["epochs_completed"] == 1

    trainer = Trainer(again, run, make_source(again, torch.device("cpu"), rd.read_labels_json(run)), resume=True)
    result = trainer.fit()
    done = header(run)
    assert result.epochs_run == 3 and done["status"] == "completed" and "error" not in done
    assert done["epochs_completed"] == 3 and done["created"] == diverged["created"]
