"""``model:`` section: which encoder and fusion plugins to build, and how."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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


class FrameHeadSection(PluginSection):
    """``model.frame_heads.<name>``: ``type`` names the frame head kind (a ``frame_head`` plugin).

    The head reads the frame sequence of ``model.<modality>_encoder`` (an encoder that returns one and declares
    its frame rate) and is trained on the target its kind declares, with ``weight`` times its loss added to the
    segment heads' loss.
    """

    type: str
    modality: Literal["text", "audio", "midi"] = "audio"
    #: Weight of this head's loss in the multi-task sum.
    weight: float = Field(default=1.0, ge=0)
    #: ``tolerant``: BCE against targets dilated by +-``tolerance_frames`` (boundary/event heads' default);
    #: ``bce``: plain BCE; ``mse``: squared error of the probabilities (energy heads' default).
    loss: Literal["tolerant", "bce", "mse"] | None = None
    tolerance_frames: int = Field(default=2, ge=0)


class ModelSection(Section):
    text_encoder: EncoderSection | None = None
    audio_encoder: EncoderSection | None = None
    midi_encoder: EncoderSection | None = None
    fusion: FusionSection = Field(default_factory=FusionSection)
    #: Frame-level heads by name (e.g. ``boundary: {type: boundary}``), trained beside the segment heads.
    frame_heads: dict[str, FrameHeadSection] = Field(default_factory=dict)
    #: How absent modalities are filled (design decision D3).
    missing: Literal["learned_null", "zero"] = "learned_null"
    #: Probability of hiding a present modality during training (never all of a sample's).
    modality_dropout: float = Field(default=0.15, ge=0, lt=1)
    #: Dropout on the fused representation before the classification heads.
    head_dropout: float = Field(default=0.0, ge=0, lt=1)
    #: Standardise each precomputed embedding feature with training-split mean and std before the fusion
    #: (fitted when training starts, saved with the run, applied at scoring).
    standardize_inputs: bool = True
    #: Encode these modalities' precomputed features piecewise-linearly over N training-quantile bins each
    #: (``{midi: 16}``: a D-feature vector becomes D x 16 values), instead of standardising them: thresholds on
    #: single features (a tercile of an onset rate) become linear in the encoding. Fitted when training starts,
    #: saved with the run, applied at scoring. Suits low-dimensional feature vectors (``midi_features``,
    #: ``audio_features``), not wide learned embeddings.
    input_bins: dict[Literal["text", "audio", "midi"], Annotated[int, Field(ge=2, le=64)]] = Field(default_factory=dict)
    #: Train on these modalities only (e.g. ``[text]`` for the text-only baseline).
    modalities: list[Literal["text", "audio", "midi"]] = Field(
        default_factory=lambda: ["text", "audio", "midi"], min_length=1
    )
