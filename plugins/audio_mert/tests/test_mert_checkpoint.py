"""MERT checkpoints into transformers' ``HubertModel``: the config mapping, strict weight loading and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from chroma_audio_mert.checkpoint import (
    MertCheckpointError,
    checkpoint_directory,
    hubert_config,
    load_mert,
    mert_input,
)
from chroma_audio_mert.tiny import save_tiny_mert, tiny_hubert
from safetensors.torch import load_file, save_file
from transformers import HubertModel

#: MERT-v1-95M's config.json as published (transformers 4.25 era; the remote MERTConfig's keys).
MERT_95M: dict[str, Any] = {
    "_name_or_path": "m-a-p/MERT-v1-95M",
    "activation_dropout": 0.0,
    "apply_spec_augment": True,
    "architectures": ["MERTModel"],
    "attention_dropout": 0.0,
    "attention_relax": -1.0,
    "auto_map": {"AutoConfig": "configuration_MERT.MERTConfig", "AutoModel": "modeling_MERT.MERTModel"},
    "bos_token_id": 1,
    "classifier_proj_size": 256,
    "conv_bias": False,
    "conv_dim": [512, 512, 512, 512, 512, 512, 512],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_pos_batch_norm": False,
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "ctc_loss_reduction": "sum",
    "ctc_zero_infinity": False,
    "deepnorm": False,
    "do_stable_layer_norm": False,
    "eos_token_id": 2,
    "feat_extract_activation": "gelu",
    "feat_extract_norm": "group",
    "feat_proj_dropout": 0.0,
    "feat_proj_layer_norm": True,
    "feature_extractor_cqt": False,
    "feature_extractor_cqt_bins": 336,
    "final_dropout": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "layerdrop": 0.05,
    "mask_feature_length": 10,
    "mask_feature_min_masks": 0,
    "mask_feature_prob": 0.0,
    "mask_time_length": 5,
    "mask_time_min_masks": 2,
    "mask_time_prob": 0.05,
    "model_type": "mert_model",
    "num_attention_heads": 12,
    "num_conv_pos_embedding_groups": 16,
    "num_conv_pos_embeddings": 128,
    "num_feat_extract_layers": 7,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "sample_rate": 24000,
    "torch_dtype": "float32",
    "transformers_version": "4.25.1",
    "use_weighted_layer_sum": False,
    "vocab_size": 32,
}
#: What MERT-v1-330M changes: 24 pre-norm layers of 1024 features over a layer-norm feature encoder.
MERT_330M = {
    **MERT_95M,
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "conv_bias": True,
}
PREPROCESSOR = {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": 24000}
#: MERT-only keys the mapping drops; the rest are Hubert's own.
MERT_ONLY = {"architectures", "auto_map", "model_type", "sample_rate", "attention_relax", "deepnorm"} | {
    "feature_extractor_cqt",
    "feature_extractor_cqt_bins",
}


@pytest.mark.parametrize("config", [MERT_95M, MERT_330M], ids=["95M", "330M"])
def test_every_hubert_key_keeps_its_value(config: dict[str, Any]) -> None:
    mapped = hubert_config(config, "config.json")
    for key, value in config.items():
        if key in MERT_ONLY or key in ("torch_dtype", "transformers_version"):
            continue
        got = getattr(mapped, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key
    assert mapped.model_type == "hubert" and mapped.dtype == torch.float32
    assert not hasattr(mapped, "feature_extractor_cqt") and not hasattr(mapped, "auto_map")


def test_95m_maps_to_hubert_base_architecture() -> None:
    """The mapped model has hubert-base's parameter count (94.4M: the same architecture) and MERT's weight names."""
    with torch.device("meta"):
        model = HubertModel(hubert_config(MERT_95M, "config.json"))
    assert sum(p.numel() for p in model.parameters()) == 94_371_712
    keys = set(model.state_dict())
    assert {
        "feature_projection.layer_norm.weight",
        "masked_spec_embed",
        "encoder.layers.11.final_layer_norm.bias",
    } <= keys
    assert not any("batch_norm" in key for key in keys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feature_extractor_cqt": True}, "feature_extractor_cqt is true"),
        ({"deepnorm": True}, "deepnorm is true"),
        ({"deepnorm": True, "attention_relax": 32.0}, "deepnorm is true"),
        ({"model_type": "hubert"}, "model_type is 'hubert', not 'mert_model'"),
        ({"attention_relax": 0}, "attention_relax must be -1"),
        ({"attention_relax": "yes"}, "attention_relax must be -1"),
        ({"conv_stride": [5, 2]}, "not a valid Hubert configuration"),
    ],
)
def test_unsupported_configs_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MertCheckpointError, match=f"^where/config.json: {message}"):
        hubert_config({**MERT_95M, **change}, "where/config.json")


def test_attention_relax_without_deepnorm_is_accepted() -> None:
    """MERT's own code applies attention_relax only inside its DeepNorm encoder; elsewhere it is inert."""
    relaxed = hubert_config({**MERT_95M, "attention_relax": 32.0}, "config.json")
    assert relaxed.to_dict() == hubert_config(MERT_95M, "config.json").to_dict()


