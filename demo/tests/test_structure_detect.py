"""End to end on a tiny generated structure set: precompute, train with frame heads, evaluate, detect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile
import yaml

from chroma_demo.structure import StructureParams, write_structure_dataset
from chroma_framework.cli import main

PARAMS = StructureParams(tracks=8, seed=3, sample_rate=8000, sections=(3, 4), bars=(2,), split=(0.5, 0.25, 0.25))


def _config(root: Path, frame_heads: dict[str, object]) -> dict[str, object]:
    return {
        "data": {"root": str(root), "labels": ["section_count"], "label_classes": {"section_count": ["3", "4"]}},
        "model": {
            "modalities": ["audio"],
            "audio_encoder": {
                "type": "cnn",
                "frozen": False,
                "sample_rate": 8000,
                "n_fft": 512,
                "hop_length": 256,
                "n_mels": 16,
                "channels": [4],
                "hidden_dim": 8,
            },
            "fusion": {"strategy": "late", "hidden_dim": 8},
            "frame_heads": frame_heads,
        },
        "preprocessing": {"audio": {"duration": 30.0}},
        "structure": {"postprocess": {"threshold": 0.2}, "plot_tracks": 1},
        "training": {"epochs": 2, "batch_size": 4, "progress": False, "early_stopping": {"metric": "loss"}},
    }


@pytest.mark.slow
def test_train_evaluate_and_detect_with_frame_heads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_structure_dataset(tmp_path / "data", PARAMS, progress=False)
    heads = {
        "boundary": {"type": "boundary", "kernel_size": 3, "hidden": 8},
        "energy": {"type": "energy", "kernel_size": 3, "hidden": 8},
        "drops": {"type": "event", "events": ["drop"], "kernel_size": 3, "hidden": 8, "weight": 0.5},
    }
    config = tmp_path / "structure.yaml"
    config.write_text(yaml.safe_dump(_config(data.root, heads)))
    run = tmp_path / "run"
    assert main(["precompute", str(config)]) == 0
    assert main(["train", str(config), "--out", str(run)]) == 0
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epoch = next(r for r in epochs if r.get("kind") == "epoch")
    for head in ("boundary", "energy", "drops"):
        assert np.isfinite(epoch[f"val_{head}_frame_loss"]) and epoch[f"val_{head}_frame_loss"] > 0
    assert epoch["val_loss"] == pytest.approx(epoch["val_section_count_loss"] + epoch["val_frame_loss"])

    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "boundary hit rate @ 0.5 s" in printed and "boundary hit rate @ 3 s" in printed
    metrics = json.loads((run / "report" / "metrics.json").read_text())["structure"]
    assert metrics["tracks"] == 2 and set(metrics["energy"]) == {"bass", "mid", "high"}
    for window in ("0.5", "3"):
        assert 0 <= metrics["hit_rate"][window]["f"] <= 1
    assert (run / "report" / "structure_boundaries.png").is_file()
    assert "## Structure (test split, 2 tracks)" in (run / "report" / "report.md").read_text()

    row = pq.read_table(data.media_path).slice(0, 1).to_pylist()[0]
    wave = np.frombuffer(row["audio_waveform"], dtype="<f4")
    audio = tmp_path / "track.wav"
    soundfile.write(audio, wave, row["audio_sample_rate"])
    out = tmp_path / "sections.json"
    assert main(["detect", str(audio), "--run", str(run), "--out", str(out), "--no-snap"]) == 0
    result = json.loads(out.read_text())
    assert result["kind"] == "chroma.sections" and result["duration"] == pytest.approx(len(wave) / 8000, abs=1e-3)
    starts = [s["start"] for s in result["sections"]]
    assert starts[0] == 0.0 and starts[1:] == result["boundaries"]
    assert [s["end"] for s in result["sections"]][:-1] == starts[1:]
    assert all(set(s["energy"]) == {"bass", "mid", "high"} for s in result["sections"])


def test_detect_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(tmp_path / "missing.wav"), "--run", str(tmp_path / "norun")]) == 2
    assert "chroma: error:" in capsys.readouterr().err


def test_frame_heads_need_a_trainable_encoder_with_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_structure_dataset(
        tmp_path / "data", StructureParams(tracks=4, sample_rate=8000, sections=(3, 3), bars=(2,)), progress=False
    )
    cfg = _config(data.root, {"boundary": {"type": "boundary"}})
    cfg["model"]["audio_encoder"]["frozen"] = True  # type: ignore[index]
    config = tmp_path / "frozen.yaml"
    config.write_text(yaml.safe_dump(cfg))
    assert main(["precompute", str(config)]) == 0  # frozen: the encoder's pooled embeddings, without frames
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "model.frame_heads.boundary" in err
