"""Run a model over batches and collect logits, labels, masks and fusion weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class Predictions:
    """Model outputs over ``N`` rows, on the CPU.

    Attributes:
        logits: ``{head: [N, C]}``.
        labels: ``{head: [N]}`` int64 (:data:`~chroma_framework.metrics.IGNORE_INDEX` where unlabelled).
        mask: ``[N, 3]`` bool, the modality mask the fusion used.
        weights: ``{name: [N, ...]}`` inspection tensors of the fusion (gates, attention), when it exposes them.
        embeddings: ``{modality: [N, D]}`` pooled fusion inputs (encoder outputs), when collected.
        soft_labels: ``{head: [N, C]}`` target distributions, for the heads whose batches carry ``"soft_label"``.
    """

    logits: dict[str, Tensor]
    labels: dict[str, Tensor]
    mask: Tensor
    weights: dict[str, Tensor] = field(default_factory=dict)
    embeddings: dict[str, Tensor] = field(default_factory=dict)
    soft_labels: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    def probabilities(self) -> dict[str, Tensor]:
        """``{head: [N, C]}`` softmax of the logits."""
        return {h: torch.softmax(v.float(), dim=1) for h, v in self.logits.items()}

    def take(self, rows: Tensor) -> Predictions:
        """The rows selected by ``rows`` (``[N]`` bool or ``[K]`` int64)."""
        return Predictions(
            {h: v[rows] for h, v in self.logits.items()},
            {h: v[rows] for h, v in self.labels.items()},
            self.mask[rows],
            {k: v[rows] for k, v in self.weights.items()},
            {k: v[rows] for k, v in self.embeddings.items()},
            {h: v[rows] for h, v in self.soft_labels.items()},
        )


def _move(value: Any, device: torch.device) -> Any:
    if isinstance(value, Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {k: _move(v, device) for k, v in value.items()}
    if hasattr(value, "to") and not isinstance(value, (str, bytes)):
        return value.to(device)
    return value


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """``batch`` with every tensor (and TextBatch/AudioBatch/MidiBatch) moved to ``device``."""
    return {k: (v if k == "segment_id" else _move(v, device)) for k, v in batch.items()}


@torch.no_grad()
def predict(
    model: nn.Module,
    batches: Iterable[Mapping[str, Any]],
    device: torch.device | str = "cpu",
    keep_weights: bool = True,
    keep_embeddings: bool = False,
) -> Predictions:
    """Evaluate ``model`` (in eval mode, no modality dropout) on every batch.

    Args:
        model: a :class:`~chroma.model.ChromaModel`.
        batches: model batches carrying a ``"label"`` dict.
        device: where the model lives.
        keep_weights: also collect the fusion's per-row weight tensors.
        keep_embeddings: also collect the pooled embeddings the fusion received.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    logits: dict[str, list[Tensor]] = {}
    labels: dict[str, list[Tensor]] = {}
    soft_labels: dict[str, list[Tensor]] = {}
    masks: list[Tensor] = []
    weights: dict[str, list[Tensor]] = {}
    embeddings: dict[str, list[Tensor]] = {}
    try:
        for batch in batches:
            batch = to_device(batch, device)
            out = model(batch)
            rows = out.modality_mask.shape[0]
            for head, value in out.logits.items():
                logits.setdefault(head, []).append(value.float().cpu())
            for head, value in batch["label"].items():
                labels.setdefault(head, []).append(value.cpu())
            for head, value in batch.get("soft_label", {}).items():
                soft_labels.setdefault(head, []).append(value.float().cpu())
            masks.append(out.modality_mask.cpu())
            if keep_embeddings:
                for modality, value in out.embeddings.items():
                    embeddings.setdefault(modality, []).append(value.float().cpu())
            if keep_weights:
                for name, value in out.weights.items():
                    if value.dim() >= 1 and value.shape[0] == rows:
                        weights.setdefault(name, []).append(value.float().cpu())
    finally:
        model.train(was_training)
    if not masks:
        raise ValueError("predict: no batches (is the split empty?)")
    return Predictions(
        {h: torch.cat(v) for h, v in logits.items()},
        {h: torch.cat(v) for h, v in labels.items()},
        torch.cat(masks),
        {k: torch.cat(v) for k, v in weights.items() if len({t.shape[1:] for t in v}) == 1},
        {m: torch.cat(v) for m, v in embeddings.items()},
        {h: torch.cat(v) for h, v in soft_labels.items()},
    )
