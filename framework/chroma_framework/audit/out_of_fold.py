"""Out-of-fold class probabilities of every segment head, on the fast path.

The segments of all three splits are pooled (ordered by segment id) and dealt into ``K`` stratified, seeded folds
(:func:`~chroma_framework.audit.folds.stratified_folds`, by the joint labels of every head). For
each fold a fresh model of the config (its encoders' embeddings or cached inputs, its fusion, its
heads) is trained by :class:`chroma_framework.training.loop.Trainer` on the other folds, with a
stratified tenth of them held back for early stopping and model selection, and its best weights
predict the held-out fold. Every segment thus gets probabilities from a model that never saw its
label, which is what confident learning needs.

Folds are not grouped by song: the segments of a song that are not held out stay in training, so
a mislabelled segment is judged against its correctly labelled neighbours.

With ``repeats`` R > 1 the whole K-fold is run R times, repeat ``r`` with fold seed ``seed + r`` and
model seed ``training.seed + r``, and the probabilities are averaged: an ensemble whose members each
held the row out. ``solo`` modalities are also predicted alone (the model given only that modality,
on the rows that have it), as further sources of evidence.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from chroma.errors import ConfigError
from chroma.modality import modality_index
from chroma.plugins.registry import PluginRegistry
from chroma_framework.audit.folds import concat_splits, joint_strata, stratified_folds, take_rows
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.predict import predict
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training import run_dir as rd
from chroma_framework.training.data import PrecomputedSource, subset_mask
from chroma_framework.training.loop import Trainer, make_source, prepare_config, resolve_device

#: Share of each fold's training segments held back for early stopping.
VAL_FRACTION = 0.1
#: Name of the fold models' fused probabilities among :attr:`OutOfFold.sources`.
MODEL_SOURCE = "model"


def solo_source(modality: str) -> str:
    """Name of the fold models' ``modality``-alone probabilities among :attr:`OutOfFold.sources`."""
    return f"{modality}_only"


@dataclass
class OutOfFold:
    """Out-of-fold predictions over ``N`` segments.

    Attributes:
        segment_ids: ``N`` ids.
        classes: ``{head: class names}``.
        labels: ``{head: [N] int64}`` given labels (indices into ``classes[head]``).
        probabilities: ``{head: [N, C] float64}`` the evidence the audit ranks by: predicted by models
            that did not train on the row (the fold models alone, or combined with the other sources).
        folds: ``[N] int64`` fold of each row (of the first repeat).
        mask: ``[N, 3]`` bool modality presence.
        sources: ``{source: {head: [N, C]}}`` each source of evidence (:data:`MODEL_SOURCE`,
            ``<modality>_only``, ``probe``, ``neighbours``), out of fold.
        covered: ``{source: [N] bool}`` rows each source has evidence for.
    """

    segment_ids: list[str]
    classes: dict[str, list[str]]
    labels: dict[str, np.ndarray]
    probabilities: dict[str, np.ndarray]
    folds: np.ndarray
    mask: np.ndarray | None = None
    sources: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    covered: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.segment_ids)

    def accuracy(self, head: str) -> float:
        """Share of rows whose out-of-fold arg-max is their given label."""
        return float((self.probabilities[head].argmax(axis=1) == self.labels[head]).mean())


def audit_config(
    config: ChromaConfig, epochs: int | None = None, stop_on: str | list[str] | None = None
) -> ChromaConfig:
    """``config`` on the fast path (``training.mode: precomputed``), without per-epoch progress bars,
    with ``epochs`` and the early-stopping metric ``stop_on`` (``training.early_stopping.metric``) if given."""
    update: dict[str, object] = {"mode": "precomputed", "progress": False}
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {epochs}")
        update["epochs"] = epochs
    if stop_on is not None:
        stopping = config.training.early_stopping
        try:
            update["early_stopping"] = type(stopping).model_validate({**stopping.model_dump(), "metric": stop_on})
        except ValidationError as exc:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise ConfigError(f"--stop-on {stop_on!r}: {reasons}") from None
    return config.model_copy(update={"training": config.training.model_copy(update=update)})


