"""Audio blobs and files to mono float32 waveforms.

A blob is either raw little-endian float32 mono PCM at the row's sample rate, or
the bytes of an encoded file recognised by its header (``RIFF`` WAV, ``RF64`` and Sony Wave64
WAV, ``fLaC``, ``OggS``) and decoded with soundfile. A WAV written to a pipe ("streamed") cannot
go back to fill in its size fields and leaves placeholders (``0xFFFFFFFF``, or 0): its data chunk
runs to the end of the bytes. Every failure raises :class:`AudioDecodeError`
whose ``reason`` is one of :data:`AUDIO_ABSENT_REASONS`, so the caller can mark
the segment's audio absent and count why.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

#: Sample rates outside this range are treated as corrupt metadata.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000
ENCODED_HEADERS = {b"RIFF": "wav", b"RF64": "rf64", b"riff": "w64", b"fLaC": "flac", b"OggS": "ogg"}
#: RIFF size fields a streamed WAV leaves in place of the real size.
STREAMED_SIZES = (0, 0xFFFFFFFF)

AUDIO_ABSENT_REASONS = ("not_available", "missing_file", "corrupt", "bad_sample_rate", "non_finite", "empty")


class AudioDecodeError(ValueError):
    """Audio that cannot be used; ``reason`` is one of :data:`AUDIO_ABSENT_REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def blob_format(blob: bytes) -> str:
    """``"wav"``, ``"rf64"``, ``"w64"``, ``"flac"``, ``"ogg"`` by header, else ``"pcm_f32le"``."""
    return ENCODED_HEADERS.get(bytes(blob[:4]), "pcm_f32le")


def check_sample_rate(sample_rate: object) -> int:
    """``sample_rate`` as int; raises ``AudioDecodeError("bad_sample_rate")`` when null, zero or absurd."""
    if sample_rate is None:
        raise AudioDecodeError("bad_sample_rate", "raw PCM audio has no sample rate")
    try:
        rate = int(sample_rate)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise AudioDecodeError("bad_sample_rate", f"sample rate {sample_rate!r} is not an integer") from None
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(
            "bad_sample_rate", f"sample rate {rate} Hz is outside [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}]"
        )
    return rate


def _data_chunk(blob: bytes) -> tuple[int, int] | None:
    """``(offset, declared size)`` of a RIFF/WAVE blob's ``data`` chunk header, ``None`` when it has none."""
    pos = 12
    while pos + 8 <= len(blob):
        chunk, size = blob[pos : pos + 4], int.from_bytes(blob[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            return pos, size
        pos += 8 + size + (size & 1)
    return None


def riff_truncated(blob: bytes) -> bool:
    """Whether a RIFF/WAVE blob ends before its ``data`` chunk's declared end (or has none).

    libsndfile silently decodes the frames that are there, so a cut-off WAV would
    otherwise pass as a short clip.
    """
    found = _data_chunk(blob)
    if found is None:
        return True
    pos, size = found
    return size not in STREAMED_SIZES and pos + 8 + size > len(blob)


def seal_streamed_riff(blob: bytes) -> bytes:
    """A streamed RIFF/WAVE (RIFF size field a placeholder) with its real sizes written in; others unchanged.

    The ``data`` chunk keeps its declared size when that is a real one that fits; otherwise it runs to
    the end of the bytes.
    """
    found = _data_chunk(blob)
    if int.from_bytes(blob[4:8], "little") not in STREAMED_SIZES or found is None:
        return blob
    pos, declared = found
    rest = len(blob) - pos - 8
    size = declared if declared not in STREAMED_SIZES and declared <= rest else rest
    riff_size, data_size = (len(blob) - 8).to_bytes(4, "little"), size.to_bytes(4, "little")
    return b"RIFF" + riff_size + blob[8 : pos + 4] + data_size + blob[pos + 8 :]


def _decode_riff(blob: bytes, what: str) -> tuple[np.ndarray, int]:
    """Decode RIFF/WAVE bytes (streamed ones sealed first); a truncated data chunk is ``corrupt``."""
    blob = seal_streamed_riff(blob)
    if riff_truncated(blob):
        raise AudioDecodeError("corrupt", f"{what} of {len(blob)} bytes is truncated (data chunk incomplete)")
    return _soundfile_read(io.BytesIO(blob), what)


def _soundfile_read(source: io.BytesIO | Path, what: str) -> tuple[np.ndarray, int]:
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise AudioDecodeError("corrupt", f"cannot decode {what}: {exc}") from None
    return mono_mix(data), int(rate)


def mono_mix(frames: np.ndarray) -> np.ndarray:
    """``[S, C]`` float32 frames -> ``[S]`` float32, the same bytes as ``frames.mean(axis=1, dtype=np.float32)``.

    NumPy reduces a short inner axis one frame at a time (about 10 ns a frame whatever ``C``);
    summing whole channels is one vectorised pass each. NumPy adds fewer than 8 values in order,
    ``((0 + x0) + x1) + ...``, then divides by ``C``, which is what this computes; from 8
    channels on it sums pairwise, so those go through ``mean`` itself.
    """
    channels = frames.shape[1]
    if channels >= 8:
        return frames.mean(axis=1, dtype=np.float32)
    out = frames[:, 0] + np.float32(0.0)  # 0 + x0, as NumPy starts: -0.0 becomes 0.0
    for c in range(1, channels):
        out += frames[:, c]
    if channels > 1:
        out /= np.float32(channels)
    return out


def check_waveform(wave: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Validate a decoded waveform: non-empty, finite samples, sane rate."""
    rate = check_sample_rate(rate)
    if wave.size == 0:
        raise AudioDecodeError("empty", "audio has no samples")
    if not np.isfinite(wave).all():  # one pass; counting the bad samples is for the message only
        bad = int(np.count_nonzero(~np.isfinite(wave)))
        raise AudioDecodeError("non_finite", f"audio has {bad} NaN/inf samples")
    return wave, rate


def decode_audio_blob(blob: bytes, sample_rate: object, *, copy: bool = True) -> tuple[np.ndarray, int]:
    """Decode one ``audio_waveform`` blob.

    Args:
        blob: raw float32 LE PCM or an encoded WAV/FLAC/OGG file (bytes or any buffer,
            e.g. a zero-copy ``pyarrow.Buffer``).
        sample_rate: the row's ``audio_sample_rate`` (used for raw PCM only).
        copy: return raw PCM as a writable copy; ``False`` returns a read-only (possibly
            unaligned) view of ``blob`` itself, for a caller that copies it once into its own buffer.

    Returns:
        ``([S] float32 mono, sample_rate)``.

    Raises:
        AudioDecodeError: undecodable bytes, bad rate, NaN/inf or no samples.
    """
    fmt = blob_format(blob)
    if fmt == "wav":
        wave, rate = _decode_riff(bytes(blob), "WAV audio blob")
    elif fmt != "pcm_f32le":
        wave, rate = _soundfile_read(io.BytesIO(bytes(blob)), f"{fmt} audio blob")
    else:
        rate = check_sample_rate(sample_rate)
        if len(blob) % 4:
            raise AudioDecodeError(
                "corrupt", f"raw float32 PCM blob has {len(blob)} bytes, not a multiple of 4 (and no known file header)"
            )
        wave = np.frombuffer(blob, dtype="<f4")
        wave = wave.astype(np.float32) if copy else wave
    return check_waveform(wave, rate)


def load_audio_file(path: Path) -> tuple[np.ndarray, int]:
    """Decode an audio file from disk to ``([S] float32 mono, sample_rate)``."""
    if not path.is_file():
        raise AudioDecodeError("missing_file", f"audio file {path} does not exist")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == b"RIFF":
        return check_waveform(*_decode_riff(path.read_bytes(), f"WAV audio file {path}"))
    return check_waveform(*_soundfile_read(path, f"audio file {path}"))
