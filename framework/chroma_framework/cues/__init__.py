"""Cue points, section boundaries and beat grids in the metadata parquet: the column layout
(:mod:`~chroma_framework.cues.columns`) and the importers that fill it (Rekordbox XML:
:mod:`~chroma_framework.cues.rekordbox`, :mod:`~chroma_framework.cues.merge`)."""
