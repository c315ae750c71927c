"""DataReport aggregation, JSON round trip and summary; inspect tables."""

from __future__ import annotations

from chroma.pretrained import offline_requested
from chroma_framework.data.report import DataReport


def test_report_counts_round_trip_and_summary(tmp_path):
    r = DataReport()
    r.add_batch(
        ["a", "b", "c"],
        [
            {"text": None, "audio": "corrupt", "midi": "not_available"},
            {"text": "no_vocals", "audio": None, "midi": "empty"},
            {"text": None, "audio": "corrupt", "midi": None},
        ],
    )
    r.add_alignment({"b": {"start_diff": 0.5, "end_diff": 0.5}}, ["c"], ["b"])
    assert r.segments == 3 and r.present == {"text": 2, "audio": 1, "midi": 1}
    assert r.counts() == {"text": {"no_vocals": 1}, "audio": {"corrupt": 2}, "midi": {"empty": 1, "not_available": 1}}
    path = r.write_json(tmp_path / "sub" / "report.json")
    back = DataReport.read_json(path)
    assert back.to_dict() == r.to_dict()
    assert back.absent["audio"]["corrupt"] == ["a", "c"]
    text = r.summary()
    assert "absent/corrupt: 2 [a, c]" in text and "b: start +0.500s" in text and "excluded: 1" in text


def test_summary_skips_modalities_not_loaded():
    r = DataReport()
    r.add_segment("a", {"text": None})
    assert "audio: present" not in r.summary() and "text: present 1" in r.summary()


def test_offline_env_is_detected(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not offline_requested()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert offline_requested()
