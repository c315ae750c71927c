"""MERT checkpoints read into transformers' own ``HubertModel``: no remote code runs, nothing is unpickled.

A MERT repository (``m-a-p/MERT-v1-95M``, ``m-a-p/MERT-v1-330M``) holds a ``config.json`` of
``model_type`` ``"mert_model"``, a ``preprocessor_config.json`` (a ``Wav2Vec2FeatureExtractor``),
the weights, and ``modeling_MERT.py``, which ``trust_remote_code`` would run (and which, on
transformers 5, returns no ``hidden_states``). Its ``MERTModel`` is ``HubertModel`` plus:

* a CQT branch concatenated to the convolutional features (``feature_extractor_cqt``, needs nnAudio);
* a DeepNorm encoder with scaled residuals (``deepnorm``), the only place its ``attention_relax``
  acts (dividing the attention logits by it before subtracting their row maximum, a softmax
  stabiliser that leaves the result unchanged in exact arithmetic);
* a feature projection that may layer-normalise its input (``feat_proj_layer_norm``, which
  ``HubertConfig`` has too).

Without the first two its weights are ``HubertModel``'s under the same names, so they load
strictly into a ``HubertModel`` built from the mapped config; the first two are refused.
Older checkpoints name the positional convolution's weight norm ``weight_g`` / ``weight_v``;
torch's weight-norm parametrisation renames them on load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chroma.pretrained import local_directory

if TYPE_CHECKING:
    from transformers import HubertConfig, HubertModel

MERT_MODEL_TYPE = "mert_model"
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
PICKLED_WEIGHTS_FILE = "pytorch_model.bin"
#: The files of a checkpoint this plugin reads (a hub download fetches only these).
CHECKPOINT_PATTERNS = [CONFIG_FILE, PREPROCESSOR_FILE, "*.safetensors", WEIGHTS_INDEX_FILE]
#: ``config.json`` keys of MERT that ``HubertConfig`` has no use for (checked here, then dropped).
_MERT_ONLY_KEYS = frozenset(
    {
        "model_type",
        "architectures",
        "auto_map",
        "feature_extractor_cqt",
        "feature_extractor_cqt_bins",
        "deepnorm",
        "attention_relax",
        "sample_rate",
    }
)
#: Prefixes under which a wrapping model (MERT's or a Hubert head model) nests the encoder's weights.
_NESTED_PREFIXES = ("mert_model.", "hubert.")
#: How many key names an error message lists.
_SHOWN_KEYS = 5
CONVERT_HINT = (
    "convert it once, on a machine you trust, with `safetensors.torch.save_file(torch.load("
    "'pytorch_model.bin', weights_only=True), 'model.safetensors', metadata={'format': 'pt'})`"
)


class MertCheckpointError(ValueError):
    """A MERT checkpoint this plugin cannot use; the message names the file and what is wrong."""


@dataclass(frozen=True)
class MertInput:
    """The waveform a checkpoint expects.

    Attributes:
        sample_rate: Hz (24000 for MERT v1).
        normalize: zero mean and unit variance per row, over its valid samples (``do_normalize``).
    """

    sample_rate: int
    normalize: bool


def checkpoint_directory(source: str, *, revision: str | None, local_files_only: bool) -> Path:
    """The directory of ``source``'s checkpoint: ``source`` itself, or its Hugging Face snapshot.

    The loader :func:`chroma.pretrained.load_pretrained` calls (offline first). Only checks that
    the files are there; :func:`load_mert` reads them.

    Raises:
        FileNotFoundError: not cached / not downloadable, a file is missing, or the weights are
            only a pickle (``pytorch_model.bin``).
    """
    directory = local_directory(source)
    if directory is None:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(
            source, revision=revision, local_files_only=local_files_only, allow_patterns=CHECKPOINT_PATTERNS
        )
        directory = Path(snapshot)
    for name in (CONFIG_FILE, PREPROCESSOR_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory} has no {name}")
    weight_files(directory)
    return directory


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of ``directory``: ``model.safetensors``, or the shards its index names.

    Raises:
        FileNotFoundError: no safetensors weights (a ``pytorch_model.bin`` is never read).
    """
    index = directory / WEIGHTS_INDEX_FILE
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise FileNotFoundError(f"{index} has no weight_map naming the weight shards")
        shards = [directory / name for name in sorted(set(weight_map.values()))]
        absent = [shard.name for shard in shards if not shard.is_file()]
        if absent:
            raise FileNotFoundError(f"{directory} lacks the weight shards {absent} that {index.name} names")
        return shards
    if (directory / WEIGHTS_FILE).is_file():
        return [directory / WEIGHTS_FILE]
    if (directory / PICKLED_WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"{directory} has its weights only as {PICKLED_WEIGHTS_FILE}, a pickle, and Chroma never unpickles "
            f"weights; {CONVERT_HINT}"
        )
    raise FileNotFoundError(f"{directory} has no {WEIGHTS_FILE}")


