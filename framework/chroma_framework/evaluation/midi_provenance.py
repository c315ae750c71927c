"""Evaluation split by where each row's MIDI came from: real MIDI vs MIDI transcribed from audio.

With ``data.transcribed_midi``, rows whose split lets them take transcribed MIDI (``evaluate_on`` for
the test split) mix two kinds of MIDI input. Each evaluated row's provenance is what the data layer
loads for it (:attr:`SegmentDataset.midi_source <chroma_framework.data.dataset.SegmentDataset>`),
so the metrics of real-MIDI rows, including the MIDI-only subset (the inference case), are never
mixed with transcribed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from chroma.modality import modality_index
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.metrics import all_head_metrics
from chroma_framework.predict import Predictions

#: Provenance groups, in report order.
PROVENANCES = ("real", "transcribed")
#: Segments whose MIDI is loaded per read.
_READ_BATCH = 256


def midi_sources(config: ChromaConfig, split: str, segment_ids: Sequence[str]) -> list[str | None]:
    """``"real"``, ``"transcribed"`` or ``None`` (no MIDI) per segment id, as the data layer loads ``split``."""
    dataset = SegmentDataset(config, split=split, modalities=("midi",), with_labels=False)
    found: dict[str, str | None] = {}
    for start in range(0, len(dataset), _READ_BATCH):
        for item in dataset.__getitems__(list(range(start, min(start + _READ_BATCH, len(dataset))))):
            found[item["segment_id"]] = item["midi_source"]
    return [found.get(sid) for sid in segment_ids]


def provenance_metrics(
    full: Predictions,
    midi_only: Predictions | None,
    sources: Sequence[str | None],
    classes: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    """Metrics per MIDI provenance.

    Args:
        full: predictions of every row with its natural modalities (``N`` rows).
        midi_only: the same rows with everything but MIDI masked, ``None`` when the run has no MIDI.
        sources: ``N`` provenances (:func:`midi_sources`).
        classes: ``{head: class names}``.

    Returns:
        ``{"real" | "transcribed": {"rows": n, "overall": {head: HeadMetrics}, "midi_only": {...}}}`` over
        the rows whose model input held MIDI of that provenance (groups without rows are left out).
    """
    has_midi = full.mask[:, modality_index("midi")]
    out: dict[str, dict[str, Any]] = {}
    for name in PROVENANCES:
        rows = has_midi & torch.tensor([s == name for s in sources], dtype=torch.bool)
        if not bool(rows.any()):
            continue
        kept = full.take(rows)
        group: dict[str, Any] = {
            "rows": int(rows.sum()),
            "overall": all_head_metrics(kept.logits, kept.labels, classes),
        }
        if midi_only is not None:
            masked = midi_only.take(rows)
            group["midi_only"] = all_head_metrics(masked.logits, masked.labels, classes)
        out[name] = group
    return out
