"""Lyric text of a segment, taken from the sung syllables in the score.

The text is that of one voice: the part with the most syllables starting inside the
window (the highest such part on a tie), first verse only. Syllables are joined as
the score marks them: after a ``begin``/``middle`` syllable, or one written with a
trailing hyphen or soft hyphen (some madrigal encodings do that), the next syllable
continues the word; otherwise a space follows.
"""

from __future__ import annotations

from collections import Counter

from chroma_demo.corpus import Piece

_HYPHENS = "-\u00ad"


def join_syllables(syllables: list[tuple[str, str]]) -> str:
    """Words from ``(text, syllabic)`` pairs, e.g. ``[("Je", "begin"), ("su", "end")]`` -> ``"Jesu"``."""
    out: list[str] = []
    joined = False
    for text, syllabic in syllables:
        core = text.strip().strip(_HYPHENS)
        if not core:
            continue
        if out and not joined:
            out.append(" ")
        out.append(core)
        joined = syllabic in ("begin", "middle") or text.rstrip().endswith(tuple(_HYPHENS))
    return "".join(out).strip()


def segment_lyrics(piece: Piece, start: float, length: float) -> str:
    """Text sung in ``[start, start + length)`` (``""`` when nothing is sung there)."""
    inside = [ly for ly in piece.lyrics if start - 1e-9 <= ly[0] < start + length]
    if not inside:
        return ""
    counts = Counter(part for _, part, _, _ in inside)
    voice = min(counts, key=lambda p: (-counts[p], p))
    return join_syllables([(text, syl) for _, part, text, syl in inside if part == voice])
