"""Writes that fail for want of room name the file (``WriteError``, ``chroma: error:``), appends are all or
nothing, and the temporary files of killed writers are removed once their process is gone."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from chroma_framework.atomic import WriteError, append_whole, atomic_write, remove_stale_temporaries, write_json
from chroma_framework.cli.run_errors import is_user_error


def test_no_room_is_a_write_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_json(target, {"old": True})

    def full(tmp: Path) -> None:
        tmp.write_text("part")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError) as raised:
        atomic_write(target, full)
    message = str(raised.value)
    assert message.startswith(f"cannot write {target}: No space left on device (ENOSPC); free some space")
    assert is_user_error(raised.value)
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_safetensors_out_of_room_is_recognised(tmp_path: Path) -> None:
    """safetensors (Rust) raises its own error type; its ``(os error 28)`` still makes a ``WriteError``."""
    from safetensors import SafetensorError

    def full(tmp: Path) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    with pytest.raises(WriteError, match="ENOSPC"):
        atomic_write(tmp_path / "model.safetensors", full)


def test_other_failures_keep_their_type(tmp_path: Path) -> None:
    def bug(tmp: Path) -> None:
        raise ValueError("a bug in the writer")

    with pytest.raises(ValueError, match="a bug"):
        atomic_write(tmp_path / "x.json", bug)
    with pytest.raises(FileNotFoundError):  # reading a missing source is not a full disk
        atomic_write(tmp_path / "y.bin", lambda tmp: tmp.write_bytes((tmp_path / "missing").read_bytes()))


def test_a_file_size_limit_cuts_an_append_back_off(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write fail part way (EFBIG); the file keeps only its whole earlier lines."""
    log = tmp_path / "metrics.jsonl"
    code = f"""
import resource, sys
sys.path[:0] = {sys.path!r}
from pathlib import Path
from chroma_framework.atomic import append_whole, WriteError
log = Path({str(log)!r})
append_whole(log, b"first\\n")
resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))
try:
    append_whole(log, b"second record, too long for the limit\\n")
except WriteError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"cannot write {log}: File too large (EFBIG)"), done.stdout + done.stderr
    assert log.read_bytes() == b"first\n"


def test_append_whole_appends(tmp_path: Path) -> None:
    log = tmp_path / "a.csv"
    append_whole(log, b"h\n")
    append_whole(log, b"1\n")
    assert log.read_bytes() == b"h\n1\n"


def test_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path: Path) -> None:
    code = f"""
import os, signal, sys
sys.path[:0] = {sys.path!r}
from pathlib import Path
from chroma_framework.atomic import atomic_write
atomic_write(Path({str(tmp_path / "model.safetensors")!r}), lambda tmp: os.kill(os.getpid(), signal.SIGKILL))
"""
    assert subprocess.run([sys.executable, "-c", code]).returncode == -9
    dead = list(tmp_path.glob(".model.safetensors.*.tmp"))
    assert len(dead) == 1
    live: list[Path] = []

    def keep(tmp: Path) -> None:
        live.append(tmp)
        assert remove_stale_temporaries(tmp_path) == dead  # this process's own temporary stays
        save_file({"w": torch.ones(1)}, str(tmp))

    atomic_write(tmp_path / "model.safetensors", keep)
    foreign = tmp_path / ".other.json.abc.tmp"  # not named by host and pid: never ours to remove
    foreign.write_text("")
    assert remove_stale_temporaries(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.abc.tmp", "model.safetensors"]
    assert os.path.exists(foreign)
