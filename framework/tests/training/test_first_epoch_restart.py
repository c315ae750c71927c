"""Issue 11 item 18: a run killed in its first epoch is trained anew in place, by `train` and `train --resume`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import Trainer, make_source
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


class KilledOnCall:
    """Fault injection: the real training loss, interrupted (as by Ctrl-C) on its ``n``-th call."""

    def __init__(self, loss_fn: Any, n: int) -> None:
        self.loss_fn, self.n, self.calls = loss_fn, n, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.loss_fn(*args)


@pytest.fixture()
def config_path(tmp_path: Path) -> Path:
    root = write_learnable_embeddings(tmp_path / "data", 120, {"text": 8, "audio": 8, "midi": 8}, seed=1)
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8], "project_dim": 4}},
        "training": {"epochs": 2, "batch_size": 16, "progress": False, "log_every": 1},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def killed_in_first_epoch(config_path: Path, run: Path) -> None:
    config = load_config(config_path)
    trainer = Trainer(config, run, make_source(config, torch.device("cpu")))
    trainer.loss_fn = KilledOnCall(trainer.loss_fn, 3)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert (run / rd.RUN_JSON).is_file() and not (run / rd.STATE_FILE).exists()
    assert rd.unfinished(run) and read_records(run, "step")
    (run / "notes.txt").write_text("the user's own file")


@pytest.mark.parametrize("resume", [False, True])
def test_a_run_killed_in_its_first_epoch_is_trained_anew(
    config_path: Path, tmp_path: Path, resume: bool, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    killed_in_first_epoch(config_path, run)
    with caplog.at_level(logging.WARNING):
        assert main(["train", str(config_path), "--out", str(run), *(["--resume"] if resume else [])]) == 0
    said = "--resume starts it anew in place" if resume else "replacing it"
    assert "never finished an epoch" in caplog.text and said in caplog.text
    assert rd.read_header(run)["status"] == "completed" and (run / rd.MODEL_FILE).is_file()
    steps = [r["step"] for r in read_records(run, "step")]
    assert steps == sorted(set(steps)) and steps[0] == 1  # one history, from the new start
    assert (run / "notes.txt").read_text() == "the user's own file"


def test_a_finished_run_is_still_refused_without_resume(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", str(config_path), "--out", str(run)]) == 0
    assert not rd.unfinished(run)
    assert main(["train", str(config_path), "--out", str(run)]) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    with pytest.raises(rd.RunError, match="finished epoch"):
        rd.clear_unfinished(run)
