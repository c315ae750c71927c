"""Layout of a run directory and its JSON header.

::

    RUN/
      run.json                    kind "chroma.run": mode, modalities, input dims, plugins,
                                  encoder fingerprints, status, best epoch and metrics
      config.yaml                 the resolved configuration the run was trained with
      labels.json                 {head: [class names]} in logit order
      vocab_<modality>.json       token vocabulary of each tokenising encoder (e.g. event_based MIDI)
      model.safetensors           weights of the best validation epoch (kind "chroma.model"), trained
                                  encoders included
      encoders/<modality>.safetensors  random-init weights of a frozen encoder whose embeddings the run
                                  read (kind "chroma.encoder_weights"); scoring loads them
      checkpoints/last.safetensors  resumable training state (kind "chroma.training_state")
      metrics.jsonl, epochs.csv, steps.csv, grad_norms.csv, warnings.csv
      train_data_report.json      end to end: why modalities were absent in the training split
      report/                     written by ``chroma evaluate``
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from chroma.errors import ConfigError
from chroma_framework.atomic import atomic_write, remove_stale_temporaries, write_json
from chroma_framework.config.loader import load_config
from chroma_framework.config.schema import ChromaConfig

RUN_KIND = "chroma.run"
RUN_FORMAT = 1
RUN_JSON = "run.json"
CONFIG_YAML = "config.yaml"
LABELS_JSON = "labels.json"
MODEL_FILE = "model.safetensors"
STATE_FILE = "checkpoints/last.safetensors"
REPORT_DIR = "report"
ENCODERS_DIR = "encoders"


class RunError(ValueError):
    """A path is not a (complete) Chroma run directory."""


def write_config(run_dir: Path, config: ChromaConfig) -> None:
    """Save the resolved config (every default filled in) as YAML."""
    text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    atomic_write(run_dir / CONFIG_YAML, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_config(run_dir: Path) -> ChromaConfig:
    """The config a run was trained with."""
    path = run_dir / CONFIG_YAML
    if not path.is_file():
        raise RunError(f"{run_dir} has no {CONFIG_YAML}; is it a Chroma run directory?")
    try:
        return load_config(path)
    except ConfigError as exc:
        raise RunError(f"{path} is not a valid config for this version of chroma:\n{exc}") from None


def write_header(run_dir: Path, header: dict[str, Any]) -> None:
    """Write ``run.json``, and remove the temporary files that killed writes left in ``run_dir``."""
    write_json(run_dir / RUN_JSON, {"kind": RUN_KIND, "format": RUN_FORMAT, **header})
    remove_stale_temporaries(run_dir)


def read_header(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of ``run_dir``, checked to be a Chroma run header.

    Raises:
        RunError: the directory or header is missing, unreadable or of another kind.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run directory (pass the directory `chroma train` wrote)")
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise RunError(f"{run_dir} is not a Chroma run directory: it has no {RUN_JSON}")
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("kind") != RUN_KIND:
        kind = header.get("kind") if isinstance(header, dict) else type(header).__name__
        raise RunError(f"{path} is of kind {kind!r}, expected {RUN_KIND!r}")
    if int(header.get("format", 0)) > RUN_FORMAT:
        raise RunError(f"{path} has format {header['format']}; this chroma reads up to {RUN_FORMAT}: upgrade chroma")
    return header


#: What a run directory holds before its first epoch finishes (removed when it is trained anew).
_STARTED_FILES = (LABELS_JSON, "vocab_*.json", "metrics.jsonl", "*.csv", "*_report.json", CONFIG_YAML, RUN_JSON)
_STARTED_DIRS = (ENCODERS_DIR, "checkpoints", REPORT_DIR)


def unfinished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a run started (killed, out of disk) before its first epoch finished.

    A run killed while writing its first file has only that file's temporary (``.config.yaml.*.tmp``); one
    killed between saving epoch 1's best model and its checkpoint has ``model.safetensors`` but a header
    with no epoch completed. A model without a checkpoint in a run whose header says otherwise (a finished
    run whose checkpoints were deleted) is a run, never cleared.
    """
    run_dir = Path(run_dir)
    started = any((run_dir / name).is_file() or any(run_dir.glob(f".{name}.*.tmp")) for name in (RUN_JSON, CONFIG_YAML))
    if not started or (run_dir / STATE_FILE).is_file():
        return False
    return not (run_dir / MODEL_FILE).is_file() or _no_epoch_completed(run_dir)


