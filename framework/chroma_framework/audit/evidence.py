"""Out-of-fold evidence beside the fold models: probes on the embeddings and neighbour label agreement.

All read the precomputed embeddings of the pooled segments and never a row's own label:

* :func:`probe_probabilities` fits a classifier on the standardised embeddings of the chosen
  modalities (absent modalities zero, plus the presence mask) on the other folds and predicts the
  held-out one, with the same fold assignment as the fold models: ``trees``, scikit-learn's
  histogram gradient boosting (:data:`TREE_PARAMS`), or ``linear``, an L2-regularised multinomial
  logistic regression. On the demo the boosted trees rank flipped labels better than the fused
  network: the labels are thresholds of a few feature values, which trees cut directly.
* :func:`neighbour_distributions` is the label distribution of each row's ``k`` nearest neighbours
  (cosine on standardised embeddings, per modality, the row itself excluded), smoothed towards the
  class prior: segments of one song or one register sit close together, and a label its neighbours
  do not share is suspect.

:func:`combine` averages the sources, each with its weight, over the rows it covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chroma.errors import ConfigError
from chroma.modality import modality_index
from chroma_framework.audit.options import LINEAR, NEIGHBOURS, TREES, AuditOptions
from chroma_framework.audit.out_of_fold import OutOfFold

#: scikit-learn ``HistGradientBoostingClassifier`` settings of the ``trees`` probe (shallow, slow-learning, L2).
TREE_PARAMS: dict[str, Any] = {"max_iter": 150, "learning_rate": 0.08, "max_leaf_nodes": 15, "l2_regularization": 1.0}


def make_probe(kind: str, c: float = 0.05, seed: int = 0) -> Callable[[], Any]:
    """A factory of unfitted scikit-learn classifiers: ``kind`` ``trees`` (:data:`TREE_PARAMS`) or ``linear``
    (logistic regression with inverse L2 strength ``c``)."""
    if kind == TREES:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return lambda: HistGradientBoostingClassifier(**TREE_PARAMS, random_state=seed)
    if kind == LINEAR:
        from sklearn.linear_model import LogisticRegression

        return lambda: LogisticRegression(C=c, max_iter=1000)
    raise ValueError(f"unknown probe {kind!r}; use {TREES} or {LINEAR}")


def standardised(embeddings: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``[N, D]`` float64 ``embeddings`` z-scored with the statistics of the ``present`` (``[N]`` bool) rows;
    absent rows are zero."""
    x = np.asarray(embeddings, dtype=np.float64)
    if not present.any():
        return np.zeros_like(x)
    mean, std = x[present].mean(axis=0), x[present].std(axis=0) + 1e-6
    return np.where(present[:, None], (x - mean) / std, 0.0)


def probe_features(embeddings: Mapping[str, np.ndarray], mask: np.ndarray, modalities: Sequence[str]) -> np.ndarray:
    """``[N, sum(D) + 3]`` the standardised embeddings of ``modalities`` side by side, then the presence mask.

    Args:
        embeddings: ``{modality: [N, D]}`` (zero rows where absent).
        mask: ``[N, 3]`` bool presence in :data:`chroma.modality.MODALITIES` order.
        modalities: which embeddings to use (each must be in ``embeddings``).
    """
    parts = [standardised(embeddings[m], mask[:, modality_index(m)]) for m in modalities]
    return np.hstack([*parts, mask.astype(np.float64)])


def probe_probabilities(
    features: np.ndarray, labels: np.ndarray, folds: np.ndarray, num_classes: int, make: Callable[[], Any]
) -> np.ndarray:
    """``[N, C]`` out-of-fold probabilities of the classifiers ``make`` builds (:func:`make_probe`).

    Args:
        features: ``[N, F]`` (:func:`probe_features`).
        labels: ``[N]`` int64 class indices.
        folds: ``[N]`` int64 fold of each row; each fold is predicted by a probe fitted on the others.
        num_classes: ``C``; a class missing from a fold's training rows gets probability 0 there.
        make: returns a fresh scikit-learn classifier.
    """
    out = np.zeros((len(labels), num_classes))
    for k in np.unique(folds):
        held = folds == k
        train_labels = labels[~held]
        if len(np.unique(train_labels)) < 2:  # one class: nothing to fit, it is certain
            out[np.ix_(held, np.unique(train_labels))] = 1.0
            continue
        probe = make().fit(features[~held], train_labels)
        out[np.ix_(held, probe.classes_)] = probe.predict_proba(features[held])
    return out


