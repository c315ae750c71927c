"""Structure detection: frame targets, frame losses, post-processing, evaluation and ``chroma detect``."""
