"""Optional compiled kernels (Numba) for the CPU backend's memory-bound passes on large grids.

The NumPy code in :mod:`micromag.engine.llg`, :mod:`micromag.engine.terms.exchange` and :mod:`micromag.engine.integrators` is the
reference; each kernel here computes the same thing in one fused pass over the arrays, on all cores
(``numba.prange``), where NumPy makes one pass per operation on one core. They agree with the NumPy
path to round-off (tests/test_cpu_fast.py).

Used when ``numba`` imports and the grid is large enough for the fused passes to pay for Numba's start-up
(~0.3 s import, ~0.1 s to load the cached machine code): ``MICROMAG_JIT`` = "auto" (default: grids of at
least :data:`MIN_CELLS` cells), "1" (always, where numba imports), "0" (never: the pure NumPy path). The
machine code is cached next to this file (``cache=True``) after the first compilation (a few seconds, once).
Each call runs on the thread count :func:`micromag.engine.threads.count` ("numba", values swept) chooses.
"""
from __future__ import annotations

import os
import threading

MIN_CELLS = 32768

_STATE = {"numba": None, "kernels": None}
_BUILD = threading.RLock()  # one thread builds (or loads) the kernels; the warm-up thread and the solver may race


def _numba():
    if _STATE["numba"] is not None:
        return _STATE["numba"] or None
    with _BUILD:
        return _import_numba()


def _import_numba():
    if _STATE["numba"] is None:
        try:
            import numba  # noqa: F401

            try:
                _defer_blas_check()
            except Exception:  # noqa: BLE001 - a Numba without this layout: its own check runs, nothing else changes
                pass
            _STATE["numba"] = numba
        except Exception:  # noqa: BLE001 - any import failure means "not available"
            _STATE["numba"] = False
    return _STATE["numba"] or None


def _defer_blas_check():
    """Numba's first compilation or cache load imports ``numba.np.arraymath``, which checks for a BLAS by
    importing ``scipy.linalg`` (0.2 s of every large-grid run's start: the kernels here call no BLAS). The
    check is answered without that import (SciPy is a dependency of micromag, so the answer, yes, is the
    same), and Numba's own check is put back at once for any later caller (a kernel with np.dot still
    imports it when compiled)."""
    import importlib
    import sys

    if "numba.np.arraymath" in sys.modules:
        return
    import numba.np.linalg as linalg

    check = linalg.ensure_blas
    linalg.ensure_blas = lambda: None
    try:
        arraymath = importlib.import_module("numba.np.arraymath")
    finally:
        linalg.ensure_blas = check
    if hasattr(arraymath, "ensure_blas"):  # its own name for it, bound during the import
        arraymath.ensure_blas = check


def mode():
    """The ``MICROMAG_JIT`` setting: "auto", "on" or "off" (ValueError naming the variable otherwise)."""
    v = os.environ.get("MICROMAG_JIT", "auto").strip().lower() or "auto"
    if v in ("auto",):
        return "auto"
    if v in ("1", "on", "true", "yes"):
        return "on"
    if v in ("0", "off", "false", "no"):
        return "off"
    raise ValueError(f"MICROMAG_JIT must be 'auto', '1' or '0', got {v!r}")


def installed():
    """Whether numba is there to import, without importing it (~0.3 s, which :func:`warm_up` does in the
    background while a simulation is set up); after an import, whether it succeeded."""
    if _STATE["numba"] is not None:
        return bool(_STATE["numba"])
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def wanted(ncells):
    """Whether a grid of ``ncells`` cells uses the compiled kernels (and numba is installed)."""
    m = mode()
    if m == "off" or (m == "auto" and ncells < MIN_CELLS):
        return False
    return installed()


def warm_up(ncells):
    """Where a grid of ``ncells`` cells will use the compiled kernels: import numba and start its parallel
    runtime (~0.5 s on a 2-core machine, most of it the first parallel call) in a background thread, so that
    it overlaps the set-up of the terms (Newell tensor, FFT plans) instead of adding to it. Returns at once;
    the first real kernel call waits for it (the kernels' lock)."""
    if mode() == "off" or (mode() == "auto" and ncells < MIN_CELLS) or _STATE.get("warm") is not None:
        return

    def run():
        try:
            if _numba() is None:
                return
            import numpy as np

            k = kernels()
            a = np.zeros((1, 3, 1, 1, 2))
            k["exchange_uniform"](a, np.zeros_like(a), 0.0, 0.0, 0.0)  # loads the parallel runtime
            serial_kernels()["demag_product"](np.zeros((1, 3, 1, 2)), np.zeros((4, 1, 1)))  # and this one's code
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first real call pays for it
            pass

    # not a daemon: an interpreter that ends meanwhile waits for it rather than tearing numba down mid-import
    _STATE["warm"] = threading.Thread(target=run, name="micromag-jit-warm-up")
    _STATE["warm"].start()


