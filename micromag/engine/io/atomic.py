"""Atomic file writes: a temporary file in the same folder, fsync, then os.replace.

A reader never sees a half-written file, and a failed write (full disk, an exception) leaves the old
file as it was and no temporary behind. A process killed outright (SIGKILL, power loss) cannot clean up:
its ``.NAME.PID.HEX.tmp`` file stays, and :func:`clean_stale_tmp` removes it when the folder is next
continued (a resumed run, table or sweep).
"""
from __future__ import annotations

import os
import secrets


def atomic_write(path, write):
    """Write ``path`` atomically. ``write`` is an iterable of bytes chunks or a callable ``write(fileobj)``.

    The temporary file is created with ``os.open`` (honouring the umask, unlike mkstemp's private files).
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: cannot write, the folder {folder} does not exist") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(write):
                write(f)
            else:
                for chunk in write:
                    f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


_TMP_RE = None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: leave its file alone
    return True


def clean_stale_tmp(folder):
    """Remove the temporary files that interrupted :func:`atomic_write` calls left in ``folder``
    (``.NAME.PID.HEX.tmp`` of processes no longer running on this machine). Returns the removed paths."""
    global _TMP_RE
    import re

    if _TMP_RE is None:
        _TMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TMP_RE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        path = os.path.join(folder, name)
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed
