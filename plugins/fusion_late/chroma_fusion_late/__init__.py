"""Late-fusion plugin for chroma (``model.fusion.strategy: late``); torch loads only on build."""

__version__ = "0.1.0"
