"""``training:`` section: optimisation, schedule, early stopping, monitoring and loss."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from chroma_framework.config.base import Section

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class ScheduleSection(Section):
    """``training.schedule``: learning-rate schedule over optimiser steps."""

    #: ``cosine`` decays to ``min_lr_ratio`` after warm-up, ``linear`` decays linearly, ``none`` keeps it flat.
    name: Literal["cosine", "linear", "none"] = "cosine"
    #: Linear warm-up from 0, as a fraction of all optimiser steps.
    warmup_fraction: float = Field(default=0.05, ge=0, lt=1)
    #: Final learning rate as a fraction of the initial one.
    min_lr_ratio: float = Field(default=0.0, ge=0, le=1)


class EarlyStoppingSection(Section):
    """``training.early_stopping``: stop when a validation metric stops improving."""

    enabled: bool = True
    #: Epochs without improvement before stopping.
    patience: int = Field(default=5, gt=0)
    #: ``loss``, ``accuracy``, ``macro_f1`` (mean over heads) or ``<head>_accuracy`` / ``<head>_macro_f1``; with
    #: ``loss.unimodal``, also ``<modality>_only_<metric>`` (that modality alone, on the validation rows that have
    #: it). A list is tracked as the mean of its metrics, e.g. ``[macro_f1, midi_only_macro_f1]`` selects the
    #: model that serves both the fused and the MIDI-only case.
    metric: str | list[str] = "macro_f1"
    #: ``None`` picks ``min`` for losses and ``max`` for everything else.
    mode: Literal["min", "max"] | None = None
    #: Smallest change that counts as an improvement.
    min_delta: float = Field(default=0.0, ge=0)

    @field_validator("metric")
    @classmethod
    def _one_direction(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise ValueError("name at least one validation metric")
        if len({name.endswith("loss") for name in names}) > 1:
            raise ValueError(f"cannot average losses with scores (one falls, the other rises): {names}")
        return value

    @property
    def metrics(self) -> list[str]:
        """The tracked metric names (one, or the list whose mean is tracked)."""
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)

    @property
    def label(self) -> str:
        """How logs and ``run.json`` name the tracked value."""
        names = self.metrics
        return names[0] if len(names) == 1 else f"mean({', '.join(names)})"

    def resolved_mode(self) -> Literal["min", "max"]:
        if self.mode is not None:
            return self.mode
        return "min" if self.metrics[0].endswith("loss") else "max"


class GradMonitorSection(Section):
    """``training.grad_monitor``: per-modality gradient norms and imbalance warnings."""

    enabled: bool = True
    #: Record norms every this many optimiser steps.
    every: int = Field(default=50, gt=0)
    #: Warn when one modality's norm exceeds every other's by this factor.
    imbalance_ratio: float = Field(default=10.0, gt=1)


class LossSection(Section):
    """``training.loss``: one cross-entropy per head, weighted and summed."""

    #: Per-head weight of its cross-entropy (missing heads weigh 1).
    head_weights: dict[str, float] = Field(default_factory=dict)
    #: ``none``, ``auto`` (inverse class frequency on the training split) or ``{head: [w per class]}``.
    class_weights: Literal["none", "auto"] | dict[str, list[float]] = "none"
    #: Soft targets: probability mass spread uniformly over the other classes.
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    #: Auxiliary single-modality losses, ``{modality: weight}``: each training batch is also classified with
    #: only that modality kept (the others get their null embeddings), on the rows that have it, and the loss
    #: is added with the weight. ``{midi: 1.0}`` trains the MIDI-only path the model serves at inference.
    unimodal: dict[Literal["text", "audio", "midi"], float] = Field(default_factory=dict)

    @field_validator("head_weights", "unimodal")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if v < 0}
        if bad:
            raise ValueError(f"weights must be >= 0, got {bad}")
        return value


class TrainingSection(Section):
    #: ``precomputed`` trains fusion + heads on the embeddings file (D4);
    #: ``end_to_end`` runs the encoders in the loop on the dataset.
    mode: Literal["precomputed", "end_to_end"] = "precomputed"
    #: Train the text-only baseline: only the text modality reaches the model.
    text_only_baseline: bool = False
    seed: int = 0
    epochs: int = Field(default=30, gt=0)
    batch_size: int = Field(default=64, gt=0)
    #: Batches whose gradients are summed before one optimiser step.
    grad_accumulation: int = Field(default=1, gt=0)
    #: Learning rate and weight decay of fusion + heads, and of encoders without their own.
    learning_rate: float = Field(default=1e-3, gt=0, allow_inf_nan=False)
    weight_decay: float = Field(default=0.01, ge=0, allow_inf_nan=False)
    #: A non-finite (NaN/inf) training loss: ``error`` stops the run; ``skip`` drops that batch (counted and
    #: logged) and stops only after ``nonfinite_max_consecutive`` such batches in a row.
    nonfinite: Literal["error", "skip"] = "error"
    nonfinite_max_consecutive: int = Field(default=10, gt=0)
    #: Global gradient-norm clip over all trainable parameters (``None``: off).
    #: Per-encoder clips are ``model.<modality>_encoder.grad_clip``.
    grad_clip: float | None = Field(default=1.0, gt=0)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    early_stopping: EarlyStoppingSection = Field(default_factory=EarlyStoppingSection)
    grad_monitor: GradMonitorSection = Field(default_factory=GradMonitorSection)
    loss: LossSection = Field(default_factory=LossSection)
    #: Write a training-loss row to the metrics log every this many optimiser steps.
    log_every: int = Field(default=50, gt=0)
    #: ``DataLoader`` workers for end-to-end training (the precomputed path indexes tensors directly).
    num_workers: int = Field(default=0, ge=0)
    #: torch CPU threads of every command (precompute workers each get this many); ``None``: the measured
    #: default, 1 (see ``chroma_framework.threads``). ``--threads`` on the command line overrides it.
    num_threads: int | None = Field(default=None, ge=1, le=1024)
    #: ``cpu``, ``cuda``, ``cuda:1`` ..., ``mps`` or ``auto`` (CUDA when available).
    device: str = "auto"
    #: Training forward passes in ``fp32``, or under ``bf16`` / ``fp16`` autocast (fp16 with a gradient scaler).
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    #: Show tqdm progress bars.
    progress: bool = True
    #: Run directories are created here (``chroma train --out`` overrides).
    output_dir: str = "runs"

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not _DEVICE.match(value):
            raise ValueError(f"{value!r} is not a device; use auto, cpu, cuda, cuda:<index> or mps")
        return value