def out_of_fold_probabilities(
    config: ChromaConfig,
    *,
    folds: int = 5,
    seed: int | None = None,
    epochs: int | None = None,
    repeats: int = 1,
    solo: tuple[str, ...] = (),
    stop_on: str | list[str] | None = None,
    train: bool = True,
    progress: bool = True,
    registry: PluginRegistry | None = None,
) -> tuple[OutOfFold, dict[str, np.ndarray]]:
    """Train ``folds`` models (``repeats`` times) and collect each segment's probabilities from the ones that
    held it out.

    Args:
        config: the run configuration; its embeddings (and input caches of trainable encoders) must
            have been precomputed (``chroma precompute``).
        folds: ``K``.
        seed: fold assignment seed of the first repeat (default ``training.seed``); its models are
            initialised with ``training.seed``, repeat ``r``'s with ``training.seed + r`` and folds of ``seed + r``.
        epochs: training epochs per fold (default ``training.epochs``; early stopping applies).
        repeats: ``R``, K-fold runs averaged.
        solo: modalities whose alone-predictions are kept as sources ``<modality>_only``.
        stop_on: the fold models' early-stopping metric (default ``training.early_stopping.metric``).
        train: train the fold models; without, only the pool, its folds and embeddings are returned (no
            sources, no probabilities) for evidence that needs no model (:mod:`~chroma_framework.audit.evidence`).
        progress: show a progress bar over the folds.
        registry: plugin registry for building the models.

    Returns:
        the out-of-fold predictions (``probabilities`` = the fused model's), and the pooled rows'
        precomputed embeddings ``{modality: [N, D] float32}`` (zero where absent) for the other evidence.

    Raises:
        ConfigError: missing embeddings or caches, too few segments for ``folds`` folds, ``repeats < 1``
            or a ``solo`` modality the model does not read.
    """
    from tqdm.auto import tqdm

    if repeats < 1:
        raise ConfigError(f"--repeats must be at least 1, got {repeats}")
    config = prepare_config(audit_config(config, epochs, stop_on))
    unknown = [m for m in solo if m not in config.model.modalities]
    if unknown:
        raise ConfigError(f"--solo {', '.join(unknown)}: not among model.modalities {config.model.modalities}")
    seed = config.training.seed if seed is None else seed
    source = make_source(config, resolve_device(config.training.device))
    assert isinstance(source, PrecomputedSource)  # audit_config forces training.mode: precomputed
    pool = concat_splits(source.splits)
    # By segment id, so that the folds do not depend on how training.seed dealt the splits.
    pool = take_rows(pool, np.argsort(np.array(pool.segment_ids, dtype=str), kind="stable"))
    labels = {h: y.cpu().numpy() for h, y in pool.labels.items()}
    mask = pool.mask.cpu().numpy().astype(bool)
    strata = joint_strata(labels)
    inner_folds = round(1 / VAL_FRACTION)
    if len(pool) < folds * 2:
        raise ConfigError(f"--folds {folds} needs at least {folds * 2} labelled segments, the data has {len(pool)}")
    try:
        assignments = [stratified_folds(strata, folds, seed + r) for r in range(repeats)]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = [MODEL_SOURCE, *(solo_source(m) for m in solo)] if train else []
    sums = {name: {h: np.zeros((len(pool), len(c))) for h, c in source.classes.items()} for name in names}
    masks = {MODEL_SOURCE: None, **{solo_source(m): subset_mask([m]) for m in solo}}
    with tempfile.TemporaryDirectory(prefix="chroma-audit-") as tmp:
        runs = [(r, k) for r in range(repeats) for k in range(folds)] if train else []
        for r, k in tqdm(runs, desc="label audit: folds", unit="fold", disable=not progress):
            fold_of = assignments[r]
            held = np.flatnonzero(fold_of == k)
            rest = np.flatnonzero(fold_of != k)
            inner = stratified_folds(strata[rest], min(inner_folds, len(rest)), seed + r + k + 1)
            fold_source = copy.copy(source)
            fold_source.splits = {
                "train": take_rows(pool, rest[inner != 0]),
                "val": take_rows(pool, rest[inner == 0]),
                "test": take_rows(pool, held),
            }
            training = config.training.model_copy(update={"seed": config.training.seed + r})
            fold_source.seed = training.seed  # the batch order, as a run of that seed has it
            trainer = Trainer(
                config.model_copy(update={"training": training}),
                Path(tmp) / f"repeat{r}_fold{k}",
                fold_source,
                registry=registry,
            )
            trainer.fit()
            ckpt.load_model(trainer.run_dir / rd.MODEL_FILE, trainer.model)
            for name in names:
                batches = fold_source.eval_batches("test", masks[name])
                preds = predict(trainer.model, batches, trainer.device, keep_weights=False)
                for head, p in preds.probabilities().items():
                    sums[name][head][held] += p.double().numpy()
    sources = {name: {h: v / repeats for h, v in by_head.items()} for name, by_head in sums.items()}
    covered = {MODEL_SOURCE: np.ones(len(pool), dtype=bool)} if train else {}
    covered.update({solo_source(m): mask[:, modality_index(m)] for m in solo if train})
    oof = OutOfFold(
        pool.segment_ids,
        dict(source.classes),
        labels,
        dict(sources[MODEL_SOURCE]) if train else {},
        assignments[0],
        mask,
        sources,
        covered,
    )
    return oof, {m: e.cpu().numpy() for m, e in pool.embeddings.items()}


