"""Run directories as a SIGKILL leaves them at the points ``tests/test_fault_injection.py`` found: each is
either trained anew (no epoch finished) or resumed, never a dead end, and resumed logs hold no duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chroma_framework.training import run_dir as rd
from chroma_framework.training.metrics_log import MetricsLog, read_records


def header(run: Path, status: str, epochs: int) -> None:
    rd.write_header(run, {"status": status, "epochs_completed": epochs})


def test_killed_in_its_first_write_is_unfinished(tmp_path: Path) -> None:
    (tmp_path / ".config.yaml.host.1.abc.tmp").write_text("")  # killed before config.yaml was in place
    assert rd.unfinished(tmp_path)
    assert not rd.unfinished(tmp_path / "elsewhere")


def test_killed_between_the_first_best_model_and_its_checkpoint_is_unfinished(tmp_path: Path) -> None:
    header(tmp_path, "running", 0)
    (tmp_path / rd.MODEL_FILE).write_bytes(b"weights")
    assert rd.unfinished(tmp_path)
    rd.clear_unfinished(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status, epochs", [("completed", 5), ("running", 2)])
def test_a_model_without_checkpoints_of_a_trained_run_is_kept(tmp_path: Path, status: str, epochs: int) -> None:
    """A finished run whose checkpoints were deleted (kept for scoring) is never cleared."""
    header(tmp_path, status, epochs)
    (tmp_path / rd.MODEL_FILE).write_bytes(b"weights")
    assert not rd.unfinished(tmp_path)
    with pytest.raises(rd.RunError):
        rd.clear_unfinished(tmp_path)


def test_clearing_removes_the_start_markers_last(tmp_path: Path) -> None:
    """Whatever a kill mid-clear leaves is still an unfinished run: run.json and config.yaml go last."""
    header(tmp_path, "running", 0)
    (tmp_path / rd.CONFIG_YAML).write_text("{}")
    (tmp_path / rd.MODEL_FILE).write_bytes(b"weights")
    removed: list[str] = []
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        removed.append(self.name)
        real_unlink(self, missing_ok=missing_ok)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "unlink", unlink)
        rd.clear_unfinished(tmp_path)
    assert removed[0] == rd.MODEL_FILE and removed[-2:] == [rd.CONFIG_YAML, rd.RUN_JSON], removed


def test_resume_drops_the_records_of_the_interrupted_epochs_first_step(tmp_path: Path) -> None:
    """grad_norm/warning records are logged before the step counter moves, so they carry the last kept step."""
    log = MetricsLog(tmp_path)
    log.write({"kind": "grad_norm", "epoch": 1, "step": 0, "fusion": 1.0})
    log.write({"kind": "step", "epoch": 1, "step": 1, "train_loss": 2.0})
    log.write({"kind": "epoch", "epoch": 1, "step": 1, "train_loss": 2.0})
    log.write({"kind": "grad_norm", "epoch": 2, "step": 1, "fusion": 3.0})  # epoch 2 killed after this
    MetricsLog(tmp_path, resume=True, keep_until_step=1)
    assert [(r["kind"], r["epoch"]) for r in read_records(tmp_path)] == [("grad_norm", 1), ("step", 1), ("epoch", 1)]
    rows = (tmp_path / "grad_norms.csv").read_text().splitlines()
    assert rows == ["epoch,step,fusion", "1,0,1.0"]
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])["kind"] == "epoch"
