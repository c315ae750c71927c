"""Chroma fusion plugin ``myfusion`` (``model.fusion.strategy: myfusion``); torch loads only on build."""

__version__ = "0.1.0"
