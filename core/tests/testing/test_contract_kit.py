"""The contract kit itself: it passes sound plugins and catches deliberately broken ones."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from torch import Tensor, nn

from chroma import EncoderCapabilities, FusionDims
from chroma.contracts import AudioBatch, Encoder, EncoderOutput, FusionModule, FusionOutput, MidiBatch
from chroma.modality import modality_index
from chroma.plugins import PluginConfig
from chroma.testing import (
    ContractError,
    ContractTarget,
    check_plugin,
    parametrize_with_contract,
)
from chroma.testing import (
    strategies as cst,
)

# ---------------------------------------------------------------- fusions


class SumFusion(FusionModule):
    """Sound reference: project every (null-substituted) modality and sum."""

    name = "sum"

    def __init__(self, dims: FusionDims):
        super().__init__(dims)
        self.proj = nn.ModuleDict({m: nn.Linear(d, self.hidden_dim) for m, d in self.input_dims.items()})

    def fuse(self, embeddings, modality_mask, sequences):
        return FusionOutput(sum(self.proj[m](embeddings[m]) for m in self.input_dims))


class LeakyFusion(SumFusion):
    """Skips the null substitution and multiplies by the mask: NaN * 0 leaks."""

    def forward(self, embeddings, modality_mask, sequences=None):
        mask = modality_mask.bool()
        masked = {m: e * mask[:, modality_index(m)].unsqueeze(1) for m, e in embeddings.items()}
        return self.fuse(masked, mask, None)


class PresentMeanFusion(SumFusion):
    """Averages present modalities only: 0 / 0 when none is present."""

    def fuse(self, embeddings, modality_mask, sequences):
        total = 0
        for m in self.input_dims:
            total = total + self.proj[m](embeddings[m]) * modality_mask[:, modality_index(m)].unsqueeze(1)
        return FusionOutput(total / modality_mask.sum(dim=1, keepdim=True))


class BatchNormalisedFusion(SumFusion):
    """Centres over the batch in eval mode too: rows depend on each other."""

    def fuse(self, embeddings, modality_mask, sequences):
        hidden = super().fuse(embeddings, modality_mask, sequences).hidden
        return FusionOutput(hidden - hidden.mean(dim=0, keepdim=True))


class AlwaysDropoutFusion(SumFusion):
    """Dropout that ignores eval mode."""

    def fuse(self, embeddings, modality_mask, sequences):
        return FusionOutput(F.dropout(super().fuse(embeddings, modality_mask, sequences).hidden, 0.5, training=True))


class UnregisteredWeightFusion(SumFusion):
    """Keeps a weight as a plain tensor attribute: it is not in the state_dict."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = torch.randn(self.hidden_dim)

    def fuse(self, embeddings, modality_mask, sequences):
        return FusionOutput(super().fuse(embeddings, modality_mask, sequences).hidden * self.scale)


def _failed(plugin) -> set[str]:
    return {r.check for r in check_plugin(plugin, on_fail=None).failures}


def test_sound_fusion_passes_every_check():
    report = check_plugin(SumFusion)
    assert report.ok and {r.status for r in report.results} == {"passed"}
    assert len(report.results) >= 10


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (LeakyFusion, "check_fusion_ignores_absent_slots"),
        (PresentMeanFusion, "check_fusion_finite_every_mask_pattern"),
        (BatchNormalisedFusion, "check_fusion_batch_independence"),
        (AlwaysDropoutFusion, "check_fusion_eval_determinism"),
        (UnregisteredWeightFusion, "check_fusion_state_round_trip"),
    ],
)
def test_kit_catches_broken_fusion(broken, expected):
    assert expected in _failed(broken)


def test_check_plugin_raises_with_a_readable_report():
    with pytest.raises(ContractError, match="check_fusion_ignores_absent_slots") as info:
        check_plugin(LeakyFusion)
    assert not info.value.report.ok
    assert "failed   sum-check_fusion_ignores_absent_slots" in info.value.report.summary()