def hubert_config(config: Mapping[str, Any], where: str) -> HubertConfig:
    """The ``HubertConfig`` of a MERT ``config.json``.

    Every key ``HubertConfig`` knows keeps its value (MERT's defaults are Hubert's); the
    MERT-only keys are checked and dropped.

    Args:
        config: the parsed ``config.json``.
        where: the file, for error messages.

    Raises:
        MertCheckpointError: not a MERT config, or a feature ``HubertModel`` does not have.
    """
    from transformers import HubertConfig

    model_type = config.get("model_type")
    if model_type != MERT_MODEL_TYPE:
        raise MertCheckpointError(f"{where}: model_type is {model_type!r}, not {MERT_MODEL_TYPE!r}: not a MERT config")
    if config.get("feature_extractor_cqt", False):
        raise MertCheckpointError(
            f"{where}: feature_extractor_cqt is true: this checkpoint concatenates nnAudio CQT features to the "
            "convolutional ones, which transformers' HubertModel cannot; use a checkpoint without it "
            "(m-a-p/MERT-v1-95M, m-a-p/MERT-v1-330M)"
        )
    if config.get("deepnorm", False):
        raise MertCheckpointError(
            f"{where}: deepnorm is true: this checkpoint's encoder scales its residual connections (DeepNorm), "
            "which transformers' HubertModel does not; use a checkpoint without it (m-a-p/MERT-v1-95M, "
            "m-a-p/MERT-v1-330M)"
        )
    relax = config.get("attention_relax", -1.0)
    if isinstance(relax, bool) or not isinstance(relax, int | float) or not (relax == -1 or relax > 0):
        raise MertCheckpointError(f"{where}: attention_relax must be -1 (off) or a positive number, got {relax!r}")
    options = {key: value for key, value in config.items() if key not in _MERT_ONLY_KEYS}
    try:
        return HubertConfig.from_dict(options)
    except Exception as exc:  # ValueError, TypeError, or huggingface_hub's strict-dataclass errors (transformers 5)
        raise MertCheckpointError(f"{where}: not a valid Hubert configuration: {exc}") from exc


def mert_input(preprocessor: Mapping[str, Any], config_rate: Any, where: str) -> MertInput:
    """Rate and normalisation from ``preprocessor_config.json``.

    Args:
        preprocessor: the parsed ``preprocessor_config.json``.
        config_rate: ``config.json``'s ``sample_rate`` (``None`` when absent); must agree.
        where: the file, for error messages.

    Raises:
        MertCheckpointError: not a mono ``Wav2Vec2FeatureExtractor`` config, or rates that disagree.
    """
    kind = preprocessor.get("feature_extractor_type", "Wav2Vec2FeatureExtractor")
    if kind != "Wav2Vec2FeatureExtractor":
        raise MertCheckpointError(f"{where}: feature_extractor_type is {kind!r}, not 'Wav2Vec2FeatureExtractor'")
    if preprocessor.get("feature_size", 1) != 1:
        raise MertCheckpointError(f"{where}: feature_size is {preprocessor['feature_size']!r}; MERT reads mono (1)")
    rate = preprocessor.get("sampling_rate")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise MertCheckpointError(f"{where}: sampling_rate must be a positive integer, got {rate!r}")
    if config_rate is not None and config_rate != rate:
        raise MertCheckpointError(
            f"{where}: sampling_rate {rate} disagrees with config.json's sample_rate {config_rate}"
        )
    return MertInput(sample_rate=rate, normalize=bool(preprocessor.get("do_normalize", True)))


def load_weights(model: HubertModel, files: list[Path], where: str) -> None:
    """Load safetensors ``files`` into ``model``, every key accounted for.

    Keys nested under ``mert_model.`` or ``hubert.`` (a wrapping model's) are unnested first.

    Raises:
        MertCheckpointError: missing or unexpected keys, or tensors of the wrong shape.
    """
    from safetensors.torch import load_file

    state: dict[str, Any] = {}
    for file in files:
        state.update(load_file(file))
    for prefix in _NESTED_PREFIXES:
        if any(key.startswith(prefix) for key in state):
            state = {key.removeprefix(prefix): value for key, value in state.items()}
            break
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor whose shape the config does not give
        raise MertCheckpointError(f"{where}: the weights do not fit the model config.json describes: {exc}") from exc
    problems = [
        f"{len(keys)} {what} (e.g. {', '.join(sorted(keys)[:_SHOWN_KEYS])})"
        for what, keys in (("missing", result.missing_keys), ("unexpected", result.unexpected_keys))
        if keys
    ]
    if problems:
        raise MertCheckpointError(
            f"{where}: the weights are not those of the HubertModel config.json describes: {'; '.join(problems)}"
        )


def load_mert(directory: Path) -> tuple[HubertModel, MertInput]:
    """The ``HubertModel`` (eval mode) and input settings of the MERT checkpoint in ``directory``.

    Raises:
        MertCheckpointError: an unsupported or inconsistent config, or weights that do not match it.
        FileNotFoundError: a file is missing.
    """
    from transformers import HubertModel

    config_path, preprocessor_path = directory / CONFIG_FILE, directory / PREPROCESSOR_FILE
    config = _read_json(config_path)
    hubert = hubert_config(config, str(config_path))
    inputs = mert_input(_read_json(preprocessor_path), config.get("sample_rate"), str(preprocessor_path))
    model = HubertModel(hubert)
    load_weights(model, weight_files(directory), str(directory))
    return model.eval(), inputs


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``.

    Raises:
        MertCheckpointError: not valid JSON, or not an object.
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MertCheckpointError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MertCheckpointError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value
