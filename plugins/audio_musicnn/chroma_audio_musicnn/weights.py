"""musicnn's pretrained weights: found in the installed ``musicnn`` package (never imported) or a directory,
read from its TensorFlow checkpoint without TensorFlow, converted once to a safetensors cache.

The cache file is keyed by the sha256 of the checkpoint files and of this
converter's version, and a JSON sidecar records the cache file's own sha256; a
cache whose content no longer matches is converted again, never used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from chroma.pretrained import PretrainedWeightsError
from chroma_audio_musicnn.bundle import BundleError, data_path, read_bundle

MODELS = ("MTT_musicnn", "MSD_musicnn")
INSTALL_HINT = "pip install --no-deps musicnn==0.1.0"
#: Bump when the TensorFlow -> PyTorch mapping changes: old cache files are then ignored.
CONVERTER_VERSION = 1

#: TensorFlow layer name -> module of :class:`~chroma_audio_musicnn.network.MusicnnNetwork`, in creation order.
_BATCH_NORMS = (
    "input_bn",
    "timbral.0.bn",
    "timbral.1.bn",
    "temporal.0.bn",
    "temporal.1.bn",
    "temporal.2.bn",
    "midend.0.bn",
    "midend.1.bn",
    "midend.2.bn",
    "pool_bn",
    "dense_bn",
)
_CONV2D = ("timbral.0.conv", "timbral.1.conv", "temporal.0.conv", "temporal.1.conv", "temporal.2.conv")
_CONV1D = ("midend.0.conv", "midend.1.conv", "midend.2.conv")
_DENSE = ("dense", "tags")
_BN_PARTS = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


def _tf_name(layer: str, index: int) -> str:
    return layer if index == 0 else f"{layer}_{index}"


def _torch_layout(module: str, tensor: np.ndarray) -> np.ndarray:
    """A TensorFlow kernel in PyTorch's layout (``[kh, kw, in, out]`` -> ``[out, in, kh, kw]`` etc.)."""
    if module in _CONV2D:
        return tensor.transpose(3, 2, 0, 1)
    if module in _CONV1D:  # [7, features, 1, filters] -> [filters, features, 7]
        return tensor[:, :, 0, :].transpose(2, 1, 0)
    return tensor.T  # dense [in, out] -> [out, in]


