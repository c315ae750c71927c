"""``chroma config validate`` catches at load what used to fail at train time or with a traceback.

Every case exits 2 with ``chroma: error:`` naming the file and the YAML path (or key and lines).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chroma_framework.cli import main


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["config", "validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.err


def _config(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _fails(path: Path, capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    code, err = _validate(path, capsys)
    assert code == 2, err
    assert err.startswith("chroma: error: "), err
    assert str(path) in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_a_valid_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, {"training": {"device": "cuda:1", "early_stopping": {"metric": "spatial_mode_loss"}}})
    assert _validate(path, capsys)[0] == 0


def test_non_utf8_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("training:\n  output_dir: runs/r\u00e9sum\u00e9\n".encode("latin-1"))
    _fails(path, capsys, "not UTF-8 text", "byte 0xe9", "line 2")


def test_duplicate_keys_name_the_key_and_both_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("training:\n  epochs: 3\n  seed: 1\n  epochs: 40\nmodel:\n  fusion: {strategy: late}\n")
    _fails(path, capsys, "duplicate key 'epochs' in training (lines 2 and 4)")
    path.write_text("training:\n  loss: {head_weights: {spatial_mode: 1, spatial_mode: 2}}\n")
    _fails(path, capsys, "duplicate key 'spatial_mode' in training.loss.head_weights (line 2, columns 25 and 42)")
    path.write_text("training: {epochs: 3}\ntraining: {epochs: 4}\n")
    _fails(path, capsys, "duplicate key 'training' in the top level (lines 1 and 2)")


def test_merge_keys_may_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("training:\n  <<: {epochs: 3, seed: 1}\n  epochs: 4\n")
    assert _validate(path, capsys)[0] == 0


@pytest.mark.parametrize(
    "data, needles",
    [
        ({"training": {"device": "tpu9"}}, ["training.device", "'tpu9' is not a device"]),
        ({"preprocessing": {"audio": {"duration": 100000}}}, ["preprocessing.audio.duration", "less than or equal"]),
        ({"preprocessing": {"midi": {"duration": 100000}}}, ["preprocessing.midi.duration"]),
        (
            {"training": {"loss": {"head_weights": {"temporal": 2.0}}}},
            ["training.loss.head_weights.temporal: not a head", "temporal_mode, spatial_mode, ontological_mode"],
        ),
        ({"training": {"loss": {"class_weights": {"mode": [1.0, 2.0]}}}}, ["training.loss.class_weights.mode"]),
        (
            {
                "data": {"label_classes": {"spatial_mode": ["a", "b", "c"]}},
                "training": {"loss": {"class_weights": {"spatial_mode": [1.0, 2.0]}}},
            },
            ["training.loss.class_weights.spatial_mode: 2 weights for the 3 classes"],
        ),
        ({"training": {"loss": {"class_weights": {"spatial_mode": [0.0, 0.0]}}}}, ["not all 0"]),
        (
            {"training": {"early_stopping": {"metric": "macro-f1"}}},
            ["training.early_stopping.metric", "'macro-f1' is not a validation metric", "did you mean 'macro_f1'"],
        ),
        ({"data": {"label_classes": {"spatial_mode": ["only"]}}}, ["data.label_classes.spatial_mode", "at least 2"]),
        ({"data": {"label_classes": {"spatial_mode": ["a", ""]}}}, ["non-empty"]),
        ({"data": {"label_classes": {"spatial": ["a", "b"]}}}, ["data.label_classes.spatial: not a head"]),
    ],
)
def test_cross_section_and_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, object], needles: list[str]
) -> None:
    _fails(_config(tmp_path, data), capsys, *needles)
