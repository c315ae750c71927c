"""Run a command with a directory on a nearly full file system (a test helper script).

    python full_disk.py MODE DISK AFTER FREE -- COMMAND ARGS...

``MODE`` is how the disk is made full:

- ``tmpfs`` (run inside ``unshare --user --map-root-user --mount``, see :func:`tmpfs_works`): DISK's
  files are moved onto a fresh tmpfs mounted over DISK in a private mount namespace, and a filler file
  leaves exactly FREE bytes free; writes past them fail with a real ``ENOSPC``. Outside the namespace
  DISK is never touched.
- ``fsize``: no mount; the command runs with ``RLIMIT_FSIZE`` = FREE bytes, so writing any file past FREE
  bytes fails with ``EFBIG`` ("File too large", not ``ENOSPC``). For machines without user namespaces.

Either way the files as the command left them are copied to AFTER (metadata and mtimes kept), and the
command's exit status is this script's.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Room on the tmpfs besides DISK's files and the FREE bytes (inodes, directory entries, page rounding).
SLACK = 1 << 20
FILLER = ".filler"


def tmpfs_works() -> bool:
    """Whether ``unshare`` can give this user a private mount namespace with a tmpfs mount."""
    probe = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _fill(disk: Path, free: int) -> None:
    """Take all of ``disk``'s free space but ``free`` bytes with one preallocated file."""
    stat = os.statvfs(disk)
    take = stat.f_bavail * stat.f_frsize - free
    if take > 0:
        fd = os.open(disk / FILLER, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, take)
        finally:
            os.close(fd)


def _on_tmpfs(disk: Path, after: Path, free: int, command: list[str]) -> int:
    with tempfile.TemporaryDirectory(dir=disk.parent) as stash:
        shutil.copytree(disk, stash, dirs_exist_ok=True)
        size = _size(disk) + free + SLACK
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "chroma-full-disk", str(disk)], check=True)
        shutil.copytree(stash, disk, dirs_exist_ok=True)
    _fill(disk, free)
    code = subprocess.run(command).returncode
    (disk / FILLER).unlink(missing_ok=True)
    shutil.copytree(disk, after)
    return code


def _with_fsize_limit(disk: Path, after: Path, free: int, command: list[str]) -> int:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (free, free))

    code = subprocess.run(command, preexec_fn=limit).returncode
    shutil.copytree(disk, after)
    return code


def main(argv: list[str]) -> int:
    mode, disk, after, free, dashes, *command = argv
    if dashes != "--" or mode not in {"tmpfs", "fsize"}:
        raise SystemExit("usage: full_disk.py tmpfs|fsize DISK AFTER FREE -- COMMAND ARGS...")
    run = _on_tmpfs if mode == "tmpfs" else _with_fsize_limit
    return run(Path(disk).resolve(), Path(after), int(free), command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