def _join_warm_up():
    """Before a fork: let the warm-up finish, so that no lock (ours, the import system's, numba's) is copied
    into the child held by a thread that does not exist there (the child would hang on it)."""
    t = _STATE.get("warm")
    if t is not None and t.is_alive() and t is not threading.current_thread():
        t.join(timeout=60)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_join_warm_up)


def kernels():
    """The compiled kernels (compiled, or loaded from the cache, on first use). Each call holds a process-wide
    lock: Numba's default thread pool must not be entered by two Python threads at once (simulations run
    in threads, e.g. by a threaded sweep, take turns on the cores instead)."""
    if _STATE["kernels"] is None:
        with _BUILD:
            if _STATE["kernels"] is None:
                lock = threading.Lock()
                from .threads import set_numba_threads

                def locked(name, f):
                    # the work of one call: values of one array the kernel sweeps (of one stage for the
                    # stage sums), which sets the kernel's thread count (micromag.engine.threads)
                    staged = name in ("combine", "err_max")
                    first = [True]

                    def call(*a):
                        with lock:
                            set_numba_threads(a[0][0].size if staged else a[0].size)
                            out = f(*a)
                            if first[0]:  # the first call loaded the compiled code: its objects too
                                first[0] = False
                                _freeze_gc()
                            return out
                    return call

                _STATE["kernels"] = {k: locked(k, f) for k, f in _build().items()}
    return _STATE["kernels"]


def _freeze_gc():
    """At the first call of each compiled kernel (a run's first steps, after the serial demag product's first
    call too): move every object alive now (numba's type system and dispatchers: ~10⁵ objects) out of the
    cyclic garbage collector's reach (``gc.freeze``). They live as long as the process; without this, each full
    collection walks them, and the collections of the interpreter's shutdown took 0.35 s of every run's
    wall time (measured: 0.37 s → 0.03 s at exit). Reference counting still frees them all. Only from the
    main thread (where a script's simulation runs), never from the warm-up or a worker thread."""
    import gc

    if threading.current_thread() is threading.main_thread():
        gc.freeze()


