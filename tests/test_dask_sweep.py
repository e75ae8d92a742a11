"""A sweep on a local dask.distributed cluster (two worker processes on loopback) through --scheduler; one
worker is killed mid-sweep and every point still lands exactly once, with the serial results."""
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

sw = importlib.import_module("micromag.apps.sweep")  # the module (mm.sweep may be the function)

DATA = Path(__file__).parent / "data" / "sweep"
ROOT = Path(__file__).resolve().parent.parent

SPEC = f"""
[sweep]
build = "{DATA / 'macrospin.py'}:build"
duration = 1e-9
every = 20e-12
retries = 2

[params]
Bz = [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]

[detect]
stop = false
"""


def _lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_dask_sweep_with_a_killed_worker(tmp_path):
    from distributed import Client, LocalCluster

    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC)
    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        assert len(pids) == 2
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen([sys.executable, "-m", "micromag.apps.sweep", str(spec_path), "--out", str(out),
                                 "--scheduler", cluster.scheduler_address, "--no-plot"],
                                env=env, stderr=subprocess.PIPE, text=True)
        res = out / "results.jsonl"
        t0 = time.time()
        while _lines(res) < 2 and proc.poll() is None and time.time() - t0 < 90:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read()
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)  # a worker dies with a point in flight
        killed_at = _lines(res)
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert killed_at < 8
        after = client.run(os.getpid)
        assert victim not in after.values()  # the nanny started a new worker process
    recs = [json.loads(line) for line in res.read_text().splitlines()]
    assert sorted(r["point"] for r in recs) == list(range(8))  # every point exactly once
    assert len({r["key"] for r in recs}) == 8
    ref = sw.run_sweep(sw.load_spec(spec_path), out=tmp_path / "ref", workers=1, progress=False, plot=False)

    def stable(rows):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]

    assert stable(sw.read_results(out)) == stable(ref)
    assert (out / "results.csv").exists()
