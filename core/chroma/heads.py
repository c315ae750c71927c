"""Classification heads over the fused representation, one per label column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn


class ClassificationHeads(nn.Module):
    """One linear classifier per head.

    Args:
        hidden_dim: width of the fused representation.
        heads: ``{head: class names}`` in label-index order, e.g.
            ``{"temporal_mode": ["past", "present", "future"], ...}``; every head needs >= 2 classes.
        dropout: dropout applied to the fused representation before the classifiers.
    """

    def __init__(self, hidden_dim: int, heads: Mapping[str, Sequence[str]], dropout: float = 0.0) -> None:
        super().__init__()
        if not heads:
            raise ValueError("ClassificationHeads: at least one head is required")
        for head, classes in heads.items():
            if len(classes) < 2:
                raise ValueError(f"head {head!r} needs at least 2 classes, got {list(classes)}")
            if len(set(classes)) != len(classes):
                raise ValueError(f"head {head!r} has duplicate class names: {list(classes)}")
        self.classes: dict[str, list[str]] = {head: [str(c) for c in classes] for head, classes in heads.items()}
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.ModuleDict({head: nn.Linear(hidden_dim, len(c)) for head, c in self.classes.items()})

    def forward(self, hidden: Tensor) -> dict[str, Tensor]:
        """``hidden [batch, hidden_dim]`` -> ``{head: logits [batch, num_classes(head)]}``."""
        hidden = self.dropout(hidden)
        return {head: layer(hidden) for head, layer in self.linear.items()}
