"""The ``midi_features`` encoder: contract kit, layout, options, bad input, normalisation, padding."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from chroma_midi_features.encoder import MidiFeaturesEncoder
from chroma_midi_features.plugin import MidiFeaturesConfig
from pydantic import ValidationError

from chroma import MIDI_EVENT_FEATURES, MidiBatch
from chroma.plugins.registry import get_registry
from chroma.testing import parametrize_with_contract
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

RAW = MidiFeaturesConfig(normalize=False, phase_bins=12, meter_divisions=(2, 3, 4), percentiles=(50.0,))


@parametrize_with_contract(["midi_encoder:midi_features"])
def test_contract(plugin, check) -> None:
    check(plugin)


@parametrize_with_contract([(MidiFeaturesEncoder, RAW)])
def test_contract_of_raw_features_with_other_options(plugin, check) -> None:
    check(plugin)


def _songs(seconds: float = 10.0) -> MidiBatch:
    rows = [parse_midi(synthetic_midi(seed, bars=8), end=seconds) for seed in range(3)]
    batch, _ = events_to_batch([*rows, None], seconds, max_events=4096)
    return batch


def test_layout_names_every_column_once() -> None:
    encoder = MidiFeaturesEncoder(MidiFeaturesConfig())
    names = encoder.feature_names
    assert encoder.output_dim == len(names) == 91 + 128 == len(set(names))
    assert names[:2] == ("pitch_class_C", "pitch_class_C#") and names[-129] == "drum_density"
    assert names[-128:] == tuple(f"program_{p:03d}" for p in range(128))
    custom = MidiFeaturesEncoder(RAW)
    assert custom.output_dim == 62 + 12 + 3 + 1 + 128 * RAW.programs
    assert "meter_grid_3" in custom.feature_names and "pitch_p50" in custom.feature_names
    assert custom(_songs()).pooled.shape == (4, custom.output_dim)


def test_no_parameters_and_an_empty_state_dict() -> None:
    encoder = MidiFeaturesEncoder(MidiFeaturesConfig())
    assert list(encoder.parameters()) == [] and encoder.state_dict() == {}
    assert encoder.name == "midi_features" and encoder.version == "2" and encoder.sample_rate is None


def test_registry_builds_it_by_name() -> None:
    encoder = get_registry().build_encoder("midi_encoder", "midi_features", {"phase_bins": 8})
    assert isinstance(encoder, MidiFeaturesEncoder) and encoder.output_dim == 62 + 8 + 8 + 5 + 128


def test_plugin_module_imports_no_torch() -> None:
    code = "import sys, chroma_midi_features.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_normalize_applies_the_documented_transforms() -> None:
    batch = _songs()
    raw = MidiFeaturesEncoder(MidiFeaturesConfig(normalize=False))
    raw_out = dict(zip(raw.feature_names, raw(batch).pooled.T, strict=True))
    normed = MidiFeaturesEncoder(MidiFeaturesConfig())
    out = dict(zip(normed.feature_names, normed(batch).pooled.T, strict=True))
    expected = {
        "pitch_class_D": raw_out["pitch_class_D"],
        "key_minor_A": raw_out["key_minor_A"],
        "meter_grid_4": raw_out["meter_grid_4"],
        "note_density": torch.log1p(raw_out["note_density"]),
        "ioi_mean": torch.log1p(raw_out["ioi_mean"]),
        "pitch_mean": raw_out["pitch_mean"] / 127,
        "pitch_p90": raw_out["pitch_p90"] / 127,
        "pitch_std": raw_out["pitch_std"] / 12,
        "polyphony_max": torch.log1p(raw_out["polyphony_max"]),
        "velocity_std": raw_out["velocity_std"] / 127,
        "duration_max": torch.log1p(raw_out["duration_max"]),
        "drum_share": raw_out["drum_share"],
    }
    for name, value in expected.items():
        torch.testing.assert_close(out[name], value, msg=name)
    present = torch.stack(list(out.values()), dim=1)[:3]
    assert present.abs().max() < 5 and raw(batch).pooled.abs().max() > 100  # well scaled without fitting


def test_garbage_past_the_lengths_is_never_read() -> None:
    batch = _songs()
    garbage = batch.events.clone()
    pad = ~batch.padding_mask()
    garbage[pad] = torch.tensor([math.nan, 1e30, -math.inf, 5.0, 1.0, 1.0, -3.0, 0.5])
    encoder = MidiFeaturesEncoder(MidiFeaturesConfig())
    torch.testing.assert_close(encoder(MidiBatch(garbage, batch.lengths, batch.duration)).pooled, encoder(batch).pooled)


def test_empty_rows_are_zero_and_drum_only_rows_have_no_pitch_features() -> None:
    kick = [[36.0, 100.0, 0.5 * i, 0.1, 0.0, 1.0, i // 4, (i % 4) / 4] for i in range(8)]
    events = torch.zeros(2, 8, len(MIDI_EVENT_FEATURES))
    events[1] = torch.tensor(kick)
    encoder = MidiFeaturesEncoder(MidiFeaturesConfig(normalize=False))
    out = encoder(MidiBatch(events, torch.tensor([0, 8]), 4.0)).pooled
    named = dict(zip(encoder.feature_names, out[1].tolist(), strict=True))
    assert out[0].abs().sum() == 0
    assert named["drum_share"] == 1.0 and named["onset_density"] == 2.0 and named["meter_grid_4"] == 1.0
    pitch_like = [n for n in encoder.feature_names if n.startswith(("pitch", "key", "polyphony", "duration"))]
    assert all(named[n] == 0 for n in pitch_like)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda e, n: MidiBatch(e[..., :5], n, 4.0), "events must be a float"),
        (lambda e, n: MidiBatch(e.long(), n, 4.0), "events must be a float"),
        (lambda e, n: MidiBatch(e, n.float(), 4.0), "lengths must be an int"),
        (lambda e, n: MidiBatch(e, n[:1], 4.0), "lengths must be an int"),
        (lambda e, n: MidiBatch(e, n + 10, 4.0), "lengths must lie in"),
        (lambda e, n: MidiBatch(e, n, 0.0), "positive number of seconds"),
        (lambda e, n: MidiBatch(e, n, math.nan), "positive number of seconds"),
        (
            lambda e, n: MidiBatch(e.index_fill(1, torch.tensor([0]), math.nan), n, 4.0),
            r"non-finite event values in rows \[0, 1\]",
        ),
    ],
)
def test_bad_batches_get_a_clear_error(make, message: str) -> None:
    events = torch.rand(2, 3, len(MIDI_EVENT_FEATURES))
    with pytest.raises(ValueError, match=message):
        MidiFeaturesEncoder(MidiFeaturesConfig())(make(events, torch.tensor([3, 2])))


@pytest.mark.parametrize(
    "options",
    [
        {"phase_bins": 1},
        {"meter_divisions": (4, 2)},
        {"meter_divisions": ()},
        {"meter_divisions": (1, 128)},
        {"grid_tolerance": 0.05},  # >= half of 1/16 bar
        {"onset_tolerance": -0.1},
        {"percentiles": (50.0, 10.0)},
        {"percentiles": (0.0,)},
        {"normalise": True},
    ],
)
def test_bad_options_are_rejected(options: dict) -> None:
    with pytest.raises(ValidationError):
        MidiFeaturesConfig.model_validate(options)


def test_onset_tolerance_merges_spread_chords() -> None:
    rolled = np.array([[60 + 4 * i, 90, 1.0 + 0.012 * i, 1.0, 0, 0, 0, 0.25] for i in range(3)], dtype=np.float32)
    batch, _ = events_to_batch([rolled], 4.0, max_events=8)
    names = MidiFeaturesEncoder(MidiFeaturesConfig()).feature_names
    counts = []
    for tolerance in (0.0, 0.025):
        encoder = MidiFeaturesEncoder(MidiFeaturesConfig(normalize=False, onset_tolerance=tolerance))
        counts.append(encoder(batch).pooled[0, names.index("onset_density")].item() * 4.0)
    assert counts == pytest.approx([3.0, 1.0])
