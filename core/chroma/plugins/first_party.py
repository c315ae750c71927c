"""Which first-party distribution provides each first-party plugin name.

A test (``tests/test_first_party.py``) keeps this table equal to what the packages under ``plugins/`` and
``framework/`` declare.

Used for the install hint when a config names a first-party plugin whose package is
not installed, and to tell first-party plugins from external ones
(``CHROMA_DISABLE_PLUGINS=*`` disables external plugins only).
"""

from __future__ import annotations

from typing import NamedTuple


class FirstParty(NamedTuple):
    kind: str
    distribution: str


#: ``plugin name -> (kind, distribution)``.
FIRST_PARTY_PLUGINS: dict[str, FirstParty] = {
    "piano_roll": FirstParty("midi_encoder", "chroma-midi-pianoroll"),
    "event_based": FirstParty("midi_encoder", "chroma-midi-events"),
    "music_transformer": FirstParty("midi_encoder", "chroma-midi-musictransformer"),
    "midi_features": FirstParty("midi_encoder", "chroma-midi-features"),
    "audio_features": FirstParty("audio_encoder", "chroma-audio-features"),
    "cnn": FirstParty("audio_encoder", "chroma-audio-cnn"),
    "clap": FirstParty("audio_encoder", "chroma-audio-clap"),
    "musicnn": FirstParty("audio_encoder", "chroma-audio-musicnn"),
    "mert": FirstParty("audio_encoder", "chroma-audio-mert"),
    "wav2vec2": FirstParty("audio_encoder", "chroma-audio-wav2vec2"),
    "stream_projection": FirstParty("audio_encoder", "chroma-stream-projection"),
    "late": FirstParty("fusion", "chroma-fusion-late"),
    "early": FirstParty("fusion", "chroma-fusion-early"),
    "cross_attention": FirstParty("fusion", "chroma-fusion-crossattn"),
    "gated": FirstParty("fusion", "chroma-fusion-gated"),
    "hf_text": FirstParty("text_encoder", "chroma-text-hf"),
    "precomputed": FirstParty("text_encoder", "chroma-framework"),
    "boundary": FirstParty("frame_head", "chroma-framework"),
    "energy": FirstParty("frame_head", "chroma-framework"),
    "event": FirstParty("frame_head", "chroma-framework"),
}

FIRST_PARTY_DISTRIBUTIONS: frozenset[str] = frozenset(fp.distribution for fp in FIRST_PARTY_PLUGINS.values())


def first_party_names(kind: str) -> list[str]:
    """Sorted first-party plugin names of ``kind``."""
    return sorted(name for name, fp in FIRST_PARTY_PLUGINS.items() if fp.kind == kind)


def checkout_path(distribution: str) -> str:
    """Where a first-party distribution lives in a chroma checkout: ``plugins/fusion_late``, ``framework``."""
    if distribution == "chroma-framework":
        return "framework"
    return "plugins/" + distribution.removeprefix("chroma-").replace("-", "_")


def install_hint(distribution: str) -> str:
    """How to install a first-party distribution: they are not on the package index, so from the checkout."""
    return (
        f"install {distribution} from a chroma checkout with `pip install ./{checkout_path(distribution)}` "
        "(it is not on the package index)"
    )