def out_of_fold_arrays(oof: OutOfFold) -> dict[str, np.ndarray]:
    """``oof`` as plain arrays (no objects, so ``np.load(..., allow_pickle=False)`` reads them back):
    ``segment_ids``, ``folds``, ``mask`` and per head ``labels__<head>``, ``classes__<head>``,
    ``probabilities__<head>``, and per source ``<source>__<head>`` and ``covered__<source>``."""
    arrays: dict[str, np.ndarray] = {"segment_ids": np.array(oof.segment_ids, dtype=str), "folds": oof.folds}
    if oof.mask is not None:
        arrays["mask"] = oof.mask
    for head, classes in oof.classes.items():
        arrays[f"labels__{head}"] = oof.labels[head]
        arrays[f"classes__{head}"] = np.array(classes, dtype=str)
        arrays[f"probabilities__{head}"] = oof.probabilities[head]
    for name, by_head in oof.sources.items():
        arrays.update({f"source_{name}__{head}": p for head, p in by_head.items()})
        arrays[f"covered__{name}"] = oof.covered[name]
    return arrays


def load_out_of_fold(path: str | Path) -> OutOfFold:
    """The :class:`OutOfFold` saved by :func:`out_of_fold_arrays` to an ``.npz`` file (``np.savez``)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    heads = [k.split("__", 1)[1] for k in arrays if k.startswith("classes__")]
    sources: dict[str, dict[str, np.ndarray]] = {}
    covered: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if key.startswith("source_"):
            name, head = key.removeprefix("source_").rsplit("__", 1)
            sources.setdefault(name, {})[head] = value
        elif key.startswith("covered__"):
            covered[key.removeprefix("covered__")] = value
    return OutOfFold(
        [str(s) for s in arrays["segment_ids"]],
        {h: [str(c) for c in arrays[f"classes__{h}"]] for h in heads},
        {h: arrays[f"labels__{h}"] for h in heads},
        {h: arrays[f"probabilities__{h}"] for h in heads},
        arrays["folds"],
        arrays.get("mask"),
        sources,
        covered,
    )
