"""``model:`` section: which encoder and fusion plugins to build, and how."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chroma_framework.config.base import Section


class PluginSection(BaseModel):
    """Common keys of a plugin-selecting section; every other key is the plugin's own.

    The extra keys are validated later by the selected plugin's config model.
    """

    model_config = ConfigDict(extra="allow")

    #: Pin the distribution that provides the plugin when two provide the same name.
    provider: str | None = None

    def plugin_options(self) -> dict[str, Any]:
        """The keys that belong to the plugin's own config model."""
        return dict(self.model_extra or {})


class EncoderSection(PluginSection):
    """``model.<modality>_encoder``: ``type`` names the plugin."""

    type: str
    #: Frozen encoders are precomputed once (D4) and never receive gradients.
    frozen: bool = True
    #: Per-encoder optimiser settings for end-to-end training (``None``: training defaults).
    learning_rate: float | None = Field(default=None, gt=0)
    weight_decay: float | None = Field(default=None, ge=0)
    grad_clip: float | None = Field(default=None, gt=0)


class FusionSection(PluginSection):
    """``model.fusion``: ``strategy`` names the plugin."""

    strategy: str = "late"
    hidden_dim: int = Field(default=512, gt=0)


class ModelSection(Section):
    text_encoder: EncoderSection | None = None
    audio_encoder: EncoderSection | None = None
    midi_encoder: EncoderSection | None = None
    fusion: FusionSection = Field(default_factory=FusionSection)
    #: How absent modalities are filled (design decision D3).
    missing: Literal["learned_null", "zero"] = "learned_null"
    #: Probability of hiding a present modality during training (never all of a sample's).
    modality_dropout: float = Field(default=0.15, ge=0, lt=1)
    #: Dropout on the fused representation before the classification heads.
    head_dropout: float = Field(default=0.0, ge=0, lt=1)
    #: Standardise each precomputed embedding feature with training-split mean and std before the fusion
    #: (fitted when training starts, saved with the run, applied at scoring).
    standardize_inputs: bool = True
    #: Train on these modalities only (e.g. ``[text]`` for the text-only baseline).
    modalities: list[Literal["text", "audio", "midi"]] = Field(
        default_factory=lambda: ["text", "audio", "midi"], min_length=1
    )
