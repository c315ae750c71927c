"""``chroma labels audit``'s evidence and ranking flags."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from chroma_framework.audit.out_of_fold import load_out_of_fold
from chroma_framework.cli import main
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


@pytest.fixture
def config(tmp_path: Path) -> Path:
    root = write_learnable_embeddings(tmp_path / "data", 60, {"text": 8, "audio": 8, "midi": 8}, seed=0)
    path = tmp_path / "audit.yaml"
    raw = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8], "project_dim": 4}},
        "training": {"epochs": 2, "batch_size": 16, "output_dir": str(tmp_path / "runs"), "num_threads": 1},
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def test_evidence_and_ranking_flags(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit"
    args = ["labels", "audit", str(config), "--folds", "2", "--no-progress", "--out", str(out)]
    flags = ["--evidence", "model=1,midi_only=1,linear=1,neighbours=0.5", "--repeats", "2", "--neighbours", "4"]
    assert main([*args, *flags, "--rank-by", "normalized_margin", "--adjust-pred-probs", "--stop-on", "loss"]) == 0
    printed = capsys.readouterr().out
    assert "(model " in printed and "midi_only " in printed and "linear " in printed and "neighbours " in printed
    assert f"wrote {out / 'out_of_fold.npz'}" in printed
    oof = load_out_of_fold(out / "out_of_fold.npz")
    assert set(oof.sources) == {"model", "midi_only", "linear", "neighbours"}
    with (out / "label_issues.csv").open() as f:
        rows = list(csv.DictReader(f))
    qualities = {}
    for row in rows:
        qualities.setdefault(row["head"], []).append(float(row["quality"]))
    assert rows and all(q == sorted(q) for q in qualities.values())
    # The ranked probabilities are the weighted mean the flags asked for.
    head = rows[0]["head"]
    weights = {"model": 1.0, "midi_only": 1.0, "linear": 1.0, "neighbours": 0.5}
    total = sum(np.where(oof.covered[n][:, None], w * oof.sources[n][head], 0.0) for n, w in weights.items())
    weight = sum(np.where(oof.covered[n], w, 0.0) for n, w in weights.items())
    np.testing.assert_allclose(oof.probabilities[head], total / weight[:, None], atol=1e-9)
    assert not oof.covered["midi_only"].all() and oof.covered["model"].all()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--evidence", "trees=-1"], "weights must be >= 0"),
        (["--evidence", "forest=1"], "unknown source 'forest'"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--rank-by", "confidence_weighted_entropy", "--adjust-pred-probs"], "does not apply"),
        (["--evidence", "trees=1", "--probe-modalities", "video"], "no precomputed embeddings of video"),
        (["--evidence", "model=1,text_only=1,audio_only=0", "--stop-on", "loss,macro_f1"], "cannot average"),
    ],
)
def test_bad_flags_are_clear_errors(
    config: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["labels", "audit", str(config), "--folds", "2", "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
