"""Atomic file writes: a temporary file in the same folder, fsync, then os.replace.

A reader never sees a half-written file, and a failed write (full disk, killed process) leaves the old
file as it was and no temporary behind.
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
