"""Lyric text cleaning and precomputed lyric vectors."""

from __future__ import annotations

import re

import numpy as np

_LRC_TAG = re.compile(r"\[\d+:\d{1,2}(?:[.:]\d+)?\]")

TEXT_ABSENT_REASONS = ("no_vocals", "empty_lyrics", "missing_embedding", "bad_embedding")


def strip_lrc(text: str) -> str:
    """``text`` without ``[mm:ss.xx]`` time tags, lines stripped, empty lines dropped."""
    lines = (_LRC_TAG.sub("", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def lyric_absent_reason(vocals: object, text: str | None) -> str | None:
    """Why a segment has no lyrics (``None`` when it has): ``vocals=False`` or empty text."""
    if vocals is not None and not bool(vocals):
        return "no_vocals"
    if text is None or not text.strip():
        return "empty_lyrics"
    return None


def check_lyric_embedding(value: object, dim: int) -> tuple[np.ndarray | None, str | None]:
    """``([dim] float32, None)`` for a usable precomputed vector, else ``(None, reason)``."""
    if value is None:
        return None, "missing_embedding"
    vec = np.asarray(value, dtype=np.float32).reshape(-1)
    if vec.shape[0] != dim or not np.isfinite(vec).all():
        return None, "bad_embedding"
    return vec, None
