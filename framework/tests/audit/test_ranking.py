"""Issue ranking by cleanlab's label quality scores and its issue filters, on fixed out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from chroma_framework.audit.issues import find_issues, quality_scores
from chroma_framework.audit.out_of_fold import OutOfFold


def fixed_oof(n: int = 90, seed: int = 0) -> OutOfFold:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    logits = np.eye(3)[labels] * 3 + rng.normal(size=(n, 3))
    wrong = rng.choice(n, size=9, replace=False)
    logits[wrong] = np.eye(3)[(labels[wrong] + 1) % 3] * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return OutOfFold([f"s{i}" for i in range(n)], {"h": ["a", "b", "c"]}, {"h": labels}, {"h": probs}, np.arange(n) % 5)


@pytest.mark.parametrize(
    ("rank_by", "adjust"),
    [
        ("self_confidence", False),
        ("normalized_margin", False),
        ("normalized_margin", True),
        ("confidence_weighted_entropy", False),
    ],
)
def test_issues_are_ranked_by_the_chosen_score(rank_by: str, adjust: bool) -> None:
    from cleanlab.rank import get_label_quality_scores

    oof = fixed_oof()
    issues = find_issues(oof, rank_by, adjust)
    expected = get_label_quality_scores(
        oof.labels["h"], oof.probabilities["h"], method=rank_by, adjust_pred_probs=adjust
    )
    np.testing.assert_allclose(quality_scores(oof.labels["h"], oof.probabilities["h"], rank_by, adjust), expected)
    row = {sid: i for i, sid in enumerate(oof.segment_ids)}
    assert [i.quality for i in issues] == pytest.approx([expected[row[i.segment_id]] for i in issues])
    assert [i.quality for i in issues] == sorted(i.quality for i in issues)


def test_filter_by_chooses_the_flagged_rows() -> None:
    oof = fixed_oof()
    disagree = {sid for sid, p, y in zip(oof.segment_ids, oof.probabilities["h"], oof.labels["h"]) if p.argmax() != y}
    assert {i.segment_id for i in find_issues(oof, filter_by="predicted_neq_given")} == disagree
    # The nine rows whose probabilities were made to favour another class are flagged and ranked first.
    planted = {sid for sid, p, y in zip(oof.segment_ids, oof.probabilities["h"], oof.labels["h"]) if p[y] < 0.1}
    assert len(planted) == 9
    for filter_by in ("prune_by_noise_rate", "confident_learning", "both"):
        assert {i.segment_id for i in find_issues(oof, filter_by=filter_by)[:9]} == planted, filter_by
