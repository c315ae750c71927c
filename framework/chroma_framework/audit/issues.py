"""Likely mislabelled segments: cleanlab's confident learning over out-of-fold probabilities."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from chroma_framework.audit.out_of_fold import OutOfFold

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelIssue:
    """One segment whose given label of one head confident learning doubts.

    Attributes:
        segment_id: the segment.
        head: the label column.
        given_label: the label in the metadata.
        suggested_label: the class the out-of-fold model finds most likely.
        quality: cleanlab's label quality score of the row (``rank_by``; low: likely wrong); the ranking key.
        self_confidence: out-of-fold probability of ``given_label``.
        suggested_confidence: out-of-fold probability of ``suggested_label``.
        fold: the fold whose model scored the segment.
    """

    segment_id: str
    head: str
    given_label: str
    suggested_label: str
    quality: float
    self_confidence: float
    suggested_confidence: float
    fold: int


def quality_scores(
    labels: np.ndarray, probabilities: np.ndarray, rank_by: str = "self_confidence", adjust_pred_probs: bool = False
) -> np.ndarray:
    """``[N]`` cleanlab's label quality score of each row (``[N]`` labels, ``[N, C]`` out-of-fold probabilities);
    lower is more likely mislabelled."""
    from cleanlab.rank import get_label_quality_scores

    return np.asarray(
        get_label_quality_scores(labels, probabilities, method=rank_by, adjust_pred_probs=adjust_pred_probs),
        dtype=np.float64,
    )


def find_issues(
    oof: OutOfFold,
    rank_by: str = "self_confidence",
    adjust_pred_probs: bool = False,
    filter_by: str = "prune_by_noise_rate",
) -> list[LabelIssue]:
    """Every label issue cleanlab's ``find_label_issues`` (``filter_by``) finds in any head, ranked.

    Issues are ordered by their label quality score ``rank_by`` (:func:`quality_scores`) ascending,
    the least believable label first, across heads. A head with fewer than two classes is skipped
    (nothing to confuse), with a warning.
    """
    from cleanlab.filter import find_label_issues

    issues: list[LabelIssue] = []
    for head, classes in oof.classes.items():
        if len(classes) < 2:
            logger.warning("label audit: head %r has one class (%s); nothing to check", head, classes[0])
            continue
        labels, probs = oof.labels[head], oof.probabilities[head]
        flagged = np.flatnonzero(find_label_issues(labels, probs, filter_by=filter_by))
        quality = quality_scores(labels, probs, rank_by, adjust_pred_probs)
        suggested = probs.argmax(axis=1)
        for row in flagged:
            issues.append(
                LabelIssue(
                    segment_id=oof.segment_ids[row],
                    head=head,
                    given_label=classes[labels[row]],
                    suggested_label=classes[suggested[row]],
                    quality=float(quality[row]),
                    self_confidence=float(probs[row, labels[row]]),
                    suggested_confidence=float(probs[row, suggested[row]]),
                    fold=int(oof.folds[row]),
                )
            )
    return sorted(issues, key=lambda i: i.quality)


def recall_in_top(issues: list[LabelIssue], head: str, flipped: set[str], n_rows: int, share: float = 0.1) -> float:
    """Share of the ``flipped`` segment ids among the first ``ceil(share * n_rows)`` issues of ``head``.

    The measure of an audit on labels corrupted on purpose (:func:`chroma_framework.audit.noise.flip_labels`):
    how many of the corrupted rows a reviewer reading the top ``share`` of the segments would see.

    Raises:
        ValueError: ``flipped`` is empty.
    """
    if not flipped:
        raise ValueError("recall_in_top: no flipped segments to look for")
    budget = int(np.ceil(share * n_rows))
    top = [i.segment_id for i in issues if i.head == head][:budget]
    return len(flipped.intersection(top)) / len(flipped)
