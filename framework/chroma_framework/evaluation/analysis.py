"""Evaluation of a trained run on its test split.

* **overall** and **per album** metrics with the data's natural missingness;
* **natural missingness**: metrics per presence pattern as the data has it
  (e.g. rows with MIDI only), which mixes modality and sample difficulty;
* **subset matrix**: every non-empty subset of the run's modalities (7 for three)
  imposed by test-time masking, measured twice: on the complete-case rows (all of
  the run's modalities present), so only the modalities differ between cells, and
  on every row that has the kept modalities (e.g. MIDI-only over all MIDI rows),
  which rests on many more rows;
* **degradation**: all rows with each modality dropped in turn, against all available;
* **rows with a modality**: all available modalities on the rows that have a given one (e.g. the
  fused model on the MIDI rows, the same rows the MIDI-only cell is measured on);
* **fusion weights**: mean gate/attention weights per natural presence pattern,
  when the fusion exposes per-row weights;
* **baseline**: per-head gain over another run (e.g. the text-only baseline)
  on the same test segments;
* **MIDI provenance** (with ``data.transcribed_midi``): overall and MIDI-only metrics on the rows
  whose MIDI is real and, apart, on those whose MIDI was transcribed from audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import torch
from torch import Tensor

from chroma.modality import MODALITIES, modality_index
from chroma_framework.evaluation.midi_provenance import midi_sources, provenance_metrics
from chroma_framework.metrics import HeadMetrics, all_head_metrics
from chroma_framework.predict import Predictions, predict
from chroma_framework.scoring.run import Run
from chroma_framework.training.data import SplitTensors, subset_mask


def subset_name(modalities: tuple[str, ...] | list[str]) -> str:
    """``"text+midi"`` style name of a modality subset."""
    return "+".join(modalities) if modalities else "none"


def nonempty_subsets(modalities: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``modalities`` in :data:`MODALITIES` order, smallest first."""
    ordered = tuple(m for m in MODALITIES if m in modalities)
    return [c for k in range(1, len(ordered) + 1) for c in combinations(ordered, k)]


def pattern_of(row: Tensor) -> str:
    """Name of the presence pattern of one ``[3]`` bool mask row."""
    return subset_name([m for m, p in zip(MODALITIES, row.tolist()) if p])


def _table(metrics: dict[str, HeadMetrics]) -> dict[str, Any]:
    return {h: m.as_dict() for h, m in metrics.items()}


@dataclass
class Evaluation:
    """Everything :func:`evaluate` measured (JSON-ready via :meth:`as_dict`)."""

    run: str
    split: str
    n_rows: int
    classes: dict[str, list[str]]
    overall: dict[str, HeadMetrics]
    per_album: dict[str, dict[str, HeadMetrics]]
    natural: dict[str, dict[str, HeadMetrics]]
    subsets: dict[str, dict[str, HeadMetrics]]
    complete_rows: int
    available: dict[str, dict[str, HeadMetrics]]
    available_rows: dict[str, int]
    with_modality: dict[str, dict[str, HeadMetrics]]
    degradation: dict[str, dict[str, HeadMetrics]]
    weights: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    predictions: Predictions | None = None
    #: ``{"real" | "transcribed": {"rows", "overall", "midi_only"}}`` (see :func:`provenance_metrics`).
    midi_provenance: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        nested = lambda d: {k: _table(v) for k, v in d.items()}
        return {
            "run": self.run,
            "split": self.split,
            "n_rows": self.n_rows,
            "classes": self.classes,
            "overall": _table(self.overall),
            "per_album": nested(self.per_album),
            "natural_missingness": nested(self.natural),
            "subset_matrix": {"complete_case_rows": self.complete_rows, "subsets": nested(self.subsets)},
            "available_subset_matrix": {"rows": self.available_rows, "subsets": nested(self.available)},
            "rows_with_modality": nested(self.with_modality),
            "degradation": nested(self.degradation),
            "fusion_weights": self.weights,
            "baseline": self.baseline,
            "midi_provenance": {
                name: {k: (v if k == "rows" else _table(v)) for k, v in group.items()}
                for name, group in self.midi_provenance.items()
            },
        }


def batch_source(run: Run) -> Any:
    """The batches of ``run``'s data, read as it was trained.

    Raises:
        chroma_framework.frozen_encoders.EmbeddingsMismatchError: the embeddings file holds other
            embeddings than the run was trained on (precomputed again since), naming the modality.
    """
    from chroma_framework.data.paths import resolve
    from chroma_framework.frozen_encoders import check_run_embeddings
    from chroma_framework.training.loop import make_source

    source = make_source(run.config, run.device, run.classes)
    embeddings_path = resolve(run.config.data, run.config.data.embeddings_path)
    check_run_embeddings(run.path, run.header.get("fingerprints") or {}, source.fingerprints, embeddings_path)
    return source


def _segment_ids(source: Any, split: str) -> list[str]:
    if hasattr(source, "splits"):
        return list(source.splits[split].segment_ids)
    return list(source.dataset(split).segment_ids)


def source_batch_size(source: Any) -> int:
    return int(getattr(source, "batch_size", None) or source.config.training.batch_size)


def _metrics(preds: Predictions, classes: dict[str, list[str]]) -> dict[str, HeadMetrics]:
    return all_head_metrics(preds.logits, preds.labels, classes)


