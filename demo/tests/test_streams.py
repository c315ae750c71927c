"""``chroma demo build-streams``: per-frame RMS and log-mel side files of a built demo, their config, and
``chroma data validate-features`` on it (a small real demo build: three works, rendered with numpy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chroma_demo.build import DemoParams, build_demo_dataset
from chroma_demo.config import write_demo_config
from chroma_demo.streams import STREAMS
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.config.stream_slots import stream_slots

pytest.importorskip("music21")

WORKS = (("chorales", "bach/bwv245.28.mxl"), ("fiddle_tunes", "ryansMammoth/AcaciaReel.abc"))
pytestmark = pytest.mark.slow  # builds and renders a small demo set


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    dataset = build_demo_dataset(root, DemoParams(works=WORKS, synth="numpy"), workers=1, progress=False)
    write_demo_config(dataset, root / "demo.yaml", root / "runs", epochs=1)
    return root


def test_build_streams_writes_side_files_a_config_and_an_example(demo_dir: Path, capsys) -> None:
    assert main(["demo", "build-streams", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    assert "[demo] streams: audio_rms:" in out and "example segment" in out
    rms = np.load(demo_dir / "streams" / "audio_rms.npz", allow_pickle=False)
    mel = np.load(demo_dir / "streams" / "audio_mel.npz", allow_pickle=False)
    assert rms["audio_rms"].shape == (len(rms["time"]), 1) and mel["audio_mel"].shape == (len(mel["time"]), 16)
    assert np.all(rms["audio_rms"] >= 0) and np.isfinite(mel["audio_mel"]).all()
    first = rms["segment_id"] == rms["segment_id"][0]
    np.testing.assert_allclose(np.diff(rms["time"][first]), 0.1, atol=1e-9)
    config = load_config(demo_dir / "demo_streams.yaml")
    assert stream_slots(config) == {"audio": list(STREAMS)}
    example = np.load(demo_dir / "example_streams.npz", allow_pickle=False)
    assert set(example.files) == {f"{n}_{k}" for n in STREAMS for k in ("times", "values")}


def test_validate_features_on_the_demo_streams(demo_dir: Path, capsys) -> None:
    if not (demo_dir / "demo_streams.yaml").is_file():
        assert main(["demo", "build-streams", str(demo_dir)]) == 0
    capsys.readouterr()
    assert main(["data", "validate-features", str(demo_dir / "demo_streams.yaml")]) == 0
    out = capsys.readouterr().out
    assert "audio_rms (continuous):" in out and "0 with errors" in out
    assert (demo_dir / "feature_report" / "feature_report.md").is_file()


def test_build_streams_without_a_demo_is_a_named_error(tmp_path: Path, capsys) -> None:
    assert main(["demo", "build-streams", str(tmp_path)]) == 2
    assert "demo.yaml does not exist: build the demo first" in capsys.readouterr().err
