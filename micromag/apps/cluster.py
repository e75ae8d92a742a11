"""Running a sweep's points on a Dask cluster: connecting, waiting for workers, and the run itself.

Used by :mod:`micromag.apps.sweep` (``sweep(..., scheduler=...)``, ``micromag sweep --scheduler/--scheduler-file``)
the way Dask users run Dask:

* **where** -- ``scheduler`` is an address (``"tcp://host:8786"``), a ``distributed.Client`` the caller
  already holds (used as it is, not closed), or ``"auto"``: the active client (``distributed.get_client``
  inside a ``with Client(...)`` block or after ``Client(...)``), else Dask's configuration
  (``scheduler-address`` in ``~/.config/dask/*.yaml``, or the environment variable
  ``DASK_SCHEDULER_ADDRESS``). ``scheduler_file`` is the JSON file ``dask scheduler --scheduler-file``
  writes (the usual way on HPC batch systems).
* **before any point runs** -- an unreachable scheduler is one clear error; a scheduler without workers is
  waited for ``wait_workers`` seconds (default 15; ``None``: forever, as asked), then one clear error; the
  dashboard link is printed.
* **while it runs** -- every point is one task (``retries`` extra tries when its worker dies or it raises),
  collected with ``as_completed`` and *released as soon as its rows are written*: a finished point is not
  kept on a worker, so a worker that dies later does not make the scheduler recompute it. Its rows are
  written by this (the client) process only, so each lands once.
* **a lost scheduler** -- the run stops at once with :class:`ClusterLost` ("k of n points saved; restart
  the cluster and run again with --resume"), not a failure per point in flight.
* **GPU workers** -- one worker per GPU, pinned by ``CUDA_VISIBLE_DEVICES``: :func:`local_gpu_cluster`
  (dask-cuda's ``LocalCUDACluster`` where installed, else one Nanny per device with that variable set), or
  on other nodes ``dask worker ADDRESS --nworkers 1 --resources GPU=1`` started once per GPU with
  ``CUDA_VISIBLE_DEVICES=i`` (or ``dask cuda worker``). Where workers declare a ``GPU`` resource, each point
  asks for one, so one point (one batch of ``batch`` members) runs per GPU at a time.
"""
from __future__ import annotations

import contextlib
import os
import time

DEFAULT_WAIT_WORKERS = 15.0  # s a scheduler without workers is waited for
CONNECT_TIMEOUT = 10.0  # s to reach a scheduler


class ClusterError(RuntimeError):
    """The Dask cluster cannot run the sweep: no scheduler found, unreachable, no workers. Nothing ran."""


class ClusterLost(ClusterError):
    """The scheduler went away during the sweep; ``saved`` of ``total`` points are in results.jsonl."""

    def __init__(self, message, saved=0, total=0):
        super().__init__(message)
        self.saved, self.total = saved, total


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("a Dask scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    return distributed


def auto_scheduler():
    """What ``scheduler="auto"`` finds: the active Client, else the configured address, else None."""
    distributed = _distributed()
    try:
        return distributed.get_client()  # a `with Client(...)` block, or a Client made earlier
    except ValueError:
        pass
    import dask

    addr = os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None)
    return addr or None


