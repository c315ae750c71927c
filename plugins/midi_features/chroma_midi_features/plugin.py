"""Plugin declaration and config of the ``midi_features`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from pydantic import Field, PositiveInt, field_validator, model_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class MidiFeaturesConfig(PluginConfig):
    """Options of ``model.midi_encoder`` when ``type: midi_features``.

    Attributes:
        normalize: apply the analytic transforms of :mod:`chroma_midi_features.layout`
            (``log1p`` of counts, densities and seconds; pitch and velocity ``/ 127``) so every
            column is of order one without fitting anything.
        phase_bins: equal parts of the bar for the onset-phase histogram.
        meter_divisions: strictly increasing bar divisions ``k`` of the meter grid; a column per
            ``k`` holds the share of onsets within ``grid_tolerance`` of a multiple of ``1 / k`` bar.
        grid_tolerance: distance in bars within which an onset counts as on a grid point; below
            half the finest grid spacing so neighbouring grid points never share an onset.
        onset_tolerance: seconds; an onset at most this far after the previous one joins its group
            (a chord, a spread attack). Groups are the "distinct onsets" of the rhythm features.
        percentiles: strictly increasing pitch percentiles in ``(0, 100)`` (linear interpolation,
            as ``numpy.percentile``).
        programs: add the instrumentation group (128 General MIDI program shares).
    """

    normalize: bool = True
    phase_bins: int = Field(default=16, ge=2, le=96)
    meter_divisions: tuple[PositiveInt, ...] = Field(default=(1, 2, 3, 4, 6, 8, 12, 16), min_length=1, max_length=16)
    grid_tolerance: float = Field(default=1.0 / 64.0, gt=0.0, lt=0.5)
    onset_tolerance: float = Field(default=0.025, ge=0.0, le=0.5)
    percentiles: tuple[float, ...] = Field(default=(10.0, 25.0, 50.0, 75.0, 90.0), max_length=16)
    programs: bool = True

    @field_validator("meter_divisions")
    @classmethod
    def _increasing_divisions(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(b <= a for a, b in zip(value, value[1:])) or value[-1] > 64:
            raise ValueError(f"meter_divisions must be strictly increasing and at most 64, got {list(value)}")
        return value

    @field_validator("percentiles")
    @classmethod
    def _increasing_percentiles(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < q < 100.0 for q in value) or any(b <= a for a, b in zip(value, value[1:])):
            raise ValueError(f"percentiles must be strictly increasing values in (0, 100), got {list(value)}")
        return value

    @model_validator(mode="after")
    def _grid_points_apart(self) -> MidiFeaturesConfig:
        finest = max(self.meter_divisions)
        if self.grid_tolerance >= 0.5 / finest:
            raise ValueError(
                f"grid_tolerance ({self.grid_tolerance:g} bar) must be below half the finest grid spacing "
                f"(0.5 / {finest} = {0.5 / finest:g} bar)"
            )
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="midi_features",
            kind="midi_encoder",
            factory="chroma_midi_features.encoder:MidiFeaturesEncoder",
            config_model=MidiFeaturesConfig,
            capabilities=EncoderCapabilities(random_init=False, test_config={}),
            description="Classic MIDI features: pitch-class profile, key, onset phase/meter, density, "
            "register, polyphony, velocity (no weights)",
        )
    ]
