"""Chroma fusion plugin ``early`` (``model.fusion.strategy: early``); torch loads only on build."""

__version__ = "0.1.0"
