"""Checkpoints as safetensors + JSON (never pickle), written atomically.

Every ``.safetensors`` file carries the metadata key ``chroma.kind`` so a file of
another kind (or a foreign safetensors file) is rejected with a clear message.

* ``model.safetensors`` (kind ``chroma.model``): the weights of the best epoch.
* ``checkpoints/last.safetensors`` (kind ``chroma.training_state``): model,
  optimiser tensors and RNG states; its ``chroma.state`` metadata holds the JSON
  rest (epoch, step, optimiser groups, scheduler, early stopping, Python and
  NumPy RNG). One file, one :func:`os.replace`, so a crash never leaves a torn pair.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from chroma_framework.atomic import atomic_write, remove_stale_temporaries

KIND_KEY = "chroma.kind"
STATE_KEY = "chroma.state"
FORMAT_KEY = "chroma.format"
FORMAT_VERSION = "1"
MODEL_KIND = "chroma.model"
STATE_KIND = "chroma.training_state"


class CheckpointError(ValueError):
    """A checkpoint file is missing, of another kind, or does not match the model."""


def _save_tensors(path: Path, tensors: dict[str, Tensor], metadata: dict[str, str]) -> None:
    # safetensors refuses shared storage and non-contiguous views: store plain copies.
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(plain, str(tmp), metadata=metadata))
    remove_stale_temporaries(path.parent)  # a checkpoint of a killed run may have left one of its size


def read_kind(path: Path) -> tuple[str | None, dict[str, str]]:
    """``(chroma.kind or None, metadata)`` of a safetensors file; a non-safetensors file is an error."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a safetensors checkpoint ({exc})") from exc
    return metadata.get(KIND_KEY), metadata


def _load_tensors(path: Path, expected_kind: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    kind, metadata = read_kind(path)
    if kind != expected_kind:
        found = f"a {kind!r} checkpoint" if kind else "a safetensors file without chroma metadata"
        raise CheckpointError(f"{path} is {found}, expected {expected_kind!r}")
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    return tensors, metadata


def save_model(path: Path, model: nn.Module, info: dict[str, Any] | None = None) -> None:
    """Write ``model``'s state dict (kind ``chroma.model``) with JSON ``info`` in the metadata."""
    metadata = {KIND_KEY: MODEL_KIND, FORMAT_KEY: FORMAT_VERSION, STATE_KEY: json.dumps(info or {})}
    _save_tensors(path, dict(model.state_dict()), metadata)


def load_model(path: Path, model: nn.Module) -> dict[str, Any]:
    """Load weights written by :func:`save_model` into ``model``; returns the stored ``info``.

    Raises:
        CheckpointError: wrong kind, or keys/shapes that do not match ``model``.
    """
    tensors, metadata = _load_tensors(path, MODEL_KIND)
    _load_state_dict(model, tensors, path)
    return json.loads(metadata.get(STATE_KEY, "{}"))


def _load_state_dict(model: nn.Module, tensors: dict[str, Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
        if mismatched:
            parts.append(f"shape mismatch {mismatched[:5]}")
        raise CheckpointError(f"{path} does not fit the model built from the run config: {'; '.join(parts)}")
    model.load_state_dict(tensors)


def _optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _optimizer_from_flat(tensors: dict[str, Tensor], info: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, scalars in info["scalars"].items():
        state.setdefault(int(pid), {}).update(scalars)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in info["param_groups"]]
    return {"state": state, "param_groups": groups}


def _numpy_rng_to_json() -> list[Any]:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)]


def _python_rng_to_json() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def save_training_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    progress: dict[str, Any],
) -> None:
    """Everything ``--resume`` needs, in one safetensors file (kind ``chroma.training_state``).

    Args:
        progress: JSON-serialisable trainer state (epoch, step, early stopping ...).
    """
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_tensors, opt_info = _optimizer_to_flat(optimizer)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    state = {
        "progress": progress,
        "optimizer": opt_info,
        "scheduler": scheduler.state_dict(),
        "rng": {"python": _python_rng_to_json(), "numpy": _numpy_rng_to_json()},
    }
    metadata = {KIND_KEY: STATE_KIND, FORMAT_KEY: FORMAT_VERSION, STATE_KEY: json.dumps(state)}
    _save_tensors(path, tensors, metadata)


def load_training_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote (including RNG states); returns ``progress``."""
    tensors, metadata = _load_tensors(path, STATE_KIND)
    state = json.loads(metadata[STATE_KEY])
    _load_state_dict(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    optimizer.load_state_dict(_optimizer_from_flat(tensors, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    version, internal, gauss = state["rng"]["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, gauss_np = state["rng"]["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss_np))
    return state["progress"]
