"""The macrospin of macrospin.py, but each build appends "Bz pid" to ``log`` and the point takes at least
``hold`` s of wall time: the Dask tests count how often each point ran and kill processes mid-sweep."""
import os
import time

from macrospin import build as _build


def build(Bz, log, hold=0.0, **kw):
    with open(log, "a") as f:
        f.write(f"{Bz!r} {os.getpid()}\n")
    time.sleep(hold)
    return _build(Bz, **kw)
