"""Memory estimates before allocating: a Simulation, a Batch chunk, a sweep's point list, a table schedule.

Each estimate is compared with what the chosen backend has free -- host RAM (``MemAvailable``, bounded by
a cgroup limit and by ``ulimit -v``) for 'cpu' and 'emulate', the GPU's free memory (CuPy) for 'gpu' -- and
a request that does not fit is refused with :class:`NotEnoughMemory`, whose message gives the estimate and
the free memory in GiB and what to change, before any large array exists.

The model of a Simulation (bytes; N cells, B members, s stages of the integrator, P = the demag padding
factor, 2 per open axis with more than one cell, so 8 for a 3D grid and 4 for a film) was calibrated with
``tracemalloc`` on the NumPy backend (see ``tests/test_reliability.py::test_memory_estimate_bounds_the_peak``,
which checks that the estimate lies between 1x and 2.5x the measured peak):

* set-up, host: 4 MiB + N (260 + 190 P [demag]) -- the system tables, the Newell tensor and its spectra;
* per member, host (NumPy): N (3 (s + 9) 8 + 80 P [demag]) -- m, the RK stages, work vectors, FFT buffers;
* per member on a device (GPU or emulation), itemsize w: N (3 (s + 9) w + 24 P w [demag]) plus
  N (10 w + 6 P w [demag]) once (spectra, masks).

Measured on the NumPy backend, the estimate is 1.1 to 2.2 times the peak (the Newell set-up of small
grids and 2D films is over-estimated most); the GPU part is a model of the device arrays, not yet measured
on a GPU.

``MICROMAG_MEMORY_CHECK=0`` turns the refusal off (the estimate is still available); a sweep's pool gives
every worker ``MICROMAG_MEMORY_SHARE`` = 1/workers so that workers running side by side together fit.
"""
from __future__ import annotations

import os

import numpy as np

GiB = 2.0**30


class NotEnoughMemory(MemoryError, ValueError):
    """A run refused before allocating: its estimate does not fit in the free memory. Attributes:
    ``need`` and ``available`` in bytes, ``where`` ('host' or 'GPU')."""

    def __init__(self, message, need=None, available=None, where="host"):
        super().__init__(message)
        self.need, self.available, self.where = need, available, where


def _cgroup_free():
    """Bytes left under this process's cgroup (v2 or v1) memory limit, or None."""
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit) as f:
                lim = f.read().strip()
            if lim == "max":
                return None
            with open(usage) as f:
                use = int(f.read().strip())
            lim = int(lim)
            if lim >= 2**60:  # v1's "no limit"
                return None
            return max(0, lim - use)
        except (OSError, ValueError):
            continue
    return None


def host_available():
    """Free host memory in bytes (``MemAvailable`` from /proc/meminfo, bounded by a cgroup limit), or None
    where it cannot be read."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    cg = _cgroup_free()
    if cg is not None:
        avail = cg if avail is None else min(avail, cg)
    rl = _rlimit_free()
    if rl is not None:
        avail = rl if avail is None else min(avail, rl)
    return avail


def _rlimit_free():
    """Address space left under ``ulimit -v`` (RLIMIT_AS, as batch systems set it), or None."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except (ImportError, OSError, ValueError):
        pass
    return None


def gpu_available():
    """Free memory of the current CUDA device in bytes (CuPy), or None without one."""
    try:
        import cupy

        free, _ = cupy.cuda.runtime.memGetInfo()
        return int(free)
    except Exception:  # noqa: BLE001 - no CuPy, no device
        return None


def share():
    """The fraction of the free memory this process may plan for (``MICROMAG_MEMORY_SHARE``, default 1)."""
    try:
        s = float(os.environ.get("MICROMAG_MEMORY_SHARE", "1"))
    except ValueError:
        return 1.0
    return s if 0 < s <= 1 else 1.0


def enabled():
    return os.environ.get("MICROMAG_MEMORY_CHECK", "1").strip().lower() not in ("0", "false", "no", "off")


def gib(b):
    return f"{b / GiB:.3g} GiB"


def _pad_factor(grid):
    return int(np.prod([2 if (p == 0 and n > 1) else 1 for n, p in zip(grid.n, grid.pbc)]))


