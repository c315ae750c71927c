"""ChromaModel / build_model: fast and end-to-end paths, modality dropout, restriction, heads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma import FusionDims
from chroma.contracts import AudioBatch, MidiBatch, TextBatch
from chroma.heads import ClassificationHeads
from chroma.modality import MODALITIES
from chroma.model import ChromaModel, drop_modalities
from chroma.plugins.registry import get_registry
from chroma_framework.builtin_plugins import chroma_plugins
from chroma_framework.config import ChromaConfig, ConfigError, load_config
from chroma_framework.model_build import build_model

LABELS = {
    "temporal_mode": ["past", "present", "future"],
    "spatial_mode": ["thing", "place", "person"],
    "ontological_mode": ["imagined", "forgotten", "known"],
}
DIMS = {"text": 12, "audio": 8, "midi": 10}


def _config(**model) -> ChromaConfig:
    return ChromaConfig.model_validate({"model": model})


def _fast_batch(batch: int = 5, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {
        "modality_mask": torch.rand(batch, 3, generator=gen) > 0.4,
        "embeddings": {m: torch.randn(batch, d, generator=gen) for m, d in DIMS.items()},
    }


def _midi_batch(batch: int, events: int = 6, seed: int = 0) -> MidiBatch:
    gen = torch.Generator().manual_seed(seed)
    ev = torch.rand(batch, events, 8, generator=gen)
    ev[..., 0] = torch.randint(0, 128, (batch, events), generator=gen).float()
    lengths = torch.randint(0, events + 1, (batch,), generator=gen)
    lengths[0] = events
    return MidiBatch(ev * (torch.arange(events)[None, :, None] < lengths[:, None, None]), lengths, 10.0)


def test_heads_give_logits_per_head() -> None:
    heads = ClassificationHeads(16, {"a": ["x", "y", "z"], "b": ["p", "q"]})
    out = heads(torch.randn(4, 16))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"a": (4, 3), "b": (4, 2)}
    with pytest.raises(ValueError, match="head 'b' needs at least 2 classes"):
        ClassificationHeads(16, {"b": ["only"]})


def test_fast_path_builds_default_three_heads(plugin_registry) -> None:
    config = _config(fusion={"strategy": "test_concat", "hidden_dim": 16, "dropout": 0.1})
    model = build_model(config, LABELS, DIMS, registry=plugin_registry).eval()
    out = model(_fast_batch())
    assert {k: tuple(v.shape) for k, v in out.logits.items()} == {h: (5, 3) for h in LABELS}
    assert list(out.logits) == config.data.labels
    assert out.hidden.shape == (5, 16)
    assert model.modalities == MODALITIES and not model.encoders
    assert model.build_info["fusion"] == {
        "name": "test_concat",
        "distribution": "chroma-test-plugins",
        "version": "1.0",
    }
    assert model.build_info["input_dims"] == DIMS and model.build_info["labels"] == LABELS


def test_build_is_deterministic_from_config_labels_dims(plugin_registry) -> None:
    config = _config(fusion={"strategy": "test_concat", "hidden_dim": 16})
    torch.manual_seed(3)
    first = build_model(config, LABELS, DIMS, registry=plugin_registry).state_dict()
    torch.manual_seed(3)
    second = build_model(config, LABELS, DIMS, registry=plugin_registry).state_dict()
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key])


def test_missing_label_classes_is_a_config_error(plugin_registry) -> None:
    with pytest.raises(
        ConfigError, match=r"data.labels: no classes given for label column\(s\) \['ontological_mode'\]"
    ):
        build_model(
            _config(fusion={"strategy": "test_concat"}),
            {k: LABELS[k] for k in list(LABELS)[:2]},
            DIMS,
            registry=plugin_registry,
        )


def test_bad_fusion_option_names_yaml_path_plugin_and_allowed_keys(plugin_registry) -> None:
    config = _config(fusion={"strategy": "test_attn", "attention_head": 4})
    with pytest.raises(ConfigError) as info:
        build_model(config, LABELS, DIMS, registry=plugin_registry)
    message = str(info.value)
    assert "model.fusion.attention_head: unknown key 'attention_head'" in message
    assert "fusion plugin 'test_attn'" in message and "allowed keys: attention_heads, dropout" in message
    bad_value = _config(fusion={"strategy": "test_attn", "attention_heads": 0})
    with pytest.raises(ConfigError, match=r"model.fusion.attention_heads: Input should be greater than 0"):
        build_model(bad_value, LABELS, DIMS, registry=plugin_registry)


def test_modality_without_encoder_or_width_is_a_config_error(plugin_registry) -> None:
    with pytest.raises(ConfigError, match="model.midi_encoder is not set and no precomputed midi"):
        build_model(
            _config(fusion={"strategy": "test_concat"}), LABELS, {"text": 12, "audio": 8}, registry=plugin_registry
        )


def test_config_disable_list_applies_to_build(plugin_registry) -> None:
    config = ChromaConfig.model_validate(
        {"model": {"fusion": {"strategy": "test_concat"}}, "plugins": {"disable": ["chroma-test-plugins"]}}
    )
    with pytest.raises(Exception, match="disabled by 'chroma-test-plugins' in plugins.disable"):
        build_model(config, LABELS, DIMS, registry=plugin_registry)


def test_end_to_end_passes_encoder_sequences_to_a_sequence_fusion(plugin_registry) -> None:
    for spec in chroma_plugins():  # core's text encoders, including the pass-through "precomputed"
        plugin_registry.register_spec(spec, "chroma-core", "0.1.0")
    config = _config(
        text_encoder={"type": "precomputed", "dim": 12},
        midi_encoder={"type": "test_midi", "hidden_dim": 10, "frozen": False},
        audio_encoder={"type": "test_audio", "hidden_dim": 8, "frame": 32},
        fusion={"strategy": "test_attn", "hidden_dim": 16, "attention_heads": 2},
    )
    model = build_model(config, LABELS, registry=plugin_registry).eval()
    assert set(model.encoders) == {"text", "audio", "midi"}
    assert model.build_info["sequence_dims"] == {"midi": 10}
    batch_size = 4
    midi = _midi_batch(batch_size)
    batch = {
        "modality_mask": torch.ones(batch_size, 3, dtype=torch.bool),
        "text": TextBatch(texts=None, embeddings=torch.randn(batch_size, 12)),
        "audio": AudioBatch(torch.randn(batch_size, 320), torch.full((batch_size,), 320), 16000),
        "midi": midi,
    }
    out = model(batch)
    assert out.weights["attention_midi"].shape == (batch_size, 6)
    assert out.embeddings["midi"].shape == (batch_size, 10)
    # The sequence reaches the fusion: changing valid events changes the output.
    changed = MidiBatch(midi.events.clone(), midi.lengths, midi.duration)
    changed.events[0, 0, 1] += 5.0
    assert not torch.allclose(model({**batch, "midi": changed}).hidden[0], out.hidden[0])
    # Gradients reach the trainable (unfrozen) MIDI encoder; the frozen audio encoder gets none.
    model.train()
    sum(v.sum() for v in model(batch).logits.values()).backward()
    assert model.encoders["midi"].pitch.weight.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in model.encoders["audio"].parameters())
    assert not model.encoders["audio"].training


def test_encoder_skipped_when_no_row_has_the_modality(plugin_registry) -> None:
    config = _config(audio_encoder={"type": "test_audio", "hidden_dim": 8}, fusion={"strategy": "test_concat"})
    model = build_model(config, LABELS, {"text": 12, "midi": 10}, registry=plugin_registry).eval()
    batch = _fast_batch(3)
    del batch["embeddings"]["audio"]
    batch["modality_mask"][:, 1] = False
    # A waveform whose length does not fit the encoder would fail if the encoder ran.
    batch["audio"] = AudioBatch(torch.zeros(3, 0), torch.zeros(3, dtype=torch.long), 16000)
    assert model(batch).embeddings["audio"].shape == (3, 8)


def test_missing_input_for_a_modality_is_reported(plugin_registry) -> None:
    model = build_model(_config(fusion={"strategy": "test_concat"}), LABELS, DIMS, registry=plugin_registry)
    batch = _fast_batch()
    del batch["embeddings"]["midi"]
    with pytest.raises(ValueError, match=r"no input for modality 'midi'.*model.midi_encoder"):
        model(batch)


def test_text_only_baseline_ignores_other_modalities(plugin_registry) -> None:
    config = _config(modalities=["text"], fusion={"strategy": "test_concat", "hidden_dim": 16})
    model = build_model(config, LABELS, DIMS, registry=plugin_registry).eval()
    assert model.modalities == ("text",) and model.fusion.input_dims == {"text": 12}
    batch = _fast_batch()
    other = {**batch, "embeddings": {**batch["embeddings"], "audio": torch.randn(5, 8) * 100}}
    torch.testing.assert_close(model(other).hidden, model(batch).hidden)
    assert not model(batch).modality_mask[:, 1:].any()


def test_modality_dropout_only_in_training_and_seeded(plugin_registry) -> None:
    config = _config(fusion={"strategy": "test_concat"}, modality_dropout=0.5)
    model = build_model(config, LABELS, DIMS, registry=plugin_registry)
    batch = _fast_batch(64)
    model.eval()
    assert torch.equal(model(batch).modality_mask, batch["modality_mask"])
    model.train()
    first = model(batch, generator=torch.Generator().manual_seed(7)).modality_mask
    again = model(batch, generator=torch.Generator().manual_seed(7)).modality_mask
    assert torch.equal(first, again) and not torch.equal(first, batch["modality_mask"])


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=16),
    p=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**31 - 1),
)
def test_dropout_never_removes_all_present_modalities(rows, p, seed) -> None:
    mask = torch.tensor(rows, dtype=torch.bool)
    dropped = drop_modalities(mask, p, torch.Generator().manual_seed(seed))
    assert not (dropped & ~mask).any(), "dropout added a modality"
    assert torch.equal(dropped.any(dim=1), mask.any(dim=1)), "a sample lost every present modality"


def test_dropout_rate_matches_p_on_full_masks() -> None:
    mask = torch.ones(20000, 3, dtype=torch.bool)
    dropped = drop_modalities(mask, 0.15, torch.Generator().manual_seed(0))
    rate = 1 - dropped.float().mean().item()
    # Exactly p except the rows where all three were drawn (p^3, one of them restored).
    assert abs(rate - (0.15 - 0.15**3 / 3)) < 0.01


def test_encoder_width_mismatch_is_rejected(plugin_registry) -> None:
    encoder = plugin_registry.build_encoder("midi_encoder", "test_midi", {"hidden_dim": 6})
    fusion = plugin_registry.build_fusion("test_concat", dims=FusionDims({"midi": 10}, 8))
    with pytest.raises(ValueError, match="midi encoder 'test_midi' outputs 6 features, the fusion expects 10"):
        ChromaModel(fusion, LABELS, {"midi": encoder})


@pytest.mark.parametrize("name", ["default", "fusion_early", "fusion_gated", "fusion_cross_attention", "text_only"])
def test_example_configs_build_with_installed_fusions(name) -> None:
    """Each example config's fusion (a real installed plugin) builds over precomputed embeddings and runs."""
    config = load_config(Path(__file__).parents[2] / "configs" / f"{name}.yaml")
    dims = {"text": 768, "audio": 512, "midi": 512}
    model = build_model(config, LABELS, {m: dims[m] for m in config.model.modalities}, registry=get_registry())
    assert type(model.fusion).name == config.model.fusion.strategy
    model.eval()
    batch = {
        "modality_mask": torch.tensor([[True, True, False], [False, False, True], [False, False, False]]),
        "embeddings": {m: torch.randn(3, d) for m, d in dims.items()},
    }
    out = model(batch)
    assert {h: tuple(v.shape) for h, v in out.logits.items()} == {h: (3, 3) for h in LABELS}
    assert torch.isfinite(out.hidden).all()


