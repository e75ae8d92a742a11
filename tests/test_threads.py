"""The thread policy (micromag.engine.threads): CPUs from affinity and cgroup quota, counts from work size, the user's
setting winning, BLAS held to one thread while the solver steps, and `micromag info` saying what runs."""
import os
import subprocess
import sys

import numpy as np
import pytest

import micromag as mm
from micromag.engine import threads

try:
    import threadpoolctl  # noqa: F401

    HAVE_TPC = True
except ImportError:
    HAVE_TPC = False

needs_tpc = pytest.mark.skipif(not HAVE_TPC, reason="threadpoolctl not installed")
THREAD_VARS = ("MICROMAG_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "NUMBA_NUM_THREADS")


@pytest.fixture
def clean_env(monkeypatch):
    for v in THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    threads.refresh()
    yield monkeypatch
    threads.refresh()


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_smallest_along_the_path(tmp_path):
    """cgroup v2: the group's cpu.max and its ancestors'; the smallest quota counts, "max" is none."""
    proc = tmp_path / "proc_cgroup"
    _write(proc, "0::/user.slice/job\n")
    root = tmp_path / "cg"
    _write(root / "user.slice" / "job" / "cpu.max", "max 100000\n")
    _write(root / "user.slice" / "cpu.max", "250000 100000\n")
    assert threads.cgroup_cpu_limit(str(root), str(proc)) == pytest.approx(2.5)
    _write(root / "user.slice" / "job" / "cpu.max", "150000 100000\n")
    assert threads.cgroup_cpu_limit(str(root), str(proc)) == pytest.approx(1.5)
    _write(root / "user.slice" / "job" / "cpu.max", "max 100000\n")
    _write(root / "user.slice" / "cpu.max", "max 100000\n")
    assert threads.cgroup_cpu_limit(str(root), str(proc)) is None


def test_cgroup_v1_quota(tmp_path):
    """cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us of the cpu controller; -1 is no quota."""
    proc = tmp_path / "proc_cgroup"
    _write(proc, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n")
    root = tmp_path / "cg"
    d = root / "cpu,cpuacct" / "docker" / "abc"
    _write(d / "cpu.cfs_quota_us", "300000\n")
    _write(d / "cpu.cfs_period_us", "100000\n")
    assert threads.cgroup_cpu_limit(str(root), str(proc)) == pytest.approx(3.0)
    _write(d / "cpu.cfs_quota_us", "-1\n")
    assert threads.cgroup_cpu_limit(str(root), str(proc)) is None
    assert threads.cgroup_cpu_limit(str(tmp_path / "none"), str(tmp_path / "missing")) is None


def test_available_cpus_is_affinity_limited_by_quota(clean_env):
    """8 CPUs in the affinity mask under a 2.5-CPU quota: 2 threads (rounded down); a quota below one CPU still
    gives 1; no quota: the mask."""
    clean_env.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(8)))
    for quota, want in ((2.5, 2), (0.3, 1), (None, 8), (64.0, 8)):
        clean_env.setattr(threads, "cgroup_cpu_limit", lambda q=quota: q)
        threads.refresh()
        assert threads.available_cpus() == want


def test_count_follows_work_size_and_cpus(clean_env):
    """No user setting: BLAS 1; FFTW and Numba one thread per GRAIN of work, at most the CPUs; the block
    engine at most 8 and the CPUs."""
    g = threads.GRAIN
    assert threads.count("blas", 10**9, cpus=16) == 1
    assert threads.count("fftw", 3 * 2 * 50 * 101, cpus=16) == 1  # SP4's padded spectrum: one thread
    assert threads.count("fftw", 3 * g["fftw"], cpus=16) == 3
    assert threads.count("fftw", 100 * g["fftw"], cpus=4) == 4
    assert threads.count("numba", g["numba"] - 1, cpus=4) == 1
    assert threads.count("numba", 2 * g["numba"], cpus=4) == 2
    assert threads.count("demag", 5, cpus=16) == 5
    assert threads.count("demag", 100, cpus=16) == threads.MAX_DEMAG_THREADS
    assert threads.count("demag", 100, cpus=2) == 2
    with pytest.raises(ValueError, match="pool"):
        threads.count("gpu", 1)


