"""MIDI preprocessing: parsing files to event rows, augmentation, collation into :class:`chroma.MidiBatch`.

Event rows follow :data:`chroma.MIDI_EVENT_FEATURES`.
"""

from chroma_framework.midi.errors import MidiParseError

__all__ = ["MidiParseError"]
