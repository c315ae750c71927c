"""``model.input_bins``: precomputed features encoded over training-quantile bins, saved with the run, reused by
``load_run``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from chroma.errors import ConfigError
from chroma_framework.config import load_config
from chroma_framework.evaluation.analysis import evaluate
from chroma_framework.model_build import build_model
from chroma_framework.training.loop import train
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 24, "audio": 16, "midi": 16}


def bins_config(root: Path, bins: dict[str, int], **model: object) -> object:
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32]}, "input_bins": bins, **model},
            "training": {"epochs": 2, "batch_size": 32, "progress": False},
        }
    )


def test_binned_midi_is_fitted_on_training_rows_and_load_run_scores_the_same(tmp_path: Path) -> None:
    from chroma_framework.scoring.run import load_run
    from chroma_framework.training.data import load_precomputed

    root = write_learnable_embeddings(tmp_path / "data", 200, DIMS, seed=1)
    config = bins_config(root, {"midi": 8})
    result = train(config, tmp_path / "run")
    run = load_run(result.run_dir)
    model = run.model.eval()
    assert model.fusion.input_dims["midi"] == 16 * 8 and model.fusion.input_dims["audio"] == 16
    assert "midi" in model.standardizers and type(model.standardizers["audio"]).__name__ == "InputStandardizer"
    train_split = load_precomputed(config).splits["train"]
    rows = train_split.embeddings["midi"][train_split.mask[:, 2]].double()
    levels = torch.linspace(0, 1, 9, dtype=torch.float64)
    torch.testing.assert_close(model.standardizers["midi"].edges, torch.quantile(rows, levels, dim=0).T.float())
    # The run's best validation figures were measured on the in-memory model; load_run must reproduce them.
    evaluation = evaluate(run, "val")
    for head in config.data.labels:
        assert evaluation.overall[head].accuracy == pytest.approx(result.best_metrics[f"{head}_accuracy"], abs=1e-9)


def test_bins_on_a_modality_whose_encoder_trains_in_the_loop_are_a_config_error(tmp_path: Path) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 60, DIMS, seed=2)
    config = bins_config(
        root, {"midi": 8}, midi_encoder={"type": "piano_roll", "frozen": False}, modalities=["text", "midi"]
    )
    with pytest.raises(ConfigError, match=r"model\.input_bins\.midi: only precomputed"):
        build_model(config, {h: ["a", "b", "c"] for h in config.data.labels}, input_dims={"text": 24})


@pytest.mark.parametrize("bins", [1, 65])
def test_bin_counts_outside_2_to_64_fail_validation(tmp_path: Path, bins: int) -> None:
    with pytest.raises(Exception, match="input_bins"):
        bins_config(tmp_path, {"midi": bins})
