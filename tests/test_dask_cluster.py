"""Sweeps on a real Dask cluster the way Dask users run one: `dask scheduler` and `dask worker` as separate
processes on 127.0.0.1 (started here, bounded in time, always killed at the end). Covers a Client object
and "auto", a scheduler file with the CLI, a scheduler without workers, an unreachable one, a killed worker
(no written point recomputed) and a killed scheduler (one message, then --resume completes)."""
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

sw = importlib.import_module("micromag.apps.sweep")
from micromag.apps import cluster  # noqa: E402

DATA = Path(__file__).parent / "data" / "sweep"
ROOT = Path(__file__).resolve().parent.parent
DASK = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
pytestmark = pytest.mark.skipif(DASK is None, reason="the `dask` command line (dask.distributed) is not installed")
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "MICROMAG_PROGRESS": "line", "OMP_NUM_THREADS": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
ENV.pop("DASK_SCHEDULER_ADDRESS", None)


class Procs:
    """Processes started by a test, each in its own process group, all killed at the end."""

    def __init__(self, folder):
        self.folder, self.procs = Path(folder), []

    def start(self, name, *args):
        log = open(self.folder / f"{name}.log", "w")
        p = subprocess.Popen([DASK, *args], env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def scheduler(self, name="scheduler"):
        f = self.folder / f"{name}.json"
        p = self.start(name, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(f))
        t0 = time.monotonic()
        while not f.exists():
            assert p.poll() is None and time.monotonic() - t0 < 40, (self.folder / f"{name}.log").read_text()
            time.sleep(0.1)
        time.sleep(0.1)  # the file is complete once it parses
        return p, f, json.loads(f.read_text())["address"]

    def worker(self, sched_file, name):
        return self.start(name, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1", "--nworkers", "1",
                          "--host", "127.0.0.1", "--no-dashboard", "--name", name, "--death-timeout", "60")

    @staticmethod
    def kill(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the group this test made (a nanny and its worker)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)

    def close(self):
        for p in self.procs:
            self.kill(p)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two workers (each a nanny + worker process), shared by the tests of this module."""
    procs = Procs(tmp_path_factory.mktemp("cluster"))
    try:
        sched, f, addr = procs.scheduler()
        procs.worker(f, "w1")
        procs.worker(f, "w2")
        with distributed.Client(scheduler_file=str(f), timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield f, addr, procs, sched
    finally:
        procs.close()


def spec_file(tmp_path, n, hold=0.0, name="spec.toml"):
    log = tmp_path / "runs.log"
    p = tmp_path / name
    p.write_text(f"""
[sweep]
build = "{DATA / 'counted.py'}:build"
duration = 2e-10
every = 20e-12
retries = 2

[fixed]
log = "{log}"
hold = {hold}

[params]
Bz = {[round(-0.3 + 0.1 * k, 3) for k in range(n)]}

[detect]
stop = false
""")
    return p, log


def runs(log):
    """{Bz: times built} from the counted build's log."""
    counts = {}
    for line in log.read_text().splitlines():
        bz = float(line.split()[0])
        counts[bz] = counts.get(bz, 0) + 1
    return counts


def records(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def stable(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def sweep_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "micromag.apps.sweep", *map(str, args), "--no-plot"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_client_object_and_auto(tmp_path, dask_cluster, monkeypatch):
    f, addr = dask_cluster[:2]
    spec, _ = spec_file(tmp_path, 4)
    s = sw.load_spec(spec)
    ref = sw.run_sweep(s, out=tmp_path / "serial", workers=1, progress=False, plot=False)
    with distributed.Client(scheduler_file=str(f)) as client:  # a Client object (refused before: TypeError)
        rows = sw.run_sweep(s, out=tmp_path / "client", scheduler=client, progress=False, plot=False)
        assert client.status == "running"  # the caller's client is left open
    assert stable(rows) == stable(ref)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", addr)  # "auto" finds it (ignored before: ran locally)
    assert cluster.auto_scheduler() == addr
    rows = sw.run_sweep(s, out=tmp_path / "auto", scheduler="auto", progress=False, plot=False)
    assert stable(rows) == stable(ref)
    workers = {r["params"]["Bz"]: r for r in records(tmp_path / "auto")}
    assert len(workers) == 4


def test_scheduler_file_and_killed_worker_recomputes_nothing(tmp_path, dask_cluster):
    f, addr = dask_cluster[:2]
    spec, log = spec_file(tmp_path, 8, hold=0.25)
    out = tmp_path / "out"
    with distributed.Client(scheduler_file=str(f)) as client:
        pids = client.run(os.getpid)
        proc = sweep_cli(spec, "--out", out, "--scheduler-file", f)
        res = out / "results.jsonl"
        t0 = time.monotonic()
        while (not res.exists() or res.read_bytes().count(b"\n") < 4) and proc.poll() is None:
            assert time.monotonic() - t0 < 60
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        written = {r["params"]["Bz"] for r in records(out)}
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)  # a worker process dies, after several of its points were written
        try:
            _, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 0, err
    assert f"Dask scheduler {addr}" in err  # where it ran (and the dashboard link, when there is one)
    recs = records(out)
    assert sorted(r["point"] for r in recs) == list(range(8)) and len({r["key"] for r in recs}) == 8
    counts = runs(log)
    assert all(counts[bz] == 1 for bz in written), (written, counts)  # released when written: not recomputed
    assert "[sweep] done in" in err and "8 points run, 0 failed" in err


def test_no_workers_and_unreachable_scheduler(tmp_path, monkeypatch, capfd):
    procs = Procs(tmp_path)
    try:
        _, f, addr = procs.scheduler("lonely")
        spec, log = spec_file(tmp_path, 3)
        t0 = time.monotonic()
        proc = sweep_cli(spec, "--out", tmp_path / "a", "--scheduler", addr, "--wait-workers", "1")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "has no workers (waited 1 s); nothing was run" in err and "dask worker" in err
        assert "points run" not in err and "Traceback" not in err
        assert time.monotonic() - t0 < 40
        assert not log.exists()
    finally:
        procs.close()
    # unreachable: one message, before anything ran, no "n points run, 0 failed"
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2.0)
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        sw.run_sweep(sw.load_spec(spec), out=tmp_path / "b", scheduler="tcp://127.0.0.1:9", progress=True)
    assert "points run" not in capfd.readouterr().err
    assert not (tmp_path / "b" / "results.jsonl").exists()
    with pytest.raises(cluster.ClusterError, match="does not exist"):
        cluster.connect(scheduler_file=tmp_path / "none.json")


def test_gpu_cluster_pins_one_worker_per_device(monkeypatch):
    """Without dask-cuda: one Nanny per device with CUDA_VISIBLE_DEVICES set and a GPU resource (checked on
    the spec, without starting it: this machine may have no GPU)."""
    monkeypatch.setitem(sys.modules, "dask_cuda", None)  # as if not installed
    captured = {}

    class FakeSpec:
        def __init__(self, workers, scheduler, **kw):
            captured.update(workers=workers, scheduler=scheduler)

    monkeypatch.setattr(distributed, "SpecCluster", FakeSpec)
    cluster.local_gpu_cluster([0, 2])
    w = captured["workers"]
    assert sorted(w) == ["gpu-0", "gpu-2"]
    assert w["gpu-2"]["options"]["env"] == {"CUDA_VISIBLE_DEVICES": "2"}
    assert w["gpu-0"]["options"]["resources"] == {"GPU": 1} and w["gpu-0"]["cls"] is distributed.Nanny
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(cluster.ClusterError, match="no GPU"):
        cluster.local_gpu_cluster()


def test_batch_size_per_point_from_the_spec(tmp_path):
    """``batch`` (members integrated at once) is checked and reaches the worker; results do not depend on it."""
    base = dict(build=f"{DATA / 'macrospin.py'}:build", params={"Bz": [-0.2]}, duration=1e-10, every=20e-12,
                repeats=3, fixed={"T": 0.0})
    with pytest.raises(ValueError, match="batch"):
        sw.Spec(**base, batch=0)
    one = sw.Spec(**base, batch=1)
    assert one.payload()["batch"] == 1
    a = sw.run_point(one.payload(), {"Bz": -0.2})
    b = sw.run_point(sw.Spec(**base).payload(), {"Bz": -0.2})
    assert stable(a) == stable(b)


def test_killed_scheduler_one_message_then_resume(tmp_path, dask_cluster):
    """(The module's last cluster test: it kills the shared scheduler.)"""
    f, addr, procs, sched = dask_cluster
    spec, log = spec_file(tmp_path, 6, hold=0.25)
    out = tmp_path / "out"
    proc = sweep_cli(spec, "--out", out, "--scheduler", addr)
    res = out / "results.jsonl"
    t0 = time.monotonic()
    while (not res.exists() or res.read_bytes().count(b"\n") < 2) and proc.poll() is None:
        assert time.monotonic() - t0 < 60
        time.sleep(0.02)
    procs.kill(sched)  # the scheduler dies mid-sweep
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    saved = len(records(out))
    assert 2 <= saved < 6
    msg = [ln for ln in err.splitlines() if "restart the cluster" in ln]
    assert len(msg) == 1 and f"{saved} of 6 points saved; restart the cluster and run again with --resume" in msg[0]
    assert "Traceback" not in err and " failed:" not in err and "points run" not in err, err
    # a new cluster, --resume: the rest, each point exactly once
    _, f2, addr2 = procs.scheduler("scheduler2")
    procs.worker(f2, "w3")
    proc = sweep_cli(spec, "--out", out, "--scheduler-file", f2, "--resume")
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    recs = records(out)
    assert sorted(r["point"] for r in recs) == list(range(6)) and len({r["key"] for r in recs}) == 6


def test_cli_options_for_clusters():
    import argparse

    p = argparse.ArgumentParser()
    sw.add_sweep_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["sweep", "s.toml", "--scheduler-file", "f.json", "--wait-workers", "0"])
    assert (a.scheduler_file, a.wait_workers, a.scheduler, a.gpus) == ("f.json", 0.0, None, None)
    assert p.parse_args(["sweep", "s.toml", "--gpus", "0,2"]).gpus == [0, 2]
    assert p.parse_args(["sweep", "s.toml", "--gpus", "all"]).gpus == "all"
    for bad in (["--gpus", "0,0"], ["--gpus", "x"], ["--wait-workers", "-1"],
                ["--scheduler", "tcp://a:1", "--scheduler-file", "f.json"]):
        with pytest.raises(SystemExit):
            p.parse_args(["sweep", "s.toml", *bad])
