"""``chroma labels audit`` and ``chroma labels import-rekordbox`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

ONE_TRACK = """<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.2" Company="AlphaTheta"/>
  <COLLECTION Entries="1">
    <TRACK TrackID="7" Name="Loop Study" Kind="WAV File" TotalTime="8" AverageBpm="120.00"
           Location="file://localhost/music/song00000.wav">
      <TEMPO Inizio="0.000" Bpm="120.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="A" Type="0" Start="2.000" Num="0"/>
      <POSITION_MARK Name="B" Type="0" Start="4.300" Num="1"/>
    </TRACK>
  </COLLECTION>
</DJ_PLAYLISTS>
"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = write_learnable_embeddings(tmp_path / "data", 60, {"text": 8, "audio": 8, "midi": 8}, seed=0)
    meta = root / "training_segments_metadata.parquet"
    table = pq.read_table(meta)
    files = [f"{sid.split('_')[0]}.wav" for sid in table.column("segment_id").to_pylist()]
    pq.write_table(table.append_column("segment_audio_file", pa.array(files)), meta)
    return root


def write_config(tmp_path: Path, root: Path) -> Path:
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8], "project_dim": 4}},
        "training": {"epochs": 2, "batch_size": 16, "output_dir": str(tmp_path / "runs")},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_import_then_audit(tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = tmp_path / "rekordbox.xml"
    xml.write_text(ONE_TRACK, encoding="utf-8")
    meta = dataset / "training_segments_metadata.parquet"
    report = tmp_path / "match.json"
    assert main(["labels", "import-rekordbox", str(xml), "--metadata", str(meta), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "4 segments matched to 1 of 1 tracks" in printed
    assert "56 segments matched no track: song00001_seg00" in printed
    assert '"song00000_seg00": "7"' in report.read_text()

    config = write_config(tmp_path, dataset)
    assert main(["labels", "audit", str(config), "--folds", "2", "--no-progress", "--top", "3"]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "runs" / "label_audit"
    assert "60 segments, 2 folds" in printed
    assert "beat-grid pre-filter: 4 of 8 cues in 4 segments are more than 50 ms off the grid" in printed
    assert f"wrote {out / 'label_issues.csv'}" in printed
    cues = (out / "off_grid_cues.csv").read_text().splitlines()
    assert cues[0] == "segment_id,cue_index,cue_time,nearest_beat,offset_ms"
    assert cues[1].endswith(",1,4.3000,4.5000,-200.0000")
    assert "## Cue points off the beat grid by more than 50 ms" in (out / "label_audit.md").read_text()


def test_audit_errors(tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, dataset)
    assert main(["labels", "audit", str(config), "--folds", "1"]) == 2
    assert "--folds must be at least 2" in capsys.readouterr().err
    assert main(["labels", "audit", str(config), "--folds", "40", "--no-progress"]) == 2
    assert "needs at least 80 labelled segments, the data has 60" in capsys.readouterr().err
    (dataset / "embeddings.parquet").unlink()
    assert main(["labels", "audit", str(config), "--no-progress"]) == 2
    assert "embeddings.parquet does not exist; run `chroma precompute CONFIG` first" in capsys.readouterr().err


def test_import_errors(tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = dataset / "training_segments_metadata.parquet"
    xml = tmp_path / "broken.xml"
    xml.write_text(ONE_TRACK.replace("</COLLECTION>", ""), encoding="utf-8")
    assert main(["labels", "import-rekordbox", str(xml), "--metadata", str(meta)]) == 2
    assert "is not well-formed XML: mismatched tag" in capsys.readouterr().err
    xml.write_text(ONE_TRACK.replace('Bpm="120.00" Metro', 'Bpm="-1" Metro'), encoding="utf-8")
    assert main(["labels", "import-rekordbox", str(xml), "--metadata", str(meta)]) == 2
    assert (
        "TRACK TrackID=7 (/music/song00000.wav): TEMPO Bpm='-1' must be finite and positive" in capsys.readouterr().err
    )
    assert main(["labels", "import-rekordbox", str(tmp_path / "none.xml"), "--metadata", str(meta)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["labels", "import-rekordbox", str(xml), "--metadata", str(meta), "--end-column", "e"]) == 2
    assert "--end-column needs --start-column" in capsys.readouterr().err
