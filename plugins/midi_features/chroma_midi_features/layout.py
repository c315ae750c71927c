"""Names and normalising transforms of the ``midi_features`` vector, in output order (imports no torch).

Groups, in order (default widths; ``P`` = ``phase_bins``, ``K`` = ``len(meter_divisions)``,
``Q`` = ``len(percentiles)``):

==================  =====  ==========================================================================
group               width  features
==================  =====  ==========================================================================
pitch classes       12     ``pitch_class_C`` .. ``pitch_class_B``: duration-weighted, sums to 1
key correlations    24     ``key_major_C`` .. ``key_major_B``, ``key_minor_C`` .. ``key_minor_B``
                           (Pearson correlation with the rotated Krumhansl-Kessler profiles)
key summary         2      ``key_clarity`` (best of the 24), ``key_major_minus_minor``
onset phase         P      ``onset_phase_00`` ..: share of onsets in each of P equal parts of the bar
meter grid          K      ``meter_grid_<k>``: share of onsets on the grid of the bar split in ``k``
density             2      ``note_density`` (notes/s), ``onset_density`` (distinct onsets/s)
inter-onset         4      ``ioi_mean``, ``ioi_std``, ``ioi_median`` (s), ``ioi_cv`` (std / mean)
register            4 + Q  ``pitch_mean``, ``pitch_std``, ``pitch_min``, ``pitch_max``, ``pitch_p<q>``
polyphony           4      ``polyphony_mean`` (over the segment), ``polyphony_sounding_mean`` (while
                           any note sounds), ``polyphony_max``, ``sounding_fraction``
velocity            4      ``velocity_mean``, ``velocity_std``, ``velocity_min``, ``velocity_max``
duration            4      ``duration_mean``, ``duration_std``, ``duration_median``, ``duration_max`` (s)
drums               2      ``drum_share`` (drum notes / notes), ``drum_density`` (drum notes/s)
instrumentation     128    ``program_000`` .. ``program_127``: each General MIDI program's share of the
                           pitched notes' duration (only with ``programs: true``, the default)
==================  =====  ==========================================================================

Pitch classes, key, register, polyphony and duration read pitched notes only; velocity, density,
onsets and drums read every note. Standard deviations are population ones (``ddof=0``).

Transforms applied with ``normalize`` (:data:`TRANSFORMS`): ``log1p`` for counts, densities and
seconds; ``pitch`` is ``/ 127``; ``octaves`` is ``/ 12`` (a pitch spread in octaves); ``velocity`` is
``/ 127``; ``none`` keeps shares, profiles and correlations, which already lie in ``[-1, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Transform = Literal["none", "log1p", "pitch", "octaves", "velocity"]

#: Multiplier of each linear transform (``log1p`` is not linear and has none).
TRANSFORMS: dict[str, float] = {"none": 1.0, "pitch": 1.0 / 127.0, "octaves": 1.0 / 12.0, "velocity": 1.0 / 127.0}

#: Pitch-class names, pitch class 0 (C) first.
PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Feature:
    """One output column: its name and the transform ``normalize`` applies."""

    name: str
    transform: Transform


def _group(transform: Transform, *names: str) -> list[Feature]:
    return [Feature(name, transform) for name in names]


def midi_feature_layout(
    phase_bins: int, meter_divisions: tuple[int, ...], percentiles: tuple[float, ...], programs: bool = True
) -> tuple[Feature, ...]:
    """Every output column in order (see the module docstring for the groups)."""
    return tuple(
        _group("none", *(f"pitch_class_{pc}" for pc in PITCH_CLASSES))
        + _group("none", *(f"key_{mode}_{pc}" for mode in ("major", "minor") for pc in PITCH_CLASSES))
        + _group("none", "key_clarity", "key_major_minus_minor")
        + _group("none", *(f"onset_phase_{i:02d}" for i in range(phase_bins)))
        + _group("none", *(f"meter_grid_{k}" for k in meter_divisions))
        + _group("log1p", "note_density", "onset_density")
        + _group("log1p", "ioi_mean", "ioi_std", "ioi_median", "ioi_cv")
        + _group("pitch", "pitch_mean")
        + _group("octaves", "pitch_std")
        + _group("pitch", "pitch_min", "pitch_max", *(f"pitch_p{q:g}" for q in percentiles))
        + _group("log1p", "polyphony_mean", "polyphony_sounding_mean", "polyphony_max")
        + _group("none", "sounding_fraction")
        + _group("velocity", "velocity_mean", "velocity_std", "velocity_min", "velocity_max")
        + _group("log1p", "duration_mean", "duration_std", "duration_median", "duration_max")
        + _group("none", "drum_share")
        + _group("log1p", "drum_density")
        + (_group("none", *(f"program_{p:03d}" for p in range(128))) if programs else [])
    )
