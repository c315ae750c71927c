"""`chroma train` then `chroma evaluate` on the synthetic dataset, encoders in the loop.

The synthetic generator puts ``spatial_mode`` in pitch register and texture only
(MIDI and audio), never in the lyrics, so a model that also reads MIDI must beat
the text-only baseline trained by the same command with ``--text-only``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.data.synthetic import write_synthetic


def write_config(root: Path) -> Path:
    config = {
        "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "text_encoder": {"type": "precomputed", "dim": 32},
            "midi_encoder": {
                "type": "piano_roll",
                "frozen": False,
                "learning_rate": 3e-3,
                "hidden_dim": 32,
                "resolution": 0.0625,
                "steps": 16,
                "channels": [8, 16, 16],
            },
            "fusion": {"strategy": "late", "hidden_dim": 32, "mlp_dims": [64], "dropout": 0.1},
        },
        "training": {
            "mode": "end_to_end",
            "epochs": 12,
            "batch_size": 16,
            "learning_rate": 3e-3,
            "progress": False,
            "output_dir": str(root / "runs"),
            "early_stopping": {"patience": 12},
        },
    }
    path = root / "synthetic.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_fused_model_beats_text_only_on_spatial_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_synthetic(tmp_path, n_segments=400, seed=0, lyric_embedding_dim=32)
    config = write_config(tmp_path)
    assert main(["train", str(config)]) == 0
    assert main(["train", str(config), "--text-only"]) == 0
    fused, text_only = tmp_path / "runs" / "synthetic", tmp_path / "runs" / "synthetic-text_only"
    capsys.readouterr()
    assert main(["evaluate", str(fused), "--baseline", str(text_only)]) == 0
    printed = capsys.readouterr().out
    assert "spatial_mode" in printed and "vs baseline" in printed

    report = fused / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    gain = metrics["baseline"]["heads"]["spatial_mode"]
    assert metrics["baseline"]["baseline_modalities"] == ["text"]
    assert gain["accuracy"] > gain["baseline_accuracy"] + 0.15, gain
    assert gain["macro_f1"] > gain["baseline_macro_f1"] + 0.15, gain
    # Spatial mode needs MIDI: in the subset matrix, MIDI alone beats text alone.
    subsets = metrics["subset_matrix"]["subsets"]
    assert set(subsets) == {"text", "midi", "text+midi"}
    assert subsets["midi"]["spatial_mode"]["accuracy"] > subsets["text"]["spatial_mode"]["accuracy"]
    # Broken MIDI in the synthetic data is marked absent with its reason, and reported.
    data_report = json.loads((fused / "train_data_report.json").read_text())
    assert data_report["present"]["midi"] > 0 and data_report["absent_counts"]["midi"]
    header = json.loads((fused / "run.json").read_text())
    assert header["mode"] == "end_to_end" and header["build"]["encoders"]["midi"]["frozen"] is False
    markdown = (report / "report.md").read_text()
    for section in ("Gain over baseline", "Missing-modality matrix", "Natural missingness", "Graceful degradation"):
        assert section in markdown
    for png in ("training_curves.png", "confusion_matrices.png", "subset_matrix.png", "grad_norms.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