def test_user_setting_wins(clean_env):
    """MICROMAG_THREADS sets every pool (BLAS included, above the CPUs if asked); without it a pool's own
    variable, then OMP_NUM_THREADS (first entry of a nested list); a bad value is an error naming it."""
    clean_env.setenv("OMP_NUM_THREADS", "3,1")
    assert threads.count("fftw", 1, cpus=16) == 3
    assert threads.count("blas", 1, cpus=16) == 3
    clean_env.setenv("OPENBLAS_NUM_THREADS", "2")
    clean_env.setenv("NUMBA_NUM_THREADS", "5")
    assert threads.count("blas", 1, cpus=16) == 2
    assert threads.count("numba", 1, cpus=16) == 5
    clean_env.setenv("MICROMAG_THREADS", "6")
    for pool in threads.POOLS:
        assert threads.count(pool, 1, cpus=2) == 6
        assert threads.explain(pool, 1, cpus=2) == (6, "set by MICROMAG_THREADS")
    clean_env.setenv("MICROMAG_THREADS", "zero")
    with pytest.raises(ValueError, match="MICROMAG_THREADS"):
        threads.count("fftw", 1)
    clean_env.setenv("MICROMAG_THREADS", "0")
    with pytest.raises(ValueError, match="MICROMAG_THREADS must be a whole number of threads >= 1"):
        threads.count("fftw", 1)
    clean_env.setenv("MICROMAG_THREADS", " ")  # empty: unset
    assert threads.count("fftw", 1, cpus=16) == 3


def _sp4_sim(nx=100, ny=25):
    sim = mm.Simulation(mm.Grid(n=(nx, ny, 1), cell=(500e-9 / nx, 125e-9 / ny, 3e-9)), mm.Permalloy(),
                        backend="cpu")
    sim.m = (1.0, 0.25, 0.1)
    return sim


@needs_tpc
def test_blas_single_threaded_while_stepping(clean_env, tmp_path):
    """Inside a run (a table column evaluated at every row) threadpoolctl reports BLAS on one thread, and
    after the run the previous count is back; relax and minimize are held the same way."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if not any(d["user_api"] == "blas" for d in threadpool_info()):
        pytest.skip("NumPy without a BLAS that threadpoolctl sees")
    with threadpool_limits(limits=2, user_api="blas"):
        sim = _sp4_sim(20, 5)
        seen = []
        sim.table_add("probe", "", lambda m, t: (seen.append(threads.blas_threads()), 0.0)[1])
        sim.run(5e-11, every=1e-11, progress=False, out=tmp_path)
        assert len(seen) >= 6 and all(v and set(v) == {1} for v in seen), seen
        assert set(threads.blas_threads()) == {2}  # restored
        inside = []
        sim.add(_Probe(sim.system, lambda: inside.append(threads.blas_threads())))
        sim.relax(tol_torque=1e-2, progress=False)
        sim.minimize(tol_torque=1e-2, progress=False)
        sim.step(2)
        assert inside and all(set(v) == {1} for v in inside)
        assert set(threads.blas_threads()) == {2}


class _Probe(mm.Term):
    """A field-free term that calls ``f`` at every field evaluation (to look inside the stepping loop)."""

    name = "probe"
    energy_rule = "linear"
    parameters = ()

    def __init__(self, system, f):
        super().__init__(system)
        self.f = f

    def add_field(self, m, t, B):
        self.f()

    def energy_density(self, m, t):
        return np.zeros((m.shape[0],) + m.shape[2:])


@needs_tpc
def test_user_thread_setting_wins_inside_a_run(clean_env, tmp_path):
    """MICROMAG_THREADS=2: BLAS runs on 2 threads inside the run too (the user's choice, not ours)."""
    from threadpoolctl import threadpool_info

    if not any(d["user_api"] == "blas" for d in threadpool_info()):
        pytest.skip("NumPy without a BLAS that threadpoolctl sees")
    clean_env.setenv("MICROMAG_THREADS", "2")
    sim = _sp4_sim(20, 5)
    seen = []
    sim.table_add("probe", "", lambda m, t: (seen.append(threads.blas_threads()), 0.0)[1])
    sim.run(2e-11, every=1e-11, progress=False, out=tmp_path)
    assert seen and all(set(v) == {2} for v in seen)


def test_numba_threads_follow_the_policy(clean_env, tmp_path):
    """The compiled kernels run on micromag.engine.threads' count: MICROMAG_THREADS=1 inside a run gives Numba one
    thread (the grid is large enough that the policy would otherwise take every CPU)."""
    numba = pytest.importorskip("numba")
    clean_env.setenv("MICROMAG_JIT", "1")
    clean_env.setenv("MICROMAG_THREADS", "1")
    sim = _sp4_sim(64, 16)
    seen = []
    sim.table_add("probe", "", lambda m, t: (seen.append(numba.get_num_threads()), 0.0)[1])
    sim.run(1e-11, every=5e-12, progress=False, out=tmp_path)
    assert seen[1:] and all(n == 1 for n in seen[1:])  # the first row comes before any kernel call


def test_numpy_path_selectable_and_reported(tmp_path):
    """MICROMAG_FFT=scipy, MICROMAG_JIT=0: the demag term runs on SciPy's FFT, the stepper without compiled
    kernels (numba never imported), the result equals the fast path's to round-off; `micromag info` names
    the path that runs."""
    code = ("import sys, numpy as np, micromag as mm\n"
            "sim = mm.Simulation(mm.Grid(n=(40, 10, 1), cell=(5e-9, 5e-9, 3e-9)), mm.Permalloy(), backend='cpu')\n"
            "sim.m = (1, 0.25, 0.1)\n"
            "sim.run(2e-11, progress=False)\n"
            "print(sim.terms['demag'].fft, 'numba' in sys.modules)\n"
            "np.save(sys.argv[1], sim.m)\n")
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS + ("MICROMAG_FFT", "MICROMAG_JIT")}
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(mm.__file__))] + sys.path)
    slow = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ref.npy")], capture_output=True, text=True,
                          env=dict(env, MICROMAG_FFT="scipy", MICROMAG_JIT="0"), check=True)
    assert slow.stdout.split() == ["scipy", "False"]
    fast = subprocess.run([sys.executable, "-c", code, str(tmp_path / "fast.npy")], capture_output=True, text=True,
                          env=dict(env, MICROMAG_JIT="1"), check=True)
    engine = fast.stdout.split()[0]
    assert np.abs(np.load(tmp_path / "fast.npy") - np.load(tmp_path / "ref.npy")).max() < 1e-9
    info = subprocess.run([sys.executable, "-m", "micromag.apps.cli", "info"], capture_output=True, text=True,
                          env=dict(env, MICROMAG_FFT="scipy", MICROMAG_JIT="0"), check=True).stdout
    assert "fft      scipy (the NumPy/SciPy path, chosen by MICROMAG_FFT=scipy)" in info
    assert "jit      off (MICROMAG_JIT=0" in info
    for pool in threads.POOLS:
        assert f"threads  {pool}" in info
    info = subprocess.run([sys.executable, "-m", "micromag.apps.cli", "info"], capture_output=True, text=True,
                          env=dict(env, MICROMAG_THREADS="3"), check=True).stdout
    assert f"fft      {engine}" in info and "threads  blas   3 (set by MICROMAG_THREADS)" in info


