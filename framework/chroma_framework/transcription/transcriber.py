"""One clip -> transcribed MIDI bytes, or no MIDI and the reason.

Audio is checked before the model sees it: no samples, NaN/inf samples, a bad rate, fewer than
``min_audio_seconds`` or a peak below ``silence_dbfs`` give no MIDI with a reason. The clip is
resampled to basic-pitch's 22 050 Hz with :func:`chroma.dsp.resample`, run through the ONNX
model and decoded with the configured thresholds; a clip in which no note reaches them gives
no MIDI either (``no_notes``). The same clip and settings give the same bytes on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from chroma.dsp import resample
from chroma_framework.config.transcription import TranscribedMidiSection
from chroma_framework.transcription.model import BasicPitchModel
from chroma_framework.transcription.notes import notes_to_midi, posteriors_to_notes

#: Reasons a clip gets no MIDI (besides ``audio_<reason>`` for audio the data layer could not decode).
TRANSCRIPTION_ABSENT_REASONS = (
    "audio_empty",
    "audio_bad_shape",
    "audio_non_finite",
    "audio_bad_sample_rate",
    "audio_too_short",
    "audio_silent",
    "posteriors_non_finite",
    "no_notes",
)


@dataclass(frozen=True)
class Transcription:
    """The result for one clip.

    Attributes:
        midi: standard MIDI file bytes, ``None`` when absent.
        reason: why there is no MIDI (one of :data:`TRANSCRIPTION_ABSENT_REASONS`), ``None`` when present.
        notes: ``[N, 4]`` rows ``(onset s, offset s, pitch, velocity)``.
    """

    midi: bytes | None
    reason: str | None
    notes: np.ndarray

    @classmethod
    def absent(cls, reason: str) -> Transcription:
        return cls(None, reason, np.zeros((0, 4), dtype=np.float64))


def provenance(version: str, section: TranscribedMidiSection) -> str:
    """``transcribed:basic-pitch-<version>:<thresholds>``, stored with every cached row."""
    return f"transcribed:basic-pitch-{version}:{section.settings_tag()}"


def audio_problem(wave: np.ndarray, sample_rate: int, section: TranscribedMidiSection) -> str | None:
    """Why ``wave`` cannot be transcribed, or ``None``.

    Args:
        wave: ``[S]`` mono samples (``[C, S]`` is mixed down by the caller).
        sample_rate: its rate in Hz.
        section: the length and silence limits.
    """
    if int(sample_rate) <= 0:
        return "audio_bad_sample_rate"
    if wave.size == 0:
        return "audio_empty"
    if not np.isfinite(wave).all():
        return "audio_non_finite"
    if wave.shape[-1] < section.min_audio_seconds * sample_rate:
        return "audio_too_short"
    if float(np.abs(wave).max()) < 10.0 ** (section.silence_dbfs / 20.0):
        return "audio_silent"
    return None


class Transcriber:
    """basic-pitch with the thresholds of ``section``; call it on ``(wave, sample_rate)``.

    Args:
        section: the ``data.transcribed_midi`` settings.

    Attributes:
        provenance: the string identifying model and settings (see :func:`provenance`).

    Raises:
        TranscriptionUnavailable: basic-pitch or onnxruntime is not installed.
    """

    def __init__(self, section: TranscribedMidiSection) -> None:
        self.section = section
        self.model = BasicPitchModel(section.threads)
        self.provenance = provenance(self.model.version, section)

    def __call__(self, wave: np.ndarray, sample_rate: int) -> Transcription:
        """Transcribe one clip.

        Args:
            wave: ``[S]`` mono or ``[C, S]`` channels-first float samples.
            sample_rate: its rate in Hz.
        """
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim == 2:
            wave = wave.mean(axis=0)
        if wave.ndim != 1:
            return Transcription.absent("audio_empty" if wave.size == 0 else "audio_bad_shape")
        reason = audio_problem(wave, int(sample_rate), self.section)
        if reason is not None:
            return Transcription.absent(reason)
        rate = self.model.sample_rate
        audio = resample(torch.from_numpy(np.ascontiguousarray(wave)), int(sample_rate), rate).numpy()
        posteriors = self.model.posteriors(audio)
        if not all(np.isfinite(p).all() for p in posteriors.values()):
            return Transcription.absent("posteriors_non_finite")
        notes = posteriors_to_notes(posteriors, self.section, self.model.note_creation, self.model.constants)
        if notes.shape[0] == 0:
            return Transcription.absent("no_notes")
        return Transcription(notes_to_midi(notes), None, notes)
