"""chroma precompute: per-modality fingerprint cache, no work on unchanged reruns, resumability."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from chroma.contracts import AudioBatch, Encoder, EncoderOutput, MidiBatch
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.precompute import read_absent_reasons, run_precompute
from chroma_framework.data.synthetic import write_synthetic


class BandEncoder(Encoder):
    """Log energy in ``bands`` frequency bands through a frozen random projection."""

    name = "bands"
    version = "1"
    modality = "audio"
    sample_rate = 8000
    calls = 0

    def __init__(self, bands: int = 8) -> None:
        super().__init__()
        self.output_dim = bands
        self.proj = nn.Linear(bands, bands)

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        type(self).calls += 1
        spec = torch.fft.rfft(batch.waveform).abs() ** 2
        energy = torch.stack([c.sum(-1) for c in spec.chunk(self.output_dim, dim=-1)], dim=-1)
        return EncoderOutput(pooled=self.proj(torch.log1p(energy)))


class StatsEncoder(Encoder):
    """Masked mean/std pitch, mean duration and event count, scaled."""

    name = "stats"
    version = "1"
    modality = "midi"
    calls = 0
    fail_after: int | None = None

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.output_dim = 4
        self.scale = scale

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        cls = type(self)
        if cls.fail_after is not None and cls.calls >= cls.fail_after:
            raise RuntimeError("simulated crash")
        cls.calls += 1
        m = batch.padding_mask().float()
        n = m.sum(1).clamp_min(1)
        pitch = batch.events[..., 0]
        mean = (pitch * m).sum(1) / n
        std = (((pitch - mean[:, None]) ** 2) * m).sum(1).div(n).sqrt()
        dur = (batch.events[..., 3] * m).sum(1) / n
        return EncoderOutput(pooled=self.scale * torch.stack([mean / 127, std / 127, dur, n / 100], dim=1))


def build(modality, section):
    cls = {"audio": BandEncoder, "midi": StatsEncoder}[modality]
    return cls(**section.plugin_options())


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("pc"), n_segments=40, seed=5, duration=0.5, lyric_embedding_dim=8)


def _config(synth, out: str, midi_scale: float = 1.0, **model) -> ChromaConfig:
    return ChromaConfig.model_validate(
        {
            "data": {
                **synth.data_section().model_dump(),
                "embeddings_path": out,
                "report_path": out + ".report.json",
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"chunk_size": 10, "batch_size": 4},
            },
            "preprocessing": {"audio": {"duration": 0.5}},
            "model": {
                "audio_encoder": {"type": "bands", "bands": 8},
                "midi_encoder": {"type": "stats", "scale": midi_scale},
                **model,
            },
        }
    )


@pytest.fixture(autouse=True)
def _reset_counters():
    BandEncoder.calls = StatsEncoder.calls = 0
    StatsEncoder.fail_after = None


def _run(cfg, **kw):
    return run_precompute(cfg, build_encoder=build, progress=False, **kw)


def test_first_run_unchanged_rerun_and_one_changed_encoder(synth):
    cfg = _config(synth, "emb.parquet")
    first = _run(cfg)
    assert sorted(first.computed) == ["audio", "midi", "text"] and BandEncoder.calls > 0 and StatsEncoder.calls > 0
    table = read_embeddings(first.path)
    assert len(table) == 40 and table.dims == {"text": 8, "audio": 8, "midi": 4}
    meta = pq.read_table(synth.metadata_path).to_pylist()
    by_id = {r["segment_id"]: r for r in meta}
    for row, sid in enumerate(table.segment_ids):
        r = by_id[sid]
        if table.mask[row, 0]:
            np.testing.assert_allclose(table.embeddings["text"][row], r["lyric_embedding"], rtol=1e-6)
        if r["synthetic_audio_fault"] or not r["has_audio"]:
            assert not table.mask[row, 1]
        if r["synthetic_midi_fault"] or not r["has_midi"]:
            assert not table.mask[row, 2]
    assert table.mask[:, 1].sum() > 20 and table.mask[:, 2].sum() > 5
    assert np.all(table.embeddings["audio"][~table.mask[:, 1]] == 0)
    reasons = read_absent_reasons(first.path)
    assert {r for r in reasons["audio"] if r} >= {"corrupt", "not_available"}
    report = json.loads((synth.root / "emb.parquet.report.json").read_text())
    assert report["segments"] == 40 and report["absent_counts"]["midi"]["not_available"] > 0

    BandEncoder.calls = StatsEncoder.calls = 0
    again = _run(cfg)
    assert again.computed == [] and BandEncoder.calls == 0 and StatsEncoder.calls == 0
    same = read_embeddings(again.path)
    for m in table.embeddings:
        np.testing.assert_array_equal(same.embeddings[m], table.embeddings[m])
    assert same.fingerprints == table.fingerprints
    assert read_absent_reasons(again.path) == reasons

    changed = _run(_config(synth, "emb.parquet", midi_scale=2.0))
    assert changed.computed == ["midi"] and BandEncoder.calls == 0 and StatsEncoder.calls > 0
    new = read_embeddings(changed.path)
    np.testing.assert_array_equal(new.embeddings["audio"], table.embeddings["audio"])
    np.testing.assert_allclose(new.embeddings["midi"], 2 * table.embeddings["midi"], rtol=1e-6)
    assert new.fingerprints["audio"] == table.fingerprints["audio"]
    assert new.fingerprints["midi"] != table.fingerprints["midi"]


def test_killed_run_resumes_without_losing_finished_chunks(synth):
    reference = read_embeddings(_run(_config(synth, "ref.parquet")).path)
    full_audio, full_midi = BandEncoder.calls, StatsEncoder.calls
    BandEncoder.calls = StatsEncoder.calls = 0

    cfg = _config(synth, "resume.parquet")
    StatsEncoder.fail_after = full_midi // 2
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(cfg)
    parts = synth.root / "resume.parquet.parts"
    assert list(parts.glob("midi-*.parquet")) and not (synth.root / "resume.parquet").exists()
    done_audio = BandEncoder.calls
    BandEncoder.calls = StatsEncoder.calls = 0
    StatsEncoder.fail_after = None
    resumed = _run(cfg)
    assert 0 < StatsEncoder.calls < full_midi
    assert BandEncoder.calls < full_audio and BandEncoder.calls + done_audio >= full_audio
    got = read_embeddings(resumed.path)
    assert got.segment_ids == reference.segment_ids
    np.testing.assert_array_equal(got.mask, reference.mask)
    for m in reference.embeddings:
        np.testing.assert_allclose(got.embeddings[m], reference.embeddings[m], rtol=1e-6)
    assert not parts.exists()


def test_registry_built_precomputed_text_and_errors(synth):
    cfg = ChromaConfig.model_validate(
        {
            "data": {
                **synth.data_section().model_dump(),
                "embeddings_path": "text.parquet",
                "columns": {"lyric_embedding": "lyric_embedding"},
            },
            "model": {
                "text_encoder": {"type": "precomputed", "dim": 8},
                "audio_encoder": {"type": "bands", "frozen": False},
            },
        }
    )
    result = run_precompute(cfg, progress=False)
    table = read_embeddings(result.path)
    assert set(table.embeddings) == {"text"}  # the trainable audio encoder is not precomputed
    assert table.fingerprints["text"].startswith("precomputed-1-")
    with pytest.raises(ValueError, match="lyric_embedding"):
        bad = cfg.model_copy(
            update={
                "data": cfg.data.model_copy(
                    update={"columns": cfg.data.columns.model_copy(update={"lyric_embedding": None})}
                )
            }
        )
        run_precompute(bad, progress=False)
    empty = ChromaConfig.model_validate({"data": synth.data_section().model_dump()})
    with pytest.raises(ValueError, match="nothing to precompute"):
        run_precompute(empty, progress=False)


def test_the_default_builder_applies_the_configs_plugins_disable(synth) -> None:
    """A config that disables the distribution of its MIDI encoder is refused when precompute builds it."""
    from chroma.plugins.errors import PluginDisabledError
    from chroma_framework.data.precompute import default_builder

    cfg = ChromaConfig.model_validate(
        {
            "data": synth.data_section().model_dump(),
            "model": {"midi_encoder": {"type": "midi_features"}},
            "plugins": {"disable": ["chroma-midi-features"]},
        }
    )
    with pytest.raises(PluginDisabledError, match="midi_features"):
        default_builder(cfg)("midi", cfg.model.midi_encoder)
    enabled = cfg.model_copy(update={"plugins": cfg.plugins.model_copy(update={"disable": []})})
    assert default_builder(enabled)("midi", enabled.model.midi_encoder).name == "midi_features"
