"""torchaudio, when it imports; ``None`` otherwise.

Only tests use it, to compare :mod:`chroma_framework.audio` against torchaudio's numbers.
The CUDA-only torchaudio wheel raises ``OSError`` (missing CUDA libraries) on a
CPU torch, not ``ImportError``, so both are caught.
"""

from __future__ import annotations

from types import ModuleType


def load_torchaudio() -> ModuleType | None:
    """The ``torchaudio`` module, or ``None`` when it is absent or cannot load."""
    try:
        import torchaudio
        import torchaudio.functional
        import torchaudio.transforms
    except (ImportError, OSError):
        return None
    return torchaudio
