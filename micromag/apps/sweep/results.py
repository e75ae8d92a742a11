"""The results of a sweep: the append-only, resumable log (``results.jsonl``, one line per finished point),
the CSV/Parquet tables and the plot written at the end."""
from __future__ import annotations

import json
import os
import sys

import numpy as np

from .spec import RESULTS


class ResultsLog:
    """``results.jsonl``: one line per finished point, flushed and fsynced; each key written at most once."""

    def __init__(self, out, spec_hash, resume):
        self.path = os.path.join(out, RESULTS)
        self.spec_hash = spec_hash
        self.done = {}
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            if not resume:
                raise FileExistsError(f"{self.path} exists: use --resume (resume=True) to continue that sweep, "
                                      "or choose another output folder")
            self._read()
        self.f = open(self.path, "ab")

    def _read(self):
        with open(self.path, "rb") as f:
            data = f.read()
        good_end, pos = 0, 0
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            if not line.strip():
                pos += len(line) + 1
                if not last:
                    good_end = pos
                continue
            try:
                rec = json.loads(line)
                if last:  # no newline: the write was cut short
                    raise ValueError("incomplete line")
            except ValueError:
                if last or all(not x.strip() for x in lines[i + 1:]):
                    break  # a line cut by a kill: dropped, the point runs again
                raise ValueError(f"{self.path}, line {i + 1} is not valid JSON: the results file is damaged") from None
            if rec.get("spec") != self.spec_hash:
                raise ValueError(f"{self.path} holds results of a different sweep spec (build, duration, every, "
                                 "detect, fixed or repeats changed): use another output folder")
            if rec["key"] not in self.done:  # (a duplicate never happens; if it did, the first one wins)
                self.done[rec["key"]] = rec
            pos += len(line) + 1
            good_end = pos
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())

    def write(self, key, point, params, rows):
        if key in self.done:
            return False
        rec = {"key": key, "spec": self.spec_hash, "point": point, "params": params, "rows": rows}
        self.f.write((json.dumps(rec, sort_keys=False) + "\n").encode())
        self.f.flush()
        os.fsync(self.f.fileno())
        self.done[key] = rec
        return True

    def close(self):
        self.f.close()


def read_results(out):
    """All rows of the sweep in ``out`` (from results.jsonl), sorted by point and member: a list of dicts."""
    path = os.path.join(out, RESULTS)
    recs = {}
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            recs.setdefault(rec["key"], rec)
    rows = []
    for rec in sorted(recs.values(), key=lambda r: r["point"]):
        for r in rec["rows"]:
            rows.append({"point": rec["point"], "key": rec["key"], **rec["params"], **r})
    return rows


def write_tables(out, rows, first=()):
    """``results.csv`` and (with pyarrow) ``results.parquet`` from the rows, written atomically; the columns
    ``point``, ``key``, then ``first`` (the parameter names), then the rest."""
    import csv

    cols = ["point", "key"] + [c for c in first if c not in ("point", "key")]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    import io

    from ...engine.io.atomic import atomic_write

    path = os.path.join(out, "results.csv")
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    atomic_write(path, [buf.getvalue().encode("utf-8")])
    written = [path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("micromag sweep: pyarrow is not installed: results.parquet not written", file=sys.stderr)
        return written
    table = pa.Table.from_pylist([{k: r.get(k) for k in cols} for r in rows])
    path = os.path.join(out, "results.parquet")
    atomic_write(path, lambda f: pq.write_table(table, f))
    written.append(path)
    return written


def plot_results(out, rows, names):
    """A phase diagram (two parameters: switched fraction) or switching probability / error rate against
    the parameter (one). Returns the PNG path, or None."""
    rows = [r for r in rows if not r.get("error")]  # a diverged run has no switching result
    names = [n for n in names if all(isinstance(r.get(n), (int, float)) and not isinstance(r.get(n), bool)
                                     for r in rows)]
    if not rows or not names or rows[0].get("switched") is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if len(names) >= 2:
        x, y = names[0], names[1]
        xs, ys = sorted({r[x] for r in rows}), sorted({r[y] for r in rows})
        P = np.full((len(ys), len(xs)), np.nan)
        acc = {}
        for r in rows:
            acc.setdefault((r[x], r[y]), []).append(bool(r["switched"]))
        for (a, b), v in acc.items():
            P[ys.index(b), xs.index(a)] = np.mean(v)
        im = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, P, vmin=0, vmax=1,
                           cmap="RdBu_r", shading="flat")
        ax.set_xticks(range(len(xs)), [f"{v:.3g}" for v in xs], rotation=45)
        ax.set_yticks(range(len(ys)), [f"{v:.3g}" for v in ys])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(im, ax=ax, label="switching probability")
        ax.set_title("phase diagram" + (f" (averaged over {', '.join(names[2:])})" if len(names) > 2 else ""))
        path = os.path.join(out, "phase.png")
    else:
        x = names[0]
        acc = {}
        for r in rows:
            acc.setdefault(r[x], []).append(bool(r["switched"]))
        xs = sorted(acc)
        n = np.array([len(acc[v]) for v in xs])
        P = np.array([np.mean(acc[v]) for v in xs])
        wer = 1 - P
        ax.semilogy(xs, np.where(wer > 0, wer, np.nan), "o-", label="write error rate 1 − P")
        floor = 1.0 / n
        ax.semilogy(xs, np.where(wer > 0, np.nan, floor), "v", color="C0", alpha=0.5, label="< 1/N (no error seen)")
        ax.set_xlabel(x)
        ax.set_ylabel("error rate")
        ax.legend(loc="best")
        path = os.path.join(out, "error_rate.png")
    fig.tight_layout()
    from ...engine.io.atomic import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    plt.close(fig)
    return path
