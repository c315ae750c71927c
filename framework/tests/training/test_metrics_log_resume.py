"""Issue 11 item 11: resuming never loses the metrics history; a torn last line is dropped, not a crash."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from chroma_framework.training.metrics_log import JSONL_NAME, MetricsLog, read_records
from chroma_framework.training.run_dir import RunError


def epoch(n: int) -> dict[str, object]:
    # Insertion order differs from sorted order: the CSV keeps the first record's order.
    return {"kind": "epoch", "epoch": n, "step": 10 * n, "train_loss": 1.0 / n, "lr": 0.1, "improved": True}


def written(run: Path, epochs: int) -> None:
    log = MetricsLog(run)
    for n in range(1, epochs + 1):
        log.write(epoch(n))
        log.write({"kind": "step", "epoch": n, "step": 10 * n - 5, "train_loss": 0.5})


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_resume_keeps_history_and_csv_column_order(tmp_path: Path) -> None:
    written(tmp_path, 4)
    header = csv_rows(tmp_path / "epochs.csv")[0]
    assert header == ["epoch", "step", "train_loss", "lr", "improved"]
    log = MetricsLog(tmp_path, resume=True, keep_until_step=30)  # epoch 4 was interrupted and is re-run
    assert [r["epoch"] for r in read_records(tmp_path, "epoch")] == [1, 2, 3]
    log.write(epoch(4))
    rows = csv_rows(tmp_path / "epochs.csv")
    assert rows[0] == header and [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert [r["epoch"] for r in read_records(tmp_path, "step")] == [1, 2, 3]


def test_a_kill_during_the_resume_truncation_leaves_every_kept_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written(tmp_path / "whole", 4)
    MetricsLog(tmp_path / "whole", resume=True, keep_until_step=30)
    run = tmp_path / "killed"
    written(run, 4)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    truncated = {p.name: p.read_bytes() for p in (tmp_path / "whole").iterdir()}
    import chroma_framework.atomic as atomic

    real_replace, calls = atomic.os.replace, []

    def killed_after_first(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) > 1:
            raise KeyboardInterrupt  # Ctrl-C between two files
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        MetricsLog(run, resume=True, keep_until_step=30)
    monkeypatch.undo()
    now = {p.name: p.read_bytes() for p in run.iterdir()}
    assert sorted(now) == sorted(before)  # nothing deleted, no temporary file left
    assert all(now[name] in (before[name], truncated[name]) for name in now)
    assert sum(now[name] != before[name] for name in now) == 1


def test_torn_last_line_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    written(tmp_path, 3)
    with open(tmp_path / JSONL_NAME, "a", encoding="utf-8") as f:
        f.write('{"kind": "epoch", "epo')
    with open(tmp_path / "epochs.csv", "a", encoding="utf-8") as f:
        f.write("4,40,0.2")
    with caplog.at_level(logging.WARNING):
        assert [r["epoch"] for r in read_records(tmp_path, "epoch")] == [1, 2, 3]
    assert "torn last line" in caplog.text
    MetricsLog(tmp_path, resume=True, keep_until_step=30).write(epoch(4))
    assert [r["epoch"] for r in read_records(tmp_path, "epoch")] == [1, 2, 3, 4]
    assert [r[0] for r in csv_rows(tmp_path / "epochs.csv")[1:]] == ["1", "2", "3", "4"]


def test_damage_before_the_last_line_is_a_named_error(tmp_path: Path) -> None:
    written(tmp_path, 2)
    lines = (tmp_path / JSONL_NAME).read_text().splitlines()
    lines[1] = "garbage"
    (tmp_path / JSONL_NAME).write_text("\n".join(lines) + "\n")
    with pytest.raises(RunError, match="line 2 is not a JSON record"):
        read_records(tmp_path)