def neighbour_distributions(
    embeddings: Mapping[str, np.ndarray],
    mask: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    modalities: Sequence[str],
    k: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """The class distribution of each row's ``k`` nearest neighbours, pooled over ``modalities``.

    Per modality, among the rows that have it: cosine similarity of the standardised embeddings,
    the row itself excluded, its ``k`` most similar rows each count one vote for their given label.
    Votes are summed over the modalities and smoothed with one vote spread as the class prior.

    Returns:
        ``([N, C] distributions, [N] bool covered)``: rows without any of ``modalities`` are not
        covered (their distribution is the prior).

    Raises:
        ValueError: ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"the neighbour count must be at least 1, got {k}")
    n = len(labels)
    votes = np.zeros((n, num_classes))
    counted = np.zeros(n)
    one_hot = np.eye(num_classes)[labels]
    for modality in modalities:
        rows = np.flatnonzero(mask[:, modality_index(modality)])
        if len(rows) < 2:
            continue
        x = standardised(embeddings[modality], mask[:, modality_index(modality)])[rows]
        x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
        similarity = x @ x.T
        np.fill_diagonal(similarity, -np.inf)
        kk = min(k, len(rows) - 1)
        nearest = np.argpartition(-similarity, kk - 1, axis=1)[:, :kk]
        votes[rows] += one_hot[rows[nearest]].sum(axis=1)
        counted[rows] += kk
    prior = np.bincount(labels, minlength=num_classes) / max(n, 1)
    return (votes + prior) / (counted[:, None] + 1.0), counted > 0


def combine(sources: Sequence[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """``[N, C]`` the weighted mean of ``(probabilities [N, C], covered [N] bool, weight)`` sources, each over
    the rows it covers; a row covered by none gets the first source's probabilities.

    Raises:
        ValueError: no source, or a negative weight.
    """
    if not sources:
        raise ValueError("combine: no source")
    if any(w < 0 for _, _, w in sources):
        raise ValueError(f"evidence weights must be >= 0, got {[w for _, _, w in sources]}")
    total = np.zeros_like(sources[0][0], dtype=np.float64)
    weight = np.zeros(len(total))
    for probs, covered, w in sources:
        total += np.where(covered[:, None], w * probs, 0.0)
        weight += np.where(covered, w, 0.0)
    fallback = weight == 0
    weight[fallback] = 1.0
    total[fallback] = sources[0][0][fallback]
    return total / weight[:, None]


def with_evidence(oof: OutOfFold, embeddings: Mapping[str, np.ndarray], options: AuditOptions) -> OutOfFold:
    """``oof`` with the probe (``trees``, ``linear``) and neighbour sources its ``options.weights`` ask for added, and its
    ``probabilities`` the weighted mean of the weighted sources (:func:`combine`).

    Args:
        oof: the fold models' predictions (:func:`~chroma_framework.audit.out_of_fold.out_of_fold_probabilities`).
        embeddings: ``{modality: [N, D]}`` the pooled rows' embeddings, in ``oof``'s order.
        options: the weights and the probe's and neighbours' settings.

    Raises:
        ConfigError: a weighted source that ``oof`` lacks, or a probe/neighbour modality without embeddings.
    """
    assert oof.mask is not None, "out_of_fold_probabilities sets the presence mask"
    weighted = {name: w for name, w in options.weights.items() if w > 0}
    wanted = (
        (LINEAR, options.probe_modalities),
        (TREES, options.probe_modalities),
        (NEIGHBOURS, options.neighbour_modalities),
    )
    for name, modalities in wanted:
        missing = [m for m in modalities if m not in embeddings] if name in weighted else []
        if missing:
            raise ConfigError(
                f"--evidence {name}: no precomputed embeddings of {', '.join(missing)} (have "
                f"{', '.join(embeddings) or 'none'}); choose others with --{'neighbour' if name == NEIGHBOURS else 'probe'}"
                "-modalities, or audit with the fold models alone: --evidence model=1"
            )
    sources = dict(oof.sources)
    covered = dict(oof.covered)
    probes = [kind for kind in (TREES, LINEAR) if kind in weighted]
    if probes:
        features = probe_features(embeddings, oof.mask, options.probe_modalities)
        present = np.asarray(oof.mask[:, [modality_index(m) for m in options.probe_modalities]].any(axis=1))
    for kind in probes:
        make = make_probe(kind, options.probe_c)
        sources[kind] = {
            h: probe_probabilities(features, y, oof.folds, len(oof.classes[h]), make) for h, y in oof.labels.items()
        }
        covered[kind] = present
    if NEIGHBOURS in weighted:
        found = {
            h: neighbour_distributions(
                embeddings, oof.mask, y, len(oof.classes[h]), options.neighbour_modalities, options.neighbours
            )
            for h, y in oof.labels.items()
        }
        sources[NEIGHBOURS] = {h: dist for h, (dist, _) in found.items()}
        covered[NEIGHBOURS] = next(iter(found.values()))[1] if found else np.zeros(len(oof), dtype=bool)
    absent = [name for name in weighted if name not in sources]
    if absent:
        raise ConfigError(f"--evidence {', '.join(absent)}: no such source (have {', '.join(sources)})")
    probabilities = {
        h: combine([(sources[name][h], covered[name], w) for name, w in weighted.items()]) for h in oof.labels
    }
    return OutOfFold(oof.segment_ids, oof.classes, oof.labels, probabilities, oof.folds, oof.mask, sources, covered)
