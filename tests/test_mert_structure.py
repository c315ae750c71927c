"""A tiny MERT feeding frame heads through the structure path: precompute its input cache, train boundary and
energy heads with its top layer unfrozen, then detect sections with the trained run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile
import yaml
from chroma_audio_mert.tiny import save_tiny_mert
from safetensors.torch import load_file

from chroma_demo.structure import StructureParams, write_structure_dataset
from chroma_framework.cli import main

PARAMS = StructureParams(tracks=8, seed=5, sample_rate=8000, sections=(3, 4), bars=(2,), split=(0.5, 0.25, 0.25))


def _config(data: Path, checkpoint: Path) -> dict[str, object]:
    return {
        "data": {"root": str(data), "labels": ["section_count"], "label_classes": {"section_count": ["3", "4"]}},
        "model": {
            "modalities": ["audio"],
            "audio_encoder": {
                "type": "mert",
                "pretrained_model": str(checkpoint),
                "frozen": False,
                "unfreeze_last": 1,
            },
            "fusion": {"strategy": "late", "hidden_dim": 8},
            "frame_heads": {
                "boundary": {"type": "boundary", "kernel_size": 3, "hidden": 8, "tolerance_frames": 8},
                "energy": {"type": "energy", "kernel_size": 3, "hidden": 8},
            },
        },
        "preprocessing": {"audio": {"duration": 20.0}},
        "structure": {"postprocess": {"threshold": 0.2}},
        "training": {
            "epochs": 2,
            "batch_size": 4,
            "learning_rate": 0.01,
            "progress": False,
            "num_threads": 1,
            "early_stopping": {"metric": "loss"},
        },
    }


@pytest.mark.slow
def test_tiny_mert_trains_frame_heads_and_detects(tmp_path: Path) -> None:
    data = write_structure_dataset(tmp_path / "data", PARAMS, progress=False)
    checkpoint = save_tiny_mert(tmp_path / "mert")
    config = tmp_path / "mert_structure.yaml"
    config.write_text(yaml.safe_dump(_config(data.root, checkpoint)))
    run = tmp_path / "run"
    assert main(["precompute", str(config)]) == 0
    caches = list((data.root / "input_cache").glob("audio-*/index.json"))
    assert len(caches) == 1 and json.loads(caches[0].read_text())["encoder"] == "mert"
    assert main(["train", str(config), "--out", str(run)]) == 0

    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epoch = next(r for r in epochs if r.get("kind") == "epoch")
    for head in ("boundary", "energy"):
        assert np.isfinite(epoch[f"val_{head}_frame_loss"]) and epoch[f"val_{head}_frame_loss"] > 0
    assert epoch["val_loss"] == pytest.approx(epoch["val_section_count_loss"] + epoch["val_frame_loss"])

    # unfreeze_last: 1 -- the top transformer layer trained, the layers below kept the checkpoint's weights
    start = load_file(checkpoint / "model.safetensors")
    trained = load_file(run / "checkpoints" / "last.safetensors")
    prefix = "model.encoders.audio.model."
    top, below = "encoder.layers.2.attention.k_proj.weight", "encoder.layers.0.attention.k_proj.weight"
    assert not np.allclose(trained[prefix + top].numpy(), start[top].numpy())
    assert np.array_equal(trained[prefix + below].numpy(), start[below].numpy())

    row = pq.read_table(data.media_path).slice(0, 1).to_pylist()[0]
    wave = np.frombuffer(row["audio_waveform"], dtype="<f4")
    audio = tmp_path / "track.wav"
    soundfile.write(audio, wave, row["audio_sample_rate"])
    out = tmp_path / "sections.json"
    assert main(["detect", str(audio), "--run", str(run), "--out", str(out), "--no-snap"]) == 0
    result = json.loads(out.read_text())
    assert result["frame_rate"] == pytest.approx(75.0) and result["duration"] == pytest.approx(
        len(wave) / 8000, abs=1e-3
    )
    assert result["sections"][0]["start"] == 0.0
    assert all(set(s["energy"]) == {"bass", "mid", "high"} for s in result["sections"])


@pytest.mark.slow
def test_a_frozen_mert_is_refused_naming_the_frame_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = StructureParams(tracks=4, seed=5, sample_rate=8000, sections=(3, 3), bars=(2,), split=(0.5, 0.25, 0.25))
    data = write_structure_dataset(tmp_path / "data", params, progress=False)
    cfg = _config(data.root, save_tiny_mert(tmp_path / "mert"))
    cfg["model"]["audio_encoder"] = {"type": "mert", "pretrained_model": str(tmp_path / "mert")}  # type: ignore[index]
    config = tmp_path / "frozen.yaml"
    config.write_text(yaml.safe_dump(cfg))
    assert main(["precompute", str(config)]) == 0  # frozen (the default): pooled embeddings, no frames
    capsys.readouterr()
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "chroma: error:" in err and "model.frame_heads.boundary" in err and "frozen: false" in err
