"""One segment's MIDI bytes -> windowed, optionally augmented, capped event rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chroma.midi.tokenize import MidiTokenizer, TokenSequence, Vocabulary
from chroma_framework.config.midi import MidiPreprocessingSection
from chroma_framework.midi.augment import augment
from chroma_framework.midi.parse import parse_midi


@dataclass
class MidiPreprocessStats:
    """Counters a loader reports at the end of an epoch or a precompute run."""

    #: Segments processed.
    segments: int = 0
    #: Segments that had more than ``max_events`` notes.
    truncated_segments: int = 0
    #: Notes dropped by the ``max_events`` cap, over all segments.
    dropped_events: int = 0


class MidiPreprocessor:
    """Applies ``preprocessing.midi`` to one segment at a time.

    Parse errors propagate as :class:`~chroma_framework.midi.errors.MidiParseError`; the dataset
    catches them and marks the segment's MIDI absent.
    """

    def __init__(self, section: MidiPreprocessingSection) -> None:
        self.section = section
        self.tokenizer = MidiTokenizer(Vocabulary(variant=section.tokenization or "midilike"))
        self.stats = MidiPreprocessStats()

    def __call__(
        self,
        data: bytes | Path,
        *,
        start: float = 0.0,
        end: float | None = None,
        offset: float = 0.0,
        train: bool = False,
        rng: np.random.Generator | None = None,
        source: str | None = None,
    ) -> np.ndarray:
        """Parse, window, augment (``train`` only) and cap one segment.

        Args:
            data: MIDI bytes or a file path.
            start: window start in aligned seconds.
            end: window end; ``None`` uses ``start + section.duration`` (or no end).
            offset: alignment correction added to every MIDI time.
            train: apply the configured augmentations.
            rng: seeded generator for augmentation (required when ``train``).
            source: segment id used in error messages.

        Returns:
            ``[E, F]`` float32 event rows, ``E <= section.max_events`` (earliest notes kept).
        """
        if end is None and self.section.duration is not None:
            end = start + self.section.duration
        events = parse_midi(data, start=start, end=end, offset=offset, drums=self.section.drums, source=source)
        if train:
            if rng is None:
                raise ValueError("MidiPreprocessor: train=True needs a seeded rng")
            events = augment(events, self.section.augmentations, rng)
        self.stats.segments += 1
        cap = self.section.max_events
        if events.shape[0] > cap:
            self.stats.truncated_segments += 1
            self.stats.dropped_events += events.shape[0] - cap
            events = events[:cap]
        return events

    def tokenize(self, events: np.ndarray, max_tokens: int | None = None) -> TokenSequence:
        """Tokens of ``[E, F]`` rows with the section's ``tokenization`` variant."""
        return self.tokenizer.encode(events, max_tokens)