def connect(scheduler=None, scheduler_file=None, wait_workers=DEFAULT_WAIT_WORKERS, say=None,
            connect_timeout=None):
    """A connected client and whether it is ours to close: ``(client, owned)``.

    scheduler : an address, a ``distributed.Client`` or ``"auto"`` (see the module docstring).
    scheduler_file : a scheduler's JSON file (instead of ``scheduler``).
    wait_workers : seconds to wait for a first worker (None or 0: forever), then :class:`ClusterError`.
    say : function printing one line (the dashboard link, "waiting for workers").
    connect_timeout : s to reach the scheduler (default :data:`CONNECT_TIMEOUT`).
    """
    distributed = _distributed()
    say = say or (lambda msg: None)
    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else float(connect_timeout)
    if scheduler is not None and scheduler_file is not None:
        raise ValueError("give scheduler or scheduler_file, not both")
    if wait_workers is not None and (isinstance(wait_workers, bool) or not wait_workers >= 0):
        raise ValueError(f"wait_workers must be a number of seconds >= 0 (0 or None: wait forever), got "
                         f"{wait_workers!r}")
    where = scheduler_file
    if isinstance(scheduler, str) and scheduler.strip().lower() == "auto":
        scheduler = auto_scheduler()
        if scheduler is None:
            raise ClusterError("scheduler='auto' found no Dask scheduler: no active Client, no 'scheduler-address' "
                               "in the Dask configuration and no DASK_SCHEDULER_ADDRESS; give an address or "
                               "--scheduler-file")
    if isinstance(scheduler, distributed.Client):
        client, owned = scheduler, False
        where = getattr(client.scheduler, "address", None) or "the given Client"
        if client.status not in ("running", "newly-created"):
            raise ClusterError(f"the given Dask Client is {client.status!r}, not connected to a scheduler")
    else:
        if scheduler_file is not None:
            if not os.path.isfile(scheduler_file):
                raise ClusterError(f"scheduler file {scheduler_file} does not exist (the scheduler writes it "
                                   "at start: `dask scheduler --scheduler-file FILE`)")
            kw = {"scheduler_file": os.fspath(scheduler_file)}
        elif isinstance(scheduler, str) and scheduler:
            kw, where = {"address": scheduler}, scheduler
        else:
            raise ValueError(f"scheduler must be an address ('tcp://host:8786'), a distributed.Client or 'auto', "
                             f"got {scheduler!r}")
        try:
            client = distributed.Client(timeout=f"{connect_timeout}s", set_as_default=False, **kw)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {where} ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}); nothing was run. Is "
                               "it running, and is the address right?") from None
        owned = True
        where = client.scheduler.address
    try:
        link = client.dashboard_link
    except Exception:  # a scheduler started without a dashboard
        link = None
    say(f"Dask scheduler {where}" + (f", dashboard {link}" if link else " (no dashboard)"))
    try:
        _wait_for_workers(client, where, wait_workers, say)
    except BaseException:
        if owned:
            close(client)
        raise
    return client, owned


def _nworkers(client):
    return len(client.scheduler_info().get("workers", {}))


def _wait_for_workers(client, where, wait_workers, say):
    if _nworkers(client):
        return
    forever = not wait_workers
    say(f"the scheduler at {where} has no workers yet: waiting "
        + ("until one connects" if forever else f"{wait_workers:g} s") + " (start them with `dask worker "
        f"{where}`)")
    t0 = time.monotonic()
    while not _nworkers(client):
        if not forever and time.monotonic() - t0 >= wait_workers:
            raise ClusterError(f"the Dask scheduler at {where} has no workers (waited {wait_workers:g} s); nothing "
                               f"was run. Start workers with `dask worker {where}`, or wait longer with "
                               "--wait-workers SECONDS (0: as long as it takes)")
        time.sleep(0.2)


