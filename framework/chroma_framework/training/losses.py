"""Summed per-head cross-entropy with head weights, class weights, label smoothing and optional soft targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chroma_framework.config.training import LossSection
from chroma_framework.metrics import IGNORE_INDEX


def inverse_frequency_weights(labels: Tensor, num_classes: int) -> Tensor:
    """``[C]`` weights ``N / (C * n_c)`` from ``[N]`` labels (0 for classes never seen).

    Rows equal to :data:`IGNORE_INDEX` are not counted.
    """
    seen = labels[labels != IGNORE_INDEX]
    counts = torch.bincount(seen, minlength=num_classes).double()
    weights = torch.where(counts > 0, seen.numel() / (num_classes * counts.clamp(min=1)), 0.0)
    return weights.float()


class MultiHeadLoss(nn.Module):
    """``sum_h w_h * CE_h``: one cross-entropy per head, rows without a label skipped.

    A head given soft targets is trained on ``CE(logits, probabilities)``; class weights and
    label smoothing then apply as :func:`torch.nn.functional.cross_entropy` defines for
    probability targets (the mean is over rows, not over the rows' class weights).

    Args:
        classes: ``{head: class names}``.
        config: the ``training.loss`` section.
        train_labels: ``{head: [N] int64}`` of the training split; needed for ``class_weights: auto``.
    """

    def __init__(
        self,
        classes: Mapping[str, Sequence[str]],
        config: LossSection,
        train_labels: Mapping[str, Tensor] | None = None,
    ) -> None:
        super().__init__()
        unknown = set(config.head_weights) - set(classes)
        if unknown:
            raise ValueError(
                f"training.loss.head_weights names unknown heads {sorted(unknown)}; heads are {sorted(classes)}"
            )
        self.heads = list(classes)
        self.head_weights = {h: float(config.head_weights.get(h, 1.0)) for h in self.heads}
        self.label_smoothing = config.label_smoothing
        for head, names in classes.items():
            weight = self._class_weights(head, len(names), config, train_labels)
            self.register_buffer(f"class_weight_{head}", weight, persistent=False)

    @staticmethod
    def _class_weights(
        head: str, num_classes: int, config: LossSection, train_labels: Mapping[str, Tensor] | None
    ) -> Tensor | None:
        spec = config.class_weights
        if spec == "none":
            return None
        if spec == "auto":
            if train_labels is None:
                raise ValueError("training.loss.class_weights: auto needs the training labels")
            return inverse_frequency_weights(train_labels[head], num_classes)
        if head not in spec:
            return None
        if len(spec[head]) != num_classes:
            raise ValueError(
                f"training.loss.class_weights.{head} has {len(spec[head])} weights; the head has {num_classes} classes"
            )
        return torch.tensor(spec[head], dtype=torch.float32)

    def forward(
        self,
        logits: Mapping[str, Tensor],
        labels: Mapping[str, Tensor],
        soft_labels: Mapping[str, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and the per-head (unweighted) cross-entropies.

        Args:
            logits: ``{head: [B, C]}``.
            labels: ``{head: [B]}`` int64, :data:`IGNORE_INDEX` where unlabelled.
            soft_labels: ``{head: [B, C]}`` target distributions replacing ``labels`` as the
                targets of their heads (rows whose hard label is :data:`IGNORE_INDEX` still skipped).

        Returns:
            ``(scalar total, {head: scalar})``; a head with no labelled row contributes 0.
        """
        total = next(iter(logits.values())).new_zeros(())
        per_head: dict[str, Tensor] = {}
        for head in self.heads:
            target = labels[head]
            labelled = target != IGNORE_INDEX
            if not bool(labelled.any()):
                per_head[head] = total.new_zeros(())
                continue
            weight = getattr(self, f"class_weight_{head}")
            if soft_labels is not None and head in soft_labels:
                loss = F.cross_entropy(
                    logits[head][labelled],
                    soft_labels[head][labelled],
                    weight=weight,
                    label_smoothing=self.label_smoothing,
                )
            else:
                loss = F.cross_entropy(
                    logits[head], target, weight=weight, ignore_index=IGNORE_INDEX, label_smoothing=self.label_smoothing
                )
            per_head[head] = loss
            total = total + self.head_weights[head] * loss
        return total, per_head
