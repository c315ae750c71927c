"""Loading Hugging Face audio checkpoints offline-first, with an actionable error.

Shared by the pretrained audio encoder plugins (``clap``, ``wav2vec2``). A
local directory is read with ``local_files_only``; a hub name is read from the
local cache first and downloaded only when the environment allows network use.
Weights are never replaced by a random initialisation: a checkpoint that
cannot be found raises :class:`PretrainedWeightsError` saying how to provide it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from chroma.text.hf import directory_digest, offline_requested

T = TypeVar("T")


class PretrainedWeightsError(OSError):
    """A pretrained checkpoint is neither a local directory, cached, nor downloadable."""


def local_directory(name: str) -> Path | None:
    """``name`` as an existing directory, or ``None`` for a hub name."""
    path = Path(name).expanduser()
    return path if path.is_dir() else None


def load_pretrained(
    loader: Callable[..., T],
    name: str,
    *,
    revision: str | None,
    local_files_only: bool | None,
    plugin: str,
    save_hint: str,
) -> T:
    """Call ``loader(source, revision=..., local_files_only=...)`` (a ``from_pretrained``).

    Args:
        loader: e.g. ``ClapAudioModelWithProjection.from_pretrained``.
        name: hub name (``"laion/larger_clap_music"``) or a local directory.
        revision: hub revision to pin (ignored for directories).
        local_files_only: ``None``: a directory or ``HF_HUB_OFFLINE=1`` means local only;
            otherwise cache first, then the hub.
        plugin: plugin name for the error message.
        save_hint: the Python that writes a loadable directory, for the error message.

    Raises:
        PretrainedWeightsError: nothing loadable was found.
    """
    directory = local_directory(name)
    source = str(directory or name)
    only_local = (directory is not None or offline_requested()) if local_files_only is None else local_files_only
    attempts = [True] if only_local else [True, False]
    error: Exception | None = None
    for local_only in attempts:
        try:
            return loader(source, revision=None if directory else revision, local_files_only=local_only)
        except (OSError, ValueError) as exc:  # missing files, or a name that is not a valid repo id
            error = exc
    where = f"directory {source}" if directory else f"'{name}' (not in the local Hugging Face cache" + (
        ", and offline)" if only_local else ", and the hub could not be reached)"
    )
    raise PretrainedWeightsError(
        f"audio encoder {plugin}: cannot load pretrained weights from {where}: {error}\n"
        f"To provide them, on a machine with internet run `huggingface-cli download {name}` and copy the "
        f"Hugging Face cache here (set HF_HOME to it), or save a directory with\n    {save_hint}\n"
        f"copy it here and set `pretrained_model: <that directory>` under model.audio_encoder. "
        f"Chroma never falls back to random weights."
    ) from error


def weights_identity(name: str, model: Any, revision: str | None) -> str:
    """Content hash of a local checkpoint directory, else ``name@<resolved hub commit>``."""
    directory = local_directory(name)
    if directory is not None:
        return f"sha256:{directory_digest(directory)}"
    commit = getattr(model.config, "_commit_hash", None)
    return f"{name}@{commit or revision or 'unknown'}"
