"""Random-init MERT checkpoint directories (a tiny one, or any HubertModel), for tests and benchmarks only.

Laid out as a MERT repository is: ``HubertModel.save_pretrained`` weights (``model.safetensors``,
with the positional convolution's weight norm under the ``weight_g`` / ``weight_v`` names MERT's
checkpoints use), a MERT-style ``config.json`` (``model_type: mert_model``, ``auto_map`` to the
remote code, the MERT-only keys) and a 24 kHz ``Wav2Vec2FeatureExtractor`` config. The plugin
loads it as it loads the real ``m-a-p/MERT-v1-95M``, without network access.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import HubertModel

RATE = 24000
#: The keys MERT's ``config.json`` has beyond Hubert's, at MERT-v1-95M's values.
MERT_KEYS: dict[str, Any] = {
    "model_type": "mert_model",
    "architectures": ["MERTModel"],
    "auto_map": {"AutoConfig": "configuration_MERT.MERTConfig", "AutoModel": "modeling_MERT.MERTModel"},
    "feature_extractor_cqt": False,
    "feature_extractor_cqt_bins": 336,
    "deepnorm": False,
    "attention_relax": -1.0,
    "sample_rate": RATE,
}
_POS_CONV = "encoder.pos_conv_embed.conv."
#: transformers 5's weight-norm parameter names -> the names in MERT's (transformers 4) checkpoints.
_LEGACY_NAMES = {"parametrizations.weight.original0": "weight_g", "parametrizations.weight.original1": "weight_v"}


def tiny_hubert(*, layer_norm: bool = False, seed: int = 0) -> HubertModel:
    """The ~45k-parameter ``HubertModel`` (3 layers, 32-d, MERT's 320-sample hop) a tiny checkpoint holds.

    ``layer_norm=True`` builds the stable-layer-norm flavour (layer-norm feature encoder,
    pre-norm layers, attention mask); otherwise MERT-v1-95M's (group norm, post-norm, no mask).
    """
    import torch
    from transformers import HubertConfig, HubertModel

    config = HubertConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=37,
        conv_dim=(32,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_bias=layer_norm, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer" if layer_norm else "group", do_stable_layer_norm=layer_norm,
        feat_proj_layer_norm=True, conv_pos_batch_norm=False,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return HubertModel(config).eval()


def save_tiny_mert(
    directory: str | Path, *, layer_norm: bool = False, seed: int = 0, legacy_weight_names: bool = True
) -> Path:
    """Write :func:`tiny_hubert` as a MERT checkpoint directory (:func:`write_mert_checkpoint`) and return its path."""
    return write_mert_checkpoint(
        tiny_hubert(layer_norm=layer_norm, seed=seed), directory, legacy_weight_names=legacy_weight_names
    )


def write_mert_checkpoint(model: HubertModel, directory: str | Path, *, legacy_weight_names: bool = True) -> Path:
    """Write ``model`` to ``directory`` laid out as a MERT repository, 24 kHz, and return the path.

    ``legacy_weight_names=False`` keeps transformers 5's weight-norm names instead of MERT's.
    """
    from safetensors.torch import load_file, save_file
    from transformers import Wav2Vec2FeatureExtractor

    path = Path(directory)
    model.save_pretrained(path)
    config = {**model.config.to_dict(), **MERT_KEYS}
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    if legacy_weight_names:
        weights = path / "model.safetensors"
        state = load_file(weights)
        for new, old in _LEGACY_NAMES.items():
            state[_POS_CONV + old] = state.pop(_POS_CONV + new)
        save_file(state, weights, metadata={"format": "pt"})
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=RATE, do_normalize=True, return_attention_mask=True
    ).save_pretrained(path)
    return path


def kit_options(directory: str | Path) -> dict[str, str]:
    """Contract-kit fixture (``test_fixture`` capability): a tiny MERT checkpoint in ``directory``."""
    return {"pretrained_model": str(save_tiny_mert(directory))}
