"""Atomic writes honour the umask (like ``open``), replace the target whole, and leave nothing on failure."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import save_file

from chroma_framework.atomic import atomic_write, write_json


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_umask_mode(tmp_path: Path, umask: None, mask: int, expected: int) -> None:
    os.umask(mask)
    write_json(tmp_path / "run.json", {"a": 1})
    atomic_write(tmp_path / "model.safetensors", lambda tmp: save_file({"w": torch.ones(2)}, str(tmp)))
    atomic_write(tmp_path / "embeddings.parquet", lambda tmp: pq.write_table(pa.table({"x": [1]}), tmp))
    for name in ("run.json", "model.safetensors", "embeddings.parquet"):
        assert _mode(tmp_path / name) == expected, name


def test_failed_write_keeps_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_json(target, {"old": True})

    def crash(tmp: Path) -> None:
        tmp.write_text("partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, crash)
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
