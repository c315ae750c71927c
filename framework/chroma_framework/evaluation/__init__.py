"""Evaluation: per-head metrics, missing-modality analyses, baseline comparison and reports."""