def _no_epoch_completed(run_dir: Path) -> bool:
    """Whether ``run.json`` says the run is running with no epoch completed (``False`` when unreadable)."""
    try:
        header = json.loads((run_dir / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("status") == "running" and header.get("epochs_completed") == 0


def clear_unfinished(run_dir: Path) -> None:
    """Remove what an :func:`unfinished` run wrote, so it can be trained anew in place (other files stay)."""
    if not unfinished(run_dir):
        raise RunError(f"{run_dir} holds a run with a finished epoch; it is not removed")
    run_dir = Path(run_dir)
    (run_dir / MODEL_FILE).unlink(missing_ok=True)
    for name in _STARTED_DIRS:
        shutil.rmtree(run_dir / name, ignore_errors=True)
    remove_stale_temporaries(run_dir)
    # The files that mark the run as started go last: a kill midway leaves a run that is still unfinished.
    for pattern in _STARTED_FILES:
        for path in run_dir.glob(pattern):
            path.unlink(missing_ok=True)


def encoder_weights_path(run_dir: Path, modality: str) -> Path:
    return run_dir / ENCODERS_DIR / f"{modality}.safetensors"


def copy_frozen_weights(run_dir: Path, config: ChromaConfig, fingerprints: Mapping[str, str]) -> list[str]:
    """Copy the saved random-init weights of each frozen encoder whose embeddings the run reads; returns them.

    ``chroma precompute`` saved them beside the embeddings (``<embeddings_path>.encoders/``), keyed by the
    fingerprint the run records, so scoring rebuilds exactly the encoder that produced the embeddings.
    """
    from chroma_framework.data.precompute import frozen_weights_path

    copied = []
    for modality, fingerprint in fingerprints.items():
        source = frozen_weights_path(config, modality, fingerprint)
        if source.is_file():
            target = encoder_weights_path(run_dir, modality)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, partial(_copy, source))
            copied.append(modality)
    return copied


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def write_labels(run_dir: Path, classes: dict[str, list[str]]) -> None:
    write_json(run_dir / LABELS_JSON, classes)


def vocabulary_path(run_dir: Path, modality: str) -> Path:
    return run_dir / f"vocab_{modality}.json"


def write_vocabularies(run_dir: Path, encoders: Mapping[str, Any]) -> None:
    """Save the vocabulary of every encoder that has one (``encoder.vocabulary.to_json()``)."""
    for modality, encoder in encoders.items():
        vocabulary = getattr(encoder, "vocabulary", None)
        if vocabulary is not None:
            text = vocabulary.to_json()
            atomic_write(vocabulary_path(run_dir, modality), lambda tmp, text=text: tmp.write_text(text))


def check_vocabularies(run_dir: Path, encoders: Mapping[str, Any]) -> None:
    """Fail when a rebuilt encoder's vocabulary differs from the one the run was trained with."""
    for modality, encoder in encoders.items():
        path = vocabulary_path(run_dir, modality)
        vocabulary = getattr(encoder, "vocabulary", None)
        if vocabulary is None or not path.is_file():
            continue
        if json.loads(path.read_text(encoding="utf-8")) != json.loads(vocabulary.to_json()):
            raise RunError(
                f"{path}: the {modality} encoder {encoder.name!r} now builds a different token vocabulary "
                "than the run was trained with; install the plugin version the run used"
            )


def read_labels_json(run_dir: Path) -> dict[str, list[str]]:
    path = run_dir / LABELS_JSON
    if not path.is_file():
        raise RunError(f"{run_dir} has no {LABELS_JSON}")
    return {str(h): [str(c) for c in cs] for h, cs in json.loads(path.read_text(encoding="utf-8")).items()}
