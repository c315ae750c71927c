"""``detect``: the sections of one audio file from a trained run's frame heads, as a JSON-ready dict.

The audio is decoded and prepared as in training (resampled to the encoder's rate, padded or cut to
``preprocessing.audio.duration``); boundaries are picked from the boundary head and post-processed
(``structure.postprocess``), snapped to a beat grid when one is given or, without one, to the beats librosa's
beat tracker finds (when librosa is installed; otherwise boundaries are not snapped, with a warning).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chroma.contracts import AudioBatch
from chroma.errors import ConfigError
from chroma.modality import MODALITIES, modality_index
from chroma_framework.data.errors import DataError
from chroma_framework.structure.evaluation import structure_heads
from chroma_framework.structure.postprocess import boundaries_from_probs, sections, smooth
from chroma_framework.structure.predict import frame_outputs

logger = logging.getLogger(__name__)

#: Format of the JSON ``chroma detect`` writes.
SECTIONS_KIND = "chroma.sections"


def track_beats(wave: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """Beat times in seconds from librosa's beat tracker, or ``None`` when librosa is not installed."""
    try:
        import librosa
    except ImportError:
        return None
    _, frames = librosa.beat.beat_track(y=np.asarray(wave, dtype=np.float32), sr=sample_rate, units="frames")
    return np.asarray(librosa.frames_to_time(frames, sr=sample_rate), dtype=np.float64)


def audio_batch(run: Any, audio: str | os.PathLike[str] | tuple[np.ndarray, int]) -> AudioBatch:
    """One-row :class:`~chroma.contracts.AudioBatch` of ``audio`` at the run's audio encoder rate, padded or cut to
    ``preprocessing.audio.duration`` as in training.

    Raises:
        DataError: the file cannot be decoded or the audio is unusable.
    """
    from chroma_framework.audio.pipeline import AudioPreprocessor
    from chroma_framework.data.audio_decode import AudioDecodeError, load_audio_file

    if isinstance(audio, tuple):
        wave, source_rate = audio
    else:
        try:
            wave, source_rate = load_audio_file(Path(audio))
        except AudioDecodeError as exc:
            raise DataError(f"cannot read audio {audio}: {exc}") from None
    rate = int(run.model.encoders["audio"].sample_rate)
    section = run.config.preprocessing.audio
    if len(wave) / source_rate > section.duration:
        logger.warning(
            "%s is longer than preprocessing.audio.duration (%g s): only its start is read", audio, section.duration
        )
    try:
        samples, length = AudioPreprocessor(section, rate)(np.asarray(wave, dtype=np.float32), int(source_rate))
    except ValueError as exc:
        raise DataError(f"unusable audio: {exc}") from None
    return AudioBatch(samples.unsqueeze(0), torch.tensor([length], dtype=torch.int64), rate)


def detect(
    run: Any, audio: str | os.PathLike[str] | tuple[np.ndarray, int], beats: np.ndarray | None = None
) -> dict[str, Any]:
    """The sections of ``audio`` (a file, or ``(waveform, sample_rate)``) by ``run``'s frame heads.

    Args:
        run: a :class:`chroma_framework.scoring.run.Run` with a boundary frame head.
        beats: beat times to snap to (``None``: track them, see the module doc).

    Returns:
        ``{"kind", "audio", "run", "duration", "frame_rate", "boundaries": [s], "sections": [{"start", "end",
        "energy": {band: mean}}], "beats": "given" | "tracked" | "none"}``.

    Raises:
        DataError: unreadable audio; ConfigError: the run has no boundary head.
    """
    boundary_name, energy_name = structure_heads(run)
    if "audio" not in run.model.encoders:
        raise ConfigError(f"run {run.path} has no audio encoder in its model, so it cannot read audio")
    batch_audio = audio_batch(run, audio)
    length = int(batch_audio.lengths[0])
    rate = int(batch_audio.sample_rate)
    mask = torch.zeros(1, len(MODALITIES), dtype=torch.bool)
    mask[0, modality_index("audio")] = True
    row = frame_outputs(run.model, {"modality_mask": mask, "audio": batch_audio}, run.device)[0]
    b = row[boundary_name]
    if len(b.times) < 2:
        raise ValueError("the audio is too short for the run's encoder to produce two frames")
    post = run.config.structure.postprocess
    source = "given"
    if beats is None and post.snap != "none":
        beats = track_beats(batch_audio.waveform[0, :length].numpy(), rate)
        source = "tracked" if beats is not None else "none"
        if beats is None:
            logger.warning("librosa is not installed: boundaries are not snapped to beats (pass beats, or install it)")
    grid = beats
    if grid is not None and post.snap == "downbeats":
        grid = grid[::4]
    found = boundaries_from_probs(b.probs[:, 0], b.times, post, grid)
    hop = float(b.times[1] - b.times[0])
    end = length / rate
    energy = None
    names: tuple[str, ...] = ()
    if energy_name is not None and energy_name in row:
        e = row[energy_name]
        energy, names = smooth(e.probs, max(1, int(round(post.energy_smoothing / hop)))), e.names
    return {
        "kind": SECTIONS_KIND,
        "audio": str(audio) if isinstance(audio, (str, os.PathLike)) else "<waveform>",
        "run": str(Path(run.path)),
        "duration": round(end, 3),
        "frame_rate": round(1.0 / hop, 4),
        "boundaries": [round(float(t), 3) for t in found],
        "sections": sections(found, end, b.times, energy, names),
        "beats": source if post.snap != "none" else "none",
    }
