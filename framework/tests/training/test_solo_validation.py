"""Validation scores of a modality alone (``<modality>_only_*``) and early stopping on the mean of several
metrics: the model selected serves the fused case and the MIDI-only inference case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chroma.errors import ConfigError
from chroma_framework.config import load_config
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import prepare_config, train
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 24, "audio": 16, "midi": 16}


def solo_config(root: Path, metric: object, unimodal: dict[str, float] | None = None) -> object:
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32]}},
            "training": {
                "epochs": 3,
                "batch_size": 32,
                "progress": False,
                "loss": {"unimodal": {"midi": 1.0} if unimodal is None else unimodal},
                "early_stopping": {"metric": metric, "patience": 50},
            },
        }
    )


def test_midi_only_scores_are_logged_and_a_metric_list_is_tracked_as_its_mean(tmp_path: Path) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 200, DIMS, seed=4)
    result = train(solo_config(root, ["macro_f1", "midi_only_macro_f1"]), tmp_path / "run")
    epochs = read_records(result.run_dir, "epoch")
    assert all("val_midi_only_macro_f1" in e and "val_midi_only_spatial_mode_accuracy" in e for e in epochs)
    best = result.best_metrics
    assert 0.0 <= best["midi_only_macro_f1"] <= 1.0 and "midi_only_temporal_mode_accuracy" in best
    assert "midi_only_loss" not in best and "audio_only_macro_f1" not in best
    header = json.loads((result.run_dir / rd.RUN_JSON).read_text())
    assert header["best_metric"]["name"] == "mean(macro_f1, midi_only_macro_f1)"
    expected = (best["macro_f1"] + best["midi_only_macro_f1"]) / 2
    assert header["best_metric"]["value"] == pytest.approx(expected)


def test_midi_only_scores_differ_from_the_fused_ones(tmp_path: Path) -> None:
    """The MIDI vectors are all zero here, so the model scored on MIDI alone must do worse than fused."""
    root = write_learnable_embeddings(tmp_path / "data", 240, DIMS, seed=5, scale={"midi": 0.0})
    result = train(solo_config(root, "macro_f1"), tmp_path / "run")
    assert result.best_metrics["midi_only_accuracy"] < result.best_metrics["accuracy"]


def test_a_solo_metric_without_the_unimodal_loss_is_a_config_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'midi_only_macro_f1' is not a validation metric.*training\.loss\.unimodal"):
        solo_config(tmp_path, ["macro_f1", "midi_only_macro_f1"], unimodal={})


def test_losses_and_scores_cannot_be_averaged(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot average losses with scores"):
        solo_config(tmp_path, ["loss", "midi_only_macro_f1"])


def test_the_text_only_baseline_drops_the_midi_only_metric(tmp_path: Path) -> None:
    config = prepare_config(solo_config(tmp_path, ["macro_f1", "midi_only_macro_f1"]), text_only=True)
    assert config.training.early_stopping.metric == "macro_f1"


def test_a_modality_alone_score_missing_from_validation_is_left_out_of_the_mean(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No validation row with MIDI (a tiny data set): the tracked mean is the fused score alone, said once."""
    from chroma_framework.training.early_stopping import EarlyStopping

    stopper = EarlyStopping(solo_config(tmp_path, ["macro_f1", "midi_only_macro_f1"]).training.early_stopping)
    with caplog.at_level("WARNING"):
        assert stopper.value({"macro_f1": 0.4}) == pytest.approx(0.4)
        assert stopper.value({"macro_f1": 0.5, "midi_only_macro_f1": 0.7}) == pytest.approx(0.6)
        assert stopper.value({"macro_f1": 0.3}) == pytest.approx(0.3)
    assert sum("left out of the tracked mean" in r.message for r in caplog.records) == 1
    with pytest.raises(ValueError, match="'accuracy' is not a validation metric"):
        EarlyStopping(solo_config(tmp_path, ["accuracy", "midi_only_accuracy"]).training.early_stopping).value({})