def test_expected_failures_count_as_xfail_and_unexpected_passes_fail():
    report = check_plugin(
        PresentMeanFusion,
        on_fail=None,
        expected_failed_checks={
            "check_fusion_finite_every_mask_pattern": "divides by the present count",
            "check_fusion_declares_contract": "wrongly expected",
        },
    )
    statuses = {r.check: r.status for r in report.results}
    assert statuses["check_fusion_finite_every_mask_pattern"] == "xfailed"
    assert [r.check for r in report.failures if r.status == "xpassed"] == ["check_fusion_declares_contract"]


def test_parametrize_ids_and_strict_xfail_marks():
    decorator = parametrize_with_contract(
        [SumFusion], expected_failed_checks={"check_fusion_gradients": "reason given"}
    )
    params = decorator.args[1]
    ids = [p.id for p in params]
    assert "sum-check_fusion_output_shape" in ids and ids[0] == "sum-check_plugin_loads"
    marked = [p for p in params if p.marks]
    assert [p.id for p in marked] == ["sum-check_fusion_gradients"]
    assert marked[0].marks[0].kwargs == {"strict": True, "reason": "reason given"}


class _Scale(PluginConfig):
    width: int = 4


class ConfiguredFusion(SumFusion):
    """Third-party style: a config model as the first constructor argument."""

    name = "configured"

    def __init__(self, config: _Scale, dims: FusionDims):
        super().__init__(dims)
        self.extra = nn.Linear(self.hidden_dim, config.width)


def test_class_with_config_is_accepted():
    target = ContractTarget("configured", "fusion", lambda cfg, dims: ConfiguredFusion(cfg, dims), _Scale, {"width": 3})
    assert check_plugin([target, (ConfiguredFusion, _Scale(width=2))]).ok


def test_registry_record_that_failed_to_load_fails_the_loading_check():
    record = SimpleNamespace(name="broken_ep", kind=None, status="error", error="ImportError: no module x", spec=None)
    report = check_plugin(record, on_fail=None)
    assert [(r.check, r.status) for r in report.results] == [("check_plugin_loads", "failed")]
    assert "ImportError: no module x" in report.results[0].message


@parametrize_with_contract([SumFusion])
def test_kit_runs_under_pytest(plugin, check):
    check(plugin)


# ---------------------------------------------------------------- encoders


class MeanMidiEncoder(Encoder):
    """Sound reference: masked mean of projected events (zeros for empty MIDI)."""

    name = "mean_midi"
    modality = "midi"

    def __init__(self):
        super().__init__()
        self.output_dim = 6
        self.proj = nn.Linear(8, 6)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        valid = batch.padding_mask().unsqueeze(-1).float()
        total = (self.proj(batch.events) * valid).sum(dim=1)
        return EncoderOutput(total / valid.sum(dim=1).clamp(min=1.0))


class PaddingMeanMidiEncoder(MeanMidiEncoder):
    """Averages over the padded width, so appending padding changes the output."""

    name = "padding_mean"

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        return EncoderOutput(self.proj(batch.events).mean(dim=1))


class EmptyNanMidiEncoder(MeanMidiEncoder):
    """Divides by the event count: NaN for empty MIDI."""

    name = "empty_nan"

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        valid = batch.padding_mask().unsqueeze(-1).float()
        return EncoderOutput((self.proj(batch.events) * valid).sum(dim=1) / valid.sum(dim=1))


