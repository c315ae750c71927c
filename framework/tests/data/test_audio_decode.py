"""WAV variants real writers produce: streamed (placeholder size fields), RF64 and Wave64 decode like plain WAV."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from chroma_framework.data.audio_decode import AudioDecodeError, decode_audio_blob, load_audio_file

RATE = 16_000


def _wave() -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 330 * np.arange(RATE // 4) / RATE)).astype(np.float32)


def _written(fmt: str, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _wave(), RATE, format=fmt, subtype=subtype)
    return buf.getvalue()


def _streamed(riff_size: int, data_size: int, subtype: str = "PCM_16") -> bytes:
    """What a writer to a pipe leaves: soundfile's WAV with its size fields set to placeholders."""
    blob = bytearray(_written("WAV", subtype))
    pos = blob.find(b"data")
    blob[4:8] = riff_size.to_bytes(4, "little")
    blob[pos + 4 : pos + 8] = data_size.to_bytes(4, "little")
    return bytes(blob)


CASES = {
    "streamed 0xFFFFFFFF": _streamed(0xFFFFFFFF, 0xFFFFFFFF),
    "streamed 0xFFFFFFFF float": _streamed(0xFFFFFFFF, 0xFFFFFFFF, "FLOAT"),
    "streamed, data size 0": _streamed(0xFFFFFFFF, 0),
    "streamed, data size 0x7FFFF000": _streamed(0xFFFFFFFF, 0x7FFFF000),
    "streamed, both 0": _streamed(0, 0),
    "RF64": _written("RF64"),
    "Wave64": _written("W64"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_valid_wav_variants_decode(name: str, tmp_path: Path) -> None:
    expected = _wave()
    for wave, rate in (decode_audio_blob(CASES[name], sample_rate=None), _from_file(tmp_path, CASES[name])):
        assert rate == RATE
        assert wave.shape == expected.shape, name
        np.testing.assert_allclose(wave, expected, atol=1e-4)


def _from_file(tmp_path: Path, blob: bytes) -> tuple[np.ndarray, int]:
    path = tmp_path / "clip.wav"
    path.write_bytes(blob)
    return load_audio_file(path)


def test_truncated_plain_wav_is_still_corrupt() -> None:
    blob = _written("WAV")
    with pytest.raises(AudioDecodeError, match="truncated") as info:
        decode_audio_blob(blob[: len(blob) // 2], sample_rate=None)
    assert info.value.reason == "corrupt"
