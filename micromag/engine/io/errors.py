"""One error for a file that cannot be read: it names the file, the part that is wrong and what was expected."""
from __future__ import annotations

import functools
import os


class FileFormatError(ValueError):
    """A missing, unreadable or malformed input file. ``str(err)`` is ``"<path>: <problem>"``.

    path     the file
    problem  what is wrong, naming the part of the file (a header record, a data block, a line) and what
             was expected there
    """

    def __init__(self, path, problem):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def read_bytes(path, what, error=FileFormatError):
    """The content of ``path``; a missing, unreadable file or a folder raises ``error`` (a
    :class:`FileFormatError`) naming it and saying it should be ``what``."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise error(path, "no such file") from None
    except IsADirectoryError:
        raise error(path, f"is a folder, not {what}") from None
    except OSError as exc:
        raise error(path, f"cannot be read: {exc.strerror or exc}") from None


def names_the_file(what):
    """Decorator for a reader ``f(path, ...)``: any failure that is not already a :class:`FileFormatError`
    (a parser's ParseError, zlib.error, a reshape of a short data block, a missing XML attribute) becomes one
    that names the file and says it is not a valid ``what``; the original error is chained for ``--debug``."""

    def wrap(reader):
        @functools.wraps(reader)
        def read(path, *args, **kwargs):
            path = os.fspath(path)
            try:
                return reader(path, *args, **kwargs)
            except FileFormatError:
                raise
            except FileNotFoundError:
                raise FileFormatError(path, "no such file") from None
            except IsADirectoryError:
                raise FileFormatError(path, f"is a folder, not {what}") from None
            except OSError as exc:
                raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from exc
            except Exception as exc:  # noqa: BLE001 - every parser failure is a malformed file
                detail = str(exc).replace(path, "").strip(" :") or "no details"
                if os.path.isfile(path) and os.path.getsize(path) == 0:
                    raise FileFormatError(path, f"the file is empty; expected {what}") from exc
                raise FileFormatError(path, f"not a valid {what} (damaged or truncated): "
                                            f"{type(exc).__name__}: {detail}") from exc

        return read

    return wrap
