"""Chroma's own derived streams: per-frame audio RMS and log-mel vectors, piano-roll frames of MIDI note events,
and word (or line) timings of LRC-timed lyrics.

Each function returns ``(timestamps [N] float64 seconds, values [N, D] float64)`` for one segment, timestamps
relative to the segment start (a frame's time is its centre), so the result is a
:class:`~chroma_framework.streams.stream.FeatureStream`'s samples. Audio and MIDI are taken as the data layer
decodes them for training (the configured window), so derived frames line up with what the encoders see.
"""

from __future__ import annotations

import re

import numpy as np

#: Floor of the mel power before the logarithm (keeps a silent frame's vector finite and non-zero).
MEL_FLOOR = 1e-6

_LRC_LINE = re.compile(r"^\s*((?:\[\d+:\d{1,2}(?:[.:]\d+)?\])+)(.*)$")
_LRC_TIME = re.compile(r"[\[<](\d+):(\d{1,2}(?:[.:]\d+)?)[\]>]")
_WORD_TAG = re.compile(r"<\d+:\d{1,2}(?:[.:]\d+)?>")


def _frames(wave: np.ndarray, rate: int, hop: float) -> tuple[np.ndarray, np.ndarray]:
    """``(centres [N] seconds, frames [N, W])``: non-overlapping windows of ``hop`` seconds (the last partial
    window dropped)."""
    width = max(1, int(round(hop * rate)))
    n = len(wave) // width
    frames = np.asarray(wave[: n * width], dtype=np.float64).reshape(n, width)
    return (np.arange(n) + 0.5) * width / rate, frames


def audio_rms(wave: np.ndarray, rate: int, hop: float) -> tuple[np.ndarray, np.ndarray]:
    """RMS of each ``hop``-second window of ``wave`` ``[S]`` at ``rate`` Hz -> ``([N], [N, 1])``."""
    times, frames = _frames(wave, rate, hop)
    return times, np.sqrt((frames**2).mean(axis=1, keepdims=True))


def audio_mel(wave: np.ndarray, rate: int, hop: float, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel vector (``bands`` HTK mel bands over 0 Hz to Nyquist, ``ln(max(power, MEL_FLOOR))``) of each
    ``hop``-second window of ``wave`` -> ``([N], [N, bands])``; every vector is finite and non-zero."""
    from chroma.dsp import mel_filterbank

    times, frames = _frames(wave, rate, hop)
    width = frames.shape[1]
    window = np.hanning(width) if width > 1 else np.ones(1)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    filters = mel_filterbank(width // 2 + 1, 0.0, rate / 2, bands, rate).double().numpy()
    return times, np.log(np.maximum(power @ filters, MEL_FLOOR))


def piano_roll_frames(events: np.ndarray, duration: float, hop: float) -> tuple[np.ndarray, np.ndarray]:
    """Velocity piano roll (``velocity / 127`` where a pitched or drum note sounds, 128 pitches) of MIDI note
    events ``[E, F]`` (:data:`chroma.MIDI_EVENT_FEATURES` columns) over ``[0, duration)`` in ``hop``-second frames
    -> ``([N], [N, 128])``."""
    import torch

    from chroma import MIDI_EVENT_FEATURES, MidiBatch
    from chroma.midi import piano_roll

    steps = max(1, int(np.ceil(duration / hop - 1e-9)))
    rows = torch.as_tensor(np.asarray(events, dtype=np.float32).reshape(1, -1, len(MIDI_EVENT_FEATURES)))
    batch = MidiBatch(rows, torch.tensor([rows.shape[1]]), duration)
    roll = piano_roll(batch, resolution=hop, steps=steps, drums="merge")[0, 0]  # [128, T]
    return (np.arange(steps) + 0.5) * hop, roll.T.double().numpy()


def lrc_words(text: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Word onsets of LRC-timed lyrics: each ``<mm:ss.xx>`` word tag, else each ``[mm:ss.xx]`` line tag that
    starts a non-empty line, with value 1 (a sung word) and an empty line's tag with value 0 (a pause)
    -> ``([N], [N, 1])`` sorted by time (the first of equal times kept). Text without tags gives no samples."""
    times: list[float] = []
    values: list[float] = []
    for line in (text or "").splitlines():
        match = _LRC_LINE.match(line)
        if match is None:
            continue
        words = match.group(2)
        tags = _LRC_TIME.findall(words) if _WORD_TAG.search(words) else _LRC_TIME.findall(match.group(1))
        sung = 1.0 if _WORD_TAG.sub("", words).strip() else 0.0
        for minutes, seconds in tags:
            times.append(int(minutes) * 60 + float(seconds.replace(":", ".")))
            values.append(sung)
    if not times:
        return np.empty(0), np.empty((0, 1))
    order = np.argsort(np.asarray(times), kind="stable")
    stamps, first = np.unique(np.asarray(times)[order], return_index=True)
    return stamps, np.asarray(values)[order][first].reshape(-1, 1)


def derive(
    kind: str,
    hop: float,
    dim: int,
    *,
    audio: tuple[np.ndarray, int] | None = None,
    midi: tuple[np.ndarray, float] | None = None,
    lyrics: str | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The derived stream ``kind`` of one segment from its decoded media, ``None`` when that media is absent.

    Args:
        kind: ``audio_rms``, ``audio_mel``, ``piano_roll`` or ``lrc_words``.
        hop: seconds per frame (audio and MIDI streams).
        dim: mel bands of ``audio_mel``.
        audio: ``(wave [S], sample rate)``; midi: ``(events [E, F], duration s)``; lyrics: raw lyric text.
    """
    if kind == "audio_rms":
        return None if audio is None else audio_rms(audio[0], audio[1], hop)
    if kind == "audio_mel":
        return None if audio is None else audio_mel(audio[0], audio[1], hop, dim)
    if kind == "piano_roll":
        return None if midi is None else piano_roll_frames(midi[0], midi[1], hop)
    if kind == "lrc_words":
        return None if lyrics is None else lrc_words(lyrics)
    raise ValueError(f"unknown derived stream {kind!r}")


#: The modality each derived stream is computed from.
DERIVED_FROM = {"audio_rms": "audio", "audio_mel": "audio", "piano_roll": "midi", "lrc_words": "text"}
