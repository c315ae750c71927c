"""Optimiser parameter groups: one per encoder (own LR, weight decay, clip) plus fusion + heads.

Each group is split in two: matrices/convolutions get weight decay, while
vectors (biases, norms, null embeddings) get none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from chroma_framework.config.schema import ChromaConfig

#: Name of the group holding every parameter outside the encoders.
FUSION_GROUP = "fusion"


@dataclass(frozen=True)
class GroupSettings:
    """Optimiser settings of one named group.

    Attributes:
        name: ``"fusion"`` or ``"encoder.<modality>"``.
        modality: the encoder's modality, ``None`` for the fusion group.
        lr: learning rate.
        weight_decay: decay of the matrix parameters.
        grad_clip: max gradient norm of this group alone (``None``: no per-group clip).
    """

    name: str
    modality: str | None
    lr: float
    weight_decay: float
    grad_clip: float | None


def model_encoders(model: nn.Module) -> dict[str, nn.Module]:
    """``{modality: encoder}`` of a ChromaModel (empty when it runs on precomputed embeddings)."""
    encoders = getattr(model, "encoders", None)
    return dict(encoders.items()) if encoders is not None else {}


def encoder_settings(config: ChromaConfig, modality: str) -> GroupSettings:
    """Settings of ``modality``'s encoder group from ``model.<modality>_encoder`` and ``training``."""
    section = getattr(config.model, f"{modality}_encoder")
    training = config.training
    lr = section.learning_rate if section is not None and section.learning_rate is not None else training.learning_rate
    wd = section.weight_decay if section is not None and section.weight_decay is not None else training.weight_decay
    clip = section.grad_clip if section is not None else None
    return GroupSettings(f"encoder.{modality}", modality, lr, wd, clip)


def build_param_groups(model: nn.Module, config: ChromaConfig) -> list[dict[str, Any]]:
    """Parameter groups for a torch optimiser; frozen parameters (``requires_grad=False``) are left out.

    Every group carries the extra keys ``name``, ``modality`` and ``grad_clip``
    (see :class:`GroupSettings`), which the trainer reads for per-encoder clipping.
    """
    encoder_params: dict[str, list[tuple[str, nn.Parameter]]] = {}
    claimed: set[int] = set()
    for modality, encoder in model_encoders(model).items():
        params = [(n, p) for n, p in encoder.named_parameters() if p.requires_grad]
        encoder_params[modality] = params
        claimed.update(id(p) for _, p in params)
        claimed.update(id(p) for p in encoder.parameters())
    rest = [(n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in claimed]

    training = config.training
    sections = [(encoder_settings(config, m), params) for m, params in encoder_params.items()]
    sections.append((GroupSettings(FUSION_GROUP, None, training.learning_rate, training.weight_decay, None), rest))

    groups: list[dict[str, Any]] = []
    for settings, params in sections:
        decay = [p for _, p in params if p.dim() >= 2]
        no_decay = [p for _, p in params if p.dim() < 2]
        for plist, wd in ((decay, settings.weight_decay), (no_decay, 0.0)):
            if plist:
                groups.append(
                    {
                        "params": plist,
                        "lr": settings.lr,
                        "weight_decay": wd,
                        "name": settings.name,
                        "modality": settings.modality,
                        "grad_clip": settings.grad_clip,
                    }
                )
    if not groups:
        raise ValueError("the model has no trainable parameters (are all encoders frozen and no fusion/heads built?)")
    return groups


def clip_gradients(groups: list[dict[str, Any]], global_clip: float | None) -> None:
    """Clip each named group to its own ``grad_clip``, then everything to ``global_clip``."""
    by_name: dict[str, tuple[float, list[nn.Parameter]]] = {}
    for group in groups:
        if group.get("grad_clip") is not None:
            by_name.setdefault(group["name"], (group["grad_clip"], []))[1].extend(group["params"])
    for clip, params in by_name.values():
        nn.utils.clip_grad_norm_(params, clip)
    if global_clip is not None:
        nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], global_clip)
