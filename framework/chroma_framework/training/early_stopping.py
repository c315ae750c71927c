"""Early stopping on a validation metric."""

from __future__ import annotations

import logging
import math
from typing import Any

from chroma_framework.config.training import EarlyStoppingSection

logger = logging.getLogger(__name__)


class EarlyStopping:
    """Tracks the best value of one metric and says when patience has run out.

    Args:
        config: the ``training.early_stopping`` section.
    """

    def __init__(self, config: EarlyStoppingSection) -> None:
        self.metric = config.label
        self.names = config.metrics
        #: Modality-alone metrics already reported as left out of the mean (no validation row has the modality).
        self.warned: set[str] = set()
        self.mode = config.resolved_mode()
        self.patience = config.patience
        self.min_delta = config.min_delta
        self.enabled = config.enabled
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def value(self, metrics: dict[str, float]) -> float:
        """The tracked metric (the mean of the tracked metrics) from a flat ``{name: value}`` dict of validation
        metrics."""
        # A modality-alone score is missing when no validation row has that modality: the mean leaves it out.
        missing = [name for name in self.names if name not in metrics and "_only_" not in name]
        present = [name for name in self.names if name in metrics]
        if missing or not present:
            raise ValueError(
                f"training.early_stopping.metric {', '.join(map(repr, missing or self.names))} is not a validation "
                f"metric; choose one of {', '.join(sorted(metrics))}"
            )
        left_out = sorted(set(self.names) - set(present) - self.warned)
        if left_out:
            logger.warning(
                "no validation row has the modality of %s: left out of the tracked mean", ", ".join(left_out)
            )
            self.warned.update(left_out)
        return sum(float(metrics[name]) for name in present) / len(present)

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Record one epoch; True when it is the best so far (NaN never is)."""
        value = self.value(metrics)
        if math.isnan(value):
            improved = False
        elif self.best is None:
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.bad_epochs = int(state["bad_epochs"])
