"""basic-pitch posteriors -> note events (its own note-creation functions) -> standard MIDI bytes (symusic)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import symusic

from chroma_framework.config.transcription import TranscribedMidiSection

#: Ticks per quarter of the written files; at the default 120 qpm a second is 960 ticks.
TICKS_PER_QUARTER = 480
TICKS_PER_SECOND = TICKS_PER_QUARTER * 2
#: Program of the single transcribed track (acoustic grand piano: basic-pitch does not name instruments).
PROGRAM = 0
TRACK_NAME = "basic-pitch"


def min_note_frames(min_note_ms: float, sample_rate: int, fft_hop: int) -> int:
    """basic-pitch's conversion of a minimum note length in ms to frames (``predict()``'s)."""
    return int(np.round(min_note_ms / 1000 * (sample_rate / fft_hop)))


def posteriors_to_notes(
    posteriors: dict[str, np.ndarray], section: TranscribedMidiSection, note_creation: ModuleType, constants: ModuleType
) -> np.ndarray:
    """Decode posteriors into notes with basic-pitch's ``output_to_notes_polyphonic``.

    Args:
        posteriors: ``{"note": [T, 88], "onset": [T, 88], ...}`` from the model.
        section: thresholds and post-processing switches.
        note_creation, constants: basic-pitch's modules of those names.

    Returns:
        ``[N, 4]`` float64 rows ``(onset s, offset s, MIDI pitch, velocity 1..127)`` sorted by onset, then pitch.
    """
    events = note_creation.output_to_notes_polyphonic(
        posteriors["note"],
        posteriors["onset"],
        onset_thresh=section.onset_threshold,
        frame_thresh=section.frame_threshold,
        min_note_len=min_note_frames(section.min_note_ms, constants.AUDIO_SAMPLE_RATE, constants.FFT_HOP),
        infer_onsets=section.infer_onsets,
        max_freq=section.max_frequency,
        min_freq=section.min_frequency,
        melodia_trick=section.melodia_trick,
    )
    if not events:
        return np.zeros((0, 4), dtype=np.float64)
    times = note_creation.model_frames_to_time(posteriors["note"].shape[0])
    rows = np.array(
        [
            (max(0.0, float(times[start])), float(times[end]), int(pitch), int(np.clip(np.round(127 * amp), 1, 127)))
            for start, end, pitch, amp in events
        ],
        dtype=np.float64,
    )
    return rows[np.lexsort((rows[:, 2], rows[:, 0]))]


def notes_to_midi(notes: np.ndarray) -> bytes:
    """A standard MIDI file (format 1, one piano track, 120 qpm) holding ``notes``.

    Args:
        notes: ``[N, 4]`` rows ``(onset s, offset s, pitch, velocity)``.
    """
    # symusic's stubs type these factories' results without their attributes.
    score: Any = symusic.Score(TICKS_PER_QUARTER)
    score.tempos.append(symusic.Tempo(0, 120.0))
    track: Any = symusic.Track(name=TRACK_NAME, program=PROGRAM, is_drum=False)
    for onset, offset, pitch, velocity in notes:
        start = round(onset * TICKS_PER_SECOND)
        track.notes.append(
            symusic.Note(start, max(1, round(offset * TICKS_PER_SECOND) - start), int(pitch), int(velocity))
        )
    score.tracks.append(track)
    return bytes(score.dumps_midi())
