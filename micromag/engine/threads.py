"""How many threads each pool of the CPU backend runs: one policy, from the work size and the CPUs this
process may actually use.

The pools (names as :func:`count` takes them):

``"blas"``
    NumPy's BLAS (OpenBLAS, MKL, ...). The solver's BLAS calls are the small per-step products (the
    stepper's combination of a few stages: a GEMV of a few rows by 3·N values), far too small to share
    between threads. On a machine whose cores are busy with other processes, a multithreaded BLAS wakes
    its helper threads for each of these products and waits for them -- a helper that is descheduled
    stalls the step, and OpenBLAS's idle helpers busy-wait (sched_yield loops) for a while after every
    call. That is what made a small run burn several times its wall time in CPU time on a loaded machine.
    Policy: **1 thread while the solver steps** (:func:`limit_blas`, applied by ``Simulation.run``,
    ``relax``, ``minimize`` and ``step``); the user's own BLAS setting outside a run is left as it was.
``"fftw"``
    The threads of one FFTW plan (pyFFTW) or SciPy pocketfft call of the demag convolution: one per
    :data:`GRAIN` ``["fftw"]`` complex elements of the padded spectrum (a thread's start-up is worth it only
    for large transforms), at most the available CPUs.
``"numba"``
    The parallel loops of the compiled kernels (:mod:`micromag.engine._jit`): one per :data:`GRAIN` ``["numba"]``
    values of the arrays they sweep, at most the available CPUs.
``"demag"``
    The block threads of the large-grid FFTW engine (``micromag.engine.terms.demag``): one per block of work, at
    most the available CPUs and at most 8.

Available CPUs (:func:`available_cpus`): the CPUs in this process's affinity mask
(``os.sched_getaffinity``), further limited by a cgroup CPU quota (cgroup v2 ``cpu.max``, v1
``cpu.cfs_quota_us / cpu.cfs_period_us``: a container given 1.5 CPUs of a 64-core host gets 1 thread, not
64).

A user setting wins over all of this: ``MICROMAG_THREADS=N`` gives every pool N threads (BLAS included);
otherwise a library's own variable (``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` for
BLAS; ``NUMBA_NUM_THREADS`` for the compiled kernels), then ``OMP_NUM_THREADS`` (its first entry), sets
that pool's count.

Waiting: OpenMP workers (FFTW's and Numba's runtime) are told to sleep between parallel regions rather than
spin (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0`` for Intel's runtime; :func:`configure_environment`, run
when micromag is imported, before either runtime loads), so that a descheduled or idle worker costs no CPU
time that another thread or process could use. The demag block threads take their work from a shared queue,
so a thread that is descheduled holds back at most one block, not its whole share.

``micromag info`` prints what this module decides (:func:`describe`).
"""
from __future__ import annotations

import math
import os

POOLS = ("blas", "fftw", "numba", "demag")

# work per thread below which another thread does not pay for itself (measured on 2-8 core machines)
GRAIN = {
    "fftw": 1 << 19,   # complex elements of the padded spectrum per FFTW/pocketfft thread (8 MB)
    "numba": 1 << 15,  # float64 values per compiled-kernel thread (a 32768-cell grid's field: 3 threads' worth)
    "demag": 1,        # blocks of the large-grid engine per thread
}
MAX_DEMAG_THREADS = 8  # the blocked engine's threads share one L3: past 8 the blocks only fight for it

# the environment variables that set one pool, in the order they are read (after MICROMAG_THREADS)
POOL_VARIABLES = {
    "blas": ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "OMP_NUM_THREADS"),
    "fftw": ("OMP_NUM_THREADS",),
    "numba": ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"),
    "demag": ("OMP_NUM_THREADS",),
}

_CACHE = {}


def configure_environment(environ=None):
    """Make OpenMP workers sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``) unless
    the user set these. Takes effect for runtimes loaded afterwards (micromag calls it before it loads FFTW
    or Numba)."""
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("KMP_BLOCKTIME", "0")


def refresh():
    """Forget what was read about this machine (CPUs, loaded libraries): the next call reads it again (after
    the process's affinity or cgroup changed; tests)."""
    _CACHE.clear()


def _read_int(path):
    with open(path) as f:
        return f.read().strip()


