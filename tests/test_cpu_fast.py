"""The fast CPU path (issue 14): the RK5(4)7FC/FS tableaux, their order and stability, the step they take on
a stiff film, and the FFTW demag engine against the SciPy (pocketfft) reference."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.constants import mu0
from micromag.engine.integrators import Stepper, get_tableau, growth_factor, stability_limit
from micromag.engine.terms import demag as demag_mod
from micromag.engine.terms.demag import Demag, fft_engine

GAMMA0 = 2.211e5
GAMMA = GAMMA0 / mu0


# ------------------------------------------------------------------------------------------ tableaux
@pytest.mark.parametrize("name", ["rk45", "rkf54", "rkf54s"])
def test_tableau_order_conditions(name):
    """The 17 order conditions of order 5 hold for the propagated weights b and the 8 of order 4 for the
    embedded weights b − e (Butcher's rooted trees up to order 5, written with A, c and b), to round-off."""
    tab = get_tableau(name)
    s = tab.stages
    A = np.zeros((s, s))
    for i, row in enumerate(tab.a):
        A[i, :len(row)] = row
    c = np.asarray(tab.c)
    np.testing.assert_allclose(A.sum(axis=1), c, atol=1e-15)  # row sums are the nodes

    def conditions(b):
        Ac, Ac2, Ac3 = A @ c, A @ c**2, A @ c**3
        return [
            (b.sum(), 1), (b @ c, 1 / 2),
            (b @ c**2, 1 / 3), (b @ Ac, 1 / 6),
            (b @ c**3, 1 / 4), (b @ (c * Ac), 1 / 8), (b @ Ac2, 1 / 12), (b @ (A @ Ac), 1 / 24),
            (b @ c**4, 1 / 5), (b @ (c**2 * Ac), 1 / 10), (b @ (c * Ac2), 1 / 15), (b @ (c * (A @ Ac)), 1 / 30),
            (b @ (Ac * Ac), 1 / 20), (b @ Ac3, 1 / 20), (b @ (A @ (c * Ac)), 1 / 40), (b @ (A @ Ac2), 1 / 60),
            (b @ (A @ (A @ Ac)), 1 / 120),
        ]

    b = np.asarray(tab.b)
    for got, want in conditions(b):
        assert got == pytest.approx(want, abs=1e-14)
    bhat = b - np.asarray(tab.e)
    for got, want in conditions(bhat)[:8]:
        assert got == pytest.approx(want, abs=1e-14)
    # and the embedded solution is not itself of order 5 (else the error estimate would vanish)
    assert max(abs(g - w) for g, w in conditions(bhat)[8:]) > 1e-4
    assert tab.fsal and np.allclose(A[-1, :-1], b[:-1]) and b[-1] == 0


def test_stability_limits_of_the_damped_precession():
    """|R(z)| on the eigenvalue of a damped precession, z = ρ(−α + i)/√(1 + α²): the boundary ρ of each pair
    at α = 0.02 (SP4), checked against the growth factor evaluated directly on both sides of it."""
    u = complex(-0.02, 1.0) / math.sqrt(1 + 0.02**2)
    want = {"rk45": 2.08, "rkf54": 3.39, "rkf54s": 3.61}
    for name, rho in want.items():
        lim = stability_limit(name, 0.02)
        assert lim == pytest.approx(rho, abs=0.01)
        assert growth_factor(name, 0.98 * lim * u) <= 1.0
        assert growth_factor(name, 1.02 * lim * u) > 1.0
    # the FS pair keeps its boundary for weak damping, where RK45 and FC lose half of theirs
    assert stability_limit("rkf54s", 0.005) > 3.5
    assert stability_limit("rk45", 0.005) < 1.8 and stability_limit("rkf54", 0.005) < 1.9


def _macrospin(integrator, dt):
    grid = mm.Grid(n=(1, 1, 1), cell=(5e-9, 5e-9, 5e-9))
    mat = mm.Material(Ms=8e5, A=0.0, alpha=0.1, gamma=GAMMA)
    sim = mm.Simulation(grid, material=mat, demag=False, integrator=integrator, dt=dt, backend="cpu")
    sim.m = (1, 0, 0)
    sim.B_ext = (0, 0, mu0 * 1e5)
    return sim


def _exact(t, alpha=0.1, H0=1e5):
    beta = GAMMA0 * H0 * t / (1 + alpha**2)
    return np.array([np.cos(beta) / np.cosh(alpha * beta), np.sin(beta) / np.cosh(alpha * beta),
                     np.tanh(alpha * beta)])


@pytest.mark.parametrize("name", ["rkf54", "rkf54s"])
def test_fixed_step_convergence_is_fifth_order(name):
    """Fixed steps on the damped macrospin (closed form): the error falls by 2^5 per halving of dt (the
    renormalization after each step keeps the order); 0.4 of slack for the pre-asymptotic first pair."""
    T = 0.2e-9
    errs = []
    for nsteps in (10, 20, 40):
        dt = T / nsteps
        sim = _macrospin(name, dt)
        st = Stepper(sim.llg, name, sim._shape, dt=dt, fixed=True)
        m, t = sim.m, np.zeros(1)
        for _ in range(nsteps):
            st.step(m, t)
        sim.m = m
        errs.append(np.abs(sim.m_avg - _exact(T)).max())
    rates = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert errs[-1] < 1e-8, errs
    assert all(abs(r - 5) < 0.4 for r in rates), (errs, rates)


def test_fs_pair_takes_longer_steps_on_a_stiff_film():
    """On an exchange-stiff film (2 nm cells, α = 0.02) the adaptive step sits at the stability boundary:
    the FS pair's step exceeds RK45's by about the ratio of their boundaries (3.61 / 2.08 = 1.7; at least
    1.4 asked), and both end at the same state (to 1e-6: each is accurate far beyond that here)."""
    res = {}
    for name in ("rk45", "rkf54s"):
        grid = mm.Grid(n=(32, 8, 1), cell=(2e-9, 2e-9, 2e-9))
        mat = mm.Material(Ms=8e5, A=1.3e-11, alpha=0.02, gamma=GAMMA)
        sim = mm.Simulation(grid, material=mat, integrator=name, tol=1e-6, backend="cpu")
        sim.m = (1, 0.3, 0.1)
        sim.run(5e-12, progress=False)  # the controller settles
        n0 = sim.llg.nevals
        sim.run(20e-12, progress=False)
        res[name] = (sim.llg.nevals - n0, sim.m_avg.copy())
    assert res["rk45"][0] / res["rkf54s"][0] > 1.4, res
    assert np.abs(res["rk45"][1] - res["rkf54s"][1]).max() < 1e-6


# ------------------------------------------------------------------------------------------ FFT engines
needs_fftw = pytest.mark.skipif(demag_mod._pyfftw is None, reason="pyfftw is not installed")


def _have_numba():
    from micromag.engine import _jit

    return _jit._numba() is not None


needs_numba = pytest.mark.skipif(not _have_numba(), reason="numba is not installed")


def _assert_same_field(ref, fast, grid, nb):
    """The two Demag engines give the same field of a random m (batch ``nb``) to 1e-13 of its scale, also on
    a repeated call (work arrays whose zero padding must survive)."""
    m = np.random.default_rng(nb).normal(size=(nb, 3) + grid.shape)
    Br, Bf = np.zeros_like(m), np.zeros_like(m)
    ref.add_field(m, None, Br)
    for _ in range(2):
        Bf.fill(0.0)
        fast.add_field(m, None, Bf)
    assert np.abs(Bf - Br).max() <= 1e-13 * np.abs(Br).max()


@needs_fftw
@pytest.mark.parametrize("n, pbc", [((40, 12, 1), (0, 0, 0)), ((9, 7, 4), (0, 0, 0)), ((1, 1, 1), (0, 0, 0)),
                                    ((8, 1, 5), (0, 0, 0)), ((12, 10, 3), (1, 0, 0)), ((1, 12, 6), (0, 0, 0)),
                                    ((10, 10, 1), (0, 1, 0))])
def test_fftw_demag_equals_scipy(n, pbc):
    """Both engines compute the same convolution: equal to round-off (1e-13 of the field scale), for films,
    3D grids, single rows and periodic axes, with one and three members, and on repeated calls (the
    buffers' zero padding survives)."""
    grid = mm.Grid(n=n, cell=(3e-9, 4e-9, 5e-9), pbc=pbc)
    system = mm.System(grid, material=mm.Material(Ms=8e5, A=1e-11))
    ref, fast = Demag(system, fft="scipy"), Demag(system, fft="fftw")
    assert (ref.fft, fast.fft) == ("scipy", "fftw")
    for nb in (1, 3):
        _assert_same_field(ref, fast, grid, nb)
    # the backend interface: the same spectra either way (each engine transforms the kernel itself: to round-off)
    for k, v in ref.kernel_spectra().items():
        assert np.abs(fast.kernel_spectra()[k] - v).max() <= 1e-14 * np.abs(v).max()


@needs_fftw
@pytest.mark.parametrize("jit", ["1", "0"])
@pytest.mark.parametrize("n, pbc", [((40, 12, 1), (0, 0, 0)), ((9, 7, 4), (0, 0, 0)), ((8, 1, 5), (0, 0, 0)),
                                    ((12, 10, 3), (1, 0, 0)), ((6, 9, 5), (0, 1, 1)), ((10, 10, 1), (0, 1, 0)),
                                    ((5, 6, 7), (0, 0, 0))])
def test_chunked_fftw_demag_equals_scipy(n, pbc, jit, monkeypatch):
    """The large-grid engine (blocks of x frequencies on threads, the compiled product with the
    symmetry-reduced kernel; with MICROMAG_JIT=0 the unblocked pipeline instead), forced onto small grids
    with small blocks and short row chunks (a shorter last chunk included): equal to the SciPy reference to
    round-off, for films, 3D grids, odd and periodic axes (odd padded lengths), batches of one and three,
    on repeated calls."""
    monkeypatch.setenv("MICROMAG_JIT", jit)
    monkeypatch.setattr(demag_mod, "_CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(demag_mod, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(demag_mod, "_CHUNK_MIN_COLUMNS", 2)
    monkeypatch.setattr(demag_mod, "_ROW_CHUNK_BYTES", 3 * 8 * 2 * n[0])  # 3 rows a chunk: a short last one
    grid = mm.Grid(n=n, cell=(3e-9, 4e-9, 5e-9), pbc=pbc)
    system = mm.System(grid, material=mm.Material(Ms=8e5, A=1e-11))
    ref, fast = Demag(system, fft="scipy"), Demag(system, fft="fftw")
    for nb in (1, 3):
        pipe = fast._fftw_pipeline(nb)
        if jit == "1" and _have_numba():
            assert isinstance(pipe, demag_mod._ChunkedFFTW) and pipe.nblk > 1
        else:  # the blocked engine's product is compiled: without numba, the unblocked pipeline
            assert isinstance(pipe, demag_mod._FFTWPipeline)
        _assert_same_field(ref, fast, grid, nb)


@needs_fftw
@needs_numba
def test_chunked_fftw_error_in_a_thread_is_raised_not_hung(monkeypatch):
    """A failure inside a block thread (here: a transform that raises, in whichever thread takes a block)
    reaches the caller as that error; the other threads, waiting for the phase to finish, are released
    instead of hanging, and the next call works again."""
    monkeypatch.setenv("MICROMAG_JIT", "1")
    monkeypatch.setattr(demag_mod, "_CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(demag_mod, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(demag_mod, "_THREADS", 2)  # two block threads sharing the work, on any machine
    grid = mm.Grid(n=(12, 10, 3), cell=(3e-9, 4e-9, 5e-9))
    system = mm.System(grid, material=mm.Material(Ms=8e5, A=1e-11))
    fast, ref = Demag(system, fft="fftw"), Demag(system, fft="scipy")
    pipe = fast._fftw_pipeline(1)
    assert len(pipe.workers) == 2
    m = np.random.default_rng(0).normal(size=(1, 3) + grid.shape)
    good = [w["fwd"][0] for w in pipe.workers]

    def broken():
        raise MemoryError("injected")

    for w in pipe.workers:  # blocks go to whichever thread is free: break the transform in each
        w["fwd"][0] = broken
    with pytest.raises(MemoryError, match="injected"):
        fast.add_field(m, None, np.zeros_like(m))
    for w, g in zip(pipe.workers, good):
        w["fwd"][0] = g
    Bf, Br = np.zeros_like(m), np.zeros_like(m)
    fast.add_field(m, None, Bf)
    ref.add_field(m, None, Br)
    assert np.abs(Bf - Br).max() <= 1e-13 * np.abs(Br).max()


def test_import_sets_passive_openmp_unless_set():
    """``import micromag`` makes OpenMP workers sleep between parallel regions (spinning ones steal a small
    machine's cores from the demag threads), and leaves a user's own choice alone."""
    import os
    import subprocess
    import sys

    code = "import os, micromag; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env=dict(env, OMP_WAIT_POLICY="active"), capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "active"


def test_kernel_parity_check_catches_a_wrong_sign():
    """The reduced kernel storage relies on each spectrum's parity along y and z; a spectrum without it is
    refused (the check is what makes the storage safe, so it must be able to fail)."""
    k = np.random.default_rng(0).normal(size=(4, 6, 3))
    with pytest.raises(RuntimeError, match="parity"):
        demag_mod._check_parity(k, (1, 1, 1), "xx")
    even = k + k[:, (-np.arange(6)) % 6]
    even = even + even[(-np.arange(4)) % 4]
    demag_mod._check_parity(even, (1, 1, 1), "xx")
    with pytest.raises(RuntimeError, match="along y"):
        demag_mod._check_parity(even, (-1, -1, 1), "xy")


def test_fft_engine_choice(monkeypatch):
    monkeypatch.delenv("MICROMAG_FFT", raising=False)
    assert fft_engine("scipy") == "scipy"
    assert fft_engine("auto") == ("fftw" if demag_mod._pyfftw is not None else "scipy")
    monkeypatch.setenv("MICROMAG_FFT", "scipy")
    assert fft_engine() == "scipy"
    monkeypatch.setenv("MICROMAG_FFT", "fast")
    with pytest.raises(ValueError, match="MICROMAG_FFT"):
        fft_engine()
    with pytest.raises(ValueError, match="fft must be"):
        fft_engine("mkl")
    monkeypatch.setattr(demag_mod, "_pyfftw", None)
    with pytest.raises(ValueError, match="pyfftw"):
        fft_engine("fftw")
    monkeypatch.delenv("MICROMAG_FFT")
    assert fft_engine() == "scipy"  # auto without pyfftw


# ------------------------------------------------------------------------------------------ compiled kernels


@needs_numba
def test_compiled_kernels_follow_the_numpy_reference(monkeypatch):
    """With MICROMAG_JIT=1 (Numba: fused exchange stencil, LLG, stage combinations, error norm,
    normalization) the right-hand side (with and without precession) and the exchange field equal the
    NumPy reference to round-off (1e-13 of their scale), and a run takes the same steps and ends at the
    same state to round-off amplified by ~60 steps of a random, strongly exchange-driven state (1e-10)."""
    res = {}
    m0 = np.random.default_rng(3).normal(size=(2, 3, 3, 10, 12))
    for flag in ("1", "0"):
        monkeypatch.setenv("MICROMAG_JIT", flag)
        grid = mm.Grid(n=(12, 10, 3), cell=(3e-9, 4e-9, 5e-9))
        sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.02, gamma=GAMMA), backend="cpu",
                            batch=2)
        assert sim.llg._jit == (flag == "1") and (sim.terms["exchange"]._jit_k is not None) == (flag == "1")
        sim.m = m0
        sim.B_ext = (-24.6e-3, 4.3e-3, 0.0)
        m, t = np.array(sim.m), np.zeros(2)
        rhs = []
        for precession in (True, False):
            sim.llg.precession = precession
            out = np.empty_like(m)
            sim.llg(m, t, out)
            rhs.append(out)
        sim.llg.precession = True
        ex = sim.terms["exchange"].field(m)
        sim.run(10e-12, progress=False)
        res[flag] = (rhs, ex, np.array(sim.m), sim.llg.nevals)
    for a, b in zip(res["1"][0], res["0"][0]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * np.abs(b).max())
    np.testing.assert_allclose(res["1"][1], res["0"][1], rtol=0, atol=1e-13 * np.abs(res["0"][1]).max())
    np.testing.assert_allclose(res["1"][2], res["0"][2], rtol=0, atol=1e-10)
    assert res["1"][3] == res["0"][3]


@needs_numba
def test_compiled_error_norm_keeps_nan(monkeypatch):
    """A NaN anywhere in a stage makes the error estimate NaN (the stepper's guard contract)."""
    from micromag.engine._jit import kernels

    K = np.zeros((3, 2, 3 * 5000))
    K[1, 1, 3 * 5000 - 7] = np.nan
    K[0, 0, 10] = 2.0
    err = kernels()["err_max"](K, np.ones((2, 3)), 3, 5000)
    assert err[0] == pytest.approx(2.0) and np.isnan(err[1])


@needs_numba
@pytest.mark.parametrize("add_m", [True, False])
def test_compiled_stage_sums_equal_numpy_bit_for_bit(add_m):
    """The stepper's compiled sums (next stage's input, error norm) against the same sums in NumPy, in the
    same order (bitwise), for every stage count, two members with their own weights and a length that is
    no whole number of the kernels' blocks."""
    from micromag.engine._jit import kernels

    rng = np.random.default_rng(3)
    s, B, ncell = 7, 2, 5000
    K = rng.standard_normal((s, B, 3 * ncell))
    m = rng.standard_normal((B, 3 * ncell))
    w = rng.standard_normal((B, s))
    for n in range(s + 1):
        out = np.full((B, 3 * ncell), np.nan)
        kernels()["combine"](K, w, n, m, out, add_m)
        ref = m.copy() if add_m else np.zeros_like(m)
        for j in range(n):
            ref = ref + w[:, j, None] * K[j]
        assert np.array_equal(out, ref), n
    assert np.array_equal(kernels()["err_max"](K, w, 0, ncell), np.zeros(B))
    for n in range(1, s + 1):
        acc = w[:, 0, None] * K[0]
        for j in range(1, n):
            acc = acc + w[:, j, None] * K[j]
        ref = np.sqrt((acc.reshape(B, 3, ncell) ** 2).sum(axis=1).max(axis=1))
        np.testing.assert_allclose(kernels()["err_max"](K, w, n, ncell), ref, rtol=1e-15)


@needs_numba
def test_numba_blas_check_deferred_not_lost():
    """Loading the kernels does not import scipy.linalg (Numba's BLAS check, 0.2 s of every start), and a
    user's own Numba kernel with np.dot in the same process still gets SciPy's BLAS (a fresh interpreter)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from micromag.engine import _jit\n"
        "k = _jit.kernels(); a = np.zeros((1, 3, 1, 1, 2)); k['exchange_uniform'](a, np.zeros_like(a), 0., 0., 0.)\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "import numba.np.arraymath as am, numba.np.linalg as nl\n"
        "assert am.ensure_blas is nl.ensure_blas and nl.ensure_blas.__name__ == 'ensure_blas'\n"
        "import numba\n"
        "f = numba.njit(lambda x, y: np.dot(x, y))\n"
        "assert f(np.eye(2), np.full((2, 2), 3.0)).sum() == 12.0\n"
        "print('scipy.linalg' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MICROMAG_JIT": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"


def test_jit_mode_names_the_variable(monkeypatch):
    from micromag.engine import _jit

    monkeypatch.setenv("MICROMAG_JIT", "maybe")
    with pytest.raises(ValueError, match="MICROMAG_JIT"):
        _jit.mode()
    monkeypatch.setenv("MICROMAG_JIT", "0")
    assert not _jit.wanted(10**7)
    monkeypatch.setenv("MICROMAG_JIT", "auto")
    assert not _jit.wanted(_jit.MIN_CELLS - 1)


@needs_numba
def test_warm_up_runs_in_the_background_and_only_where_wanted(monkeypatch):
    """``_jit.warm_up`` starts numba in a background thread for grids that will use it (and not otherwise);
    kernels called meanwhile wait for it and give the NumPy reference's numbers."""
    from micromag.engine import _jit

    monkeypatch.setitem(_jit._STATE, "warm", None)
    monkeypatch.setenv("MICROMAG_JIT", "auto")
    _jit.warm_up(_jit.MIN_CELLS - 1)
    assert _jit._STATE["warm"] is None  # too small a grid: nothing started
    monkeypatch.setenv("MICROMAG_JIT", "0")
    _jit.warm_up(10**6)
    assert _jit._STATE["warm"] is None
    monkeypatch.setenv("MICROMAG_JIT", "1")
    _jit.warm_up(10)
    thread = _jit._STATE["warm"]
    assert thread is not None
    m = np.random.default_rng(0).normal(size=(1, 3, 2, 3, 4))
    B = np.random.default_rng(1).normal(size=m.shape)
    cp, cd = np.full(m.shape[2:], -2.0), np.full(m.shape[2:], -0.5)
    out = np.empty_like(m)
    _jit.kernels()["llg"](m, B, cp, cd, out)  # may run while the warm-up still holds the lock
    mb = np.einsum("bc...,bc...->b...", m, B)[:, None]
    ref = cp * np.cross(m, B, axis=1) + cd * (m * mb - B)
    assert np.abs(out - ref).max() <= 1e-14 * np.abs(ref).max()
    thread.join(timeout=60)
    assert not thread.is_alive()


@needs_numba
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="os.fork exists on POSIX only")
def test_fork_during_warm_up_does_not_hang_the_child():
    """A process that forks while numba is still starting in the background (a user's multiprocessing pool
    right after building a Simulation) waits for the warm-up first: the child does not inherit a held lock."""
    import subprocess
    import sys

    code = """
import os, signal, sys, time, numpy as np
from micromag.engine import _jit
os.environ["MICROMAG_JIT"] = "1"
_jit.warm_up(10**6)
time.sleep(0.05)  # the warm-up is under way (importing numba, holding its locks)
pid = os.fork()
if pid == 0:
    signal.alarm(60)  # a hung child is killed (exit status -14) instead of hanging the test
    _jit.serial_kernels()["demag_product"](np.zeros((1, 3, 1, 2)), np.zeros((4, 1, 1)))
    os._exit(0)  # (numba's OpenMP layer itself refuses parallel kernels in a forked child: use spawn)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
