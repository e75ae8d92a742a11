"""GPU benchmark of micromag (CuPy backend): bandwidth, RHS and step throughput, SP4, batches, peers.

    PYTHONPATH=. python benchmarks/bench_gpu.py [--quick] [--json PATH] [--dtype float32|float64]
                                                 [--no-peers] [--budget SECONDS]

Metric: cell-RHS/s = cells x right-hand-side evaluations / wall second (MuMax3's own benchmark metric).

(a) ``copy``: device-to-device copy of a 1 GiB float32 buffer (cudaMemcpyAsync and an elementwise copy
    kernel, the faster kept); bandwidth = bytes read + bytes written per second. This is the card's real
    ceiling that the RHS is compared against.
(b) ``rhs``: one ``CudaLLG.__call__`` (demag by FFT + the fused torque kernel; Permalloy Ms = 8e5 A/m,
    A = 1.3e-11 J/m, alpha = 0.02, a 1 mT applied field, 4 nm cubic cells, random state near +x) on the
    n x n x 1 films 256^2, 512^2, 1024^2, 2048^2 and on 256 x 256 x 32. Also the demag part alone
    (``CudaLLG.demag_field``). Achieved bandwidth = cells x BYTES_PER_CELL / time, as a fraction of (a).
(c) ``step``: one Dormand-Prince RK45 step (``CudaStepper.step``, tol 1e-5, no end time) on the same
    systems; cell-RHS/s counts the RHS evaluations actually made (``llg.nevals``; 6 per FSAL step).
(d) ``sp4``: muMAG standard problem 4 at 128 x 32 x 1 (500 x 125 x 3 nm), end to end, twice:
    ``direct`` = CudaLLG/CudaStepper called here: setup (System, terms, kernels compiled, arrays), relax
    (precession-free RK23 from m = (1, 0.1, 0) until max |m x B_eff| < 1e-5 T or 5 ns of relaxation
    time, torque checked every 20 steps, step tolerance divided by sqrt(2) whenever the mean torque stops
    falling), then 1 ns with alpha = 0.02 in mu0 H = (-24.6, 4.3, 0) mT, RK45 tol 1e-5, <m> copied to
    the host every 10 ps (a table row). ``simulation`` = the same through ``Simulation(backend="gpu")``
    (``relax()`` then ``run(1e-9, every=1e-11)``), when that backend is wired.
(e) ``batch``: RHS and RK45-step throughput of B = 1, 16, 256, 1024 independent 64 x 64 x 1 films in one
    batch, and the ratio to B = 1 ("one at a time").
(f) ``peers``: magnum.np (PyTorch CUDA) and mumax+ when importable, each case in a subprocess with a
    timeout: RHS throughput on films and SP4 end to end. A peer failure is recorded, never fatal.

Every section runs under a time limit and inside try/except: an error is recorded in the JSON and the
run goes on. The JSON (default ``benchmarks/results/<device-slug>-<YYYY-MM-DD>.json``) is rewritten
after every section, so a run killed half-way still leaves what it measured.

Without a GPU (CuPy not importable or no device) the script prints why and writes a JSON that says so.
``--emulate`` (hidden) runs the same code through the host emulation on tiny sizes, for CI-less checks.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout

import numpy as np  # noqa: E402

# ---------------------------------------------------------------------------------------------- constants
# MuMax3's published H100 figures (2D n x n x 1 Permalloy film, 4 nm cells), cell-RHS/s.
MUMAX3_H100 = {"256x256x1": 5.05e8, "512x512x1": 1.22e9, "1024x1024x1": 2.04e9}

GOALS = {
    "rhs_1024x1024x1_float32_cell_rhs_per_s": 4e9,
    "rhs_256x256x1_float32_cell_rhs_per_s": 1.5e9,
    "sp4_128x32_end_to_end": "faster than every peer measured",
    "batch_1024x64x64_vs_1_ratio": 30.0,
}

# The fewest bytes one RHS evaluation must move per cell through device memory: float32, 2D film of
# N = n x n cells, demag zero-padded to 2n x 2n. A padded real-to-complex spectrum holds 2n x (n+1) ~ 2N
# complex numbers per component (16 B per cell per component in float32); an unpadded half is N complex
# (8 B). The Newell spectra are real, 4 of them for a film (xx, yy, zz, xy): 4 x 2N x 4 B = 32 B per cell.
BYTES_MODEL = {
    "fused": {
        "bytes_per_cell": 284,
        "passes": {
            "x R2C over the n data rows, reading m directly (no pad pass): read 3x4, write 3x8": 36,
            "y C2C forward (padded to 2n) with the kernel multiply in its epilogue: read 3x8, kernel 32, "
            "write 3x16": 104,
            "y C2C inverse, keeping only the n rows that survive the crop: read 3x16, write 3x8": 72,
            "x C2R inverse of the kept rows, writing only the n kept reals: read 3x8, write 3x4": 36,
            "fused torque kernel: read m 3x4, B_demag 3x4, write dm/dt 3x4": 36,
        },
    },
    "separate": {
        "bytes_per_cell": 668,
        "passes": {
            "pad: read m 3x4, write padded (4N reals) 3x16": 60,
            "2D R2C forward, two passes over the padded spectrum: 2 x (read 3x16 + write 3x16)": 192,
            "kernel multiply: read 3x16, kernel 32, write 3x16": 128,
            "2D C2R inverse, two full passes: 2 x (read 3x16 + write 3x16)": 192,
            "crop: read 3x4, write 3x4": 24,
            "separate exchange kernel: read m 3x4, read and write B 2x3x4": 36,
            "torque kernel: read m 3x4, B 3x4, write dm/dt 3x4": 36,
        },
    },
    "notes": "float32, n x n x 1 film; float64 doubles every figure. The 3D case (256x256x32) is not "
             "covered by this model and gets no bandwidth fraction.",
}
assert sum(BYTES_MODEL["fused"]["passes"].values()) == 284
assert sum(BYTES_MODEL["separate"]["passes"].values()) == 668

SP4_FIELD = (-24.6e-3, 4.3e-3, 0.0)  # T
MUMAX3_SP4_128x32 = {"m_relaxed": (0.96697, 0.12527, 0.0), "m_final_1ns": (-0.98461, 0.12604, 0.04327)}


class SectionTimeout(Exception):
    pass


# ---------------------------------------------------------------------------------------------- context
class Ctx:
    """The device (CuPy GPU or host emulation), its timer and the run's options."""

    def __init__(self, emulate, dtype, quick):
        self.emulate, self.quick = emulate, quick
        self.dtype = np.dtype(dtype)
        from micromag.engine.backends import cuda as mcuda
        from micromag.engine.backends.cuda_stepper import CudaStepper

        self.mcuda = mcuda
        self.CudaStepper = CudaStepper
        if emulate:
            self.cp = None
            self.dev = mcuda.emulated_device()
        else:
            import cupy

            self.cp = cupy
            self.dev = mcuda.cupy_device()
        self.xp = self.dev.xp

    def sync(self):
        if self.cp is not None:
            self.cp.cuda.Device().synchronize()

    def free(self):
        if self.cp is not None:
            self.sync()
            self.cp.get_default_memory_pool().free_all_blocks()
            self.cp.get_default_pinned_memory_pool().free_all_blocks()

    def timeit(self, fn, min_time=0.2, repeats=5, warmup=3, max_iter=100000):
        """Seconds per call of fn(): warm-up, then ``repeats`` batches of k calls (k so that a batch lasts
        about min_time), timed with CUDA events (host perf_counter in emulation). Median and best."""
        for _ in range(warmup):
            fn()
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        one = max(time.perf_counter() - t0, 1e-7)
        k = int(max(1, min(max_iter, math.ceil(min_time / one))))
        per, wall = [], []
        for _ in range(repeats):
            if self.cp is not None:
                start, end = self.cp.cuda.Event(), self.cp.cuda.Event()
                self.sync()
                w0 = time.perf_counter()
                start.record()
                for _ in range(k):
                    fn()
                end.record()
                end.synchronize()
                w = time.perf_counter() - w0
                per.append(self.cp.cuda.get_elapsed_time(start, end) * 1e-3 / k)
            else:
                w0 = time.perf_counter()
                for _ in range(k):
                    fn()
                w = time.perf_counter() - w0
                per.append(w / k)
            wall.append(w / k)
        per.sort()
        wall.sort()
        return {"s_per_call": per[len(per) // 2], "s_per_call_best": per[0], "s_per_call_wall": wall[len(wall) // 2],
                "calls_per_batch": k, "batches": repeats}


@contextlib.contextmanager
def time_limit(seconds):
    """Raise SectionTimeout in the main thread after ``seconds`` (SIGALRM; no-op where unavailable).
    Nestable: an inner limit never outlives the outer one, and the outer one is re-armed on exit."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return
    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    t0 = time.monotonic()
    seconds = float(seconds) if outer_left <= 0 else min(float(seconds), outer_left)

    def handler(signum, frame):
        raise SectionTimeout(f"time limit of {seconds:.0f} s exceeded")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer_left > 0:  # re-arm the outer limit with what is left of it (fires at once if spent)
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - t0), 1e-3))


def _err(exc):
    kind = type(exc).__name__
    oom = "OutOfMemory" in kind or "out of memory" in str(exc).lower()
    return {"error": f"{kind}: {exc}"[:2000], "out_of_memory": bool(oom),
            "traceback": traceback.format_exc()[-4000:]}


# ---------------------------------------------------------------------------------------------- systems
def film(n, cell=4e-9, alpha=0.02, pbc=(0, 0, 0)):
    import micromag as mm

    grid = mm.Grid(tuple(n), (cell, cell, cell), pbc)
    return mm.System(grid, material=mm.Permalloy(alpha=alpha))


def sp4_system():
    import micromag as mm

    grid = mm.Grid((128, 32, 1), (500e-9 / 128, 125e-9 / 32, 3e-9))
    return mm.System(grid, material=mm.Permalloy(alpha=0.02, gamma=2.211e5 / mm.mu0))


def random_state(ctx, batch, shape, seed=1):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(batch, 3) + tuple(shape)) * 0.3
    m[:, 0] += 1.0
    m[:, 1] += 0.1
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return ctx.xp.asarray(m.astype(ctx.dtype))


def make_llg(ctx, system, batch, b_ext=(1e-3, 0.0, 0.0)):
    from micromag.engine.terms import build_terms

    terms = build_terms(system)
    terms["zeeman"].set(b_ext)  # None: no field
    return ctx.mcuda.CudaLLG(system, terms, batch=batch, dtype=ctx.dtype, device=ctx.dev)


def size_key(n):
    return "x".join(str(int(v)) for v in n)


# ---------------------------------------------------------------------------------------------- (a) copy
def bench_copy(ctx, quick):
    if ctx.cp is None:  # emulation: a host memcpy, only to exercise the code path
        a = np.random.default_rng(0).random(1 << 20, dtype=np.float32)
        b = np.empty_like(a)
        r = ctx.timeit(lambda: np.copyto(b, a), min_time=0.02, repeats=3)
        nbytes = a.nbytes
        return {"buffer_bytes": nbytes, "method": "numpy.copyto (emulation)", "s_per_copy": r["s_per_call"],
                "bandwidth_B_per_s": 2 * nbytes / r["s_per_call"]}
    cp = ctx.cp
    n = (1 << 30) // 4
    a = cp.random.random(n, dtype=cp.float32)  # not zeros
    b = cp.empty_like(a)
    nbytes = a.nbytes
    stream = cp.cuda.get_current_stream()
    kind = cp.cuda.runtime.memcpyDeviceToDevice

    def memcpy():
        cp.cuda.runtime.memcpyAsync(b.data.ptr, a.data.ptr, nbytes, kind, stream.ptr)

    def kernel():
        cp.copyto(b, a)

    out = {"buffer_bytes": nbytes, "bytes_counted": "read + written (2 x buffer)"}
    best = 0.0
    for name, fn in (("memcpyAsync", memcpy), ("copy_kernel", kernel)):
        try:
            r = ctx.timeit(fn, min_time=0.1 if quick else 0.3, repeats=3 if quick else 5)
            bw = 2 * nbytes / r["s_per_call"]
            out[name] = {"s_per_copy": r["s_per_call"], "bandwidth_B_per_s": bw}
            best = max(best, bw)
        except Exception as exc:  # noqa: BLE001
            out[name] = _err(exc)
    ok = bool(cp.all(b == a))
    out["copy_verified"] = ok
    out["bandwidth_B_per_s"] = best if best > 0 else None
    del a, b
    ctx.free()
    return out


# ---------------------------------------------------------------------------------------------- (b)+(c)
def bench_sizes(ctx, sizes, bandwidth, quick, results, save, deadline, step_sizes):
    out = results.setdefault("rhs", {})
    bpc_scale = ctx.dtype.itemsize / 4
    for n in sizes:
        key = size_key(n)
        if time.time() > deadline:
            out[key] = {"skipped": "time budget used up"}
            continue
        rec = out[key] = {"n": list(n), "cells": int(np.prod(n)), "dtype": ctx.dtype.name}
        llg = stepper = m = dm = t = None
        try:
            with time_limit(150):
                t0 = time.perf_counter()
                system = film(n)
                llg = make_llg(ctx, system, 1)
                m = random_state(ctx, 1, system.grid.shape)
                dm = ctx.xp.empty_like(m)
                t = ctx.xp.zeros(1)
                llg(m, t, dm)  # compiles the kernels
                ctx.sync()
                rec["setup_s"] = time.perf_counter() - t0
                bad = ~ctx.xp.isfinite(dm)
                rec["finite"] = not bool(bad.any())
                mt = 0.05 if ctx.emulate else (0.1 if quick else 0.25)
                reps = 3 if (quick or ctx.emulate) else 5
                r = ctx.timeit(lambda: llg(m, t, dm), min_time=mt, repeats=reps)
                cells = rec["cells"]
                rec.update(ms_per_rhs=r["s_per_call"] * 1e3, ms_per_rhs_best=r["s_per_call_best"] * 1e3,
                           ms_per_rhs_wall=r["s_per_call_wall"] * 1e3, calls_per_batch=r["calls_per_batch"],
                           cell_rhs_per_s=cells / r["s_per_call"])
                try:
                    rd = ctx.timeit(lambda: llg.convolve(m), min_time=mt, repeats=reps)
                    rec["ms_demag"] = rd["s_per_call"] * 1e3
                    rec["ms_rest"] = rec["ms_per_rhs"] - rec["ms_demag"]
                except Exception as exc:  # noqa: BLE001
                    rec["demag_error"] = _err(exc)["error"]
                if n[2] == 1:
                    for model in ("fused", "separate"):
                        bpc = BYTES_MODEL[model]["bytes_per_cell"] * bpc_scale
                        bw = cells * bpc / r["s_per_call"]
                        rec[f"achieved_B_per_s_{model}_model"] = bw
                        if bandwidth:
                            rec[f"fraction_of_copy_bw_{model}_model"] = bw / bandwidth
                        if ctx.dtype == np.float32 and bandwidth:
                            # the throughput the copy bandwidth allows at this many bytes per cell
                            rec[f"bandwidth_bound_cell_rhs_per_s_{model}"] = bandwidth / bpc
                if key in MUMAX3_H100:
                    rec["mumax3_h100_cell_rhs_per_s"] = MUMAX3_H100[key]
                    rec["ratio_to_mumax3_h100"] = rec["cell_rhs_per_s"] / MUMAX3_H100[key]
                # (c) one RK45 step
                if n in step_sizes and time.time() < deadline:
                    stepper = ctx.CudaStepper(llg, "rk45", tol=1e-5, dt=1e-14, dt_min=1e-18, dt_max=1e-11)
                    ts = ctx.xp.zeros(1)
                    e0 = llg.nevals
                    stepper.step(m, ts)
                    ctx.sync()
                    e_before, s_before = llg.nevals, stepper.nsteps
                    rs = ctx.timeit(lambda: stepper.step(m, ts), min_time=mt, repeats=reps)
                    ctx.sync()
                    evals = llg.nevals - e_before
                    steps = stepper.nsteps - s_before
                    per_step = evals / max(steps, 1)
                    rec["step"] = {
                        "integrator": "rk45", "ms_per_step": rs["s_per_call"] * 1e3,
                        "ms_per_step_wall": rs["s_per_call_wall"] * 1e3,
                        "rhs_per_step_measured": per_step, "first_step_evals": e_before - e0,
                        "cell_rhs_per_s": cells * per_step / rs["s_per_call"],
                        "cell_rhs_per_s_6_per_step": cells * 6 / rs["s_per_call"],
                        "dt_after_s": float(ctx.dev.asnumpy(stepper.dt)[0]),
                        "m_finite_after": bool(ctx.xp.isfinite(m).all()),
                    }
        except Exception as exc:  # noqa: BLE001
            rec.update(_err(exc))
        finally:
            del llg, stepper, m, dm, t
            ctx.free()
        save()
        print(f"  rhs {key}: " + (f"{rec['cell_rhs_per_s']:.3g} cell-RHS/s" if "cell_rhs_per_s" in rec else
                                   rec.get("error", rec.get("skipped", "?"))[:200]), flush=True)


# ---------------------------------------------------------------------------------------------- (d) SP4
def sp4_direct(ctx, relax_max_time=5e-9, duration=1e-9, every=1e-11, torque_tol=1e-5):
    xp = ctx.xp
    res = {"what": "setup (System, terms, CudaLLG, first RHS = kernel compile) + relax (precession-free "
                   "RK23 from (1, 0.1, 0), max |m x B| < tol) + run 1 ns RK45 tol 1e-5 with <m> to the host "
                   "every 10 ps", "dtype": ctx.dtype.name}
    t_all = time.perf_counter()
    system = sp4_system()
    llg = make_llg(ctx, system, 1, b_ext=None)
    shape = system.grid.shape
    m0 = np.zeros((1, 3) + shape)
    m0[:, 0], m0[:, 1] = 1.0, 0.1
    m0 /= np.linalg.norm(m0, axis=1, keepdims=True)
    m = xp.asarray(m0.astype(ctx.dtype))
    dm = xp.empty_like(m)
    llg(m, xp.zeros(1), dm)
    ctx.sync()
    res["setup_s"] = time.perf_counter() - t_all
    llg.nevals = 0

    def torque():
        B = llg.effective_field(m)
        mx, my, mz = m[:, 0], m[:, 1], m[:, 2]
        bx, by, bz = B[:, 0], B[:, 1], B[:, 2]
        n2 = (my * bz - mz * by) ** 2 + (mz * bx - mx * bz) ** 2 + (mx * by - my * bx) ** 2
        return math.sqrt(float(n2.max())), float(n2.mean())

    # relax
    t0 = time.perf_counter()
    llg.precession = False
    st = ctx.CudaStepper(llg, "rk23", tol=1e-4, dt=1e-13, dt_min=1e-18, dt_max=1e-10)
    t = xp.zeros(1)
    tq, mean_prev = torque()
    checks = 0
    while tq >= torque_tol and float(ctx.dev.asnumpy(t)[0]) < relax_max_time:
        for _ in range(20):
            st.step(m, t)
        tq, mean = torque()
        checks += 1
        if mean >= mean_prev and st.tol > 1e-9:
            st.tol /= math.sqrt(2)
        mean_prev = mean
    llg.precession = True
    ctx.sync()
    res.update(relax_s=time.perf_counter() - t0, relax_evals=llg.nevals, relax_steps=st.nsteps,
               relax_max_torque_T=tq, relax_time_s=float(ctx.dev.asnumpy(t)[0]), relax_converged=tq < torque_tol,
               m_relaxed=[float(v) for v in ctx.dev.asnumpy(m.mean(axis=(0, 2, 3, 4)))])
    # run
    llg.terms["zeeman"].set(SP4_FIELD)
    llg.refresh()
    llg.nevals = 0
    t0 = time.perf_counter()
    st = ctx.CudaStepper(llg, "rk45", tol=1e-5, dt=1e-13, dt_min=1e-18, dt_max=1e-11)
    t = xp.zeros(1)
    rows = []
    nmarks = int(round(duration / every))
    for i in range(nmarks):
        target = np.array([(i + 1) * every])
        target_dev = xp.asarray(target)
        while bool((t < target_dev).any()):
            st.step(m, t, t_end=target_dev)
        rows.append([float(ctx.dev.asnumpy(t)[0])] + [float(v) for v in ctx.dev.asnumpy(m.mean(axis=(0, 2, 3, 4)))])
    ctx.sync()
    res.update(run_s=time.perf_counter() - t0, run_evals=llg.nevals, run_steps=st.nsteps, table_rows=len(rows),
               m_final=rows[-1][1:] if rows else None, t_final=rows[-1][0] if rows else None)
    res["ms_per_rhs_run"] = res["run_s"] / max(res["run_evals"], 1) * 1e3
    res["end_to_end_s"] = time.perf_counter() - t_all
    res["mumax3_reference"] = MUMAX3_SP4_128x32
    del llg, st, m, dm
    ctx.free()
    return res


def sp4_simulation(ctx, duration=1e-9, relax_max_time=None):
    import micromag as mm

    res = {"what": "Simulation(backend='gpu'): construction + relax() + run(1 ns, every=10 ps)"}
    t_all = time.perf_counter()
    grid = mm.Grid((128, 32, 1), (500e-9 / 128, 125e-9 / 32, 3e-9))
    sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.02, gamma=2.211e5 / mm.mu0),
                         backend="emulate" if ctx.emulate else "gpu")
    res["backend"] = repr(getattr(sim, "backend", None))[:200]
    sim.m = (1.0, 0.1, 0.0)
    ctx.sync()
    res["setup_s"] = time.perf_counter() - t_all
    t0 = time.perf_counter()
    e0 = getattr(sim.llg, "nevals", 0)
    sim.relax(progress=False, **({} if relax_max_time is None else {"max_time": relax_max_time}))
    ctx.sync()
    res["relax_s"] = time.perf_counter() - t0
    e1 = getattr(sim.llg, "nevals", 0)
    res["relax_evals"] = e1 - e0
    sim.B_ext = SP4_FIELD
    t0 = time.perf_counter()
    sim.run(duration, every=1e-11, progress=False)
    ctx.sync()
    res["run_s"] = time.perf_counter() - t0
    res["run_evals"] = getattr(sim.llg, "nevals", 0) - e1
    res["end_to_end_s"] = time.perf_counter() - t_all
    try:
        res["m_final"] = [float(v) for v in np.asarray(sim.m_avg).reshape(-1)[:3]]
    except Exception:  # noqa: BLE001
        pass
    del sim
    ctx.free()
    return res


# ---------------------------------------------------------------------------------------------- (e) batch
def bench_batch(ctx, members, n, quick, save, out, deadline):
    system = film(n)
    base = None
    for B in members:
        key = str(B)
        if time.time() > deadline:
            out[key] = {"skipped": "time budget used up"}
            continue
        rec = out[key] = {"members": B, "n": list(n), "cells_total": B * int(np.prod(n))}
        llg = st = m = dm = None
        try:
            with time_limit(120):
                llg = make_llg(ctx, system, B)
                m = random_state(ctx, B, system.grid.shape, seed=B)
                dm = ctx.xp.empty_like(m)
                t = ctx.xp.zeros(B)
                mt = 0.05 if ctx.emulate else (0.1 if quick else 0.2)
                reps = 3
                r = ctx.timeit(lambda: llg(m, t, dm), min_time=mt, repeats=reps)
                rec["ms_per_rhs"] = r["s_per_call"] * 1e3
                rec["cell_rhs_per_s"] = rec["cells_total"] / r["s_per_call"]
                st = ctx.CudaStepper(llg, "rk45", tol=1e-5, dt=1e-14, dt_max=1e-11)
                ts = ctx.xp.zeros(B)
                st.step(m, ts)
                e0, s0 = llg.nevals, st.nsteps
                rs = ctx.timeit(lambda: st.step(m, ts), min_time=mt, repeats=reps)
                per_step = (llg.nevals - e0) / max(st.nsteps - s0, 1)
                rec["ms_per_step"] = rs["s_per_call"] * 1e3
                rec["step_cell_rhs_per_s"] = rec["cells_total"] * per_step / rs["s_per_call"]
                if B == 1:
                    base = rec
                if base is not None:
                    rec["rhs_ratio_to_1"] = rec["cell_rhs_per_s"] / base["cell_rhs_per_s"]
                    rec["step_ratio_to_1"] = rec["step_cell_rhs_per_s"] / base["step_cell_rhs_per_s"]
        except Exception as exc:  # noqa: BLE001
            rec.update(_err(exc))
        finally:
            del llg, st, m, dm
            ctx.free()
        save()
        print(f"  batch {B:5d} x {size_key(n)}: " + (f"{rec['cell_rhs_per_s']:.3g} cell-RHS/s, "
              f"x{rec.get('rhs_ratio_to_1', float('nan')):.1f} vs 1" if "cell_rhs_per_s" in rec else
              rec.get("error", rec.get("skipped", "?"))[:200]), flush=True)


# ---------------------------------------------------------------------------------------------- (f) peers
PEER_MAGNUMNP = r'''
import json, os, sys, time, types
args = json.loads(sys.argv[1])
stubbed = []
for name in ("pyvista", "xitorch", "xitorch.interpolate", "setproctitle"):
    try:
        __import__(name)
    except Exception:
        mod = types.ModuleType(name)
        if name == "xitorch.interpolate":
            mod.Interp1D = None
        if name == "setproctitle":
            mod.setproctitle = lambda *a, **k: None
        sys.modules[name] = mod
        stubbed.append(name)
t0 = time.perf_counter()
import torch
import magnumnp as mn
try:
    mn.set_log_level(40)
except Exception:
    pass
torch.set_default_dtype(getattr(torch, args["dtype"]))
cuda = torch.cuda.is_available() and os.environ.get("CUDA_DEVICE", "0") != "-1"
def sync():
    if cuda:
        torch.cuda.synchronize()
res = {"package": "magnumnp", "version": getattr(mn, "__version__", None), "torch": torch.__version__,
       "cuda": cuda, "dtype": args["dtype"], "stubbed_modules": stubbed, "import_s": time.perf_counter() - t0}
class Counted:
    def __init__(self, f):
        self.f, self.n = f, 0
    def __call__(self, *a, **k):
        self.n += 1
        return self.f(*a, **k)
def counted_llg(terms):
    llg = mn.LLGSolver(terms)
    c = Counted(llg.dm)
    llg.dm = c
    solver = getattr(llg, "_solver", None)
    if solver is not None and hasattr(solver, "_f"):
        solver._f = c
    return llg, c
mu0 = mn.constants.mu_0
if args["case"] == "rhs":
    n = tuple(args["n"])
    c = args["cell"]
    state = mn.State(mn.Mesh(n, (c, c, c)))
    state.material = {"Ms": 8e5, "A": 1.3e-11, "alpha": 0.02}
    g = torch.Generator(device="cpu").manual_seed(1)
    m = torch.randn(n + (3,), generator=g, dtype=torch.float64) * 0.3 + torch.tensor([1.0, 0.1, 0.0])
    m = m / m.norm(dim=-1, keepdim=True)
    state.m = m.to(device=torch.empty(0).device, dtype=torch.get_default_dtype())
    llg = mn.LLGSolver([mn.DemagField(), mn.ExchangeField(), mn.ExternalField([1e-3 / mu0, 0.0, 0.0])])
    x = state.m.clone()
    f = lambda: llg.dm(state.t, x, state)
    t1 = time.perf_counter(); f(); sync(); res["first_call_s"] = time.perf_counter() - t1
    for _ in range(5):
        f()
    sync()
    t1 = time.perf_counter(); f(); sync(); one = max(time.perf_counter() - t1, 1e-6)
    k = max(1, min(20000, int(args["min_time"] / one) + 1))
    per = []
    for _ in range(args["repeats"]):
        sync(); t1 = time.perf_counter()
        for _ in range(k):
            f()
        sync(); per.append((time.perf_counter() - t1) / k)
    per.sort()
    cells = n[0] * n[1] * n[2]
    res.update(case="rhs", n=list(n), cells=cells, calls_per_batch=k, ms_per_rhs=per[len(per) // 2] * 1e3,
               cell_rhs_per_s=cells / per[len(per) // 2])
else:
    t_all = time.perf_counter()
    nx, ny = args["n"][:2]
    state = mn.State(mn.Mesh((nx, ny, 1), (500e-9 / nx, 125e-9 / ny, 3e-9)))
    state.material = {"Ms": 8e5, "A": 1.3e-11, "alpha": 0.02}
    demag, exchange = mn.DemagField(), mn.ExchangeField()
    state.m = state.Constant([0.0, 0.0, 0.0])
    state.m[1:-1, :, :, 0] = 1.0
    state.m[(-1, 0), :, :, 1] = 1.0
    llg, c = counted_llg([demag, exchange])
    t1 = time.perf_counter(); llg.relax(state); sync()
    res.update(relax_s=time.perf_counter() - t1, relax_evals=c.n)
    state.material["alpha"] = 0.02
    llg, c = counted_llg([demag, exchange, mn.ExternalField([-24.6e-3 / mu0, 4.3e-3 / mu0, 0.0])])
    t1 = time.perf_counter()
    rows = 0
    while float(state.t) < args["duration"] - 1e-15:
        llg.step(state, 1e-11)
        mm_ = [float(v) for v in state.m.mean(dim=(0, 1, 2))]
        rows += 1
    sync()
    res.update(case="sp4", n=[nx, ny, 1], run_s=time.perf_counter() - t1, run_evals=c.n, table_rows=rows,
               m_final=mm_, end_to_end_s=time.perf_counter() - t_all,
               what="mesh + LLGSolver.relax (its demo's s-state start) + 1 ns of llg.step(state, 1e-11), <m> every 10 ps")
with open(args["json"], "w") as fh:
    json.dump(res, fh)
'''

PEER_MUMAXPLUS = r'''
import json, sys, time
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
import numpy as np
import mumaxplus as mp
res = {"package": "mumaxplus", "version": getattr(mp, "__version__", None), "import_s": time.perf_counter() - t0}
if args["case"] == "steps":
    n = tuple(args["n"]); c = args["cell"]
    world = mp.World(cellsize=(c, c, c))
    magnet = mp.Ferromagnet(world, mp.Grid(n))
    magnet.msat, magnet.aex, magnet.alpha = 8e5, 1.3e-11, 0.02
    magnet.magnetization = (1.0, 0.1, 0.0)
    world.bias_magnetic_field = (1e-3, 0.0, 0.0)
    ts = world.timesolver
    t1 = time.perf_counter(); ts.steps(10); _ = magnet.magnetization.average(); res["first_s"] = time.perf_counter() - t1
    k = 10
    while True:
        t1 = time.perf_counter(); ts.steps(k); _ = magnet.magnetization.average(); el = time.perf_counter() - t1
        if el > args["min_time"] or k > 1 << 16:
            break
        k *= 4
    cells = n[0] * n[1] * n[2]
    res.update(case="steps", n=list(n), cells=cells, steps=k, ms_per_step=el / k * 1e3,
               cell_steps_per_s=cells * k / el,
               cell_rhs_per_s_assuming_6_per_step=cells * k * 6 / el,
               note="mumax+ step count timed; RHS per step not exposed, 6 assumed (Dormand-Prince FSAL)")
else:
    t_all = time.perf_counter()
    world = mp.World(cellsize=(500e-9 / 128, 125e-9 / 32, 3e-9))
    magnet = mp.Ferromagnet(world, mp.Grid((128, 32, 1)))
    magnet.msat, magnet.aex, magnet.alpha = 8e5, 1.3e-11, 0.02
    magnet.magnetization = (1.0, 0.1, 0.0)
    t1 = time.perf_counter(); magnet.minimize(); res["relax_s"] = time.perf_counter() - t1
    res["relax_method"] = "Ferromagnet.minimize()"
    world.bias_magnetic_field = (-24.6e-3, 4.3e-3, 0.0)
    t1 = time.perf_counter()
    for i in range(int(round(args["duration"] / 1e-11))):
        world.timesolver.run(1e-11)
        m = [float(v) for v in magnet.magnetization.average()]
    res.update(case="sp4", run_s=time.perf_counter() - t1, m_final=m, end_to_end_s=time.perf_counter() - t_all,
               what="construction + minimize() + 1 ns timesolver.run in 10 ps pieces, <m> every 10 ps")
with open(args["json"], "w") as fh:
    json.dump(res, fh)
'''


def run_peer(source, args, timeout, env_extra):
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "peer.py"
        script.write_text(source)
        args = dict(args, json=str(Path(tmp) / "out.json"))
        env = dict(os.environ, **env_extra)
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, str(script), json.dumps(args)], capture_output=True, text=True,
                               timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s", "args": args}
        wall = time.perf_counter() - t0
        try:
            with open(args["json"]) as fh:
                res = json.load(fh)
            res["process_wall_s"] = wall
            return res
        except Exception:  # noqa: BLE001
            return {"error": f"exit {p.returncode}", "stderr_tail": (p.stderr or "")[-3000:], "args": args,
                    "process_wall_s": wall}


def peer_importable(name, env_extra, timeout=60):
    code = ("import sys, types\n"
            "for n in ('pyvista', 'xitorch', 'xitorch.interpolate', 'setproctitle'):\n"
            "    try: __import__(n)\n"
            "    except Exception:\n"
            "        m = types.ModuleType(n); m.Interp1D = None; m.setproctitle = lambda *a, **k: None\n"
            "        sys.modules[n] = m\n"
            f"import {name}\n")
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, **env_extra))
        return p.returncode == 0, (p.stderr or "")[-1500:]
    except Exception as exc:  # noqa: BLE001
        return False, str(exc)


def bench_peers(ctx, quick, out, save, deadline):
    emu = ctx.emulate
    env = {"CUDA_DEVICE": "-1" if emu else "0"}
    rhs_sizes = [(16, 16, 1)] if emu else ([(256, 256, 1), (1024, 1024, 1)] if quick else
                                           [(256, 256, 1), (1024, 1024, 1), (2048, 2048, 1)])
    duration = 2e-11 if emu else 1e-9
    timeout = 120 if emu else (90 if quick else 180)
    def left():
        return deadline - time.time()

    for name, src in (("magnumnp", PEER_MAGNUMNP), ("mumaxplus", PEER_MUMAXPLUS)):
        if left() < 20:
            out[name] = {"skipped": "time budget used up"}
            continue
        ok, why = peer_importable(name, env, timeout=max(10, min(60, left())))
        rec = out[name] = {"importable": ok}
        if not ok:
            rec["import_error"] = why.strip().splitlines()[-1] if why.strip() else "import failed"
            save()
            print(f"  peer {name}: not importable ({rec['import_error'][:120]})", flush=True)
            continue
        # SP4 first (it decides a goal), then throughput; every case capped by the time left
        rec["sp4"] = run_peer(src, {"case": "sp4", "n": [16, 4, 1] if emu else [128, 32, 1], "duration": duration,
                                    "dtype": "float32"}, max(10, min(2 * timeout, left())), env)
        save()
        r = rec["sp4"]
        print(f"  peer {name} sp4: " + (f"{r.get('end_to_end_s', float('nan')):.3g} s end to end" if "error" not in r
                                        else r["error"][:120]), flush=True)
        dtypes = ["float32"] if name == "magnumnp" else [None]
        if name == "magnumnp" and not quick:
            dtypes = ["float32", "float64"]
        for n in rhs_sizes:
            for dt in dtypes:
                key = f"rhs_{size_key(n)}" + (f"_{dt}" if dt else "")
                if left() < 20:
                    rec[key] = {"skipped": "time budget used up"}
                    continue
                case = "rhs" if name == "magnumnp" else "steps"
                rec[key] = run_peer(src, {"case": case, "n": list(n), "cell": 4e-9, "dtype": dt or "float32",
                                          "min_time": 0.05 if emu else 0.25, "repeats": 3},
                                    max(10, min(timeout, left())), env)
                save()
                r = rec[key]
                v = r.get("cell_rhs_per_s", r.get("cell_rhs_per_s_assuming_6_per_step"))
                print(f"  peer {name} {key}: " + (f"{v:.3g} cell-RHS/s" if v is not None else
                                                   r.get("error", "?")[:120]), flush=True)


# ---------------------------------------------------------------------------------------------- info
def git_info():
    out = {"commit": os.environ.get("MICROMAG_COMMIT") or None, "dirty": None}
    try:
        p = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=20)
        if p.returncode == 0 and p.stdout.strip():
            out["commit"] = p.stdout.strip()
            q = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=20)
            out["dirty"] = bool(q.stdout.strip()) if q.returncode == 0 else None
    except Exception:  # noqa: BLE001
        pass
    return out


def device_info(ctx):
    info = {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform(),
            "hostname": platform.node()}
    if ctx is None or ctx.cp is None:
        return info
    cp = ctx.cp
    rt = cp.cuda.runtime
    props = rt.getDeviceProperties(0)
    name = props.get("name", b"unknown")
    info["name"] = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
    info["total_memory_B"] = int(props.get("totalGlobalMem", 0))
    info["multiprocessors"] = props.get("multiProcessorCount")
    info["l2_cache_B"] = props.get("l2CacheSize")
    info["compute_capability"] = f"{props.get('major')}.{props.get('minor')}"
    for k, f in (("driver_version", rt.driverGetVersion), ("runtime_version", rt.runtimeGetVersion)):
        try:
            info[k] = int(f())
        except Exception:  # noqa: BLE001
            info[k] = None
    try:
        free, total = rt.memGetInfo()
        info["free_memory_at_start_B"] = int(free)
    except Exception:  # noqa: BLE001
        pass
    info["cupy"] = cp.__version__
    try:
        info["cufft_version"] = int(cp.cuda.cufft.getVersion())
    except Exception:  # noqa: BLE001
        info["cufft_version"] = None
    try:
        p = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm,"
                            "clocks.mem,power.limit,temperature.gpu", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = p.stdout.strip() or None
    except Exception:  # noqa: BLE001
        info["nvidia_smi"] = None
    return info


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "unknown"


def no_gpu_reason():
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001
        return f"CuPy not importable ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001
        return f"no CUDA device ({type(exc).__name__}: {exc})"
    if n < 1:
        return "no CUDA device (device count 0)"
    return None


# ---------------------------------------------------------------------------------------------- summary
def fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def summarize(res):
    lines = []
    bw = (res.get("copy") or {}).get("bandwidth_B_per_s")
    lines.append(f"device: {res['device'].get('name', res['device'].get('hostname'))}   dtype {res['dtype']}   "
                 f"copy bandwidth {fmt(bw and bw / 1e12)} TB/s")
    lines.append(f"{'case':<22}{'ms/RHS':>10}{'cell-RHS/s':>13}{'xMuMax3':>9}{'BW@284':>8}{'BW@668':>8}"
                 f"{'step c-RHS/s':>14}")
    for key, r in (res.get("rhs") or {}).items():
        if "cell_rhs_per_s" not in r:
            lines.append(f"{key:<22}{(r.get('error') or r.get('skipped') or '?')[:70]}")
            continue
        lines.append(f"{key:<22}{fmt(r['ms_per_rhs'], '.4f'):>10}{fmt(r['cell_rhs_per_s']):>13}"
                     f"{fmt(r.get('ratio_to_mumax3_h100'), '.2f'):>9}"
                     f"{fmt(r.get('fraction_of_copy_bw_fused_model'), '.2f'):>8}"
                     f"{fmt(r.get('fraction_of_copy_bw_separate_model'), '.2f'):>8}"
                     f"{fmt((r.get('step') or {}).get('cell_rhs_per_s')):>14}")
    for key, r in (res.get("batch") or {}).items():
        if "cell_rhs_per_s" in r:
            lines.append(f"batch {int(key):>5} x {size_key(r['n']):<9}{fmt(r['ms_per_rhs'], '.4f'):>10}"
                         f"{fmt(r['cell_rhs_per_s']):>13}  x{fmt(r.get('rhs_ratio_to_1'), '.1f')} vs 1, step "
                         f"{fmt(r.get('step_cell_rhs_per_s'))} (x{fmt(r.get('step_ratio_to_1'), '.1f')})")
        else:
            lines.append(f"batch {key:>5}: {(r.get('error') or r.get('skipped') or '?')[:70]}")
    for key, r in (res.get("sp4") or {}).items():
        if "end_to_end_s" in r:
            lines.append(f"SP4 128x32 {key:<11} end to end {r['end_to_end_s']:.2f} s (setup {fmt(r.get('setup_s'))}, "
                         f"relax {fmt(r.get('relax_s'))} s / {r.get('relax_evals')} RHS, run {fmt(r.get('run_s'))} s"
                         f" / {r.get('run_evals')} RHS), m_final {[round(v, 4) for v in (r.get('m_final') or [])]}")
        elif isinstance(r, dict):
            lines.append(f"SP4 {key}: {(r.get('error') or r.get('skipped') or '?')[:100]}")
    for name, p in (res.get("peers") or {}).items():
        if not isinstance(p, dict):
            continue
        if not p.get("importable"):
            lines.append(f"peer {name}: not importable")
            continue
        for key, r in p.items():
            if not isinstance(r, dict):
                continue
            v = r.get("cell_rhs_per_s", r.get("cell_rhs_per_s_assuming_6_per_step"))
            e2e = r.get("end_to_end_s")
            lines.append(f"peer {name} {key}: " + (r.get("error", r.get("skipped", ""))[:80] if v is None and e2e is None
                         else (f"{v:.3g} cell-RHS/s" if v is not None else f"{e2e:.2f} s end to end")))
    lines.append("goals:")
    for k, g in (res.get("goals") or {}).items():
        lines.append(f"  {k:<44} {g.get('status', '-'):<8} {g.get('detail', '')}")
    return "\n".join(lines)


def evaluate_goals(res):
    goals = {}
    rhs = res.get("rhs") or {}
    f32 = res.get("dtype") == "float32"
    for key, target in (("1024x1024x1", 4e9), ("256x256x1", 1.5e9)):
        v = (rhs.get(key) or {}).get("cell_rhs_per_s")
        g = {"target": target, "measured": v}
        if v is None or not f32:
            g["status"] = "n/a"
            g["detail"] = "not measured" if v is None else "goal is for float32"
        else:
            g["ratio"] = v / target
            g["status"] = "MET" if v >= target else "missed"
            g["detail"] = f"{v:.3g} / {target:.3g} = {v / target:.2f}"
        goals[f"rhs_{key}_float32"] = g
    batch = res.get("batch") or {}
    r = (batch.get("1024") or {}).get("rhs_ratio_to_1")
    g = {"target": 30.0, "measured": r}
    g["status"] = "n/a" if r is None else ("MET" if r >= 30 else "missed")
    g["detail"] = "not measured" if r is None else f"batch-1024 throughput / batch-1 throughput = {r:.1f}"
    goals["batch_1024x64x64_vs_1"] = g
    ours = [v.get("end_to_end_s") for v in (res.get("sp4") or {}).values() if isinstance(v, dict)]
    ours = [v for v in ours if v is not None]
    peers = {}
    for name, p in (res.get("peers") or {}).items():
        if isinstance(p, dict) and isinstance(p.get("sp4"), dict) and p["sp4"].get("end_to_end_s") is not None:
            peers[name] = p["sp4"]["end_to_end_s"]
    g = {"target": "faster than every peer measured", "ours_s": min(ours) if ours else None, "peers_s": peers}
    if not ours or not peers:
        g["status"] = "n/a"
        g["detail"] = "no micromag SP4 figure" if not ours else "no peer measured"
    else:
        worst = min(peers.values())
        g["status"] = "MET" if min(ours) < worst else "missed"
        g["detail"] = f"ours {min(ours):.2f} s vs fastest peer {worst:.2f} s"
    goals["sp4_128x32_end_to_end"] = g
    return goals


# ---------------------------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes and repeats (< 2 min on an H100)")
    p.add_argument("--json", default=None, help="output path (default benchmarks/results/<device>-<date>.json)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--no-peers", action="store_true", help="do not time magnum.np / mumax+")
    p.add_argument("--peers", action="store_true", help="time the peers also with --quick")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds after which remaining sections are skipped and running ones cut short "
                   "(default 360, quick 80)")
    p.add_argument("--emulate", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick, emu = args.quick, args.emulate
    budget = args.budget if args.budget is not None else (80 if quick else 360)
    t_start = time.time()
    deadline = t_start + budget
    now = datetime.datetime.now(datetime.timezone.utc)
    res = {"benchmark": "micromag GPU", "date": now.strftime("%Y-%m-%d"), "datetime_utc": now.isoformat(),
           "quick": quick, "emulated": emu, "dtype": args.dtype, "git": git_info(),
           "metric": "cell-RHS/s = cells x right-hand-side evaluations / wall second",
           "bytes_model": BYTES_MODEL, "mumax3_h100_published": MUMAX3_H100, "goal_targets": GOALS,
           "errors": {}}

    reason = None if emu else no_gpu_reason()
    ctx = None
    if reason is None:
        try:
            ctx = Ctx(emu, args.dtype, quick)
        except Exception as exc:  # noqa: BLE001
            reason = f"could not set up the device: {type(exc).__name__}: {exc}"
    try:
        res["device"] = device_info(ctx)
    except Exception as exc:  # noqa: BLE001
        res["device"] = {"error": str(exc)}
    if emu:
        res["device"]["name"] = "emulation"
    if args.json:
        path = Path(args.json)
    else:
        dname = res["device"].get("name") or ("no-gpu-" + slug(platform.node()))
        path = HERE / "results" / f"{slug(dname)}-{res['date']}{'-quick' if quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        res["elapsed_s"] = time.time() - t_start
        try:
            res["goals"] = evaluate_goals(res)
        except Exception as exc:  # noqa: BLE001
            res["goals"] = {"error": str(exc)}
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(res, fh, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
        os.replace(tmp, path)

    if reason is not None:
        res["gpu"] = False
        res["no_gpu_reason"] = reason
        save()
        print(f"no GPU: {reason}. Nothing timed; wrote {path}")
        return 0
    res["gpu"] = not emu

    def section(name, fn, limit):
        if time.time() > deadline:
            res[name] = {"skipped": "time budget used up"}
            save()
            return
        print(f"[{name}]", flush=True)
        t0 = time.time()
        try:
            with time_limit(max(10.0, min(limit, deadline - time.time() + 30))):
                fn()
        except BaseException as exc:  # noqa: BLE001 - record and go on (Ctrl-C still stops the run)
            if isinstance(exc, KeyboardInterrupt):
                raise
            res["errors"][name] = _err(exc)
            print(f"  {name} failed: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        res.setdefault("section_s", {})[name] = time.time() - t0
        try:
            ctx.free()
        except Exception:  # noqa: BLE001
            pass
        save()

    # (a) copy bandwidth
    def do_copy():
        res["copy"] = bench_copy(ctx, quick)
        bw = res["copy"].get("bandwidth_B_per_s")
        print(f"  device-to-device copy: {fmt(bw and bw / 1e9)} GB/s (read + write)", flush=True)

    section("copy", do_copy, 120)
    bandwidth = (res.get("copy") or {}).get("bandwidth_B_per_s")

    # (b)+(c) RHS and RK45 step at the film sizes and 3D
    if emu:
        sizes = [(16, 16, 1), (32, 32, 1), (16, 16, 4)]
        step_sizes = set(sizes)
    elif quick:
        sizes = [(256, 256, 1), (1024, 1024, 1)]
        step_sizes = set(sizes)
    else:
        sizes = [(256, 256, 1), (512, 512, 1), (1024, 1024, 1), (2048, 2048, 1), (256, 256, 32)]
        step_sizes = set(sizes)
    section("rhs", lambda: bench_sizes(ctx, sizes, bandwidth, quick, res, save, deadline, step_sizes), 600)

    # (d) SP4 end to end
    def do_sp4():
        out = res.setdefault("sp4", {})
        kw = dict(relax_max_time=2e-10, duration=3e-11) if emu else {}
        for name, fn in (("direct", lambda: sp4_direct(ctx, **kw)),
                         ("simulation", lambda: sp4_simulation(ctx, duration=kw.get("duration", 1e-9),
                                                               relax_max_time=kw.get("relax_max_time")))):
            if time.time() > deadline:
                out[name] = {"skipped": "time budget used up"}
                continue
            try:
                with time_limit(60 if emu else 150):
                    out[name] = fn()
                r = out[name]
                print(f"  sp4 {name}: {r['end_to_end_s']:.2f} s end to end (relax {r.get('relax_evals')} RHS, "
                      f"run {r.get('run_evals')} RHS), m_final {r.get('m_final')}", flush=True)
            except Exception as exc:  # noqa: BLE001
                out[name] = _err(exc)
                print(f"  sp4 {name} failed: {out[name]['error'][:300]}", flush=True)
            ctx.free()
            save()

    section("sp4", do_sp4, 400)

    # (e) batch
    members = [1, 4, 16] if emu else ([1, 16, 256] if quick else [1, 16, 256, 1024])
    bn = (16, 16, 1) if emu else (64, 64, 1)
    section("batch", lambda: bench_batch(ctx, members, bn, quick, save, res.setdefault("batch", {}), deadline), 400)

    # (f) peers
    if not args.no_peers and (not quick or args.peers):
        section("peers", lambda: bench_peers(ctx, quick, res.setdefault("peers", {}), save, deadline), 900)
    else:
        res["peers"] = {"skipped": "--no-peers" if args.no_peers else "--quick (use --peers to time them)"}

    res["elapsed_s"] = time.time() - t_start
    save()
    print()
    print(summarize(res))
    print(f"\nwrote {path}  ({res['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
