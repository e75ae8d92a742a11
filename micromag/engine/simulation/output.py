"""Output of a :class:`~micromag.engine.simulation.Simulation` run: the table (one file per member) and the
snapshot series, and OVF files of the state."""
from __future__ import annotations

import os

import numpy as np

from ..table import Table


def make_out(out):
    """Create the output folder ``out``; an existing file of that name is an error naming ``out``."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out = {os.fspath(out)!r} is an existing file, not a folder: give a folder for the "
                         "table and snapshots")
    os.makedirs(out, exist_ok=True)


class Output:
    """Part of :class:`~micromag.engine.simulation.Simulation`: table and snapshot output."""

    def _open_series(self, out, members, append=False):
        from ..io.vtk import open_series

        out = self._out_dir(out)
        key = os.path.abspath(out)
        if not hasattr(self, "_series"):
            self._series = {}
        if key not in self._series:  # first run into this folder: an existing series there is an error
            make_out(out)
            t = self.host(self._t)
            self._series[key] = open_series(self, out, members=members, resume=append,
                                            after=t if append else None, may_cut=self._may_cut(t))
        return self._series[key]

    def _write_snapshots(self, series, extra):
        from ..io.vtk import write_snapshots

        write_snapshots(series, self, extra=tuple(extra))

    def _out_dir(self, out):
        out = os.fspath(out)
        if not os.path.isabs(out) and os.environ.get("MICROMAG_OUT"):  # `micromag run --out DIR`
            out = os.path.join(os.environ["MICROMAG_OUT"], out)
        return out

    def save_ovf(self, path, fmt="binary4", member=0):
        """Write m of one member to an OVF 2.0 file (binary4, binary8 or text), atomically."""
        from ..guard import check_int
        from ..io.ovf import write_ovf

        member = check_int("member", member, lo=0, hi=self.batch - 1)
        write_ovf(path, self.m[member], grid=self.grid, fmt=fmt, desc=f"Total simulation time: {self.t if self.batch == 1 else self.t[member]} s")
        return path

    # ------------------------------------------------------------------ output
    def _may_cut(self, t):
        """Whether output after the times ``t`` may be removed: only by a run continuing from a checkpoint
        restored into this Simulation (at those very times), i.e. output the interrupted run wrote."""
        r = getattr(self, "_restored_t", None)
        return r is not None and np.array_equal(np.asarray(r), np.asarray(t))

    def _open_table(self, out, append=False):
        out = self._out_dir(out)
        make_out(out)
        names = ["table.txt"] if self.batch == 1 else [f"table_{b:04d}.txt" for b in range(self.batch)]
        key = os.path.abspath(out)
        if key not in self._table_files:
            cols = [("t", "s"), ("mx", ""), ("my", ""), ("mz", ""), ("E_total", "J")]
            cols += [(f"E_{name}", "J") for name in self.energy_terms()]
            cols += [("B_extx", "T"), ("B_exty", "T"), ("B_extz", "T")]
            cols += [(n, u) for n, u, _ in self._extra_columns]
            existing = [os.path.exists(os.path.join(out, n)) for n in names]
            if any(existing) and not append:
                raise FileExistsError(f"{os.path.join(out, names[existing.index(True)])} exists; choose another "
                                      "out= folder, remove it, or pass append=True to continue it")
            t = self.host(self._t)
            cut = self._may_cut(t)
            self._table_files[key] = [Table(os.path.join(out, n), cols, append=append,
                                            after=float(t[b]) if append else None, may_cut=cut)
                                      for b, n in enumerate(names)]
            self._tables[key] = 1 if append and all(existing) else 0  # a continued table has its first row
        return key

    @property
    def _table_files(self):
        if not hasattr(self, "_tf"):
            self._tf = {}
        return self._tf

    def _write_row(self, key):
        t = self.host(self._t)
        if not any(t[b] > tab.last_t for b, tab in enumerate(self._table_files[key])):
            return
        mavg = np.asarray(self.m_avg).reshape(self.batch, 3)
        es = self._energies()
        etot = sum(es.values()) if es else np.zeros(self.batch)
        bext = self.zeeman.average(t)
        extra = []
        if self._extra_columns:
            m = self.host(self._m)  # user columns get the host state
            for name, _, fn in self._extra_columns:
                v = np.broadcast_to(np.asarray(fn(m, t), dtype=float), (self.batch,))
                extra.append(v)
        for b, tab in enumerate(self._table_files[key]):
            if not t[b] > tab.last_t:  # a member that did not advance (stopped, frozen, continued) gets no row
                continue
            row = [t[b], *mavg[b], etot[b], *(es[n][b] for n in es), *bext[b], *(x[b] for x in extra)]
            tab.write(row)
        self._tables[key] += 1
