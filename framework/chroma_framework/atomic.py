"""Atomic file writes: write a temporary file beside the target, then :func:`os.replace` it.

A crash mid-write leaves the previous file (or none), never a torn one. The final file gets mode
``0o666`` less the process umask, as ``open(path, "w")`` would give it, whatever the writer did
(``tempfile.mkstemp`` and safetensors both create ``0o600`` files).

A write that fails for want of room or rights (a full disk, a quota, a file-size limit, a read-only file
system) raises :class:`WriteError`, naming the file: a user-facing error, not a traceback. The temporary
file of a process killed mid-write stays behind, named by host and process id, and
:func:`remove_stale_temporaries` removes those whose process is gone.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK_LINE = re.compile(rb"^Umask:\s*([0-7]+)$", re.MULTILINE)


def current_umask() -> int:
    """The process umask, read from ``/proc/self/status`` where it is there (no race), else set and restored."""
    try:
        found = _UMASK_LINE.search(Path("/proc/self/status").read_bytes())
    except OSError:
        found = None
    if found is not None:
        return int(found.group(1), 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: ``errno`` values that mean the disk, a quota or a limit refused the data, not that the writer is wrong.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
#: The ``(os error N)`` that Rust-backed writers (safetensors) put in their messages.
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


class WriteError(OSError):
    """``path`` could not be written (no room, quota, file-size limit, read-only or forbidden directory).

    ``str()`` is the whole message for the user: the file, the reason and what to do.
    """

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))

    def __str__(self) -> str:
        code = errno.errorcode.get(self.errno or 0, str(self.errno))
        if self.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "free some space there (or point the output elsewhere) and run the command again"
        elif self.errno == errno.EFBIG:
            fix = "the file is larger than this process may write (ulimit -f); raise the limit and run it again"
        else:
            fix = "check the directory's permissions and file system, then run the command again"
        return f"cannot write {self.filename}: {self.strerror} ({code}); {fix}. Earlier files are unchanged"


def _no_room(exc: BaseException) -> OSError | None:
    """The ``OSError`` behind ``exc`` when it means no room or no rights to write, else ``None``."""
    if isinstance(exc, OSError):
        return exc if exc.errno in NO_ROOM else None
    found = _RUST_OS_ERROR.search(str(exc))
    if found is not None and int(found.group(1)) in NO_ROOM:
        code = int(found.group(1))
        return OSError(code, os.strerror(code))
    return None


def _temporary_tag() -> str:
    """``<host>.<pid>``: whose temporary file it is (host name reduced to letters, digits, ``-`` and ``_``)."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())}.{os.getpid()}"


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then :func:`os.replace` it into place.

    Raises:
        WriteError: no room or no rights to write (the previous ``path``, if any, is unchanged).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.{_temporary_tag()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        cause = _no_room(exc)
        if cause is not None:
            raise WriteError(path, cause) from exc
        raise


def append_whole(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created if missing) whole or not at all.

    A write cut short (a full disk) is cut back off, so the file never ends in a torn record.

    Raises:
        WriteError: no room or no rights to write (``path`` is as it was).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as exc:
        raise WriteError(path, exc) from exc
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            os.ftruncate(fd, start)
            raise WriteError(path, exc) from exc
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files that :func:`atomic_write` calls of this host's dead processes left in ``directory``.

    A process killed mid-write leaves its temporary file; one of a live process (or another host's, on a
    shared file system) is kept. Returns the removed files.
    """
    host = _temporary_tag().rsplit(".", 1)[0]
    pattern = re.compile(rf"^\..+\.{re.escape(host)}\.(\d+)\.[a-z0-9_]+\.tmp$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        found = pattern.match(entry.name)
        if found is not None and not _alive(int(found.group(1))) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def write_json(path: Path, data: Any) -> None:
    """Atomically write ``data`` as indented JSON."""
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))
