"""Classification metrics per head: accuracy, macro-F1 and confusion matrices.

Targets equal to :data:`IGNORE_INDEX` (unlabelled rows) are left out of every metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

#: Label index of a row whose class is unknown for a head.
IGNORE_INDEX = -1


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """``[C, C]`` int64 counts, rows = true class, columns = predicted class.

    Args:
        pred: ``[N]`` predicted class indices.
        target: ``[N]`` true class indices; :data:`IGNORE_INDEX` rows are skipped.
        num_classes: ``C``.
    """
    keep = target != IGNORE_INDEX
    flat = target[keep].long() * num_classes + pred[keep].long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class HeadMetrics:
    """Metrics of one head on one set of rows.

    Attributes:
        accuracy: fraction of labelled rows predicted right (``nan`` when none is labelled).
        macro_f1: unweighted mean F1 over the classes that occur as target or prediction
            (the scikit-learn convention); ``nan`` when no row is labelled.
        confusion: ``[C, C]`` counts, rows = true class.
        support: number of labelled rows.
    """

    accuracy: float
    macro_f1: float
    confusion: Tensor
    support: int

    def as_dict(self) -> dict[str, object]:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "support": self.support,
            "confusion": self.confusion.tolist(),
        }


def metrics_from_confusion(confusion: Tensor) -> HeadMetrics:
    """Accuracy and macro-F1 of a ``[C, C]`` confusion matrix."""
    cm = confusion.double()
    total = float(cm.sum())
    if total == 0:
        return HeadMetrics(float("nan"), float("nan"), confusion, 0)
    tp = cm.diag()
    true_count = cm.sum(dim=1)
    pred_count = cm.sum(dim=0)
    occurring = (true_count + pred_count) > 0
    f1 = 2 * tp / (true_count + pred_count).clamp(min=1)
    return HeadMetrics(
        accuracy=float(tp.sum() / total),
        macro_f1=float(f1[occurring].mean()),
        confusion=confusion,
        support=int(total),
    )


def head_metrics(logits_or_pred: Tensor, target: Tensor, num_classes: int) -> HeadMetrics:
    """Metrics from ``[N, C]`` logits/probabilities or ``[N]`` predictions against ``[N]`` targets."""
    pred = logits_or_pred.argmax(dim=1) if logits_or_pred.dim() == 2 else logits_or_pred
    return metrics_from_confusion(confusion_matrix(pred, target, num_classes))


def all_head_metrics(
    logits: Mapping[str, Tensor], labels: Mapping[str, Tensor], classes: Mapping[str, Sequence[str]]
) -> dict[str, HeadMetrics]:
    """``{head: HeadMetrics}`` for every head in ``classes``.

    Args:
        logits: ``{head: [N, C]}``.
        labels: ``{head: [N]}`` int64 with :data:`IGNORE_INDEX` for unlabelled rows.
        classes: ``{head: class names}``.
    """
    return {h: head_metrics(logits[h], labels[h], len(c)) for h, c in classes.items()}


def summary(metrics: Mapping[str, HeadMetrics]) -> dict[str, float]:
    """Flat scalars: ``<head>_accuracy``, ``<head>_macro_f1`` and their means ``accuracy``, ``macro_f1``."""
    out: dict[str, float] = {}
    for head, m in metrics.items():
        out[f"{head}_accuracy"] = m.accuracy
        out[f"{head}_macro_f1"] = m.macro_f1
    labelled = [m for m in metrics.values() if m.support > 0]
    out["accuracy"] = sum(m.accuracy for m in labelled) / len(labelled) if labelled else float("nan")
    out["macro_f1"] = sum(m.macro_f1 for m in labelled) / len(labelled) if labelled else float("nan")
    return out
