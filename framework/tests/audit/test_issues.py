"""The label audit on a learnable fast-path dataset with 5 % of one head's labels flipped on purpose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from chroma_framework.audit import AuditOptions, run_audit, write_audit
from chroma_framework.audit.issues import recall_in_top
from chroma_framework.audit.noise import flip_labels
from chroma_framework.audit.report import ISSUES_CSV, OFF_GRID_CSV, OUT_OF_FOLD_NPZ, REPORT_MD, LabelAudit
from chroma_framework.config import load_config
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 24, "audio": 16, "midi": 16}
HEAD = "spatial_mode"


def audit_config(root: Path, metadata: str) -> object:
    return load_config(
        {
            "data": {"root": str(root), "metadata_path": metadata},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "project_dim": 8}},
            "training": {
                "epochs": 20,
                "batch_size": 32,
                "learning_rate": 5e-3,
                "early_stopping": {"patience": 5},
                "grad_monitor": {"enabled": False},
            },
        }
    )


@pytest.fixture(scope="module")
def flipped_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[LabelAudit, set[str], Path]:
    root = write_learnable_embeddings(tmp_path_factory.mktemp("audit"), 400, DIMS, seed=3, separation=1.5)
    flipped = flip_labels(root / "training_segments_metadata.parquet", root / "flipped.parquet", HEAD, 0.05, seed=1)
    options = AuditOptions(folds=5, weights={"model": 1.0, "trees": 1.0})
    audit = run_audit(audit_config(root, "flipped.parquet"), options, progress=False)
    return audit, flipped, root


def test_flip_labels_changes_exactly_the_reported_rows(flipped_audit: tuple[LabelAudit, set[str], Path]) -> None:
    _, flipped, root = flipped_audit
    before = pq.read_table(root / "training_segments_metadata.parquet").to_pydict()
    after = pq.read_table(root / "flipped.parquet").to_pydict()
    changed = {sid for sid, a, b in zip(before["segment_id"], before[HEAD], after[HEAD]) if a != b}
    assert changed == flipped and len(flipped) == 20
    assert before["temporal_mode"] == after["temporal_mode"]


def test_audit_finds_most_flipped_rows_in_its_top_tenth(flipped_audit: tuple[LabelAudit, set[str], Path]) -> None:
    audit, flipped, _ = flipped_audit
    recall = recall_in_top(audit.issues, HEAD, flipped, len(audit.oof))
    assert recall >= 0.7, f"found {recall:.0%} of the flipped rows in the top 10 %"
    by_id = {i.segment_id: i for i in audit.issues if i.head == HEAD}
    for sid in flipped & set(by_id):
        assert by_id[sid].suggested_label != by_id[sid].given_label


def test_out_of_fold_probabilities_cover_every_segment_once(flipped_audit: tuple[LabelAudit, set[str], Path]) -> None:
    oof = flipped_audit[0].oof
    assert len(oof) == 400 and len(set(oof.segment_ids)) == 400
    for head, probs in oof.probabilities.items():
        assert probs.shape == (400, 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert oof.labels[head].shape == (400,)
    assert np.bincount(oof.folds).tolist() == [80] * 5
    # spatial_mode is carried by audio/MIDI: models that never saw a row still predict it well.
    assert oof.accuracy(HEAD) > 0.8
    for name in ("model", "trees"):
        assert float((oof.sources[name][HEAD].argmax(axis=1) == oof.labels[HEAD]).mean()) > 0.8, name


def test_issues_are_ranked_by_quality(flipped_audit: tuple[LabelAudit, set[str], Path]) -> None:
    issues = flipped_audit[0].issues
    qualities = [i.quality for i in issues]
    assert qualities == sorted(qualities)
    # The default score is cleanlab's self_confidence: the probability of the given label.
    assert all(i.quality == pytest.approx(i.self_confidence) for i in issues)
    oof = flipped_audit[0].oof
    row = {sid: i for i, sid in enumerate(oof.segment_ids)}
    first = issues[0]
    classes = oof.classes[first.head]
    probs = oof.probabilities[first.head][row[first.segment_id]]
    assert first.self_confidence == pytest.approx(probs[classes.index(first.given_label)])
    assert first.suggested_label == classes[int(probs.argmax())]
    assert first.fold == oof.folds[row[first.segment_id]]


def test_report_files(flipped_audit: tuple[LabelAudit, set[str], Path], tmp_path: Path) -> None:
    audit = flipped_audit[0]
    written = write_audit(audit, tmp_path / "out", top=5)
    assert {p.name for p in written} == {ISSUES_CSV, REPORT_MD, OUT_OF_FOLD_NPZ}, "no cue columns: no off-grid table"
    assert not (tmp_path / "out" / OFF_GRID_CSV).exists()
    lines = (tmp_path / "out" / ISSUES_CSV).read_text().splitlines()
    assert (
        lines[0] == "rank,segment_id,head,given_label,suggested_label,quality,self_confidence,suggested_confidence,fold"
    )
    assert len(lines) == len(audit.issues) + 1
    first = audit.issues[0]
    assert lines[1].startswith(f"1,{first.segment_id},{first.head},{first.given_label},{first.suggested_label},")
    md = (tmp_path / "out" / REPORT_MD).read_text()
    assert f"top 5 of {len(audit.issues)}" in md
    assert "beat-grid pre-filter skipped: no 'boundary_times' column" in md
    assert md.count(f"| {first.segment_id} |") >= 1
    assert not list((tmp_path / "out").glob("*.tmp"))
