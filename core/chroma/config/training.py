"""``training:`` section."""

from __future__ import annotations

from pydantic import Field

from chroma.config.base import Section


class TrainingSection(Section):
    seed: int = 0
    epochs: int = Field(default=30, gt=0)
    batch_size: int = Field(default=64, gt=0)
    learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    output_dir: str = "runs"