def test_preprocessor_settings_and_errors() -> None:
    assert mert_input(PREPROCESSOR, 24000, "p").sample_rate == 24000
    assert mert_input(PREPROCESSOR, None, "p").normalize is True
    assert mert_input({**PREPROCESSOR, "do_normalize": False}, 24000, "p").normalize is False
    for change, message in [
        ({"sampling_rate": 16000}, "sampling_rate 16000 disagrees with config.json's sample_rate 24000"),
        ({"sampling_rate": None}, "sampling_rate must be a positive integer"),
        ({"feature_size": 2}, "feature_size is 2"),
        ({"feature_extractor_type": "ClapFeatureExtractor"}, "feature_extractor_type is 'ClapFeatureExtractor'"),
    ]:
        with pytest.raises(MertCheckpointError, match=message):
            mert_input({**PREPROCESSOR, **change}, 24000, "p")


def _assert_weights_equal(model: HubertModel, reference: HubertModel) -> None:
    ours, theirs = model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], atol=0, rtol=0, msg=key)


@pytest.mark.parametrize("legacy", [True, False], ids=["weight_g_v_names", "parametrization_names"])
@pytest.mark.parametrize("layer_norm", [False, True], ids=["group_norm", "layer_norm"])
def test_weights_load_exactly(tmp_path: Path, legacy: bool, layer_norm: bool) -> None:
    directory = save_tiny_mert(tmp_path, layer_norm=layer_norm, legacy_weight_names=legacy)
    assert ("encoder.pos_conv_embed.conv.weight_g" in load_file(directory / "model.safetensors")) is legacy
    model, inputs = load_mert(directory)
    assert not model.training and inputs.sample_rate == 24000 and inputs.normalize
    _assert_weights_equal(model, tiny_hubert(layer_norm=layer_norm))


def _rewrite_weights(directory: Path, edit) -> None:  # noqa: ANN001 - a dict -> dict callable
    path = directory / "model.safetensors"
    save_file(edit(load_file(path)), path, metadata={"format": "pt"})


def test_nested_keys_are_unnested(tmp_path: Path) -> None:
    directory = save_tiny_mert(tmp_path)
    _rewrite_weights(directory, lambda state: {f"mert_model.{k}": v for k, v in state.items()})
    _assert_weights_equal(load_mert(directory)[0], tiny_hubert())


def test_sharded_safetensors_load(tmp_path: Path) -> None:
    directory = save_tiny_mert(tmp_path)
    state = load_file(directory / "model.safetensors")
    (directory / "model.safetensors").unlink()
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in shards.items():
        save_file({k: state[k] for k in keys}, directory / shard, metadata={"format": "pt"})
    index = {"weight_map": {k: shard for shard, keys in shards.items() for k in keys}}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    _assert_weights_equal(load_mert(directory)[0], tiny_hubert())
    (directory / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="lacks the weight shards"):
        checkpoint_directory(str(directory), revision=None, local_files_only=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: {k: v for k, v in s.items() if "layers.2." not in k}, r"missing \(e.g. encoder.layers.2"),
        (lambda s: {**s, "final_proj.weight": torch.zeros(2, 2)}, r"1 unexpected \(e.g. final_proj.weight\)"),
        (lambda s: {**s, "masked_spec_embed": torch.zeros(7)}, "do not fit the model config.json describes"),
    ],
    ids=["missing", "unexpected", "wrong_shape"],
)
def test_weights_that_do_not_match_are_refused(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    directory = save_tiny_mert(tmp_path)
    _rewrite_weights(directory, edit)
    with pytest.raises(MertCheckpointError, match=message):
        load_mert(directory)


def test_pickled_weights_are_refused_unread(tmp_path: Path) -> None:
    directory = save_tiny_mert(tmp_path)
    (directory / "model.safetensors").unlink()
    (directory / "pytorch_model.bin").write_bytes(b"not even a pickle")  # refused before anything reads it
    with pytest.raises(FileNotFoundError, match="only as pytorch_model.bin, a pickle, and Chroma never unpickles"):
        checkpoint_directory(str(directory), revision=None, local_files_only=True)


@pytest.mark.parametrize("missing", ["model.safetensors", "config.json", "preprocessor_config.json"])
def test_missing_files_are_named(tmp_path: Path, missing: str) -> None:
    directory = save_tiny_mert(tmp_path)
    (directory / missing).unlink()
    with pytest.raises(FileNotFoundError, match=f"{directory} has no {missing}"):
        checkpoint_directory(str(directory), revision=None, local_files_only=True)