def test_cross_attention_config_runs_end_to_end_with_real_encoders() -> None:
    """configs/fusion_cross_attention.yaml: CNN audio and event MIDI encoders feed their sequences to the fusion."""
    config = load_config(Path(__file__).parents[2] / "configs" / "fusion_cross_attention.yaml")
    model = build_model(config, LABELS, registry=get_registry()).eval()
    assert set(model.encoders) == {"text", "audio", "midi"}
    assert model.build_info["sequence_dims"] == {"audio": 256, "midi": 256}
    events = torch.zeros(2, 5, 8)
    events[..., 0], events[..., 1], events[..., 3] = 60.0, 80.0, 0.5
    events[..., 2] = torch.arange(5).float()
    batch = {
        "modality_mask": torch.tensor([[True, True, True], [False, True, True]]),
        "text": TextBatch(["la la", ""], torch.randn(2, 768)),
        "audio": AudioBatch(torch.randn(2, 32000), torch.tensor([32000, 16000]), 16000),
        "midi": MidiBatch(events, torch.tensor([5, 3]), 10.0),
    }
    out = model(batch)
    assert {h: tuple(v.shape) for h, v in out.logits.items()} == {h: (2, 3) for h in LABELS}
    assert out.weights and torch.isfinite(out.hidden).all()


def test_preprocessing_tokenization_reaches_token_based_midi_encoders_that_leave_it_unset():
    labels = {h: ["a", "b", "c"] for h in ("temporal_mode", "spatial_mode", "ontological_mode")}
    small = {"type": "event_based", "hidden_dim": 8, "d_model": 8, "layers": 1, "heads": 2, "ff_dim": 16}
    base = {
        "model": {
            "modalities": ["midi"],
            "midi_encoder": small,
            "fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]},
        }
    }
    assert build_model(load_config(base), labels).encoders["midi"].vocabulary.variant == "midilike"
    inherited = {**base, "preprocessing": {"midi": {"tokenization": "bar_aware"}}}
    assert build_model(load_config(inherited), labels).encoders["midi"].vocabulary.variant == "bar_aware"
    own = {**inherited, "model": {**base["model"], "midi_encoder": {**small, "tokenization": "midilike"}}}
    assert build_model(load_config(own), labels).encoders["midi"].vocabulary.variant == "midilike"
