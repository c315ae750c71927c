"""Chroma fusion plugin ``cross_attention`` (``model.fusion.strategy: cross_attention``); torch loads only on build."""

__version__ = "0.1.0"
