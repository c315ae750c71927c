"""``chroma labels audit``: confident-learning checks of the segment labels, and the beat-grid pre-filter.

:func:`run_audit` pools the segments into ``K`` folds and predicts each fold from the others with the
evidence :class:`~chroma_framework.audit.options.AuditOptions` weights
(:mod:`~chroma_framework.audit.evidence`: gradient-boosted trees or a logistic probe on the embeddings,
the neighbours' labels; :mod:`~chroma_framework.audit.out_of_fold`: the config's model, trained per fold),
asks cleanlab which given labels they contradict (:mod:`~chroma_framework.audit.issues`), flags cue points
off the beat grid (:mod:`~chroma_framework.audit.beat_grid`) and :func:`~chroma_framework.audit.report.write_audit`
writes the ranked tables. Needs the ``audit`` extra (cleanlab).
"""

from __future__ import annotations

from pathlib import Path

from chroma_framework.audit.beat_grid import TOLERANCE_MS, off_grid_cues
from chroma_framework.audit.evidence import with_evidence
from chroma_framework.audit.issues import find_issues
from chroma_framework.audit.options import AuditOptions
from chroma_framework.audit.out_of_fold import out_of_fold_probabilities
from chroma_framework.audit.report import LabelAudit, write_audit
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.cues.columns import CueColumns
from chroma_framework.data.paths import existing_metadata_path


def run_audit(
    config: ChromaConfig,
    options: AuditOptions | None = None,
    *,
    tolerance_ms: float = TOLERANCE_MS,
    cue_columns: CueColumns | None = None,
    progress: bool = True,
) -> LabelAudit:
    """The label audit of ``config``'s data with ``options`` (default :class:`AuditOptions`; see the module
    docstring and :func:`out_of_fold_probabilities`)."""
    options = options or AuditOptions()
    grid = off_grid_cues(existing_metadata_path(config.data), cue_columns, tolerance_ms, config.data.columns.segment_id)
    oof, embeddings = out_of_fold_probabilities(
        config,
        folds=options.folds,
        seed=options.seed,
        epochs=options.epochs,
        repeats=options.repeats,
        solo=options.solo(),
        stop_on=options.stop_on,
        train=options.trains_models(),
        progress=progress,
    )
    oof = with_evidence(oof, embeddings, options)
    issues = find_issues(oof, options.rank_by, options.adjust_pred_probs, options.filter_by)
    return LabelAudit(oof, issues, grid, tolerance_ms)


__all__ = ["AuditOptions", "LabelAudit", "run_audit", "write_audit"]