def _build():
    nb_ = _numba()
    if nb_ is None:
        raise RuntimeError("numba is not available")
    import numpy as np

    njit, prange = nb_.njit, nb_.prange
    opts = dict(parallel=True, cache=True, fastmath=False, nogil=True)

    @njit(**opts)
    def exchange_uniform(m, B, kx, ky, kz):
        """B += Σ_faces k_axis (m_neighbour − m) on the 6-neighbour stencil, free boundaries (B, m:
        (nb, 3, nz, ny, nx)); k_axis in T (2 A / (Ms d²)); an axis with k = 0 or one cell is skipped."""
        nbm, _, nz, ny, nx = m.shape
        for r in prange(nbm * nz * ny):
            b = r // (nz * ny)
            z = (r // ny) % nz
            y = r % ny
            for c in range(3):
                row = m[b, c, z, y]
                out = B[b, c, z, y]
                for x in range(nx):
                    v = row[x]
                    acc = 0.0
                    if kx != 0.0:
                        if x > 0:
                            acc += kx * (row[x - 1] - v)
                        if x < nx - 1:
                            acc += kx * (row[x + 1] - v)
                    if ky != 0.0:
                        if y > 0:
                            acc += ky * (m[b, c, z, y - 1, x] - v)
                        if y < ny - 1:
                            acc += ky * (m[b, c, z, y + 1, x] - v)
                    if kz != 0.0:
                        if z > 0:
                            acc += kz * (m[b, c, z - 1, y, x] - v)
                        if z < nz - 1:
                            acc += kz * (m[b, c, z + 1, y, x] - v)
                    out[x] += acc

    @njit(**opts)
    def llg(m, B, cp, cd, out):
        """out = cp (m × B) + cd (m (m·B) − B) per cell; cp, cd (nz, ny, nx)."""
        nbm, _, nz, ny, nx = m.shape
        for r in prange(nbm * nz * ny):
            b = r // (nz * ny)
            z = (r // ny) % nz
            y = r % ny
            for x in range(nx):
                mx, my, mz = m[b, 0, z, y, x], m[b, 1, z, y, x], m[b, 2, z, y, x]
                bx, by, bz = B[b, 0, z, y, x], B[b, 1, z, y, x], B[b, 2, z, y, x]
                p, d = cp[z, y, x], cd[z, y, x]
                mb = mx * bx + my * by + mz * bz
                out[b, 0, z, y, x] = p * (my * bz - mz * by) + d * (mx * mb - bx)
                out[b, 1, z, y, x] = p * (mz * bx - mx * bz) + d * (my * mb - by)
                out[b, 2, z, y, x] = p * (mx * by - my * bx) + d * (mz * mb - bz)

    @njit(**opts)
    def llg_relax(m, B, cr, out):
        """out = cr (m (m·B) − B) per cell (the precession-free form)."""
        nbm, _, nz, ny, nx = m.shape
        for r in prange(nbm * nz * ny):
            b = r // (nz * ny)
            z = (r // ny) % nz
            y = r % ny
            for x in range(nx):
                mx, my, mz = m[b, 0, z, y, x], m[b, 1, z, y, x], m[b, 2, z, y, x]
                bx, by, bz = B[b, 0, z, y, x], B[b, 1, z, y, x], B[b, 2, z, y, x]
                q = cr[z, y, x]
                mb = mx * bx + my * by + mz * bz
                out[b, 0, z, y, x] = q * (mx * mb - bx)
                out[b, 1, z, y, x] = q * (my * mb - by)
                out[b, 2, z, y, x] = q * (mz * mb - bz)

    @njit(**opts)
    def combine(K, w, n, m, out, add_m):
        """out[b] = (m[b] if add_m) + Σ_{j<n} w[b, j] K[j, b], flat (nb, N) views; w (nb, s). Streamed stage
        by stage over blocks that stay in L1 (contiguous loops the compiler vectorizes: a loop over the
        stages inside the loop over elements ran scalar, at half the speed); the sum's order is the same.
        ``out`` may be ``m`` but no stage K[1:n] (a block of out is written before those stages are read)."""
        nbm, N = out.shape
        chunk = 2048
        nchunk = (N + chunk - 1) // chunk
        for r in prange(nbm * nchunk):
            b = r // nchunk
            lo = (r % nchunk) * chunk
            hi = min(lo + chunk, N)
            o = out[b, lo:hi]
            if n == 0:
                for i in range(hi - lo):
                    o[i] = m[b, lo + i] if add_m else 0.0
                continue
            w0, k0 = w[b, 0], K[0, b, lo:hi]
            if add_m:
                mb = m[b, lo:hi]
                for i in range(hi - lo):
                    o[i] = mb[i] + w0 * k0[i]
            else:
                for i in range(hi - lo):
                    o[i] = w0 * k0[i]
            for j in range(1, n):
                wj, kj = w[b, j], K[j, b, lo:hi]
                for i in range(hi - lo):
                    o[i] += wj * kj[i]

    @njit(**opts)
    def err_max(K, w, n, ncell):
        """max over cells of |Σ_{j<n} w[b, j] K[j, b, c, cell]| per member, from flat (s, nb, 3·ncell) stages;
        NaN anywhere gives NaN (the stepper rejects a non-finite error). Streamed stage by stage over a block
        of cells (contiguous, vectorized passes), the block's sums kept in a small buffer."""
        nbm = K.shape[1]
        chunk = 2048
        nchunk = (ncell + chunk - 1) // chunk
        part = np.zeros((nbm, nchunk))
        for r in prange(nbm * nchunk):
            if n == 0:  # no stage: the sum is zero
                continue
            b = r // nchunk
            lo = (r % nchunk) * chunk
            hi = min(lo + chunk, ncell)
            L = hi - lo
            acc = np.empty((3, chunk))
            for c in range(3):
                base = c * ncell
                a = acc[c]
                w0, k0 = w[b, 0], K[0, b, base + lo:base + hi]
                for i in range(L):
                    a[i] = w0 * k0[i]
                for j in range(1, n):
                    wj, kj = w[b, j], K[j, b, base + lo:base + hi]
                    for i in range(L):
                        a[i] += wj * kj[i]
            a0, a1, a2 = acc[0], acc[1], acc[2]
            mx = 0.0
            nan = False
            for i in range(L):  # no early exit: a NaN is remembered, not searched for
                s2 = a0[i] * a0[i] + a1[i] * a1[i] + a2[i] * a2[i]
                mx = max(mx, s2)
                nan |= s2 != s2
            part[b, r % nchunk] = np.nan if nan else mx
        res = np.zeros(nbm)
        for b in range(nbm):
            mx = 0.0
            for k in range(nchunk):
                v = part[b, k]
                if v > mx or v != v:
                    mx = v
                    if v != v:
                        break
            res[b] = np.sqrt(mx)
        return res

    @njit(**opts)
    def normalize(m, mask, use_mask):
        """m /= |m| per cell (|m| ≥ 1e-300), then × mask (a (ncell,) weight) if use_mask; flat (nb, 3, ncell)."""
        nbm, _, ncell = m.shape
        for r in prange(nbm * ((ncell + 4095) // 4096)):
            nchunk = (ncell + 4095) // 4096
            b = r // nchunk
            lo = (r % nchunk) * 4096
            hi = min(lo + 4096, ncell)
            for i in range(lo, hi):
                n2 = m[b, 0, i] * m[b, 0, i] + m[b, 1, i] * m[b, 1, i] + m[b, 2, i] * m[b, 2, i]
                s = 1.0 / max(np.sqrt(n2), 1e-300)
                if use_mask:
                    s *= mask[i]
                m[b, 0, i] *= s
                m[b, 1, i] *= s
                m[b, 2, i] *= s

    return {"exchange_uniform": exchange_uniform, "llg": llg, "llg_relax": llg_relax, "combine": combine,
            "err_max": err_max, "normalize": normalize}


def serial_kernels():
    """Compiled single-threaded kernels that release the GIL, for work that the caller already spreads over
    threads (the demag convolution's blocks): no lock, any number of threads may run them at once. None
    when numba is not available."""
    if "serial" not in _STATE:
        with _BUILD:
            if "serial" not in _STATE:
                _STATE["serial"] = _build_serial() if _numba() is not None else None
    return _STATE["serial"]


def _build_serial():
    njit = _numba().njit
    opts = dict(parallel=False, cache=True, fastmath=False, nogil=True)

    @njit(**opts)
    def demag_product(D, K):
        """H = K F in place on the spectra D of one block, given as float64 (nb, 3, pz, 2L) (each z plane's L
        complex values as real and imaginary parts), from the real kernel K (nk, pz//2+1, L): the elements
        xx, yy, zz, xy (nk = 4, a film: xz = yz = 0) or xx, yy, zz, xy, xz, yz (nk = 6), at the z frequencies
        0..pz//2 (xz and yz are odd along z: the plane pz − k is the plane k with their sign flipped; both
        are done with one read of the kernel). Long contiguous loops: the per-row cost of a short block row
        is what made this slow."""
        nbm, _, pz, L2 = D.shape
        L = L2 // 2
        hz = pz // 2
        full = K.shape[0] == 6
        for iz in range(hz + 1):
            z2 = pz - iz
            pair = iz > 0 and z2 < pz and z2 != iz
            for b in range(nbm):
                for i in range(L):
                    kxx = K[0, iz, i]
                    kyy = K[1, iz, i]
                    kzz = K[2, iz, i]
                    a = K[3, iz, i]
                    if full:
                        c = K[4, iz, i]
                        e = K[5, iz, i]
                        for j in range(2 * i, 2 * i + 2):
                            fx = D[b, 0, iz, j]
                            fy = D[b, 1, iz, j]
                            fz = D[b, 2, iz, j]
                            D[b, 0, iz, j] = kxx * fx + a * fy + c * fz
                            D[b, 1, iz, j] = a * fx + kyy * fy + e * fz
                            D[b, 2, iz, j] = c * fx + e * fy + kzz * fz
                            if pair:
                                fx = D[b, 0, z2, j]
                                fy = D[b, 1, z2, j]
                                fz = D[b, 2, z2, j]
                                D[b, 0, z2, j] = kxx * fx + a * fy - c * fz
                                D[b, 1, z2, j] = a * fx + kyy * fy - e * fz
                                D[b, 2, z2, j] = kzz * fz - c * fx - e * fy
                    else:
                        for j in range(2 * i, 2 * i + 2):
                            fx = D[b, 0, iz, j]
                            fy = D[b, 1, iz, j]
                            D[b, 0, iz, j] = kxx * fx + a * fy
                            D[b, 1, iz, j] = a * fx + kyy * fy
                            D[b, 2, iz, j] = kzz * D[b, 2, iz, j]
                            if pair:
                                fx = D[b, 0, z2, j]
                                fy = D[b, 1, z2, j]
                                D[b, 0, z2, j] = kxx * fx + a * fy
                                D[b, 1, z2, j] = a * fx + kyy * fy
                                D[b, 2, z2, j] = kzz * D[b, 2, z2, j]

    return {"demag_product": demag_product}
