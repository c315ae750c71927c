"""MIDI helpers for encoder plugins: piano rolls and tokens computed from :class:`chroma.MidiBatch` events.

Event rows follow :data:`chroma.MIDI_EVENT_FEATURES`. Parsing MIDI files into events is the framework's job
(``chroma_framework.midi``); everything here works on event tensors. Names load on first use, so a plugin's
light ``plugin.py`` may import the token options without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chroma.lazy import lazy_getattr

_LAZY = {
    "MidiTokenEmbedding": "chroma.midi.embedding",
    "piano_roll": "chroma.midi.pianoroll",
    "roll_channels": "chroma.midi.pianoroll",
    "MidiTokenOptions": "chroma.midi.token_options",
    "TokenTransformerOptions": "chroma.midi.token_options",
    "PAD_ID": "chroma.midi.tokenize",
    "MidiTokenizer": "chroma.midi.tokenize",
    "TokenSequence": "chroma.midi.tokenize",
    "Vocabulary": "chroma.midi.tokenize",
    "tokenize_batch": "chroma.midi.tokenize",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:
    from chroma.midi.embedding import MidiTokenEmbedding
    from chroma.midi.pianoroll import piano_roll, roll_channels
    from chroma.midi.token_options import MidiTokenOptions, TokenTransformerOptions
    from chroma.midi.tokenize import PAD_ID, MidiTokenizer, TokenSequence, Vocabulary, tokenize_batch

__getattr__ = lazy_getattr(__name__, _LAZY)
