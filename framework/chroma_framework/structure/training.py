"""Frame heads in ``chroma train``: the frame targets attached to the training data and the frame losses.

:func:`attach_frame_targets` reads each split's cue times from the metadata and, for energy heads, each segment's
band energy (computed from its decoded audio once, then read from the energy target cache,
:mod:`chroma_framework.structure.energy_cache`), and stores them on the splits of a precomputed-mode source
(``batch["frame_targets"]``); :func:`frame_validation` adds the frame losses to the validation metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn

from chroma.errors import ConfigError
from chroma.frame_heads.base import FrameHead, frame_timing
from chroma.model import ChromaModel
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.predict import to_device
from chroma_framework.structure.energy_cache import segment_energies
from chroma_framework.structure.losses import FrameHeadLoss, FrameLoss
from chroma_framework.structure.targets import SegmentCues, read_cues, target_tensors

logger = logging.getLogger(__name__)

#: Default loss of each target kind.
DEFAULT_LOSS = {"boundary": "tolerant", "events": "tolerant", "energy": "mse"}


def frame_loss_for(config: ChromaConfig, model: ChromaModel) -> FrameLoss:
    """The multi-task frame loss of ``model``'s frame heads, as ``model.frame_heads`` configures them.

    Raises:
        ConfigError: an energy head whose outputs differ in number from ``structure.targets.energy_bands_hz``, or
            a ``loss`` that does not fit the head's target.
    """
    specs = {}
    for name, modality in model.frame_inputs.items():
        head = cast(FrameHead, model.frame_heads[name])
        section = config.model.frame_heads[name]
        loss = section.loss or DEFAULT_LOSS[head.target]
        path = f"model.frame_heads.{name}"
        if (loss == "mse") != (head.target == "energy"):
            raise ConfigError(
                f"{path}.loss: {loss!r} does not fit a {head.target} head (use {DEFAULT_LOSS[head.target]!r})"
            )
        bands = config.structure.targets.energy_bands_hz
        if head.target == "energy" and head.output_dim != len(bands):
            raise ConfigError(
                f"{path}: the head has {head.output_dim} bands {list(head.output_names)} but "
                f"structure.targets.energy_bands_hz gives {len(bands)} ({bands}); give one edge per band"
            )
        timing = frame_timing(model.encoders[modality])
        specs[name] = FrameHeadLoss(
            head.target, head.output_names, timing, loss, section.tolerance_frames, section.weight
        )
    return FrameLoss(specs, config.structure.targets.energy_rate)


def attach_frame_targets(config: ChromaConfig, source: Any, model: ChromaModel) -> FrameLoss:
    """Store every split's frame targets on ``source`` and return the frame loss (a no-op without frame heads).

    Raises:
        ConfigError: frame heads with a source that is not a precomputed-mode one, or bad cue data.
    """
    loss = frame_loss_for(config, model)
    if not loss.heads:
        return loss
    splits = getattr(source, "splits", None)
    if not isinstance(splits, Mapping):
        raise ConfigError(
            "model.frame_heads train with training.mode: precomputed and a trainable encoder read from the input "
            "cache (run `chroma precompute` first); training.mode: end_to_end does not carry frame targets yet"
        )
    events = [n for spec in loss.heads.values() if spec.target == "events" for n in spec.outputs]
    wants_energy = any(spec.target == "energy" for spec in loss.heads.values())
    every = [sid for split in splits.values() for sid in split.segment_ids]
    audio = model.encoders["audio"] if "audio" in model.encoders else None
    energies = segment_energies(config, every, getattr(audio, "sample_rate", None)) if wants_energy else None
    duration = float(config.preprocessing.audio.duration)
    cues = read_cues(config, every, duration)
    for name, split in splits.items():
        ids = list(split.segment_ids)
        if not ids:
            continue
        rows: list[SegmentCues] = [cues[sid] for sid in ids]
        per_energy = None if energies is None else [energies.get(sid) for sid in ids]
        stored = target_tensors(config, rows, per_energy, list(dict.fromkeys(events)))
        device = split.mask.device
        split.frame_targets = {k: v.to(device) for k, v in stored.items()}
        missing = sum(c.boundaries is None for c in rows)
        if missing:
            logger.warning(
                "%s split: %d of %d segments have no boundary times; their boundary targets are empty",
                name,
                missing,
                len(ids),
            )
    return loss


@torch.no_grad()
def frame_validation(
    model: nn.Module, source: Any, loss: FrameLoss, device: torch.device, split: str = "val"
) -> dict[str, float]:
    """``{"frame_loss": weighted sum, "<head>_frame_loss": ...}`` over ``split`` (row-weighted means); ``{}``
    without frame heads."""
    if not loss.heads:
        return {}
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    rows = 0
    try:
        for batch in source.eval_batches(split):
            batch = to_device(batch, device)
            out = model(batch)
            n = int(batch["modality_mask"].shape[0])
            total, per_head = loss(out.frames, out.frame_masks, batch.get("frame_targets"))
            sums["frame_loss"] = sums.get("frame_loss", 0.0) + float(total) * n
            for head, value in per_head.items():
                sums[f"{head}_frame_loss"] = sums.get(f"{head}_frame_loss", 0.0) + float(value) * n
            rows += n
    finally:
        model.train(was_training)
    return {k: v / max(1, rows) for k, v in sums.items()}
