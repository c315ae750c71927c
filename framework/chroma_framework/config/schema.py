"""The root configuration model, assembled from one model per section."""

from __future__ import annotations

from pydantic import Field

from chroma_framework.config.audio import AudioPreprocessingSection
from chroma_framework.config.base import Section
from chroma_framework.config.data import DataSection
from chroma_framework.config.midi import MidiPreprocessingSection
from chroma_framework.config.model import ModelSection
from chroma_framework.config.structure import StructureSection
from chroma_framework.config.training import TrainingSection


class PreprocessingSection(Section):
    audio: AudioPreprocessingSection = Field(default_factory=AudioPreprocessingSection)
    midi: MidiPreprocessingSection = Field(default_factory=MidiPreprocessingSection)


class PluginsSection(Section):
    """``plugins:``: plugin selection policy for this config."""

    #: Plugin or distribution names treated as disabled (``*``: every external plugin),
    #: on top of the ``CHROMA_DISABLE_PLUGINS`` environment variable.
    disable: list[str] = Field(default_factory=list)


class ChromaConfig(Section):
    """A whole ``chroma`` YAML file."""

    data: DataSection = Field(default_factory=DataSection)
    model: ModelSection = Field(default_factory=ModelSection)
    preprocessing: PreprocessingSection = Field(default_factory=PreprocessingSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    plugins: PluginsSection = Field(default_factory=PluginsSection)
    structure: StructureSection = Field(default_factory=StructureSection)