def cgroup_cpu_limit(root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """The CPU quota of this process's cgroup in CPUs (a float, e.g. 1.5), or None when there is none.

    cgroup v2: ``cpu.max`` ("max 100000" or "150000 100000") of the process's group and of each group above
    it (the smallest quota counts); cgroup v1: ``cpu.cfs_quota_us / cpu.cfs_period_us`` of the cpu
    controller's group (quota -1: none)."""
    try:
        with open(proc_cgroup) as f:
            lines = [ln.strip().split(":", 2) for ln in f if ln.strip()]
    except OSError:
        lines = []
    limits = []
    for parts in lines:
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        rel = path.lstrip("/")
        if hid == "0" and controllers == "":  # cgroup v2: the group and its ancestors
            p = rel
            while True:
                q = _v2_quota(os.path.join(root, p, "cpu.max") if p else os.path.join(root, "cpu.max"))
                if q is not None:
                    limits.append(q)
                if not p:
                    break
                p = os.path.dirname(p)
        elif "cpu" in controllers.split(","):  # cgroup v1
            for base in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                d = os.path.join(root, base)
                for cand in (os.path.join(d, rel), d):
                    q = _v1_quota(cand)
                    if q is not None:
                        limits.append(q)
                        break
    if not limits and not lines:  # no /proc/self/cgroup: a v2 root file alone (tests, odd containers)
        q = _v2_quota(os.path.join(root, "cpu.max"))
        if q is not None:
            limits.append(q)
    return min(limits) if limits else None


def _v2_quota(path):
    try:
        quota, period = _read_int(path).split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        q, p = float(quota), float(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _v1_quota(folder):
    try:
        q = float(_read_int(os.path.join(folder, "cpu.cfs_quota_us")))
        p = float(_read_int(os.path.join(folder, "cpu.cfs_period_us")))
    except (OSError, ValueError):
        return None
    return q / p if q > 0 and p > 0 else None


def affinity_cpus():
    """The number of CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def available_cpus():
    """CPUs this process can use: the affinity mask, limited by a cgroup CPU quota (rounded down, at least 1).
    Read once per process (a forked child reads it again)."""
    key = ("cpus", os.getpid())
    if key not in _CACHE:
        n = affinity_cpus()
        quota = cgroup_cpu_limit()
        if quota is not None:
            n = min(n, max(1, int(math.floor(quota + 1e-9))))
        _CACHE.clear()
        _CACHE[key] = n
    return _CACHE[key]


def _positive_int(name, value):
    text = str(value).strip().split(",")[0].strip()  # OMP_NUM_THREADS may list one count per nesting level
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name} must be a whole number of threads >= 1, got {value!r}")
    return n


def user_setting(pool, environ=None):
    """(threads, variable) that the user set for ``pool``, or (None, None): ``MICROMAG_THREADS`` first, then the
    pool's own variables (:data:`POOL_VARIABLES`). An empty variable counts as unset; anything else that is
    not a whole number >= 1 is a ValueError naming the variable."""
    _check_pool(pool)
    env = os.environ if environ is None else environ
    for name in ("MICROMAG_THREADS",) + POOL_VARIABLES[pool]:
        v = env.get(name)
        if v is not None and v.strip():
            return _positive_int(name, v), name
    return None, None


def _check_pool(pool):
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")


def count(pool, work=0, cpus=None, environ=None):
    """Threads for ``pool`` given ``work`` (in the pool's unit: see :data:`GRAIN`; ignored for "blas"): the
    user's setting if there is one, else ``min(cpus, work // GRAIN[pool])`` (at least 1; "demag" also at most
    :data:`MAX_DEMAG_THREADS`), and 1 for "blas". ``cpus`` defaults to :func:`available_cpus`."""
    n, _ = user_setting(pool, environ)
    if n is not None:
        return n
    if pool == "blas":
        return 1
    cpus = available_cpus() if cpus is None else max(1, int(cpus))
    n = max(1, min(cpus, int(work) // GRAIN[pool]))
    if pool == "demag":
        n = min(n, MAX_DEMAG_THREADS)
    return n


def explain(pool, work=0, cpus=None, environ=None):
    """(threads, reason) for ``pool``: what :func:`count` returns and why, in words (for ``micromag info``)."""
    n, var = user_setting(pool, environ)
    if n is not None:
        return n, f"set by {var}"
    c = count(pool, work, cpus, environ)
    if pool == "blas":
        return c, "while stepping: the per-step products are too small to share"
    if pool == "demag":
        return c, f"one per block, at most {MAX_DEMAG_THREADS} and the available CPUs"
    unit = "complex elements" if pool == "fftw" else "values"
    return c, f"one per {GRAIN[pool]} {unit}, at most the available CPUs"


# ---------------------------------------------------------------------------------------------- BLAS limits
def _controller():
    """threadpoolctl's controller of the libraries loaded now (made once: scanning the loaded libraries
    costs a few ms), or None when threadpoolctl is not installed."""
    if "controller" not in _CACHE or _CACHE.get("controller_pid") != os.getpid():
        try:
            from threadpoolctl import ThreadpoolController

            _CACHE["controller"] = ThreadpoolController()
        except Exception:  # noqa: BLE001 - no threadpoolctl: BLAS keeps its own count
            _CACHE["controller"] = None
        _CACHE["controller_pid"] = os.getpid()
    return _CACHE["controller"]


class _BlasLimit:
    """Sets the given BLAS libraries to ``n`` threads on entry and back to their own counts on exit (direct
    calls into the libraries: a few µs, where a fresh threadpoolctl limiter costs ~0.1-5 ms per run call)."""

    def __init__(self, libs, n):
        self.libs, self.n, self.saved = libs, n, []

    def __enter__(self):
        self.saved = []
        for lib in self.libs:
            old = lib.get_num_threads()
            self.saved.append(old)
            if old != self.n:
                lib.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        for lib, old in zip(self.libs, self.saved):
            if old is not None and old != self.n:
                lib.set_num_threads(old)
        return False


def _blas_libraries():
    ctl = _controller()
    if ctl is None:
        return []
    return list(ctl.select(user_api="blas").lib_controllers)


def limit_blas():
    """A context manager under which BLAS runs :func:`count` ("blas") threads (1 unless the user said
    otherwise), restoring the previous counts on exit. Does nothing where threadpoolctl is missing, or where
    the user set a BLAS-specific variable (OPENBLAS_NUM_THREADS, ...): the library already reads that."""
    n, var = user_setting("blas")
    if var is not None and var not in ("MICROMAG_THREADS", "OMP_NUM_THREADS"):
        return _BlasLimit([], 1)
    return _BlasLimit(_blas_libraries(), count("blas"))


def during_run(method):
    """Decorator for the solver's stepping methods: the method runs under :func:`limit_blas`."""
    import functools

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with limit_blas():
            return method(*args, **kwargs)

    return wrapper


def blas_threads():
    """The thread counts of the BLAS libraries loaded now (a list; empty without threadpoolctl or BLAS)."""
    try:
        from threadpoolctl import threadpool_info
    except Exception:  # noqa: BLE001
        return []
    return [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]


# ---------------------------------------------------------------------------------------------- Numba
def set_numba_threads(work):
    """Set Numba's thread count for the calling thread to :func:`count` ("numba", work), within the size of
    Numba's pool (``numba.config.NUMBA_NUM_THREADS``). Called before each compiled kernel; cheap when the
    count does not change."""
    import threading

    n = count("numba", work)
    local = _CACHE.setdefault("numba_local", threading.local())
    if getattr(local, "n", None) == n:
        return n
    import numba

    n = min(n, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    local.n = n
    return n


def describe(grids=((100, 25, 1), (512, 512, 1))):
    """Lines for ``micromag info``: the CPUs found and each pool's thread count, for the grids ``grids``
    ((nx, ny, nz) tuples) where the count depends on the work."""
    quota = cgroup_cpu_limit()
    lines = [f"cpus     {available_cpus()} available (affinity {affinity_cpus()}, cgroup quota "
             f"{'none' if quota is None else f'{quota:g} CPUs'}, os.cpu_count {os.cpu_count()})"]
    if os.environ.get("MICROMAG_THREADS", "").strip():
        lines.append(f"         MICROMAG_THREADS={os.environ['MICROMAG_THREADS']} (every pool)")
    for pool in POOLS:
        if pool == "blas":
            c, why = explain(pool)
            lines.append(f"threads  {pool:6s} {c} ({why})")
            continue
        if pool == "demag":
            c, why = explain(pool, 1 << 30)
            lines.append(f"threads  {pool:6s} up to {c} (large grids on the FFTW engine: {why})")
            continue
        per = []
        for nx, ny, nz in grids:
            px, py, pz = (2 * k if k > 1 else 1 for k in (nx, ny, nz))
            work = 3 * pz * py * (px // 2 + 1) if pool == "fftw" else 3 * nx * ny * nz
            c, why = explain(pool, work)
            per.append(f"{c} at {nx}x{ny}x{nz}")
        lines.append(f"threads  {pool:6s} " + ", ".join(per) + f" ({why})")
    lines.append(f"waiting  OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} "
                 f"KMP_BLOCKTIME={os.environ.get('KMP_BLOCKTIME', '(unset)')}")
    return lines
