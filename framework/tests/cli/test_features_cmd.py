"""``chroma data validate-features``: planted faults are each reported; a synth dataset with real per-frame
RMS and an embedding stream validates with exit 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.data.audio_decode import AudioDecodeError, decode_audio_blob

LIST = pa.list_(pa.float64())
VECTORS = pa.list_(pa.list_(pa.float64()))


def _config(tmp_path: Path, root: Path, streams: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data": {"root": str(root), "streams": streams}}))
    return path


def _planted(tmp_path: Path) -> Path:
    """Four segments of 2 s at 10 Hz: clean, a 1.5 s gap, unordered stamps, 3-wide vectors for a 2-dim stream,
    plus a 6 s gap in a long segment and one segment lacking the embedding."""
    t = np.arange(0.0, 2.0, 0.1).tolist()
    gap = [x for x in t if not 0.25 < x < 1.75]
    unit = [[1.0, 0.0]] * len(t)
    table = pa.table(
        {
            "segment_id": ["clean", "gap", "unordered", "wide", "long"],
            "end": [2.0, 2.0, 2.0, 2.0, 8.0],
            "rms_times": pa.array([t, gap, [0.0, 0.2, 0.1, 0.3], t, [0.0, 6.5, 7.9]], LIST),
            "rms_values": pa.array([t, gap, [1.0, 2.0, 3.0, 4.0], t, [1.0, 2.0, 3.0]], LIST),
            "emb_times": pa.array([t, t, t, t, None], LIST),
            "emb_values": pa.array([unit, unit, unit, [[1.0, 0.0, 0.0]] * len(t), None], VECTORS),
        }
    )
    pq.write_table(table, tmp_path / "training_segments_metadata.parquet")
    return _config(
        tmp_path,
        tmp_path,
        {
            "sources": [
                {"name": "rms", "kind": "continuous", "dim": 1, "column": "rms", "max_gap": 2.0},
                {"name": "emb", "kind": "embedding", "dim": 2, "column": "emb"},
            ],
            "grid": {"rate": 10, "end_column": "end"},
        },
    )


def test_planted_faults_are_each_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _planted(tmp_path)
    assert main(["data", "validate-features", str(config), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "chroma: error: 2 stream segment(s) have errors" in captured.err
    assert "rms (continuous): 5 segments, 0 missing, 1 with errors" in captured.out
    assert "emb (embedding): 5 segments, 1 missing, 1 with errors" in captured.out
    document = json.loads((tmp_path / "out" / "feature_report.json").read_text())
    checks = {(c["stream"], c["segment_id"]): c for c in document["checks"]}
    assert checks["rms", "clean"]["errors"] == [] and checks["rms", "clean"]["coverage"] == 1.0
    assert [(g["start"], g["end"]) for g in checks["rms", "gap"]["gaps"]] == [(0.2, 1.8)]
    assert checks["rms", "gap"]["interpolated_share"] > 0.5 and "interpolated" in checks["rms", "gap"]["warnings"][0]
    assert not checks["rms", "unordered"]["monotonic"]
    assert "not strictly increasing" in checks["rms", "unordered"]["errors"][0]
    assert "dimension mismatch: 3 values per sample" in checks["emb", "wide"]["errors"][0]
    assert checks["emb", "wide"]["dim"] == 3
    assert "gap of 6.5 s" in checks["rms", "long"]["warnings"][0]
    assert document["missing"] == {"long": ["emb"]}
    markdown = (tmp_path / "out" / "feature_report.md").read_text()
    assert "Result: ERRORS" in markdown and "- `long`: emb (embedding)" in markdown


def test_no_streams_section_and_a_missing_column_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump({"data": {"root": str(tmp_path)}}))
    assert main(["data", "validate-features", str(plain)]) == 2
    assert "declares no data.streams" in capsys.readouterr().err
    config = _planted(tmp_path)
    spec = yaml.safe_load(config.read_text())
    spec["data"]["streams"]["sources"][0]["column"] = "loudness"
    config.write_text(yaml.safe_dump(spec))
    assert main(["data", "validate-features", str(config)]) == 2
    assert "chroma: error: stream 'rms': the metadata has no column 'loudness_times'" in capsys.readouterr().err


def _add_streams_to_synth(root: Path, frame: float) -> int:
    """Per-frame RMS of each segment's real synthetic audio, and a 4-dim embedding stream at 5 Hz of band
    energies of the same audio, written into the metadata parquet; returns how many segments have no decodable
    audio (both streams are absent there)."""
    media = pq.read_table(root / "training_segments_media.parquet").to_pydict()
    rms_times, rms_values, emb_times, emb_values = [], [], [], []
    for start, blob, sr in zip(media["start_seconds"], media["audio_waveform"], media["audio_sample_rate"]):
        try:
            wave, rate = decode_audio_blob(blob, sr) if blob is not None else (None, 0)
        except AudioDecodeError:
            wave = None
        if wave is None:
            for column in (rms_times, rms_values, emb_times, emb_values):
                column.append(None)
            continue
        hop = int(rate * frame)
        frames = wave[: len(wave) // hop * hop].reshape(-1, hop)
        rms_times.append((start + np.arange(len(frames)) * frame).tolist())
        rms_values.append(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)).tolist())
        windows = wave[: len(wave) // (4 * hop) * 4 * hop].reshape(-1, 4 * hop)
        bands = np.abs(np.fft.rfft(windows, axis=1)) ** 2
        energy = np.stack([b.sum(axis=1) for b in np.array_split(bands, 4, axis=1)], axis=1) + 1e-9
        emb_times.append((start + np.arange(len(windows)) * 4 * frame).tolist())
        emb_values.append((energy / np.linalg.norm(energy, axis=1, keepdims=True)).tolist())
    path = root / "training_segments_metadata.parquet"
    table = pq.read_table(path)
    for name, column, kind in (
        ("rms_times", rms_times, LIST),
        ("rms_values", rms_values, LIST),
        ("emb_times", emb_times, LIST),
        ("emb_values", emb_values, VECTORS),
    ):
        table = table.append_column(name, pa.array(column, kind))
    pq.write_table(table, path)
    return rms_times.count(None)


def test_a_synth_dataset_with_rms_and_an_embedding_stream_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "synth"
    assert main(["data", "synth", str(root), "--segments", "8", "--seed", "3", "--duration", "0.5"]) == 0
    without_audio = _add_streams_to_synth(root, frame=0.05)
    assert 0 < without_audio < 8
    config = _config(
        tmp_path,
        root,
        {
            "sources": [
                {"name": "rms", "kind": "continuous", "dim": 1, "column": "rms", "max_gap": 0.1},
                {"name": "bands", "kind": "embedding", "dim": 4, "column": "emb", "max_gap": 0.25},
            ],
            "grid": {"rate": 20, "start_column": "start_seconds", "end_column": "end_seconds"},
        },
    )
    capsys.readouterr()
    assert main(["data", "validate-features", str(config), "--json"]) == 0
    printed = capsys.readouterr().out
    document = json.loads(printed[: printed.rindex("}") + 1])
    assert document["ok"] and (root / "feature_report" / "feature_report.md").is_file()
    assert document["summary"]["rms"]["missing"] == document["summary"]["bands"]["missing"] == without_audio
    present = [c for c in document["checks"] if c["stream"] == "rms" and not c["missing"]]
    assert present and all(c["coverage"] == 1.0 and c["interpolated_share"] == 0.0 for c in present)
    bands = [c for c in document["checks"] if c["stream"] == "bands" and not c["missing"]]
    # two 0.2 s windows per 0.5 s segment: frames 0-0.2 s are covered (5 of 10), 3 of them between windows
    assert bands and all(c["samples"] == 2 for c in bands)
    assert all(c["coverage"] == 0.5 and c["interpolated_share"] == pytest.approx(0.6) for c in bands)
    assert all("60% of the available frames are interpolated" in c["warnings"][0] for c in bands)
