"""Frozen encoders whose embeddings would be random features, found without importing torch when declared.

A frozen encoder with parameters and no loaded weights (:func:`chroma.capabilities.is_random_init`) is
precomputed once with its random initialisation: its embeddings are random features. ``chroma config
validate`` and ``chroma precompute`` warn about it with :func:`random_frozen_message`. The plugin's typed
capabilities say so without building it (``EncoderCapabilities.random_init``, or ``pretrained``: not random;
the contract kit checks both against the built module); only a plugin declaring neither is built to look,
which imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chroma.capabilities import EncoderCapabilities, is_random_init
from chroma.modality import MODALITIES

if TYPE_CHECKING:
    from chroma_framework.config.schema import ChromaConfig


def random_frozen_message(modality: str, name: str) -> str:
    """The warning for a frozen encoder that would produce random features."""
    return (
        f"model.{modality}_encoder ({name!r}) is frozen but has no loaded weights: its embeddings are random "
        f"features. Train it (model.{modality}_encoder.frozen: false) or load pretrained weights / a checkpoint"
    )


def random_frozen_warnings(config: ChromaConfig) -> list[str]:
    """One :func:`random_frozen_message` per frozen random-init encoder of ``model.modalities``, in modality order.

    Read from each plugin's declared ``random_init`` / ``pretrained`` capability; a plugin declaring neither is
    built to look (as ``chroma precompute`` builds it).
    """
    from chroma.plugins.registry import get_registry

    registry = get_registry().with_disabled(config.plugins.disable)
    out = []
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is None or not section.frozen or modality not in config.model.modalities:
            continue
        record = registry.get(f"{modality}_encoder", section.type, section.provider)
        capabilities = record.spec.kit if record.spec is not None else None
        random = capabilities.declared_random_init if isinstance(capabilities, EncoderCapabilities) else None
        if random is None:
            from chroma_framework.model_build import build_encoder

            random = is_random_init(build_encoder(config, modality, registry))
        if random:
            out.append(random_frozen_message(modality, section.type))
    return out
