"""Training-only MIDI augmentations on ``[E, F]`` event rows, driven by a seeded generator.

Each augmentation fires with its own probability and draws from the generator in a
fixed order, so a seed reproduces the same augmented segment.
"""

from __future__ import annotations

import numpy as np

from chroma.contracts import midi_feature_index
from chroma.midi.timing import musical_time
from chroma_framework.config.midi import (
    MidiAugmentations,
    QuantizeAugmentation,
    TransposeAugmentation,
    VelocityScaleAugmentation,
)

_PITCH, _VEL, _ONSET, _DUR, _PROG, _DRUM, _BAR, _POS = (
    midi_feature_index(n) for n in ("pitch", "velocity", "onset", "duration", "program", "is_drum", "bar", "position")
)


def transpose(events: np.ndarray, semitones: int) -> np.ndarray:
    """Shift pitched notes by ``semitones``, narrowed so no note leaves 0..127; drums stay.

    Returns a new ``[E, F]`` array (the input is not modified).
    """
    out = events.copy()
    pitched = out[:, _DRUM] < 0.5
    if pitched.any():
        low, high = out[pitched, _PITCH].min(), out[pitched, _PITCH].max()
        shift = int(np.clip(semitones, -low, 127 - high))
        out[pitched, _PITCH] += shift
    return out


def scale_velocity(events: np.ndarray, factor: float) -> np.ndarray:
    """Multiply velocities by ``factor``, rounded and clamped to 1..127."""
    out = events.copy()
    out[:, _VEL] = np.clip(np.rint(out[:, _VEL] * factor), 1, 127)
    return out


def quantize(events: np.ndarray, grid: float) -> np.ndarray:
    """Snap note starts and ends to multiples of ``grid`` seconds (each note keeps >= one cell).

    Bar and position are re-derived at the new onsets; rows are re-sorted by onset, pitch, program.
    """
    if events.shape[0] == 0:
        return events.copy()
    out = events.copy()
    onset = np.rint(events[:, _ONSET] / grid) * grid
    end = np.maximum(np.rint((events[:, _ONSET] + events[:, _DUR]) / grid) * grid, onset + grid)
    bar, pos = musical_time(
        events[:, _ONSET].astype(np.float64), (events[:, _BAR] + events[:, _POS]).astype(np.float64), onset
    )
    out[:, _ONSET], out[:, _DUR], out[:, _BAR], out[:, _POS] = onset, end - onset, bar, pos
    return out[np.lexsort((out[:, _PROG], out[:, _PITCH], out[:, _ONSET]))]


def augment(events: np.ndarray, config: MidiAugmentations, rng: np.random.Generator) -> np.ndarray:
    """Apply transpose, velocity scaling and quantisation, each with its probability.

    Args:
        events: ``[E, F]`` float32 rows.
        config: probabilities and ranges (``preprocessing.midi.augmentations``).
        rng: the loader's seeded generator.

    Returns:
        ``[E, F]`` float32 augmented rows (a copy; ``events`` is left as it was).
    """
    out = events
    tr: TransposeAugmentation = config.transpose
    if rng.random() < tr.p:
        out = transpose(out, int(rng.integers(tr.min, tr.max + 1)))
    vs: VelocityScaleAugmentation = config.velocity_scale
    if rng.random() < vs.p:
        out = scale_velocity(out, float(rng.uniform(vs.min, vs.max)))
    qz: QuantizeAugmentation = config.quantize
    if rng.random() < qz.p:
        out = quantize(out, qz.grid)
    return out if out is not events else events.copy()
