"""Loading Hugging Face checkpoints offline-first, with an actionable error.

Shared by every pretrained encoder (``hf_text``, ``clap``, ``wav2vec2``). A local
directory is read with ``local_files_only``; a hub name is read from the local
cache first and downloaded only when the environment allows network use and the
hub answers. Weights are never replaced by a random initialisation: a checkpoint
that cannot be found raises :class:`PretrainedWeightsError` saying how to provide it.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

T = TypeVar("T")

_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt")
#: Seconds to wait for the hub's host to accept a connection before treating it as unreachable.
HUB_PROBE_TIMEOUT = 3.0


__all__ = [
    "PretrainedWeightsError",
    "directory_digest",
    "load_pretrained",
    "local_directory",
    "offline_requested",
    "weights_identity",
]


class PretrainedWeightsError(OSError):
    """A pretrained checkpoint is neither a local directory, cached, nor downloadable."""


def offline_requested() -> bool:
    """Whether the environment asks Hugging Face libraries to stay offline."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in _OFFLINE_ENV)


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT) -> bool:
    """Whether the Hugging Face endpoint (``HF_ENDPOINT``) accepts a TCP connection.

    Checked before a download so that a machine without network fails at once
    instead of after the hub client's retries (about 50 s).
    """
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def local_directory(name: str) -> Path | None:
    """``name`` as an existing directory, or ``None`` for a hub name."""
    path = Path(name).expanduser()
    return path if path.is_dir() else None


def directory_digest(path: Path) -> str:
    """sha256 over the names and contents of a model directory's weight, config and tokenizer files."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES):
        digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_pretrained(
    loader: Callable[..., T],
    name: str,
    *,
    revision: str | None,
    local_files_only: bool | None,
    plugin: str,
    section: str,
    option: str,
    save_hint: str,
) -> T:
    """Call ``loader(source, revision=..., local_files_only=...)`` (a ``from_pretrained``).

    Args:
        loader: e.g. ``ClapAudioModelWithProjection.from_pretrained``.
        name: hub name (``"laion/larger_clap_music"``) or a local directory.
        revision: hub revision to pin (ignored for directories).
        local_files_only: ``None``: a directory or ``HF_HUB_OFFLINE=1`` means local only;
            otherwise cache first, then the hub (when it answers).
        plugin: plugin name for the error message.
        section: config section that selects the plugin, e.g. ``"model.audio_encoder"``.
        option: the plugin option naming the checkpoint, e.g. ``"pretrained_model"``.
        save_hint: the Python that writes a loadable directory, for the error message.

    Raises:
        PretrainedWeightsError: nothing loadable was found.
    """
    directory = local_directory(name)
    source = str(directory or name)
    only_local = (directory is not None or offline_requested()) if local_files_only is None else local_files_only
    error: Exception | None = None
    try:
        return loader(source, revision=None if directory else revision, local_files_only=True)
    except (OSError, ValueError) as exc:  # missing files, or a name that is not a valid repo id
        error = exc
    if directory is not None:
        where = f"directory {source}"
    elif only_local:
        where = f"'{name}' (not in the local Hugging Face cache, and offline)"
    elif not hub_reachable():
        where = f"'{name}' (not in the local Hugging Face cache, and the hub cannot be reached from this machine)"
    else:
        try:
            return loader(source, revision=revision, local_files_only=False)
        except (OSError, ValueError) as exc:
            error = exc
        where = f"'{name}' (not in the local Hugging Face cache, and the hub download failed)"
    raise PretrainedWeightsError(
        f"{section.split('.')[-1].replace('_', ' ')} {plugin}: cannot load pretrained weights from {where}: "
        f"{error}\nTo provide them, on a machine with internet run `huggingface-cli download {name}` and copy "
        f"the Hugging Face cache here (set HF_HOME to it), or save a directory with\n    {save_hint}\n"
        f"copy it here and set `{option}: <that directory>` under {section}. "
        f"Chroma never falls back to random weights."
    ) from error


def weights_identity(name: str, model: Any, revision: str | None) -> str:
    """Content hash of a local checkpoint directory, else ``name@<resolved hub commit>``."""
    directory = local_directory(name)
    if directory is not None:
        return f"sha256:{directory_digest(directory)}"
    commit = getattr(model.config, "_commit_hash", None)
    return f"{name}@{commit or revision or 'unknown'}"