def _mean_weights(preds: Predictions) -> dict[str, dict[str, list[float]]]:
    """``{weight name: {pattern: mean vector}}`` for per-row weights that reduce to a vector."""
    out: dict[str, dict[str, list[float]]] = {}
    patterns = [pattern_of(r) for r in preds.mask]
    for name, value in preds.weights.items():
        if value.dim() == 4:  # [N, heads, queries, keys]: average the attention heads
            value = value.mean(dim=1)
        flat = value.reshape(value.shape[0], -1)
        if flat.shape[1] > 16:  # attention over sequence positions: too large to summarise per pattern
            continue
        per: dict[str, list[float]] = {"all": flat.mean(dim=0).tolist()}
        for pattern in sorted(set(patterns)):
            rows = torch.tensor([p == pattern for p in patterns])
            per[pattern] = flat[rows].mean(dim=0).tolist()
        out[name] = per
    return out


def evaluate(run: Run, split: str = "test", baseline: Run | None = None) -> Evaluation:
    """Evaluate ``run`` on ``split`` (see the module docstring for what is measured).

    Raises:
        ValueError: the split is empty, or ``baseline`` was evaluated on other segments.
    """
    source = batch_source(run)
    if source.split_size(split) == 0:
        raise ValueError(f"the {split} split of {run.path} is empty")
    classes = run.classes
    reuse = not run.model.fusion.uses_sequences
    full = predict(run.model, source.eval_batches(split), run.device, keep_embeddings=reuse)
    natural_mask = full.mask
    albums = source.albums(split)

    per_album = {}
    for album in sorted({a for a in albums if a is not None}):
        rows = torch.tensor([a == album for a in albums])
        per_album[album] = _metrics(full.take(rows), classes)

    patterns = [pattern_of(r) for r in natural_mask]
    natural = {}
    for pattern in sorted(set(patterns)):
        natural[pattern] = _metrics(full.take(torch.tensor([p == pattern for p in patterns])), classes)

    used = subset_mask(run.modalities)
    complete = (natural_mask[:, used]).all(dim=1)
    subsets: dict[str, dict[str, HeadMetrics]] = {}
    available: dict[str, dict[str, HeadMetrics]] = {}
    available_rows: dict[str, int] = {}
    degradation: dict[str, dict[str, HeadMetrics]] = {"all available": _metrics(full, classes)}
    cached = SplitTensors(_segment_ids(source, split), full.embeddings, natural_mask, full.labels) if reuse else None
    midi_only: Predictions | None = None
    for subset in nonempty_subsets(run.modalities):
        # Pooled-only fusions: re-fuse the stored encoder outputs instead of decoding and encoding again.
        batches = (
            cached.batches(source_batch_size(source), mask=subset_mask(subset))
            if cached is not None
            else source.eval_batches(split, subset_mask(subset))
        )
        masked = predict(run.model, batches, run.device, keep_weights=False)
        if subset == ("midi",):
            midi_only = masked
        if bool(complete.any()):
            subsets[subset_name(subset)] = _metrics(masked.take(complete), classes)
        has_kept = natural_mask[:, subset_mask(subset)].all(dim=1)
        if bool(has_kept.any()):
            available[subset_name(subset)] = _metrics(masked.take(has_kept), classes)
            available_rows[subset_name(subset)] = int(has_kept.sum())
        if len(subset) == len(run.modalities) - 1:
            dropped = next(m for m in run.modalities if m not in subset)
            degradation[f"without {dropped}"] = _metrics(masked, classes)

    result = Evaluation(
        run=str(run.path),
        split=split,
        n_rows=len(full),
        classes=classes,
        overall=_metrics(full, classes),
        per_album=per_album,
        natural=natural,
        subsets=subsets,
        complete_rows=int(complete.sum()),
        available=available,
        available_rows=available_rows,
        with_modality={
            m: _metrics(full.take(natural_mask[:, modality_index(m)]), classes)
            for m in run.modalities
            if bool(natural_mask[:, modality_index(m)].any())
        },
        degradation=degradation,
        weights=_mean_weights(full),
        predictions=full,
    )
    if run.config.data.transcribed_midi is not None and "midi" in run.modalities:
        sources = midi_sources(run.config, split, _segment_ids(source, split))
        result.midi_provenance = provenance_metrics(full, midi_only, sources, classes)
    if baseline is not None:
        result.baseline = compare_baseline(run, result, baseline, split, _segment_ids(source, split))
    return result


def compare_baseline(run: Run, result: Evaluation, baseline: Run, split: str, ids: list[str]) -> dict[str, Any]:
    """Per-head accuracy and macro-F1 of ``run`` minus ``baseline`` on the same segments.

    Raises:
        ValueError: the two runs' test splits hold different segments, or their heads/classes differ.
    """
    if baseline.classes != run.classes:
        raise ValueError(
            f"baseline {baseline.path} predicts other heads/classes ({baseline.classes}) than {run.path} ({run.classes})"
        )
    source = batch_source(baseline)
    base_ids = _segment_ids(source, split)
    if base_ids != ids:
        raise ValueError(
            f"baseline {baseline.path} has a different {split} split ({len(base_ids)} vs {len(ids)} segments); "
            "train both runs on the same data, seed and split settings"
        )
    base = _metrics(
        predict(baseline.model, source.eval_batches(split), baseline.device, keep_weights=False), run.classes
    )
    heads = {}
    for head, m in result.overall.items():
        b = base[head]
        heads[head] = {
            "accuracy": m.accuracy,
            "baseline_accuracy": b.accuracy,
            "accuracy_gain": m.accuracy - b.accuracy,
            "macro_f1": m.macro_f1,
            "baseline_macro_f1": b.macro_f1,
            "macro_f1_gain": m.macro_f1 - b.macro_f1,
        }
    return {
        "baseline_run": str(baseline.path),
        "baseline_modalities": list(baseline.modalities),
        "heads": heads,
    }
