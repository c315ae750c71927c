"""Scoring with a trained run: ``load_run(path).score(midi=..., audio=..., lyrics=...)``."""

from chroma_framework.scoring.run import Run, RunLoadError, ScoringError, load_run

__all__ = ["Run", "RunLoadError", "ScoringError", "load_run"]
