"""chroma data synth / data inspect / precompute from the command line."""

from __future__ import annotations

import json

import yaml

from chroma_framework.cli import main
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.report import DataReport


def test_synth_inspect_and_precompute(tmp_path, capsys):
    out = tmp_path / "synth"
    assert (
        main(
            [
                "data",
                "synth",
                str(out),
                "--segments",
                "30",
                "--seed",
                "2",
                "--duration",
                "0.5",
                "--lyric-embedding-dim",
                "8",
            ]
        )
        == 0
    )
    assert (out / "training_segments_metadata.parquet").exists()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "data": {"root": str(out), "columns": {"lyric_embedding": "lyric_embedding"}},
                "preprocessing": {"audio": {"duration": 0.5}},
            }
        )
    )
    capsys.readouterr()
    assert main(["data", "inspect", str(cfg)]) == 0
    text = capsys.readouterr().out
    for needle in (
        "text: present",
        "audio: present",
        "midi: present",
        "absent/not_available",
        "spatial_mode",
        "album",
        "misaligned",
    ):
        assert needle in text
    report = DataReport.read_json(out / "data_report.json")
    assert report.segments == 30 and sum(report.present.values()) > 0
    assert main(["data", "inspect", str(cfg), "--json", "--report", str(tmp_path / "r.json")]) == 0
    payload = json.loads(capsys.readouterr().out.rsplit("data report:", 1)[0])
    assert set(payload["by_label"]) == {"temporal_mode", "spatial_mode", "ontological_mode"}
    assert (tmp_path / "r.json").exists()

    assert main(["precompute", str(cfg), "--no-progress"]) == 0
    assert "computed: text" in capsys.readouterr().out
    assert set(read_embeddings(out / "embeddings.parquet").embeddings) == {"text"}
    assert main(["precompute", str(cfg), "--no-progress"]) == 0
    assert "unchanged, reused: text" in capsys.readouterr().out


def test_cli_errors_are_clear(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"root": str(tmp_path / "nowhere")}}))
    assert main(["data", "inspect", str(cfg)]) == 2
    assert "metadata parquet" in capsys.readouterr().err
    assert main(["precompute", str(cfg)]) == 2
    assert "nothing to precompute" in capsys.readouterr().err