def image_points(grid):
    """Offsets at which the Newell tensor is evaluated before the periodic images are folded in: along a
    periodic axis p·n + n//2 + 1 (p images per side), else n (micromag.engine.newell.newell_tensor). Each costs
    the six float64 components and their temporaries at set-up (~100 bytes); 0 without periodic images."""
    if not any(grid.pbc):
        return 0
    return float(np.prod([float(n) if p == 0 else float(p) * n + n // 2 + 1 for n, p in zip(grid.n, grid.pbc)]))


def simulation_bytes(grid, batch=1, stages=7, demag=True, backend="cpu", itemsize=8):
    """Estimated peak memory of a Simulation: ``{"host": bytes, "device": bytes}`` (device 0 on the CPU;
    for 'emulate' the device arrays live in host memory and are added to "host")."""
    N = float(grid.ncells)
    P = _pad_factor(grid) if demag else 0
    d = 1 if demag else 0
    # set-up (Newell tensor, its padded copies and spectra: 130 P N at the peak) and the per-member state
    host = 4 * 2**20 + N * (260 + 130 * P * d) + batch * N * (3 * 8 * (stages + 9))
    host += 100 * image_points(grid) * d
    device = 0.0
    if backend == "cpu":
        if demag:
            # the convolution's work arrays: padded source and field (96 N), spectra (80 P N) per member, or what
            # the blocked FFTW engine of large grids allocates; one member's engine is built at once, a batch's
            # on first use
            from .terms.demag import blocked_engine_bytes, uses_blocked_engine

            def engine(nb):
                return blocked_engine_bytes(grid, nb) if uses_blocked_engine(grid, nb) else nb * N * (80 * P + 96)

            host += engine(batch) + (engine(1) if batch > 1 else 0)
    else:
        w = itemsize
        device = batch * N * (3 * (stages + 9) * w + 24 * P * w * d) + N * (10 * w + 6 * P * w * d)
        if backend == "emulate":
            host, device = host + device, 0.0
    return {"host": host, "device": device}


def _refuse(what, need, avail, where, advice):
    raise NotEnoughMemory(f"{what} needs about {gib(need)} of {where} memory; {gib(avail)} are free"
                          f"{'' if share() == 1 else f' for this process (share {share():.3g} of the free memory)'}"
                          f": {advice}. (Estimate from micromag.engine.memory; MICROMAG_MEMORY_CHECK=0 skips this check.)",
                          need, avail, where)


def check(what, host=0.0, device=0.0, advice="", backend="cpu"):
    """Refuse (:class:`NotEnoughMemory`) when ``host`` or ``device`` bytes exceed what is free."""
    if not enabled():
        return
    if host > 0:
        avail = host_available()
        if avail is not None and host > avail * share():
            _refuse(what, host, avail * share(), "host", advice)
    if device > 0 and backend == "gpu":
        avail = gpu_available()
        if avail is not None and device > avail * share():
            _refuse(what, device, avail * share(), "GPU", advice)


def check_simulation(grid, batch, stages, demag, backend, dtype):
    """Refuse a Simulation that cannot fit, naming the grid and what to change."""
    itemsize = np.dtype(dtype).itemsize
    est = simulation_bytes(grid, batch, stages, demag, backend, itemsize)
    n = "x".join(str(v) for v in grid.n)
    what = (f"a Simulation of {n} = {grid.ncells:,} cells (batch {batch}, {np.dtype(dtype).name}, "
            f"{stages}-stage integrator{', demag' if demag else ''}, backend {backend!r})")
    tips = ["fewer cells (a coarser cell size or a smaller region)"]
    if demag and 100 * image_points(grid) > est["host"] / 2:
        what += f" with pbc = {grid.pbc} periodic images per side ({image_points(grid):.3g} demag offsets at set-up)"
        tips.insert(0, "fewer periodic images (pbc; the demag sum converges after a few hundred)")
    if batch > 1:
        tips.append("a smaller batch (or mm.Batch, which runs members in chunks)")
    if backend != "cpu" and itemsize == 8:
        tips.append("dtype=float32")
    if backend == "cpu":
        tips.append("backend='gpu' with float32 on a machine with a GPU")
    tips.append("an integrator with fewer stages (rk23)" if stages > 4 else "")
    check(what, est["host"], est["device"], ", ".join(t for t in tips if t), backend)
    return est


def check_points(npoints, nparams, where_msg=""):
    """Refuse a sweep whose list of points (dicts of ``nparams`` values, and their result rows) cannot fit
    in a quarter of the free host memory; ``npoints`` may be a float (the product of range lengths)."""
    per = 400.0 + 120.0 * nparams + 1200.0  # the point dict, its key, its result row
    need = npoints * per
    if not enabled():
        return need
    avail = host_available()
    if avail is not None and need > 0.25 * avail:
        raise NotEnoughMemory(f"{where_msg}the sweep has {npoints:.4g} points, whose list and results need about "
                              f"{gib(need)} of host memory ({gib(avail)} free; a sweep may use a quarter): use fewer "
                              "points (a larger step or a smaller num), or split it into several sweeps", need, avail)
    return need


def check_output(rows, columns, frames=0, frame_bytes=0, folder=None, what="the run"):
    """Refuse a table schedule (``rows`` rows of ``columns`` numbers) and ``frames`` snapshots of
    ``frame_bytes`` each whose files would not fit on the disk of ``folder``."""
    need = rows * (columns * 17.0 + 1) + frames * frame_bytes
    if not enabled() or folder is None:
        return need
    import shutil

    probe = os.path.abspath(folder)
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return need
    if need > free:
        raise NotEnoughMemory(f"{what} would write {rows:.4g} table rows and {frames:.4g} snapshots, about "
                              f"{gib(need)}, to {folder}, whose disk has {gib(free)} free: raise every / "
                              "snapshot_every, or shorten the run", need, free, "disk")
    return need


__all__ = ["NotEnoughMemory", "check", "check_simulation", "check_points", "check_output", "host_available",
           "gpu_available", "simulation_bytes"]
