"""Frame-head predictions of a trained run on one split, in the split's segment order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from chroma.frame_heads.base import FrameHead, FrameTiming, frame_probabilities, frame_timing
from chroma.model import ChromaModel
from chroma_framework.predict import to_device


@dataclass
class FrameHeadOutput:
    """One frame head's output for one segment.

    Attributes:
        times: ``[T]`` seconds of the valid frames.
        probs: ``[T, K]`` probabilities (sigmoid of the logits).
        names: the ``K`` output names.
    """

    times: np.ndarray
    probs: np.ndarray
    names: tuple[str, ...]


def head_timing(model: ChromaModel, head: str) -> FrameTiming:
    """The frame timing of the sequence frame head ``head`` reads."""
    return frame_timing(model.encoders[model.frame_inputs[head]])


@torch.no_grad()
def frame_outputs(
    model: ChromaModel, batch: Mapping[str, Any], device: torch.device
) -> list[dict[str, FrameHeadOutput]]:
    """Per row of ``batch``, ``{frame head: FrameHeadOutput}`` of the heads that ran (rows without the modality:
    no valid frame, an empty output)."""
    out = model(to_device(batch, device))
    rows: list[dict[str, FrameHeadOutput]] = [{} for _ in range(int(batch["modality_mask"].shape[0]))]
    for name, logits in out.frames.items():
        mask = out.frame_masks[name]
        probs = frame_probabilities(logits, mask).cpu().numpy()
        valid = mask.cpu().numpy()
        times = head_timing(model, name).times(logits.shape[1]).numpy()
        names = cast(FrameHead, model.frame_heads[name]).output_names
        for i in range(len(rows)):
            rows[i][name] = FrameHeadOutput(times[valid[i]], probs[i][valid[i]], names)
    return rows