class FrameEnergyAudioEncoder(Encoder):
    """Sound reference: per-frame RMS of the valid samples, frames as a sequence."""

    name = "frame_energy"
    modality = "audio"
    returns_sequence = True
    frame = 400

    def __init__(self):
        super().__init__()
        self.sample_rate = 8000
        self.output_dim = 4
        self.proj = nn.Linear(1, 4)

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        frames = -(-batch.waveform.shape[1] // self.frame)
        wave = F.pad(batch.waveform, (0, frames * self.frame - batch.waveform.shape[1]))
        rms = wave.reshape(wave.shape[0], frames, self.frame).pow(2).mean(-1, keepdim=True).sqrt()
        valid = torch.arange(frames)[None, :] * self.frame < batch.lengths[:, None]
        seq = self.proj(rms) * valid.unsqueeze(-1)
        pooled = seq.sum(1) / valid.sum(1, keepdim=True).clamp(min=1)
        return EncoderOutput(pooled, seq, valid)


def test_sound_encoders_pass():
    report = check_plugin([MeanMidiEncoder, FrameEnergyAudioEncoder])
    checks = {r.check for r in report.results if r.plugin == "frame_energy"}
    assert {"check_encoder_sequence_contract", "check_encoder_padding_invariance"} <= checks


def test_kit_catches_broken_encoders():
    assert "check_encoder_padding_invariance" in _failed(PaddingMeanMidiEncoder)
    assert "check_encoder_degenerate_inputs" in _failed(EmptyNanMidiEncoder)


def test_pretrained_without_test_config_is_skipped():
    target = ContractTarget(
        "mean_midi", "midi_encoder", lambda cfg: MeanMidiEncoder(), capabilities=EncoderCapabilities(pretrained=True)
    )
    statuses = {r.status for r in check_plugin(target).results if r.check != "check_plugin_loads"}
    assert statuses == {"skipped"}


# ---------------------------------------------------------------- strategies

SMALL = settings(max_examples=15, deadline=None, derandomize=True, database=None)


@SMALL
@given(cst.multimodal_batches({"text": 3, "audio": 2}))
def test_multimodal_batches_put_garbage_only_in_absent_slots(batch):
    embeddings, mask = batch
    assert not mask[:, modality_index("midi")].any()
    for name, emb in embeddings.items():
        present = mask[:, modality_index(name)]
        assert torch.isfinite(emb[present]).all()


def test_every_mask_pattern_covers_none_and_single():
    patterns = cst.every_mask_pattern()
    assert patterns.shape == (8, 3) and not patterns[0].any()
    assert {int(row.sum()) for row in patterns} == {0, 1, 2, 3}


@SMALL
@given(cst.midi_batches(max_events=12))
def test_midi_batches_follow_the_event_columns(batch: MidiBatch):
    valid = batch.padding_mask()
    ev = batch.events[valid]
    pitch, vel, onset, dur, program, drum, bar, pos = ev.unbind(-1) if len(ev) else [torch.zeros(0)] * 8
    assert ((pitch >= 0) & (pitch <= 127) & (pitch == pitch.round())).all()
    assert ((vel >= 1) & (vel <= 127)).all() and ((program >= 0) & (program <= 127)).all()
    assert ((onset >= 0) & (onset + dur <= batch.duration + 1e-5) & (dur > 0)).all()
    assert ((drum == 0) | (drum == 1)).all() and ((bar >= 0) & (bar == bar.round())).all()
    assert ((pos >= 0) & (pos < 1)).all()
    assert (batch.events[~valid] == 0).all()


@SMALL
@given(cst.audio_batches(8000, max_seconds=0.1))
def test_audio_batches_are_zero_past_lengths(batch: AudioBatch):
    positions = torch.arange(batch.waveform.shape[1])[None, :]
    assert (batch.waveform[positions >= batch.lengths[:, None]] == 0).all()
    assert batch.waveform.abs().max() <= 1.0


def test_strategies_reach_edge_cases():
    """Batch size 1, all-absent rows, empty MIDI and empty audio are all generated."""
    seen: dict[str, bool] = {"b1": False, "none": False, "empty_midi": False, "empty_audio": False}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(cst.modality_masks(), cst.midi_batches(), cst.audio_batches(8000, max_seconds=0.05))
    def run(mask: Tensor, midi: MidiBatch, audio: AudioBatch):
        seen["b1"] |= mask.shape[0] == 1
        seen["none"] |= bool((~mask.any(dim=1)).any())
        seen["empty_midi"] |= bool((midi.lengths == 0).any())
        seen["empty_audio"] |= bool((audio.lengths == 0).any())

    run()
    assert all(seen.values()), seen