@contextlib.contextmanager
def quiet_connection_logs():
    """distributed's connection loggers at CRITICAL for the block: a lost scheduler makes them log tracebacks
    (from their background threads too), where micromag says in one message what was lost and what to do."""
    import logging

    loggers = [logging.getLogger(n) for n in ("distributed.client", "distributed.core", "distributed.comm",
                                              "distributed.utils", "distributed.batched", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def close(client):
    """Close a client we made, quietly (a lost scheduler makes distributed log a traceback on close)."""
    with quiet_connection_logs():
        try:
            client.close(timeout=2)
        except Exception:
            pass


def _gpu_workers(client):
    """Whether the workers declare a ``GPU`` resource (then each point asks for one)."""
    workers = client.scheduler_info().get("workers", {}).values()
    return any("GPU" in (w.get("resources") or {}) for w in workers)


def _lost(client, fut):
    """Whether a cancelled future means the scheduler is gone (rather than a cancel of this one task)."""
    if client.status not in ("running",):
        return True
    try:
        client.scheduler_info()  # cached; a cheap round trip follows:
        client.run_on_scheduler(lambda: None)
    except Exception:
        return True
    return False


def run_points(client, fn, payload, todo, retries, finished, failed, saved, total, key_prefix="micromag-sweep"):
    """Run ``fn(payload, params)`` for each ``(i, key, params)`` of ``todo`` on the cluster.

    ``finished(i, k, p, rows)`` writes a point (then its future is released), ``failed(i, k, p, exc)``
    records one that raised after its retries. ``saved()`` counts the points in results.jsonl (for the
    message when the scheduler is lost; ``total`` of the sweep). Raises :class:`ClusterLost`.
    """
    with quiet_connection_logs():
        _run_points(client, fn, payload, todo, retries, finished, failed, saved, total, key_prefix)


def _run_points(client, fn, payload, todo, retries, finished, failed, saved, total, key_prefix):
    distributed = _distributed()
    resources = {"GPU": 1} if _gpu_workers(client) else None
    info, futs = {}, []
    try:
        for i, k, p in todo:
            fut = client.submit(fn, payload, p, key=f"{key_prefix}-{k}", pure=False, retries=retries,
                                resources=resources)
            info[fut.key] = (i, k, p)
            futs.append(fut)
    except Exception as exc:
        raise ClusterLost(_lost_message(saved(), total, exc), saved(), total) from None
    ac = distributed.as_completed(futs, loop=client.loop)  # holds each future until it is yielded, and no longer
    futs = fut = None  # (as_completed holds them now)
    for fut in ac:
        i, k, p = info.pop(fut.key)
        status = fut.status
        if status == "finished":
            try:
                rows = fut.result()
            except Exception as exc:  # the scheduler went between the status and the fetch
                raise ClusterLost(_lost_message(saved(), total, exc), saved(), total) from None
            finished(i, k, p, rows)
        elif status == "error":
            exc = fut.exception()
            if isinstance(exc, distributed.client.FutureCancelledError) or _lost(client, fut):
                raise ClusterLost(_lost_message(saved(), total, exc), saved(), total)
            failed(i, k, p, exc)
        else:  # cancelled: the scheduler was lost (or the cluster shut down)
            raise ClusterLost(_lost_message(saved(), total, None), saved(), total)
        fut.release()  # the worker may forget it: a later worker death does not recompute this point
        del fut


def _lost_message(saved, total, exc):
    why = f" ({type(exc).__name__}: {str(exc).splitlines()[0]})" if exc is not None and str(exc) else ""
    return (f"the Dask scheduler was lost{why}: {saved} of {total} points saved; restart the cluster and run "
            "again with --resume")


def local_gpu_cluster(devices=None, threads_per_worker=1, **kwargs):
    """A local cluster with one worker per GPU, each pinned to its device by ``CUDA_VISIBLE_DEVICES`` and
    declaring the resource ``GPU=1``.

    devices : GPU indices (default: every visible GPU). Uses dask-cuda's ``LocalCUDACluster`` where it is
    installed, else one ``distributed.Nanny`` per device with ``CUDA_VISIBLE_DEVICES`` set in its
    environment. Extra keyword arguments go to the cluster.
    """
    distributed = _distributed()
    if devices is None:
        devices = _visible_gpus()
    devices = [int(d) for d in devices]
    if not devices:
        raise ClusterError("local_gpu_cluster: no GPU is visible (CUDA_VISIBLE_DEVICES, nvidia-smi); use a CPU "
                           "cluster (workers=) instead")
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        LocalCUDACluster = None
    if LocalCUDACluster is not None:
        return LocalCUDACluster(CUDA_VISIBLE_DEVICES=devices, threads_per_worker=threads_per_worker,
                                resources={"GPU": 1}, **kwargs)
    specs = {f"gpu-{d}": {"cls": distributed.Nanny,
                          "options": {"nthreads": threads_per_worker, "resources": {"GPU": 1},
                                      "env": {"CUDA_VISIBLE_DEVICES": str(d)}}}
             for d in devices}
    scheduler = {"cls": distributed.Scheduler, "options": {"dashboard_address": kwargs.pop("dashboard_address",
                                                                                             ":0")}}
    return distributed.SpecCluster(workers=specs, scheduler=scheduler, **kwargs)


def _visible_gpus():
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [int(x) for x in env.split(",") if x.strip().isdigit()]
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
        return [int(x) for x in out.stdout.split()] if out.returncode == 0 else []
    except (OSError, subprocess.SubprocessError):
        return []
