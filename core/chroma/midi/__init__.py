"""MIDI preprocessing: parsing to event rows, piano rolls, tokens, augmentation and collation.

Event rows follow :data:`chroma.contracts.MIDI_EVENT_FEATURES`. Only :mod:`chroma.midi.pianoroll`,
:mod:`chroma.midi.collate` and :mod:`chroma.midi.tokenize`'s batch helper import torch.
"""

from chroma.midi.errors import MidiParseError

__all__ = ["MidiParseError"]
