"""Scoring a MIDI file longer than the window a run was trained on: every window, then one aggregate.

Training sees segments of ``preprocessing.midi.duration`` (or ``preprocessing.audio.duration``) seconds. A longer
MIDI file is cut into consecutive windows of that length, from the first one to the one holding the last note
onset; each window with notes is scored (audio, when given, is cut into the same windows) and the class
probabilities are averaged (``aggregate="mean"``, the default). ``aggregate="first"`` scores the file from
0 s as one segment, as scoring did before (a file within one window is scored that way in both modes).
:class:`Scores` says which windows were scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from chroma.contracts import midi_feature_index
from chroma_framework.config.midi import MidiPreprocessingSection

#: How the windows of a long MIDI file are turned into one score.
Aggregate = Literal["mean", "first"]
AGGREGATES: tuple[str, ...] = ("mean", "first")


@dataclass
class WindowReport:
    """Which windows of a long MIDI file were scored.

    Attributes:
        duration: window length in seconds.
        total: windows the file spans (up to the last note onset).
        scored: ``(start, end)`` seconds of each window scored.
        without_notes: ``(start, end)`` of windows skipped because they hold no note.
        aggregate: ``"mean"`` (probabilities averaged over ``scored``) or ``"first"``.
    """

    duration: float
    total: int
    scored: list[tuple[float, float]] = field(default_factory=list)
    without_notes: list[tuple[float, float]] = field(default_factory=list)
    aggregate: Aggregate = "mean"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``chroma score --json``)."""
        return {
            "aggregate": self.aggregate,
            "window_seconds": self.duration,
            "total": self.total,
            "scored": [list(w) for w in self.scored],
            "without_notes": [list(w) for w in self.without_notes],
        }

    def summary(self) -> str:
        """One line, e.g. ``3 of 4 windows of 30 s scored (0-30, 30-60, 90-120 s), mean of probabilities; ...``."""
        spans = ", ".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in self.scored[:6])
        if len(self.scored) > 6:
            spans += f", ... {_fmt(self.scored[-1][0])}-{_fmt(self.scored[-1][1])}"
        how = "mean of probabilities" if self.aggregate == "mean" else "the start of the file only (--windows first)"
        line = f"{len(self.scored)} of {self.total} windows of {_fmt(self.duration)} s scored ({spans} s), {how}"
        if self.without_notes:
            line += f"; {len(self.without_notes)} without notes skipped"
        return line


def _fmt(seconds: float) -> str:
    return f"{seconds:g}"


class Scores(dict[str, dict[str, float]]):
    """``{head: {class: probability}}``, with :attr:`windows` saying which windows of a long MIDI were scored.

    Compares and serialises as the plain dict; ``windows`` is ``None`` when the input fits one window.
    """

    windows: WindowReport | None = None


def window_count(data: bytes, section: MidiPreprocessingSection, duration: float, source: str) -> int:
    """Windows of ``duration`` seconds from 0 to the window holding the last note onset (at least 1).

    Raises:
        chroma_framework.midi.errors.MidiParseError: unreadable bytes.
    """
    from chroma_framework.midi.parse import parse_midi

    events = parse_midi(data, drums=section.drums, source=source)
    if events.shape[0] == 0:
        return 1
    last_onset = float(events[:, midi_feature_index("onset")].max())
    return max(1, math.floor(last_onset / duration) + 1)


__all__ = ["AGGREGATES", "Aggregate", "Scores", "WindowReport", "window_count"]
