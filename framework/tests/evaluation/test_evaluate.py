"""Evaluation: metrics, the missing-modality matrix, natural missingness, degradation, fusion weights,
baseline comparison, the report, and the fusion sweep."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.evaluation.analysis import evaluate, nonempty_subsets
from chroma_framework.evaluation.report import write_report
from chroma_framework.metrics import confusion_matrix, head_metrics, summary
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import train
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 20, "audio": 12, "midi": 12}


def config_dict(root: Path, fusion: dict[str, object], **training: object) -> dict[str, object]:
    return {
        "data": {"root": str(root)},
        "model": {"fusion": {"hidden_dim": 16, **fusion}},
        "training": {"epochs": 4, "batch_size": 32, "learning_rate": 5e-3, "progress": False, **training},
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = write_learnable_embeddings(tmp_path_factory.mktemp("eval"), 480, DIMS, seed=5, separation=1.5)
    gated = load_config(config_dict(root, {"strategy": "gated"}))
    text = load_config(config_dict(root, {"strategy": "late", "mlp_dims": [32]}, text_only_baseline=True))
    other_seed = load_config(config_dict(root, {"strategy": "late", "mlp_dims": [32]}, seed=9, text_only_baseline=True))
    out = {
        "root": root,
        "gated": train(gated, root / "gated").run_dir,
        "text": train(text, root / "text").run_dir,
        "other_seed": train(other_seed, root / "other").run_dir,
    }
    return out


def test_metrics_by_hand() -> None:
    pred = torch.tensor([0, 0, 1, 2, 2, 2])
    target = torch.tensor([0, 1, 1, 2, 2, -1])
    assert confusion_matrix(pred, target, 3).tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 2]]
    m = head_metrics(pred, target, 3)
    # F1: class0 2*1/(1+2)=2/3, class1 2*1/(2+1)=2/3, class2 2*2/(2+2)=1
    assert m.accuracy == pytest.approx(4 / 5) and m.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m.support == 5
    # A class that is neither a target nor predicted does not count towards macro-F1.
    assert head_metrics(torch.tensor([0, 1]), torch.tensor([0, 1]), 3).macro_f1 == 1.0
    empty = head_metrics(torch.tensor([0]), torch.tensor([-1]), 3)
    assert math.isnan(empty.accuracy) and math.isnan(summary({"a": empty})["macro_f1"])


def test_nonempty_subsets() -> None:
    assert nonempty_subsets(("text", "audio", "midi")) == [
        ("text",),
        ("audio",),
        ("midi",),
        ("text", "audio"),
        ("text", "midi"),
        ("audio", "midi"),
        ("text", "audio", "midi"),
    ]
    assert nonempty_subsets(("midi", "text")) == [("text",), ("midi",), ("text", "midi")]


def test_missing_modality_matrix_and_natural_missingness(runs: dict[str, Path]) -> None:
    run = load_run(runs["gated"])
    result = evaluate(run)
    assert len(result.subsets) == 7
    natural_mask = result.predictions.mask
    assert result.complete_rows == int(natural_mask.all(dim=1).sum()) > 0
    assert all(m.support == result.complete_rows for s in result.subsets.values() for m in s.values())
    # Over every row that has the kept modalities: MIDI-only rests on all MIDI rows, not the complete cases.
    midi_rows = int(natural_mask[:, 2].sum())
    assert result.available_rows["midi"] == midi_rows > result.complete_rows
    assert all(m.support == midi_rows for m in result.available["midi"].values())
    assert result.available_rows["text+audio+midi"] == result.complete_rows
    assert all(m.support == midi_rows for m in result.with_modality["midi"].values())
    torch.testing.assert_close(
        torch.tensor([m.accuracy for m in result.available["text+audio+midi"].values()]),
        torch.tensor([m.accuracy for m in result.subsets["text+audio+midi"].values()]),
    )
    assert sum(next(iter(p.values())).support for p in result.natural.values()) == result.n_rows
    assert set(result.degradation) == {"all available", "without text", "without audio", "without midi"}
    # Temporal mode lives in the text: dropping text hurts it; spatial lives in audio/MIDI.
    assert result.degradation["without text"]["temporal_mode"].accuracy < result.overall["temporal_mode"].accuracy
    assert result.subsets["audio+midi"]["spatial_mode"].accuracy > result.subsets["text"]["spatial_mode"].accuracy
    assert set(result.per_album) <= {"Red", "Orange", "Yellow", "Green", "Blue", "Indigo", "Violet"}
    # Gates exist per natural pattern; an absent modality gets no weight.
    gates = result.weights["gates"]
    assert gates["text"][1] == pytest.approx(0.0) and gates["text"][2] == pytest.approx(0.0)
    assert sum(gates["text+audio+midi"]) == pytest.approx(1.0, abs=1e-5)


def test_report_and_baseline_gain(runs: dict[str, Path], tmp_path: Path) -> None:
    run, baseline = load_run(runs["gated"]), load_run(runs["text"])
    result = evaluate(run, baseline=baseline)
    spatial = result.baseline["heads"]["spatial_mode"]
    assert spatial["accuracy_gain"] == pytest.approx(spatial["accuracy"] - spatial["baseline_accuracy"])
    assert spatial["accuracy_gain"] > 0.2, "audio and MIDI carry spatial mode; the text-only baseline cannot"
    report = write_report(result, run.path, tmp_path, run.header)
    text = report.read_text()
    assert "## Gain over baseline" in text and "| spatial_mode |" in text
    assert (tmp_path / "weights_gates.png").exists() and (tmp_path / "metrics.json").exists()
    assert "![weights_gates](weights_gates.png)" in text


def test_baseline_on_other_segments_is_refused(runs: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="different test split"):
        evaluate(load_run(runs["gated"]), baseline=load_run(runs["other_seed"]))


def test_text_only_run_has_a_single_subset(runs: dict[str, Path]) -> None:
    result = evaluate(load_run(runs["text"]))
    assert list(result.subsets) == ["text"]
    assert set(result.degradation) == {"all available"}


def test_sweep_prints_mean_and_std_per_fusion(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dict(runs["root"], {"strategy": "late", "mlp_dims": [32]}, epochs=2)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["sweep", str(path), "--fusion", "late,gated", "--seeds", "2", "--out", str(tmp_path / "sweep")]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| late", "| gated"))]
    assert len(rows) == 2 and all(row.count("±") == 6 for row in rows)
    assert (tmp_path / "sweep" / "gated" / "seed1" / "model.safetensors").exists()
