"""Build a :class:`chroma.model.ChromaModel` from a validated configuration and the plugin registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chroma.contracts import Encoder, FusionDims
from chroma.errors import ConfigError
from chroma.frame_heads.base import FrameHead, frame_timing
from chroma.modality import MODALITIES
from chroma.model import ChromaModel
from chroma.plugins.registry import PluginRegistry, get_registry
from chroma.quantile_bins import QuantileBinEncoding
from chroma_framework.config.model import EncoderSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.config.stream_slots import slot_options


def _inherit_preprocessing(
    config: ChromaConfig, kind: str, section: EncoderSection, registry: PluginRegistry
) -> dict[str, Any]:
    """The section's plugin options plus preprocessing-wide settings the plugin takes and the section leaves unset.

    ``preprocessing.midi.tokenization`` selects the token stream of every token-based MIDI encoder.
    """
    options = section.plugin_options()
    inherited = {"midi_encoder": {"tokenization": config.preprocessing.midi.tokenization}}.get(kind, {})
    record = registry.get(kind, section.type, section.provider, yaml_path=f"model.{kind}")
    fields = record.spec.config_model.model_fields if record.spec is not None else {}
    for key, value in inherited.items():
        if value is not None and key in fields and key not in options:
            options[key] = value
    return options


def build_encoder(config: ChromaConfig, modality: str, registry: PluginRegistry | None = None) -> Encoder:
    """The ``model.<modality>_encoder`` the config describes (with inherited preprocessing options).

    Raises:
        ConfigError: the section is not set.
    """
    registry = (registry or get_registry()).with_disabled(config.plugins.disable)
    section = getattr(config.model, f"{modality}_encoder")
    if section is None:
        raise ConfigError(f"model.{modality}_encoder is not set")
    kind = f"{modality}_encoder"
    options = slot_options(config, modality, _inherit_preprocessing(config, kind, section, registry))
    return registry.build_encoder(
        kind, section.type, options, section.provider, section_keys=type(section).model_fields
    )


def build_frame_heads(
    config: ChromaConfig, encoders: Mapping[str, Encoder], registry: PluginRegistry
) -> dict[str, tuple[str, FrameHead]]:
    """``{name: (modality, FrameHead)}`` of ``model.frame_heads``, each sized to its encoder's frame sequence.

    Raises:
        ConfigError: a head reads a modality without a trainable (or end-to-end) encoder returning a frame
            sequence with a declared frame rate, naming the ``model.frame_heads.<name>`` section.
    """
    heads: dict[str, tuple[str, FrameHead]] = {}
    for name, section in config.model.frame_heads.items():
        path = f"model.frame_heads.{name}"
        encoder = encoders.get(section.modality)
        if encoder is None:
            raise ConfigError(
                f"{path}.modality: the head reads the {section.modality} frame sequence, but the run has no "
                f"{section.modality} encoder running in the model (a frozen encoder's embeddings are precomputed "
                f"without frames); add model.{section.modality}_encoder with frozen: false"
            )
        try:
            frame_timing(encoder)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        head = registry.build_frame_head(
            section.type,
            section.plugin_options(),
            input_dim=int(encoder.sequence_dim or encoder.output_dim),
            provider=section.provider,
            yaml_path=path,
            section_keys=type(section).model_fields,
        )
        heads[name] = (section.modality, head)
    return heads


def build_model(
    config: ChromaConfig,
    labels: Mapping[str, Sequence[str]],
    input_dims: Mapping[str, int] | None = None,
    registry: PluginRegistry | None = None,
) -> ChromaModel:
    """Build the model a config describes; deterministic from ``(config, labels, input_dims)``.

    Args:
        config: the validated configuration.
        labels: ``{head: class names}``; must cover every ``config.data.labels`` column.
        input_dims: ``{modality: width}`` of precomputed embeddings. A modality listed
            here gets no encoder (fast path); every other modality in
            ``config.model.modalities`` is encoded by its ``model.<modality>_encoder`` plugin.
        registry: plugin registry (default: the process-wide one).

    Raises:
        ConfigError: missing label classes, or a modality with neither an encoder nor a width.
        chroma.plugins.errors.PluginError: plugin selection problems.
    """
    registry = (registry or get_registry()).with_disabled(config.plugins.disable)
    missing_heads = [col for col in config.data.labels if col not in labels]
    if missing_heads:
        raise ConfigError(
            f"data.labels: no classes given for label column(s) {missing_heads}; got classes for {sorted(labels)}"
        )
    heads = {col: list(labels[col]) for col in config.data.labels}
    precomputed = {m: int(d) for m, d in (input_dims or {}).items()}
    unknown = set(precomputed) - set(MODALITIES)
    if unknown:
        raise ValueError(f"input_dims: unknown modalities {sorted(unknown)}; expected {', '.join(MODALITIES)}")

    model_cfg = config.model
    encoders: dict[str, Encoder] = {}
    dims: dict[str, int] = {}
    sequence_dims: dict[str, int] = {}
    frozen: list[str] = []
    for modality in (m for m in MODALITIES if m in model_cfg.modalities):
        section = getattr(model_cfg, f"{modality}_encoder")
        if modality in precomputed:
            dims[modality] = precomputed[modality] * model_cfg.input_bins.get(modality, 1)
            continue
        if section is None:
            raise ConfigError(
                f"model.modalities includes {modality!r} but model.{modality}_encoder is not set and no "
                f"precomputed {modality} embedding width was given; add a model.{modality}_encoder section, "
                f"precompute {modality} embeddings, or remove {modality!r} from model.modalities"
            )
        encoder = build_encoder(config, modality, registry)
        encoders[modality] = encoder
        dims[modality] = encoder.output_dim
        if encoder.returns_sequence:
            sequence_dims[modality] = int(encoder.sequence_dim or encoder.output_dim)
        if section.frozen:
            frozen.append(modality)

    binned = {m: bins for m, bins in model_cfg.input_bins.items() if m in dims}
    for modality in sorted(set(binned) - set(precomputed)):
        raise ConfigError(
            f"model.input_bins.{modality}: only precomputed (frozen) features can be binned, but the {modality} "
            f"encoder runs in the training loop; remove model.input_bins.{modality} or freeze the encoder"
        )
    fusion_cfg = model_cfg.fusion
    fusion = registry.build_fusion(
        fusion_cfg.strategy,
        fusion_cfg.plugin_options(),
        dims=FusionDims(dims, fusion_cfg.hidden_dim, sequence_dims, model_cfg.missing),
        provider=fusion_cfg.provider,
        section_keys=type(fusion_cfg).model_fields,
    )
    frame_heads = build_frame_heads(config, encoders, registry)
    model = ChromaModel(
        fusion,
        heads,
        encoders,
        modality_dropout=model_cfg.modality_dropout,
        frozen_encoders=frozen,
        head_dropout=model_cfg.head_dropout,
        standardize=[m for m in dims if m in precomputed and m not in binned] if model_cfg.standardize_inputs else (),
        frame_heads=frame_heads,
        input_transforms={m: QuantileBinEncoding(precomputed[m], bins) for m, bins in binned.items()},
    )
    fusion_record = registry.get("fusion", fusion_cfg.strategy, fusion_cfg.provider)
    model.build_info = {
        "labels": heads,
        "input_dims": precomputed,
        "fusion_input_dims": dims,
        "sequence_dims": sequence_dims,
        "hidden_dim": fusion_cfg.hidden_dim,
        "modalities": list(model.modalities),
        "fusion": {
            "name": fusion_record.name,
            "distribution": fusion_record.distribution,
            "version": fusion_record.dist_version,
        },
        "encoders": {
            m: {"name": e.name, "version": e.version, "output_dim": e.output_dim, "frozen": m in frozen}
            for m, e in encoders.items()
        },
        "streams": {m: dict(e.streams) for m, e in encoders.items() if e.streams},
        "frame_heads": {
            name: {"type": type(head).name, "modality": m, "outputs": list(head.output_names)}
            for name, (m, head) in frame_heads.items()
        },
    }
    return model
