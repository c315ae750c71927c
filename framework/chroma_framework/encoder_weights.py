"""One encoder's weights as a safetensors file (kind ``chroma.encoder_weights``), with the fingerprint it produces.

Precompute saves the weights of a frozen encoder that loads none (random init) beside the embeddings; a run
copies them into ``RUN/encoders/<modality>.safetensors`` and :func:`chroma_framework.scoring.run.load_run`
loads them instead of re-deriving them from a seed.
"""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from chroma_framework.atomic import atomic_write

KIND_KEY = "chroma.kind"
ENCODER_KIND = "chroma.encoder_weights"
FINGERPRINT_KEY = "chroma.fingerprint"


class EncoderWeightsError(ValueError):
    """An encoder weights file is missing, of another kind, or does not fit the encoder."""


def save_encoder_weights(path: Path, encoder: nn.Module, fingerprint: str) -> None:
    """Write ``encoder``'s state dict atomically with ``fingerprint`` in the metadata."""
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in encoder.state_dict().items()}
    metadata = {KIND_KEY: ENCODER_KIND, FINGERPRINT_KEY: fingerprint}
    atomic_write(path, lambda tmp: save_file(plain, str(tmp), metadata=metadata))


def load_encoder_weights(path: Path, encoder: nn.Module) -> str:
    """Load a file written by :func:`save_encoder_weights` into ``encoder``; returns its stored fingerprint.

    Raises:
        EncoderWeightsError: missing file, another kind, or keys/shapes that do not fit ``encoder``.
    """
    if not path.is_file():
        raise EncoderWeightsError(f"encoder weights {path} do not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise EncoderWeightsError(f"{path} is not a safetensors file ({exc})") from exc
    if metadata.get(KIND_KEY) != ENCODER_KIND:
        raise EncoderWeightsError(f"{path} is of kind {metadata.get(KIND_KEY)!r}, expected {ENCODER_KIND!r}")
    expected = encoder.state_dict()
    if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
        raise EncoderWeightsError(f"{path} does not fit the {type(encoder).__name__} built from the run config")
    encoder.load_state_dict(tensors)
    return metadata.get(FINGERPRINT_KEY, "")


__all__ = ["EncoderWeightsError", "load_encoder_weights", "save_encoder_weights"]
