"""Per-frame projection of time-aligned feature streams for chroma (``type: stream_projection`` in any
``model.<modality>_encoder``); torch loads only on build."""

__version__ = "0.1.0"
