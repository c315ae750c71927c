"""Out-of-fold fold models: repeats averaged, a modality alone as a source, the saved arrays, the options' checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chroma.errors import ConfigError
from chroma_framework.audit import AuditOptions, run_audit, write_audit
from chroma_framework.audit.out_of_fold import (
    MODEL_SOURCE,
    OutOfFold,
    load_out_of_fold,
    out_of_fold_probabilities,
    solo_source,
)
from chroma_framework.audit.report import OUT_OF_FOLD_NPZ
from chroma_framework.config import load_config
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 8, "audio": 8, "midi": 8}


def small_config(root: Path, seed: int = 0) -> ChromaConfig:
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8], "project_dim": 4}},
            "training": {
                "epochs": 3,
                "batch_size": 16,
                "seed": seed,
                "grad_monitor": {"enabled": False},
                "num_threads": 1,
            },
        }
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_learnable_embeddings(tmp_path_factory.mktemp("oof"), 80, DIMS, seed=5)


def test_repeats_average_runs_of_other_seeds_and_solo_is_a_source(root: Path) -> None:
    both, embeddings = out_of_fold_probabilities(
        small_config(root), folds=2, seed=3, repeats=2, solo=("midi",), progress=False
    )
    first, _ = out_of_fold_probabilities(small_config(root), folds=2, seed=3, progress=False)
    second, _ = out_of_fold_probabilities(small_config(root, seed=1), folds=2, seed=4, progress=False)
    assert both.mask is not None and set(embeddings) == {"text", "audio", "midi"}
    assert embeddings["midi"].shape == (80, 8)
    for head in both.classes:
        np.testing.assert_allclose(
            both.probabilities[head], (first.probabilities[head] + second.probabilities[head]) / 2, atol=1e-6
        )
    np.testing.assert_array_equal(both.folds, first.folds)
    assert set(both.sources) == {MODEL_SOURCE, solo_source("midi")}
    np.testing.assert_array_equal(both.covered["midi_only"], both.mask[:, 2])
    head = next(iter(both.classes))
    rows = both.covered["midi_only"]
    assert rows.any()
    assert not np.allclose(both.sources["midi_only"][head][rows], both.sources["model"][head][rows])


def test_out_of_fold_errors(root: Path) -> None:
    with pytest.raises(ConfigError, match="--repeats must be at least 1"):
        out_of_fold_probabilities(small_config(root), folds=2, repeats=0, progress=False)
    with pytest.raises(ConfigError, match="--solo lyrics"):
        out_of_fold_probabilities(small_config(root), folds=2, solo=("lyrics",), progress=False)
    with pytest.raises(ConfigError, match="cannot average losses with scores"):
        out_of_fold_probabilities(small_config(root), folds=2, stop_on=["nonsense_loss", "macro_f1"], progress=False)


def test_audit_writes_every_source_and_reads_it_back(root: Path, tmp_path: Path) -> None:
    options = AuditOptions(folds=2, weights={"model": 1.0, "trees": 1.0, "neighbours": 0.5}, neighbours=5)
    audit = run_audit(small_config(root), options, progress=False)
    written = write_audit(audit, tmp_path / "out")
    assert tmp_path / "out" / OUT_OF_FOLD_NPZ in written
    back = load_out_of_fold(tmp_path / "out" / OUT_OF_FOLD_NPZ)
    assert isinstance(back, OutOfFold)
    assert back.segment_ids == audit.oof.segment_ids and back.classes == audit.oof.classes
    assert set(back.sources) == {"model", "trees", "neighbours"}
    for head in back.classes:
        np.testing.assert_array_equal(back.probabilities[head], audit.oof.probabilities[head])
        np.testing.assert_array_equal(back.sources["trees"][head], audit.oof.sources["trees"][head])
        np.testing.assert_array_equal(back.labels[head], audit.oof.labels[head])
    np.testing.assert_array_equal(back.covered["neighbours"], audit.oof.covered["neighbours"])
    np.testing.assert_array_equal(back.folds, audit.oof.folds)
    assert back.mask is not None and back.mask.dtype == bool
