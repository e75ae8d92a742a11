"""Running a sweep: one point in any process (:func:`run_point`), the local process pool or a Dask cluster,
retries, and :func:`sweep` (the Python entry point)."""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from .results import ResultsLog, plot_results, read_results, write_tables
from .spec import ERRORS, Spec, SpecError, load_callable


# ---------------------------------------------------------------------------------------------- one point
def _clean(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def run_point(payload, params):
    """Run one point of a sweep (in whatever process): returns the list of its result rows (one per member).

    A top-level function so that process pools and Dask workers can import it."""
    from ...engine.batch import Batch, Threshold

    t_wall = time.perf_counter()
    if payload.get("cupy_cache") and "cupy" not in sys.modules:
        os.environ["CUPY_CACHE_DIR"] = payload["cupy_cache"]  # one compile per node, whichever worker is first
    build = load_callable(payload["build"])
    # loaded before the run, so a failure cannot cost a finished point
    energy = None if payload.get("energy") is None else load_callable(payload["energy"], what="energy")
    kw = {**payload["fixed"], **params}
    repeats = int(payload["repeats"])
    if repeats > 1:
        def make(B):
            return build(batch=B, **kw)
        members = [{"seed": r} for r in range(repeats)]
    else:
        def make(B):
            return build(**kw)
        members = [{}]
    det = payload["detect"]
    stop = None if det is None else Threshold(det["quantity"], det["threshold"], det["below"])
    every = payload["every"]
    if stop is not None and every is None:
        every = payload["duration"] / 100
    chunk = min(int(payload.get("batch") or len(members)), len(members))  # members per integration
    batch = Batch(make, members, chunk=chunk, stop=stop, check_every=every,
                  halt=bool(det and det["stop"]), keep_m=False)
    res = batch.run(payload["duration"], progress=False)  # the sweep shows its own progress over points
    wall = time.perf_counter() - t_wall
    rows = []
    for k, r in enumerate(res):
        row = {"member": k}
        if repeats > 1:
            row["seed"] = k
        row.update({
            "switched": bool(r["stopped"]) if stop is not None and not r.get("diverged") else None,
            "t_switch": _clean(r["t_stop"]), "t_end": _clean(r["t"]),
            "mx": _clean(r["m_avg"][0]), "my": _clean(r["m_avg"][1]), "mz": _clean(r["m_avg"][2]),
            "E_final": _clean(r["energy"]), "energy_used": None,
            "steps": int(r["steps"]), "rejected": int(r["rejected"]), "wall_s": wall / len(res),
            "error": r.get("error"),  # a member whose state diverged: why (its values are its last good state)
        })
        if energy is not None:
            row["energy_used"] = _clean(energy(dict(kw), dict(row)))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- driving
def say(progress, msg):
    if progress:  # tqdm.write keeps an open progress bar (micromag.engine.progress) intact below the message
        from tqdm import tqdm

        tqdm.write(f"micromag sweep: {msg}", file=sys.stderr)


def run_sweep(spec, out=None, resume=False, scheduler=None, workers=None, progress=True, plot=True,
              scheduler_file=None, wait_workers=None):
    """Run every point of ``spec`` not yet in ``out`` (see the module docstring); returns all rows.

    scheduler, scheduler_file : a Dask cluster (:func:`micromag.apps.cluster.connect`); wait_workers: seconds to
    wait for a first worker (default 15; 0: forever). Raises :class:`micromag.apps.cluster.ClusterError` when
    the cluster cannot run the sweep (nothing ran) and :class:`~micromag.apps.cluster.ClusterLost` when the
    scheduler goes away mid-sweep (the points written so far stay; ``resume=True`` continues)."""
    if workers is not None:
        from ...engine.guard import check_int

        workers = check_int("workers", workers, lo=1)
    out = os.path.abspath(out or spec.out or f"sweep-{spec.name}")
    os.makedirs(out, exist_ok=True)
    pts = spec.points()
    keys = [spec.key(p) for p in pts]
    if len(set(keys)) != len(keys):
        dup = next(p for p, k in zip(pts, keys) if keys.count(k) > 1)
        raise SpecError(f"{spec.where('params')}: the point {dup} appears more than once")
    client = owned = None
    if scheduler is not None or scheduler_file is not None:  # reach the cluster before anything is written
        from ..cluster import DEFAULT_WAIT_WORKERS, connect

        client, owned = connect(scheduler, scheduler_file,
                                DEFAULT_WAIT_WORKERS if wait_workers is None else wait_workers,
                                say=lambda msg: say(progress, msg))
    if client is None:
        return _run_sweep(spec, out, resume, client, workers, progress, plot, pts, keys)
    from ..cluster import close, quiet_connection_logs

    with quiet_connection_logs():  # a lost scheduler is reported once, by us, not by distributed's threads
        try:
            return _run_sweep(spec, out, resume, client, workers, progress, plot, pts, keys)
        finally:
            if owned:
                close(client)


def _run_sweep(spec, out, resume, client, workers, progress, plot, pts, keys):
    log = ResultsLog(out, spec.spec_hash, resume)
    from ...engine.io.atomic import atomic_write, clean_stale_tmp

    if resume:  # temporaries of writes a killed sweep left behind (results.csv, sweep.json, ...)
        clean_stale_tmp(out)
        for old in ("results.csv.tmp", "results.parquet.tmp", "phase.png.tmp.png", "error_rate.png.tmp.png"):
            try:
                os.unlink(os.path.join(out, old))  # names earlier versions used
            except OSError:
                pass

    desc = {"name": spec.name, "spec_hash": spec.spec_hash, "settings": spec.settings(), "params": spec.values,
            "points": len(pts)}
    atomic_write(os.path.join(out, "sweep.json"), [json.dumps(desc, indent=1, default=str).encode()])
    if resume and os.path.exists(os.path.join(out, ERRORS)):  # this attempt's failures only
        os.replace(os.path.join(out, ERRORS), os.path.join(out, ERRORS + ".previous"))
    todo = [(i, k, p) for i, (k, p) in enumerate(zip(keys, pts)) if k not in log.done]
    say(progress, f"{len(pts)} points, {len(pts) - len(todo)} already done, {len(todo)} to run -> {out}")
    payload = spec.payload()
    failures = []
    from ...engine.progress import Progress

    prog = Progress("sweep", max(len(todo), 1), enabled=progress)

    def finished(i, k, p, rows):
        prog.update(len(log.done) - (len(pts) - len(todo)) + 1 + len(failures), f"{len(failures)} failed")
        if log.write(k, i, p, rows):
            sw = [r["switched"] for r in rows]
            say(progress, f"[{len(log.done)}/{len(pts)}] point {i} {p}: "
                 f"{'switched ' + str(sum(bool(s) for s in sw)) + '/' + str(len(sw)) if sw[0] is not None else 'done'}"
                 f" ({sum(r['wall_s'] for r in rows):.3g} s)")

    def failed(i, k, p, exc):
        failures.append((i, p, exc))
        prog.update(len(log.done) - (len(pts) - len(todo)) + len(failures), f"{len(failures)} failed")
        with open(os.path.join(out, ERRORS), "a") as f:
            f.write(json.dumps({"key": k, "point": i, "params": p, "error": f"{type(exc).__name__}: {exc}"},
                               default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        say(progress, f"point {i} {p} failed: {type(exc).__name__}: {exc}")

    from ..cluster import ClusterLost

    lost = None
    try:
        if todo and client is not None:
            from ..cluster import run_points

            run_points(client, run_point, payload, todo, spec.retries, finished, failed,
                       saved=lambda: len(log.done), total=len(pts))
        elif todo:
            n = workers or spec.workers or _default_workers()
            n = max(1, min(int(n), len(todo)))
            if n == 1:
                for i, k, p in todo:
                    try:
                        rows = run_point(payload, p)
                    except Exception as exc:  # a bad point does not stop the others
                        failed(i, k, p, exc)
                        continue
                    finished(i, k, p, rows)
            else:
                _run_pool(n, payload, todo, spec.retries, finished, failed)
    except ClusterLost as exc:
        lost = exc
    finally:
        if lost is None:
            prog.done(f"{len(todo) - len(failures)} points run, {len(failures)} failed", always=True)
        else:  # no summary: the points in flight neither ran nor failed
            prog.abort()
        log.close()
        rows = read_results(out)
        if rows:
            names = []
            for p in pts:
                names += [n for n in p if n not in names]
            write_tables(out, rows, first=names)
            if plot:
                try:
                    plot_results(out, rows, list(spec.values))
                except Exception as exc:  # a plot is never worth losing results over
                    say(progress, f"no plot ({type(exc).__name__}: {exc})")
    if lost is not None:
        raise lost
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(pts)} points failed (see {os.path.join(out, ERRORS)}); "
                           f"the first: point {failures[0][0]} {failures[0][1]}: {failures[0][2]}. "
                           "Run again with --resume to retry them")
    return rows


def _default_workers():
    from ...engine.backends import gpu_status

    if os.environ.get("MICROMAG_BACKEND", "auto") != "cpu" and gpu_status()[0]:
        return 1  # one process drives the GPU; its batches fill it
    return os.cpu_count() or 1


def _exit_now():
    """End this pool worker at once, running no clean-up (its parent is gone; nothing waits for it, and an
    orderly exit could block on the dead parent's pipes): SIGKILL to itself."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def _watch_parent(parent, interval=0.2):
    """Exit this process as soon as ``parent`` is gone (reparented: getppid changes). A daemon thread of
    every pool worker, so that killing ``micromag sweep`` (even with SIGKILL, which it cannot catch) leaves
    no worker behind -- and once the workers are gone, multiprocessing's resource tracker, whose pipe they
    held, exits too."""
    while True:
        if os.getppid() != parent:
            _exit_now()
        time.sleep(interval)


def _worker_init(parent, mem_share):
    """Initializer of a sweep pool worker: die with the parent; plan memory for a share of the free memory."""
    import threading

    os.environ["MICROMAG_MEMORY_SHARE"] = repr(float(mem_share))
    if os.getppid() != parent:
        _exit_now()
    threading.Thread(target=_watch_parent, args=(parent,), name="micromag-parent-watchdog", daemon=True).start()


def _run_pool(n, payload, todo, retries, finished, failed):
    import concurrent.futures as cf
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    pending = list(todo)
    for attempt in range(retries + 1):
        broken = []
        nw = min(n, len(pending))
        with cf.ProcessPoolExecutor(max_workers=nw, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                    initargs=(os.getpid(), 1.0 / nw)) as ex:
            futs = {ex.submit(run_point, payload, p): (i, k, p) for i, k, p in pending}
            for fut in cf.as_completed(futs):
                i, k, p = futs[fut]
                try:
                    rows = fut.result()
                except BrokenProcessPool:
                    broken.append((i, k, p))
                    continue
                except Exception as exc:
                    failed(i, k, p, exc)
                    continue
                finished(i, k, p, rows)
        if not broken:
            return
        pending = broken
    for i, k, p in pending:
        failed(i, k, p, RuntimeError("a worker process died running this point"))


def sweep(build, params, out, duration, every=None, detect=None, fixed=None, repeats=1, mode="product",
          points=None, workers=None, scheduler=None, resume=False, retries=2, energy=None, cupy_cache=None,
          progress=False, plot=True, scheduler_file=None, wait_workers=None, batch=None):
    """Run a parameter sweep from Python; returns the rows (one dict per run).

    ``build(**fixed, **point)`` returns a Simulation (it must be importable by name when ``workers`` > 1 or
    with a scheduler: a top-level function of a module, or a ``"script.py:function"`` string). ``params``
    maps names to lists (or range dicts as in the spec). ``duration``: simulated time per run, s;
    ``every``: interval of the switching checks, s. ``detect``: e.g. ``{"quantity": "mz",
    "threshold": 0.0, "below": True, "stop": True}``. ``repeats``: members per point (a thermal ensemble);
    ``batch``: members integrated at once (default all). ``scheduler``: a Dask address, a
    ``distributed.Client`` or ``"auto"``; ``scheduler_file``: a Dask scheduler file (see
    :mod:`micromag.apps.cluster`); ``wait_workers``: s to wait for a first worker (default 15, 0: forever).
    """
    spec = Spec(build=build, params=params, duration=duration, every=every, detect=detect, fixed=fixed,
                repeats=repeats, mode=mode, points=points, out=out, workers=workers, retries=retries, energy=energy,
                cupy_cache=cupy_cache, batch=batch)
    return run_sweep(spec, out=out, resume=resume, scheduler=scheduler, workers=workers, progress=progress,
                     plot=plot, scheduler_file=scheduler_file, wait_workers=wait_workers)
