"""What ``chroma labels audit`` computes and how it ranks: :class:`AuditOptions` (CLI flags, defaults measured on
the demo, see docs/structure.md "Label audit on the demo")."""

from __future__ import annotations

from dataclasses import dataclass, field

#: cleanlab's label quality scores (:func:`cleanlab.rank.get_label_quality_scores`).
RANK_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
#: cleanlab's :func:`cleanlab.filter.find_label_issues` ``filter_by`` choices.
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
#: The evidence sources :attr:`AuditOptions.weights` may name besides ``<modality>_only``.
MODEL, TREES, LINEAR, NEIGHBOURS = "model", "trees", "linear", "neighbours"


@dataclass(frozen=True)
class AuditOptions:
    """Options of the label audit.

    Attributes:
        folds: ``K`` of the K-fold.
        repeats: K-fold runs with different fold and model seeds, averaged (an ensemble).
        seed: fold seed of the first repeat (default ``training.seed``).
        epochs: training epochs per fold model (default ``training.epochs``).
        stop_on: the fold models' early-stopping metric (default ``training.early_stopping.metric``).
        weights: ``{source: weight}`` of the evidence averaged into the ranked probabilities: ``model``
            (the fold models, fused), ``<modality>_only`` (the fold models given that modality alone, on
            the rows that have it), ``trees`` / ``linear`` (out-of-fold gradient-boosted trees / logistic
            regression on the embeddings) and ``neighbours`` (the labels of the nearest segments); a source
            of weight 0 is not computed.
        probe_modalities: embeddings the ``trees`` and ``linear`` probes read.
        probe_c: the ``linear`` probe's inverse L2 strength.
        neighbour_modalities: embeddings the neighbours are found in.
        neighbours: ``k``.
        rank_by: the label quality score issues are ranked by (lowest first), one of :data:`RANK_METHODS`.
        adjust_pred_probs: cleanlab's class-threshold adjustment before scoring (not with
            ``confidence_weighted_entropy``).
        filter_by: how cleanlab decides which rows are issues, one of :data:`FILTERS`.
    """

    folds: int = 5
    repeats: int = 1
    seed: int | None = None
    epochs: int | None = None
    stop_on: str | list[str] | None = None
    weights: dict[str, float] = field(default_factory=lambda: {TREES: 1.0})
    probe_modalities: tuple[str, ...] = ("audio", "midi")
    probe_c: float = 0.05
    neighbour_modalities: tuple[str, ...] = ("audio", "midi")
    neighbours: int = 10
    rank_by: str = "self_confidence"
    adjust_pred_probs: bool = False
    filter_by: str = "prune_by_noise_rate"

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ValueError(f"--folds must be at least 2, got {self.folds}")
        if self.repeats < 1:
            raise ValueError(f"--repeats must be at least 1, got {self.repeats}")
        if self.rank_by not in RANK_METHODS:
            raise ValueError(f"--rank-by {self.rank_by!r}: choose one of {', '.join(RANK_METHODS)}")
        if self.filter_by not in FILTERS:
            raise ValueError(f"--filter-by {self.filter_by!r}: choose one of {', '.join(FILTERS)}")
        if self.adjust_pred_probs and self.rank_by == "confidence_weighted_entropy":
            raise ValueError("--adjust-pred-probs does not apply to confidence_weighted_entropy (cleanlab)")
        if self.neighbours < 1:
            raise ValueError(f"--neighbours must be at least 1, got {self.neighbours}")
        if self.probe_c <= 0:
            raise ValueError(f"--probe-c must be > 0, got {self.probe_c}")
        bad = {k: w for k, w in self.weights.items() if w < 0}
        if bad or not any(w > 0 for w in self.weights.values()):
            raise ValueError(f"--evidence weights must be >= 0 with one > 0, got {self.weights}")

    def trains_models(self) -> bool:
        """Whether a weighted source needs the fold models (``model`` or ``<modality>_only``)."""
        return any(w > 0 and (k == MODEL or k.endswith("_only")) for k, w in self.weights.items())

    def solo(self) -> tuple[str, ...]:
        """The modalities whose alone-predictions the weights ask for."""
        return tuple(k.removesuffix("_only") for k, w in self.weights.items() if k.endswith("_only") and w > 0)


def parse_weights(text: str) -> dict[str, float]:
    """``{source: weight}`` of ``"model=1,trees=1,neighbours=0.5"``.

    Raises:
        ValueError: a part is not ``name=number``, or a name is not a source (``model``, ``trees``,
            ``linear``, ``neighbours`` or ``<modality>_only``).
    """
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"--evidence {text!r}: {part!r} is not name=weight")
        if name not in (MODEL, TREES, LINEAR, NEIGHBOURS) and not name.endswith("_only"):
            raise ValueError(
                f"--evidence {text!r}: unknown source {name!r}; use {MODEL}, {TREES}, {LINEAR}, {NEIGHBOURS} "
                "or <modality>_only"
            )
        try:
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"--evidence {text!r}: weight of {name!r} is not a number: {value!r}") from None
    if not out:
        raise ValueError("--evidence names no source")
    return out
