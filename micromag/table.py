"""Tab-separated output table in the MuMax3 convention: ``# t (s)\tmx ()\tmy ()\tmz ()\t...``.

Rows are flushed to disk as they are written, so a run that dies keeps every row it finished and MuMax3
tooling (and ``numpy.loadtxt``) reads the file while the run goes on.
"""
from __future__ import annotations

import os


class Table:
    def __init__(self, path, columns, append=False):
        """columns: list of (name, unit) pairs; unit '' for dimensionless."""
        self.path = os.fspath(path)
        self.columns = list(columns)
        exists = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        head = "# " + "\t".join(f"{n} ({u})" for n, u in self.columns)
        if exists:
            with open(self.path) as f:
                old = f.readline().rstrip("\n")
            if old != head:
                raise ValueError(f"{self.path} has other columns ({old!r}); cannot append rows of {head!r}")
        self._f = open(self.path, "a" if exists else "w", buffering=1)
        if not exists:
            self._f.write(head + "\n")
            self._f.flush()

    def write(self, values):
        if len(values) != len(self.columns):
            raise ValueError(f"table row has {len(values)} values for {len(self.columns)} columns")
        self._f.write("\t".join(f"{float(v):.10g}" for v in values) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())  # a finished row survives a crash of the machine, not only of the process

    def close(self):
        if not self._f.closed:
            self._f.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def read_table(path):
    """Read a MuMax3-style table: returns (column names, 2D float array)."""
    import numpy as np

    with open(path) as f:
        head = f.readline()
    names = [c.strip().rsplit(" (", 1)[0] for c in head.lstrip("#").strip().split("\t")]
    data = np.loadtxt(path, ndmin=2)
    return names, data
