"""Checks across config sections: heads named in ``training`` and ``data.label_classes`` must be heads.

Each problem is one ``"<yaml.path>: <problem>"`` line, like the single-section errors.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chroma_framework.config.schema import ChromaConfig

#: Validation metrics of every run; each head adds ``<head>_<name>`` for these.
RUN_METRICS = ("loss", "accuracy", "macro_f1")


def validation_metric_names(heads: list[str], solo: Sequence[str] = ()) -> list[str]:
    """What ``training.early_stopping.metric`` may name for these heads, with ``<modality>_only_...`` scores of
    the ``solo`` modalities (those ``training.loss.unimodal`` trains alone)."""
    names = [*RUN_METRICS, *(f"{head}_{metric}" for head in heads for metric in RUN_METRICS)]
    scores = [name for name in names if not name.endswith("loss")]
    return names + [f"{modality}_only_{name}" for modality in solo for name in scores]


def cross_section_problems(config: ChromaConfig) -> list[str]:
    """Every problem that spans sections, as ``"<yaml.path>: <problem>"`` lines (empty when none)."""
    heads = list(config.data.labels)
    listed = ", ".join(heads)
    problems: list[str] = []
    for head in config.training.loss.head_weights:
        if head not in heads:
            problems.append(f"training.loss.head_weights.{head}: not a head; heads (data.labels): {listed}")
    classes = config.data.label_classes or {}
    for head, names in classes.items():
        path = f"data.label_classes.{head}"
        if head not in heads:
            problems.append(f"{path}: not a head; heads (data.labels): {listed}")
        if len(set(names)) < 2:
            problems.append(f"{path}: a head needs at least 2 classes, got {names}")
        if len(set(names)) != len(names) or any(not str(n).strip() for n in names):
            problems.append(f"{path}: classes must be distinct, non-empty names, got {names}")
    weights = config.training.loss.class_weights
    if isinstance(weights, dict):
        for head, values in weights.items():
            path = f"training.loss.class_weights.{head}"
            if head not in heads:
                problems.append(f"{path}: not a head; heads (data.labels): {listed}")
            elif head in classes and len(values) != len(classes[head]):
                problems.append(
                    f"{path}: {len(values)} weights for the {len(classes[head])} classes of data.label_classes.{head}"
                )
            if any(not math.isfinite(v) or v < 0 for v in values) or not any(v > 0 for v in values):
                problems.append(f"{path}: weights must be finite, >= 0 and not all 0, got {values}")
    allowed = validation_metric_names(heads, solo_modalities(config))
    if config.model.frame_heads:  # frame heads add their validation losses (chroma_framework.structure.training)
        allowed += ["frame_loss", *(f"{name}_frame_loss" for name in config.model.frame_heads)]
    for metric in config.training.early_stopping.metrics:
        if metric not in allowed:
            close = difflib.get_close_matches(metric, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            only = "" if "_only_" not in metric else "(a <modality>_only_ metric needs training.loss.unimodal) "
            problems.append(
                f"training.early_stopping.metric: {metric!r} is not a validation metric; {hint}{only}use one of "
                + ", ".join(allowed)
            )
    return problems


def solo_modalities(config: ChromaConfig) -> list[str]:
    """The modalities ``training.loss.unimodal`` trains alone (weight > 0, in ``model.modalities``): validation
    also scores each of them alone."""
    return [m for m, w in config.training.loss.unimodal.items() if w > 0 and m in config.model.modalities]