def convert(tensors: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """State dict of :class:`MusicnnNetwork` from musicnn's TensorFlow variables (optimizer slots ignored).

    Raises:
        PretrainedWeightsError: a variable the network needs is missing.
    """
    names: dict[str, str] = {}
    for i, module in enumerate(_BATCH_NORMS):
        for part, target in _BN_PARTS.items():
            names[f"{_tf_name('batch_normalization', i)}/{part}"] = f"{module}.{target}"
    for i, module in enumerate((*_CONV2D, *_CONV1D)):
        names[f"{_tf_name('conv2d', i)}/kernel"] = f"{module}.weight"
        names[f"{_tf_name('conv2d', i)}/bias"] = f"{module}.bias"
    for i, module in enumerate(_DENSE):
        names[f"{_tf_name('dense', i)}/kernel"] = f"{module}.weight"
        names[f"{_tf_name('dense', i)}/bias"] = f"{module}.bias"
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise PretrainedWeightsError(f"musicnn checkpoint lacks the variables {missing[:5]} (not a musicnn model?)")
    state = {}
    for tf_name, torch_name in names.items():
        value = tensors[tf_name]
        if torch_name.endswith(".weight") and value.ndim > 1:
            value = _torch_layout(torch_name.removesuffix(".weight"), value)
        state[torch_name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return state


def default_cache_dir() -> Path:
    """``$CHROMA_CACHE/musicnn``, else ``$XDG_CACHE_HOME/chroma/musicnn``, else ``~/.cache/chroma/musicnn``."""
    if os.environ.get("CHROMA_CACHE"):
        return Path(os.environ["CHROMA_CACHE"]).expanduser() / "musicnn"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "chroma" / "musicnn"


def installed_package_dir() -> Path | None:
    """Directory of the installed ``musicnn`` package, found without importing it (it needs TensorFlow 1)."""
    try:
        spec = importlib.util.find_spec("musicnn")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    try:
        files = importlib.metadata.files("musicnn") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    inits = [f for f in files if f.name == "__init__.py" and f.parent.name == "musicnn"]
    return Path(str(inits[0].locate())).parent if inits else None


@dataclass(frozen=True)
class Checkpoint:
    """One model's TensorFlow checkpoint files and their content hash."""

    model: str
    index: Path
    data: Path
    sha256: str


def _file_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def locate_checkpoint(model: str, checkpoint_dir: str | None) -> Checkpoint:
    """``<dir>/<model>/.index`` and ``.data-00000-of-00001``, ``<dir>`` being ``checkpoint_dir`` or the package.

    Raises:
        PretrainedWeightsError: no musicnn installation and no ``checkpoint_dir``, or missing files.
    """
    if model not in MODELS:
        raise PretrainedWeightsError(f"musicnn: unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if checkpoint_dir is None:
        root = installed_package_dir()
        if root is None:
            raise PretrainedWeightsError(
                "musicnn weights not found: the musicnn package is not installed and no "
                f"model.audio_encoder.checkpoint_dir is set. Install its checkpoints with `{INSTALL_HINT}` "
                "(--no-deps: its metadata pulls TensorFlow 1, which Chroma never imports), or set checkpoint_dir "
                f"to a directory holding {model}/.index and {model}/.data-00000-of-00001. "
                "Chroma never falls back to random weights."
            )
        where = f"the installed musicnn package ({root})"
    else:
        root = Path(checkpoint_dir).expanduser()
        where = f"checkpoint_dir {str(root)!r}"
    index = root / model / ".index"
    data = data_path(index)
    absent = [p.name for p in (index, data) if not p.is_file()]
    if absent:
        raise PretrainedWeightsError(
            f"musicnn: {where} has no {model}/{' or '.join(absent)}; it must hold musicnn's checkpoint folders "
            f"({', '.join(MODELS)}), as `{INSTALL_HINT}` installs them. Chroma never falls back to random weights."
        )
    return Checkpoint(model, index, data, _file_digest([index, data]))


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_paths(checkpoint: Checkpoint, cache_dir: Path) -> tuple[Path, Path]:
    stem = f"{checkpoint.model}-{checkpoint.sha256[:16]}-v{CONVERTER_VERSION}"
    return cache_dir / f"{stem}.safetensors", cache_dir / f"{stem}.json"


def _read_cache(checkpoint: Checkpoint, weights: Path, sidecar: Path) -> dict[str, torch.Tensor] | None:
    """The cached state dict, or ``None`` when absent, stale or corrupt."""
    try:
        record = json.loads(sidecar.read_text())
        if not isinstance(record, dict) or record.get("checkpoint_sha256") != checkpoint.sha256:
            return None
        if record.get("safetensors_sha256") != _file_digest([weights]):
            return None
        return load_file(weights)
    except (OSError, ValueError, json.JSONDecodeError):
        return None


def _write_cache(checkpoint: Checkpoint, state: dict[str, torch.Tensor], weights: Path, sidecar: Path) -> None:
    weights.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"model": checkpoint.model, "checkpoint_sha256": checkpoint.sha256}
    _atomic_write(weights, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    record = {**metadata, "converter_version": CONVERTER_VERSION, "safetensors_sha256": _file_digest([weights])}
    _atomic_write(sidecar, lambda tmp: tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n"))


def load_state(checkpoint: Checkpoint, cache_dir: Path) -> dict[str, torch.Tensor]:
    """The network's state dict: from the verified cache, else converted from the checkpoint and cached.

    An unwritable cache directory only costs the conversion (~0.1 s) on every load; it is reported as a warning.

    Raises:
        PretrainedWeightsError: the checkpoint cannot be parsed or lacks musicnn's variables.
    """
    weights, sidecar = _cache_paths(checkpoint, cache_dir)
    state = _read_cache(checkpoint, weights, sidecar)
    if state is not None:
        return state
    try:
        state = convert(read_bundle(checkpoint.index))
    except BundleError as exc:
        raise PretrainedWeightsError(f"musicnn: cannot read {checkpoint.index}: {exc}") from exc
    try:
        _write_cache(checkpoint, state, weights, sidecar)
    except OSError as exc:
        warnings.warn(f"musicnn: could not cache converted weights in {cache_dir}: {exc}", stacklevel=2)
    return state
