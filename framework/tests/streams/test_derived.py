"""Chroma's derived streams (audio RMS and log-mel, piano-roll frames, LRC word timings) as ``data.streams``
sources, read from the synthetic data set's real parquet, audio blobs/files and MIDI through the data layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chroma_framework.config import load_config
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.streams.derived import audio_mel, audio_rms, lrc_words, piano_roll_frames
from chroma_framework.streams.model_inputs import derived_samples
from chroma_framework.streams.sources import read_streams

HOP = 0.1


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> object:
    dataset = write_synthetic(tmp_path_factory.mktemp("derived"), n_segments=40, seed=2, duration=1.0)
    sources = [
        {"name": "rms", "kind": "continuous", "dim": 1, "derived": "audio_rms", "hop": HOP},
        {"name": "mel", "kind": "embedding", "dim": 8, "derived": "audio_mel", "hop": HOP},
        {"name": "roll", "kind": "continuous", "dim": 128, "derived": "piano_roll", "hop": HOP},
        {"name": "words", "kind": "discrete", "dim": 1, "derived": "lrc_words"},
    ]
    return load_config(
        {
            "data": {
                "root": str(dataset.root),
                "metadata_path": dataset.metadata_path.name,
                "media_path": dataset.media_path.name,
                "streams": {"sources": sources, "grid": {"rate": 10.0, "duration": 1.0}},
            },
            "preprocessing": {"audio": {"duration": 1.0, "sample_rate": 16000}, "midi": {"duration": 1.0}},
        }
    )


def test_rms_is_the_root_mean_square_of_each_window() -> None:
    wave = np.concatenate([np.full(1600, 0.5), np.full(1600, -0.25), np.zeros(100)])
    times, values = audio_rms(wave, 16000, HOP)
    np.testing.assert_allclose(times, [0.05, 0.15])
    np.testing.assert_allclose(values[:, 0], [0.5, 0.25])


def test_mel_peaks_in_the_band_of_a_tone_and_stays_finite_on_silence() -> None:
    rate = 16000
    tone = np.sin(2 * np.pi * 3000 * np.arange(rate) / rate)
    _, loud = audio_mel(tone, rate, HOP, 8)
    _, quiet = audio_mel(np.zeros(rate), rate, HOP, 8)
    assert loud.shape == (10, 8) and np.isfinite(quiet).all() and np.all(quiet != 0)
    # 3 kHz sits in the upper-middle HTK bands of 0-8 kHz; the peak band is the same in every window.
    assert len(set(loud.argmax(axis=1).tolist())) == 1 and 3 <= int(loud[0].argmax()) <= 6


def test_piano_roll_frames_mark_the_sounding_pitches() -> None:
    events = np.zeros((2, 8), dtype=np.float32)
    events[0, :4] = (60, 127, 0.0, 0.5)  # pitch, velocity, onset, duration
    events[1, :4] = (67, 64, 0.5, 0.3)
    times, values = piano_roll_frames(events, 1.0, HOP)
    assert values.shape == (10, 128)
    assert values[:5, 60].tolist() == [1.0] * 5 and values[5:, 60].sum() == 0
    np.testing.assert_allclose(values[5:8, 67], 64 / 127, rtol=1e-6)
    assert set(np.flatnonzero(values.sum(axis=0)).tolist()) == {60, 67}


def test_lrc_word_and_line_timings() -> None:
    times, values = lrc_words("[00:01.00]we were there\n[00:02.50]\n[00:03.00]<00:03.00>now <00:03.40>here")
    np.testing.assert_allclose(times, [1.0, 2.5, 3.0, 3.4])
    assert values[:, 0].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert len(lrc_words("plain words, no tags")[0]) == 0 and len(lrc_words(None)[0]) == 0


def test_read_streams_derives_each_segment_from_its_decoded_media(config: object) -> None:
    inputs = read_streams(config.data, config)
    batches = {b.spec.name: b for b in inputs.batches()}
    dataset = SegmentDataset(config, with_labels=False)
    items = {item["segment_id"]: item for item in dataset.__getitems__(list(range(len(dataset))))}
    rms, roll, words = batches["rms"], batches["roll"], batches["words"]
    for s, sid in enumerate(rms.segment_ids):
        item = items.get(sid)
        has_audio = item is not None and item["audio"] is not None
        assert (rms.offsets[s + 1] > rms.offsets[s]) == has_audio, sid
        if has_audio:
            wave = np.asarray(item["audio"][0])[: int(item["audio"][1])]
            wave = wave.astype(np.float64)
            expected = [np.sqrt(np.mean(wave[k * 1600 : (k + 1) * 1600] ** 2)) for k in range(len(wave) // 1600)]
            np.testing.assert_allclose(rms.segment(s)[1][:, 0], expected, rtol=1e-9)
            assert derived_samples(config, {"audio": (wave, 16000)})["rms"][1].shape == (len(expected), 1)
        has_midi = item is not None and item["midi"] is not None
        assert (roll.offsets[s + 1] > roll.offsets[s]) == has_midi, sid
        if has_midi:
            pitches = set(np.asarray(item["midi"])[:, 0].astype(int).tolist())
            assert set(np.flatnonzero(roll.segment(s)[1].sum(axis=0)).tolist()) <= pitches
    assert 0 < int((np.diff(words.offsets) > 0).sum()) < len(words.segment_ids)  # some lyrics are LRC-timed
    aligned_counts = np.diff(inputs.grid.offsets)
    assert set(aligned_counts.tolist()) == {10}


def test_validate_features_runs_on_derived_streams(config: object, tmp_path: Path, capsys) -> None:
    import json

    import yaml

    from chroma_framework.cli import main

    path = tmp_path / "derived.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
    assert main(["data", "validate-features", str(path)]) == 0
    out = capsys.readouterr().out
    assert "rms (continuous)" in out and "roll (continuous)" in out and "words (discrete)" in out
    report = json.loads((Path(config.data.root) / "feature_report" / "feature_report.json").read_text())
    assert report


@pytest.mark.slow
def test_a_run_on_derived_streams_scores_raw_audio_as_the_in_memory_model(tmp_path: Path) -> None:
    import torch

    from chroma_framework.data.precompute import run_precompute
    from chroma_framework.scoring.run import load_run
    from chroma_framework.training.data import subset_mask
    from chroma_framework.training.loop import Trainer, make_source, prepare_config

    data = write_synthetic(tmp_path / "data", n_segments=60, seed=3, duration=1.0, lyric_embedding_dim=8)
    sources = [
        {"name": "rms", "kind": "continuous", "dim": 1, "derived": "audio_rms", "hop": HOP},
        {"name": "mel", "kind": "embedding", "dim": 8, "derived": "audio_mel", "hop": HOP},
    ]
    config = load_config(
        {
            "data": {
                "root": str(data.root),
                "metadata_path": data.metadata_path.name,
                "media_path": data.media_path.name,
                "columns": {"lyric_embedding": "lyric_embedding"},
                "streams": {"sources": sources, "grid": {"rate": 10.0, "duration": 1.0}},
            },
            "model": {
                "modalities": ["text", "audio"],
                "audio_encoder": {"type": "stream_projection", "frozen": False, "streams": ["rms", "mel"], "dim": 8},
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16], "project_dim": 8},
            },
            "preprocessing": {"audio": {"duration": 1.0, "sample_rate": 16000}, "midi": {"duration": 1.0}},
            "training": {"epochs": 1, "batch_size": 16, "progress": False},
        }
    )
    run_precompute(config, progress=False)  # the lyric vectors
    config = prepare_config(config)
    source = make_source(config, torch.device("cpu"))
    trainer = Trainer(config, tmp_path / "run", source)
    trainer.fit()
    run = load_run(tmp_path / "run")
    assert run.kind == "text, audio (streams mel, rms)"
    dataset = SegmentDataset(config, with_labels=False, modalities=["audio"])
    decoded = {item["segment_id"]: item["audio"] for item in dataset.__getitems__(list(range(len(dataset))))}
    test = source.splits["test"]
    rows = [i for i, sid in enumerate(test.segment_ids) if decoded.get(sid) is not None][:3]
    assert rows
    model = trainer.model.eval()
    for row in rows:
        audio = decoded[test.segment_ids[row]]
        with torch.no_grad():
            logits = model(test.batch(torch.tensor([row]), subset_mask(["audio"]))).logits
        scored = run.score(audio=(np.asarray(audio[0])[: int(audio[1])], 16000))  # streams derived from it
        for head, probs in scored.items():
            expected = torch.softmax(logits[head][0], dim=0).tolist()
            np.testing.assert_allclose([probs[c] for c in run.classes[head]], expected, atol=1e-6)
