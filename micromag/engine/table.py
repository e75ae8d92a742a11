"""Tab-separated output table in the MuMax3 convention: ``# t (s)\tmx ()\tmy ()\tmz ()\t...``.

Rows are flushed to disk as they are written, so a run that dies keeps every row it finished and MuMax3
tooling (and ``numpy.loadtxt``) reads the file while the run goes on.

Continuing a table (``append=True``) is exactly-once: a row cut short by a kill is dropped, and with
``after=t`` the rows later than ``t`` (s) -- written by a run that was interrupted after its last
checkpoint at ``t`` -- are removed, by rewriting the file atomically, before anything is appended. Rows are
only ever written with increasing time (:attr:`Table.last_t`).
"""
from __future__ import annotations

import math
import os

# rows hold 10 significant digits: a row "at" t may read back up to this much (relative) above t
_ROUND = 1e-9


class Table:
    def __init__(self, path, columns, append=False, after=None, may_cut=True):
        """columns: list of (name, unit) pairs; unit '' for dimensionless.

        append : continue an existing file (its header must match).
        after : with append, the time (s) the continued run starts at: later rows are removed (if
            ``may_cut``; otherwise such rows are an error, since nothing says they were never wanted).
        """
        self.path = os.fspath(path)
        self.columns = list(columns)
        self.last_t = -math.inf  # time of the last row (s); a new row must be later
        exists = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        head = "# " + "\t".join(f"{n} ({u})" for n, u in self.columns)
        if exists:
            from .io.atomic import clean_stale_tmp

            clean_stale_tmp(os.path.dirname(os.path.abspath(self.path)))
            self._continue(head, after, may_cut)
        self._f = open(self.path, "a" if exists else "w", buffering=1)
        if not exists:
            self._f.write(head + "\n")
            self._f.flush()

    def _continue(self, head, after, may_cut):
        """Check the header; drop a cut-off last line and the rows after ``after``; set ``last_t``."""
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        old = lines[0].decode("utf-8", "replace").rstrip("\r")
        if old != head:
            raise ValueError(f"{self.path} has other columns ({old!r}); cannot append rows of {head!r}")
        keep = [lines[0]]
        body = lines[1:]
        if body and body[-1] == b"":
            body = body[:-1]
        else:  # no newline at the end: the last row was cut by a kill
            body = body[:-1]
        dropped = 0
        for i, line in enumerate(body):
            try:
                t = float(line.split(b"\t", 1)[0])
            except ValueError:
                raise ValueError(f"{self.path}, line {i + 2} is not a table row: the table is damaged") from None
            if after is not None and t > after + _ROUND * abs(after) + 1e-300:
                dropped = len(body) - i
                break
            keep.append(line)
            self.last_t = t
        if dropped and not may_cut:
            raise ValueError(f"{self.path} has {dropped} rows after t = {after:g} s, the time this simulation "
                             "starts from: append=True continues a table from a checkpoint of the same run "
                             "(Simulation.load_checkpoint or restore_checkpoint), which removes them")
        if math.isfinite(self.last_t):  # read back with 10 digits: count a row within rounding as present
            self.last_t += _ROUND * abs(self.last_t)
        new = b"\n".join(keep) + b"\n"
        if new != data:
            from .io.atomic import atomic_write

            atomic_write(self.path, [new])

    def write(self, values):
        if len(values) != len(self.columns):
            raise ValueError(f"table row has {len(values)} values for {len(self.columns)} columns")
        self._f.write("\t".join(f"{float(v):.10g}" for v in values) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())  # a finished row survives a crash of the machine, not only of the process
        self.last_t = float(values[0])

    def close(self):
        if not self._f.closed:
            self._f.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def read_table(path):
    """Read a MuMax3-style table: returns (column names, 2D float array of shape (rows, columns)).

    A file that is not such a table raises :class:`~micromag.engine.io.errors.FileFormatError` naming the file and
    the line: no header, a row with another number of columns, a value that is not a number, or no rows.
    """
    import numpy as np

    from .io.errors import FileFormatError, read_bytes

    path = os.fspath(path)
    raw = read_bytes(path, "a table")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FileFormatError(path, f"line {line}: bytes that are not text (a damaged or binary file); "
                                    "expected a tab-separated table") from None
    lines = text.splitlines()
    if not lines or not lines[0].startswith("#"):
        raise FileFormatError(path, "line 1: expected the header '# t (s)\tmx ()\t...' of a table")
    names = [c.strip().rsplit(" (", 1)[0] for c in lines[0].lstrip("#").strip().split("\t")]
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split()
        if len(cells) != len(names):
            raise FileFormatError(path, f"line {i}: {len(cells)} values, the header names {len(names)} columns")
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise FileFormatError(path, f"line {i}: {bad[:30]!r} is not a number") from None
    if not rows:
        raise FileFormatError(path, "no data rows after the header")
    return names, np.array(rows, dtype=float)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
