"""``chroma data inspect``: coverage per modality, label and album; absence reasons; alignment flags."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chroma.modality import MODALITIES
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import DEFAULT_SAMPLE_RATE, SegmentDataset, make_loader
from chroma_framework.data.labels import check_class_weights
from chroma_framework.data.paths import metadata_path, open_metadata
from chroma_framework.data.report import DataReport
from chroma_framework.data.splits import SPLITS, read_splits
from chroma_framework.data.transcribed_midi import TranscribedMidi, cache_path


def _coverage() -> dict[str, int]:
    return {"segments": 0, **{m: 0 for m in MODALITIES}}


@dataclass
class InspectResult:
    """Attributes:
    report: absence reasons and alignment flags.
    by_label: ``{head: {class: {"segments": n, "text": k, "audio": k, "midi": k}}}``.
    by_album: ``{album: {"segments": n, "text": k, "audio": k, "midi": k}}``.
    by_split: ``{split: {"segments": n, "text": k, "audio": k, "midi": k}}`` (the split column, or by song).
    midi_sources: ``{"real": n, "transcribed": n}``: where the present MIDI came from.
    transcription: with ``data.transcribed_midi``, the cache's ``{"path", "ok", "absent": {reason: n}}``
        (``ok``: segments with transcribed MIDI, used or not by their split).
    """

    report: DataReport
    by_label: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    by_album: dict[str, dict[str, int]] = field(default_factory=dict)
    by_split: dict[str, dict[str, int]] = field(default_factory=dict)
    midi_sources: dict[str, int] = field(default_factory=lambda: {"real": 0, "transcribed": 0})
    transcription: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report.to_dict(),
            "by_label": self.by_label,
            "by_album": self.by_album,
            "by_split": self.by_split,
            "midi_sources": self.midi_sources,
            "transcription": self.transcription,
        }


def inspect_data(config: ChromaConfig, *, batch_size: int = 32, progress: bool = True) -> InspectResult:
    """Decode every segment once (audio kept at its own rate where possible) and tabulate coverage."""
    from tqdm.auto import tqdm

    split_of = read_splits(config, config.training.seed)  # bad split values stop here, named with their counts
    dataset = SegmentDataset(config, audio_sample_rate=DEFAULT_SAMPLE_RATE, with_labels=_has_labels(config))
    if dataset.labels is not None:
        check_class_weights(config.training.loss.class_weights, dataset.label_vocab, str(metadata_path(config.data)))
    report = DataReport()
    sources: Counter[str] = Counter()
    present = np.zeros((len(dataset), len(MODALITIES)), dtype=bool)
    position = {sid: i for i, sid in enumerate(dataset.segment_ids)}
    loader = make_loader(dataset, batch_size, num_workers=config.data.precompute.num_workers)
    for batch in tqdm(loader, desc="inspect", unit="batch", disable=not progress):
        report.add_batch(batch["segment_id"], batch["absent"])
        sources.update(s for s in batch["midi_source"] if s is not None)
        rows = [position[s] for s in batch["segment_id"]]
        present[rows] = batch["modality_mask"].numpy()
    report.add_alignment(dataset.alignment.flagged, dataset.alignment.corrected, dataset.excluded)
    result = InspectResult(report, midi_sources={"real": sources["real"], "transcribed": sources["transcribed"]})
    if config.data.transcribed_midi is not None and cache_path(config.data).is_file():
        cache = dataset.transcribed or TranscribedMidi(config.data)  # reported even where no split uses it
        result.transcription = {"path": str(cache.path), "ok": len(cache.ok), "absent": cache.absent_counts}
    if dataset.labels is not None:
        for head, classes in dataset.label_vocab.items():
            values = dataset.label_array(head)
            result.by_label[head] = {c: _tally(present[values == k]) for k, c in enumerate(classes)}
    if dataset.albums is not None:
        albums = np.array([str(a) if a is not None else "<none>" for a in dataset.albums])
        result.by_album = {a: _tally(present[albums == a]) for a in sorted(set(albums.tolist()))}
    splits = np.array([split_of[sid] for sid in dataset.segment_ids])
    result.by_split = {s: _tally(present[splits == s]) for s in SPLITS if (splits == s).any()}
    return result


def _has_labels(config: ChromaConfig) -> bool:
    names = open_metadata(config.data).schema_arrow.names
    return all(h in names for h in config.data.labels)


def _tally(rows: np.ndarray) -> dict[str, int]:
    out = _coverage()
    out["segments"] = int(rows.shape[0])
    for i, m in enumerate(MODALITIES):
        out[m] = int(rows[:, i].sum()) if rows.size else 0
    return out


def format_inspect(result: InspectResult) -> str:
    """Plain-text tables of :class:`InspectResult`."""

    def table(title: str, rows: dict[str, dict[str, int]]) -> list[str]:
        width = max([len(k) for k in rows] + [len(title)])
        out = [f"{title:<{width}}  segments    text   audio    midi"]
        for key, c in rows.items():
            n = max(c["segments"], 1)
            cells = "".join(f"  {100.0 * c[m] / n:5.1f}%" for m in MODALITIES)
            out.append(f"{key:<{width}}  {c['segments']:8d}{cells}")
        return out

    lines = [result.report.summary()]
    if result.midi_sources["transcribed"] or result.transcription is not None:
        real, transcribed = result.midi_sources["real"], result.midi_sources["transcribed"]
        lines.append(f"midi by provenance: real {real}, transcribed {transcribed}")
    if result.transcription is not None:
        t = result.transcription
        absent = ", ".join(f"{r} {n}" for r, n in t["absent"].items()) or "none"
        lines.append(f"  transcription cache {t['path']}: {t['ok']} with MIDI; no MIDI: {absent}")
    lines.append("")
    if result.by_split:
        lines += table("split", result.by_split) + [""]
    for head, rows in result.by_label.items():
        lines += table(head, rows) + [""]
    if result.by_album:
        lines += table("album", result.by_album)
    return "\n".join(lines).rstrip() + "\n"
