"""Chroma fusion plugin ``gated`` (``model.fusion.strategy: gated``); torch loads only on build."""

__version__ = "0.1.0"
