"""Out-of-fold class probabilities of every segment head, on the fast path.

The segments of all three splits are pooled and dealt into ``K`` stratified, seeded folds
(:func:`~chroma_framework.audit.folds.stratified_folds`, by the joint labels of every head). For
each fold a fresh model of the config (its encoders' embeddings or cached inputs, its fusion, its
heads) is trained by :class:`chroma_framework.training.loop.Trainer` on the other folds, with a
stratified tenth of them held back for early stopping and model selection, and its best weights
predict the held-out fold. Every segment thus gets probabilities from a model that never saw its
label, which is what confident learning needs.

Folds are not grouped by song: the segments of a song that are not held out stay in training, so
a mislabelled segment is judged against its correctly labelled neighbours.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chroma.errors import ConfigError
from chroma.plugins.registry import PluginRegistry
from chroma_framework.audit.folds import concat_splits, joint_strata, stratified_folds, take_rows
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.predict import predict
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training import run_dir as rd
from chroma_framework.training.data import PrecomputedSource
from chroma_framework.training.loop import Trainer, make_source, prepare_config, resolve_device

#: Share of each fold's training segments held back for early stopping.
VAL_FRACTION = 0.1


@dataclass
class OutOfFold:
    """Out-of-fold predictions over ``N`` segments.

    Attributes:
        segment_ids: ``N`` ids.
        classes: ``{head: class names}``.
        labels: ``{head: [N] int64}`` given labels (indices into ``classes[head]``).
        probabilities: ``{head: [N, C] float64}`` predicted by the model that did not train on the row.
        folds: ``[N] int64`` fold of each row.
    """

    segment_ids: list[str]
    classes: dict[str, list[str]]
    labels: dict[str, np.ndarray]
    probabilities: dict[str, np.ndarray]
    folds: np.ndarray

    def __len__(self) -> int:
        return len(self.segment_ids)

    def accuracy(self, head: str) -> float:
        """Share of rows whose out-of-fold arg-max is their given label."""
        return float((self.probabilities[head].argmax(axis=1) == self.labels[head]).mean())


def audit_config(config: ChromaConfig, epochs: int | None = None) -> ChromaConfig:
    """``config`` on the fast path (``training.mode: precomputed``), without per-epoch progress bars,
    with ``epochs`` if given."""
    update: dict[str, object] = {"mode": "precomputed", "progress": False}
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {epochs}")
        update["epochs"] = epochs
    return config.model_copy(update={"training": config.training.model_copy(update=update)})


def out_of_fold_probabilities(
    config: ChromaConfig,
    *,
    folds: int = 5,
    seed: int | None = None,
    epochs: int | None = None,
    progress: bool = True,
    registry: PluginRegistry | None = None,
) -> OutOfFold:
    """Train ``folds`` models and collect each segment's probabilities from the one that held it out.

    Args:
        config: the run configuration; its embeddings (and input caches of trainable encoders) must
            have been precomputed (``chroma precompute``).
        folds: ``K``.
        seed: fold assignment seed (default ``training.seed``); each model is initialised with ``training.seed``.
        epochs: training epochs per fold (default ``training.epochs``; early stopping applies).
        progress: show a progress bar over the folds.
        registry: plugin registry for building the models.

    Raises:
        ConfigError: missing embeddings or caches, or too few segments for ``folds`` folds.
    """
    from tqdm.auto import tqdm

    config = prepare_config(audit_config(config, epochs))
    seed = config.training.seed if seed is None else seed
    source = make_source(config, resolve_device(config.training.device))
    assert isinstance(source, PrecomputedSource)  # audit_config forces training.mode: precomputed
    pool = concat_splits(source.splits)
    labels = {h: y.cpu().numpy() for h, y in pool.labels.items()}
    strata = joint_strata(labels)
    inner_folds = round(1 / VAL_FRACTION)
    if len(pool) < folds * 2:
        raise ConfigError(f"--folds {folds} needs at least {folds * 2} labelled segments, the data has {len(pool)}")
    try:
        fold_of = stratified_folds(strata, folds, seed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    probabilities = {h: np.zeros((len(pool), len(c))) for h, c in source.classes.items()}
    with tempfile.TemporaryDirectory(prefix="chroma-audit-") as tmp:
        for k in tqdm(range(folds), desc="label audit: folds", unit="fold", disable=not progress):
            held = np.flatnonzero(fold_of == k)
            rest = np.flatnonzero(fold_of != k)
            inner = stratified_folds(strata[rest], min(inner_folds, len(rest)), seed + k + 1)
            fold_source = copy.copy(source)
            fold_source.splits = {
                "train": take_rows(pool, rest[inner != 0]),
                "val": take_rows(pool, rest[inner == 0]),
                "test": take_rows(pool, held),
            }
            trainer = Trainer(config, Path(tmp) / f"fold{k}", fold_source, registry=registry)
            trainer.fit()
            ckpt.load_model(trainer.run_dir / rd.MODEL_FILE, trainer.model)
            preds = predict(trainer.model, fold_source.eval_batches("test"), trainer.device, keep_weights=False)
            for head, p in preds.probabilities().items():
                probabilities[head][held] = p.double().numpy()
    return OutOfFold(pool.segment_ids, dict(source.classes), labels, probabilities, fold_of)
