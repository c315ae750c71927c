"""The audit's evidence beside the fold models: probes, neighbour label agreement, and their weighted mean."""

from __future__ import annotations

import numpy as np
import pytest

from chroma_framework.audit.evidence import (
    combine,
    make_probe,
    neighbour_distributions,
    probe_features,
    probe_probabilities,
    standardised,
    with_evidence,
)
from chroma_framework.audit.folds import stratified_folds
from chroma_framework.audit.options import AuditOptions, parse_weights
from chroma_framework.audit.out_of_fold import MODEL_SOURCE, OutOfFold


def clusters(
    n: int = 240, flips: int = 12, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Three well-separated classes in an 'audio' embedding (MIDI on half the rows); ``flips`` labels changed.

    Returns ``(embeddings, mask [n, 3], given labels, flipped rows)``.
    """
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % 3
    centres = rng.normal(size=(3, 6)) * 4
    audio = centres[truth] + rng.normal(size=(n, 6))
    midi = np.where((np.arange(n) % 2 == 0)[:, None], centres[truth][:, :4] + rng.normal(size=(n, 4)), 0.0)
    mask = np.zeros((n, 3), dtype=bool)
    mask[:, 1] = True
    mask[:, 2] = np.arange(n) % 2 == 0
    flipped = rng.choice(n, size=flips, replace=False)
    given = truth.copy()
    given[flipped] = (truth[flipped] + 1 + rng.integers(0, 2, size=flips)) % 3
    return {"audio": audio.astype(np.float32), "midi": midi.astype(np.float32)}, mask, given, flipped


def bottom(scores: np.ndarray, k: int) -> set[int]:
    return set(np.argsort(scores, kind="stable")[:k].tolist())


def test_standardised_uses_present_rows_and_zeroes_the_rest() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0], [100.0, 100.0]])
    z = standardised(x, np.array([True, True, False]))
    np.testing.assert_allclose(z[:2], [[-1.0, -1.0], [1.0, 1.0]], atol=1e-5)
    assert (z[2] == 0).all()
    assert probe_features({"audio": x}, np.array([[0, 1, 0]] * 3, dtype=bool), ["audio"]).shape == (3, 5)


@pytest.mark.parametrize("kind", ["trees", "linear"])
def test_probe_is_out_of_fold_and_finds_the_flipped_labels(kind: str) -> None:
    embeddings, mask, given, flipped = clusters()
    folds = stratified_folds(given, 4, seed=0)
    features = probe_features(embeddings, mask, ["audio", "midi"])
    probs = probe_probabilities(features, given, folds, 3, make_probe(kind))
    assert probs.shape == (240, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    self_confidence = probs[np.arange(240), given]
    # Trained on the other folds only: a flipped row's own (wrong) label is not believed.
    assert len(bottom(self_confidence, 24) & set(flipped.tolist())) >= 11


def test_probe_with_one_class_in_training_is_certain_of_it() -> None:
    features = np.zeros((6, 2))
    probs = probe_probabilities(
        features, np.zeros(6, dtype=np.int64), np.array([0, 0, 0, 1, 1, 1]), 3, make_probe("linear")
    )
    assert (probs[:, 0] == 1).all() and (probs[:, 1:] == 0).all()


def test_unknown_probe_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown probe 'forest'"):
        make_probe("forest")


def test_neighbours_vote_without_the_row_itself() -> None:
    embeddings, mask, given, flipped = clusters()
    dist, covered = neighbour_distributions(embeddings, mask, given, 3, ["audio", "midi"], k=8)
    assert covered.all()
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, atol=1e-9)
    # A flipped row sits among rows of its true class: its own label gets few votes.
    assert len(bottom(dist[np.arange(240), given], 24) & set(flipped.tolist())) >= 11


def test_neighbour_votes_are_smoothed_by_the_prior() -> None:
    audio = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mask = np.zeros((4, 3), dtype=bool)
    mask[:, 1] = True
    labels = np.array([0, 0, 1, 0])
    dist, _ = neighbour_distributions({"audio": audio}, mask, labels, 2, ["audio"], k=1)
    prior = np.array([0.75, 0.25])
    np.testing.assert_allclose(dist[3], (np.array([0.0, 1.0]) + prior) / 2)  # its one neighbour is row 2
    np.testing.assert_allclose(dist[0], (np.array([1.0, 0.0]) + prior) / 2)


def test_neighbours_leave_rows_without_the_modality_uncovered() -> None:
    embeddings, mask, given, _ = clusters()
    dist, covered = neighbour_distributions(embeddings, mask, given, 3, ["midi"], k=5)
    assert covered.tolist() == mask[:, 2].tolist()
    prior = np.bincount(given, minlength=3) / len(given)
    np.testing.assert_allclose(dist[~covered], np.broadcast_to(prior, (int((~covered).sum()), 3)))
    with pytest.raises(ValueError, match="at least 1"):
        neighbour_distributions(embeddings, mask, given, 3, ["midi"], k=0)


def test_combine_weights_each_source_over_its_rows() -> None:
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    both = np.ones(3, dtype=bool)
    out = combine([(a, both, 1.0), (b, np.array([True, False, True]), 3.0)])
    np.testing.assert_allclose(out, [[0.25, 0.75], [1.0, 0.0], [0.25, 0.75]])
    # A row no weighted source covers falls back to the first source.
    np.testing.assert_allclose(combine([(b, np.array([True, False, False]), 1.0)])[1], [0.0, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        combine([(a, both, -1.0)])


def test_with_evidence_adds_the_weighted_sources() -> None:
    embeddings, mask, given, flipped = clusters()
    folds = stratified_folds(given, 4, seed=0)
    uniform = np.full((240, 3), 1 / 3)
    oof = OutOfFold(
        [f"s{i}" for i in range(240)],
        {"h": ["a", "b", "c"]},
        {"h": given},
        {"h": uniform},
        folds,
        mask,
        {MODEL_SOURCE: {"h": uniform}},
        {MODEL_SOURCE: np.ones(240, dtype=bool)},
    )
    options = AuditOptions(weights=parse_weights("model=1,trees=1,neighbours=2"), neighbours=8)
    out = with_evidence(oof, embeddings, options)
    assert set(out.sources) == {"model", "trees", "neighbours"}
    expected = (uniform + out.sources["trees"]["h"] + 2 * out.sources["neighbours"]["h"]) / 4
    np.testing.assert_allclose(out.probabilities["h"], expected)
    assert len(bottom(out.probabilities["h"][np.arange(240), given], 24) & set(flipped.tolist())) >= 11
    with pytest.raises(Exception, match="no precomputed embeddings of text"):
        with_evidence(oof, embeddings, AuditOptions(weights={"linear": 1.0}, probe_modalities=("text",)))
    with pytest.raises(Exception, match="midi_only: no such source"):
        with_evidence(oof, embeddings, AuditOptions(weights={"midi_only": 1.0}))


def test_weights_and_options_are_checked() -> None:
    assert parse_weights("model=1, trees=0.5,midi_only=2") == {"model": 1.0, "trees": 0.5, "midi_only": 2.0}
    with pytest.raises(ValueError, match="unknown source 'probes'"):
        parse_weights("probes=1")
    with pytest.raises(ValueError, match="'model' is not name=weight"):
        parse_weights("model")
    with pytest.raises(ValueError, match="not a number: 'x'"):
        parse_weights("model=x")
    with pytest.raises(ValueError, match="one > 0"):
        AuditOptions(weights={"model": 0.0})
    with pytest.raises(ValueError, match="--rank-by 'margin'"):
        AuditOptions(rank_by="margin")
    with pytest.raises(ValueError, match="confidence_weighted_entropy"):
        AuditOptions(rank_by="confidence_weighted_entropy", adjust_pred_probs=True)
    with pytest.raises(ValueError, match="--repeats must be at least 1"):
        AuditOptions(repeats=0)
    assert AuditOptions(weights={"model": 1.0, "midi_only": 1.0, "audio_only": 0.0}).solo() == ("midi",)
