"""Plugin declaration and config of the ``piano_roll`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class PianoRollConfig(PluginConfig):
    """Options of ``model.midi_encoder`` when ``type: piano_roll``.

    Attributes:
        hidden_dim: width of the pooled embedding (512 matches CLAP, design D2).
        resolution: seconds per piano-roll frame (100 ms in D2).
        steps: frames per segment; ``None`` (default) sizes the roll to the segment's duration
            (100 frames for 10 s at 100 ms), so no frame is padding.
        values: ``velocity`` (velocity / 127) or ``binary`` cells.
        drums: drum notes in a ``separate`` channel, ``merge``d with pitched notes, or ``drop``ped.
        onsets: add a channel marking note starts (tells repeated notes from held ones).
        architecture: ``conv1d`` (default: pitches as channels, 1-D convolutions over time, mean and
            max pooled; about 20x cheaper than D2 and what learns in minutes on a CPU) or ``conv2d``
            (design D2: 3x3 convolutions over pitch x time and an average-pool grid).
        pitch_class_filters: ``conv1d`` only: learned circular pitch-class profiles matched at all 12
            rotations of the segment's pitch-class histogram (transposition-invariant key evidence; 0: none).
        channels: output channels of the three conv blocks.
        pool: ``conv2d`` only: ``(pitch bins, time bins)`` of the final average pool (D2: 4 x 4). More
            pitch bins keep register finer than D2's 32-semitone bands (at most 32).
        dropout: dropout before the final projection.
    """

    hidden_dim: int = Field(default=512, gt=0)
    resolution: float = Field(default=0.1, gt=0)
    steps: int | None = Field(default=None, ge=4)
    values: Literal["velocity", "binary"] = "velocity"
    drums: Literal["separate", "merge", "drop"] = "separate"
    onsets: bool = True
    architecture: Literal["conv1d", "conv2d"] = "conv1d"
    pitch_class_filters: int = Field(default=16, ge=0)
    channels: tuple[PositiveInt, PositiveInt, PositiveInt] = (32, 64, 128)
    pool: tuple[Annotated[int, Field(ge=1, le=32)], PositiveInt] = (4, 4)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="piano_roll",
            kind="midi_encoder",
            factory="chroma_midi_pianoroll.encoder:PianoRollEncoder",
            config_model=PianoRollConfig,
            capabilities=EncoderCapabilities(
                random_init=True, test_config={"hidden_dim": 24, "steps": 48, "channels": (4, 8, 8)}
            ),
            description="Piano roll (128 pitches x 100 ms frames) through a small CNN (1-D over time, or design D2)",
        )
    ]
