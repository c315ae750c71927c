"""``--resume`` on a run directory that holds nothing (a run that failed before writing its first file, e.g. on
a full disk) trains the run anew instead of refusing it as "not a Chroma run directory"."""

from __future__ import annotations

from pathlib import Path

import pytest

from chroma_framework.config import load_config
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import train
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


def test_resume_of_a_run_that_wrote_nothing_starts_it_anew(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 80, {"text": 8, "audio": 8, "midi": 8}, seed=1)
    config = load_config(
        {
            "data": {"root": str(root)},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}},
            "training": {"epochs": 1, "batch_size": 16, "progress": False},
        }
    )
    with pytest.raises(rd.RunError, match="does not exist"):  # a mistyped --out stays an error
        train(config, tmp_path / "typo", resume=True)
    run = tmp_path / "run"
    run.mkdir()
    with caplog.at_level("WARNING"):
        result = train(config, run, resume=True)
    assert result.epochs_run == 1 and (run / rd.MODEL_FILE).is_file()
    assert any("nothing to resume" in r.message for r in caplog.records)