def test_blocked_demag_does_not_wait_for_a_descheduled_thread(monkeypatch):
    """The large-grid demag engine's helper thread is held up (here: its pool is kept busy, as a descheduled
    thread on a loaded machine would be): the call still finishes, on the caller's thread alone, with the
    reference field -- the phases wait for work to be done, not for every thread to arrive."""
    import threading

    pytest.importorskip("numba")
    from micromag.engine.terms import demag as demag_mod

    if demag_mod.fft_engine("auto") != "fftw":
        pytest.skip("pyfftw not installed")
    monkeypatch.setenv("MICROMAG_JIT", "1")
    monkeypatch.setattr(demag_mod, "_CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(demag_mod, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(demag_mod, "_THREADS", 2)
    grid = mm.Grid(n=(12, 10, 3), cell=(3e-9, 4e-9, 5e-9))
    system = mm.System(grid, material=mm.Material(Ms=8e5, A=1e-11))
    fast, ref = demag_mod.Demag(system, fft="fftw"), demag_mod.Demag(system, fft="scipy")
    pipe = fast._fftw_pipeline(1)
    assert len(pipe.workers) == 2 and pipe.nblk > 1
    m = np.random.default_rng(1).normal(size=(1, 3) + grid.shape)
    fast.add_field(m, None, np.zeros_like(m))  # compiled kernels loaded (minutes on a busy machine's first run)
    release = threading.Event()
    blocker = pipe.pool.submit(release.wait, 300)  # the only helper thread is busy elsewhere
    try:
        Bf, Br = np.zeros_like(m), np.zeros_like(m)
        done = threading.Event()

        def call():
            fast.add_field(m, None, Bf)
            done.set()

        t = threading.Thread(target=call, daemon=True)
        t.start()
        assert done.wait(120), "the convolution waited for the busy helper thread"
        ref.add_field(m, None, Br)
        assert np.abs(Bf - Br).max() <= 1e-13 * np.abs(Br).max()
    finally:
        release.set()
        blocker.result(timeout=300)
    Bf2 = np.zeros_like(m)  # and once the helper is back, it takes its share again
    fast.add_field(m, None, Bf2)
    assert np.abs(Bf2 - Br).max() <= 1e-13 * np.abs(Br).max()


def test_default_install_has_the_fast_path():
    """`pip install .` brings FFTW, Numba and threadpoolctl (the README's figures are those of the default
    install); the pure NumPy/SciPy path stays selectable (test_numpy_path_selectable_and_reported)."""
    from pathlib import Path

    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    pyproject = Path(mm.__file__).resolve().parent.parent / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("an installed micromag without its pyproject.toml")
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split(";")[0].strip().lower() for d in deps}
    assert {"pyfftw", "numba", "threadpoolctl"} <= names
