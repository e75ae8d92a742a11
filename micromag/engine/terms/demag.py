"""Demagnetizing (magnetostatic) field by FFT convolution with the Newell tensor.

    B_demag(r_i) = -μ0 Σ_j N(r_i - r_j) · Ms_eff(r_j) m(r_j)          (T)
    e_demag      = -½ Ms_eff m · B_demag                             (J/m³)

N is the cell-averaged Newell–Williams–Dunlop tensor (:mod:`micromag.engine.newell`), Ms_eff = Ms × fill fraction
in A/m. The convolution is a product in Fourier space on a grid zero-padded to 2n along every open axis
with n > 1 (no padding along periodic axes, whose kernel already holds the image sums, nor along axes with
n = 1).

Kernel spectra are real: each element is even or odd along each axis, and the odd ones (N_xy, N_xz,
N_yz) are odd along exactly two axes, so their transforms are (-i)² × real. We store the real part only,
with -μ0 folded in; a film (nz = 1) has N_xz = N_yz = 0 and those are skipped.

Padding-aware transforms: the forward real FFT along x runs only over the nz·ny rows that hold data,
then y over the nz planes, then z; each step writes into a buffer whose padding is zero. The inverse runs
z over everything, y over the nz planes that are kept and the real x transform over the nz·ny rows that
are kept. Work arrays live per batch size; the thread count of the transforms (pocketfft ``workers``, FFTW
plans) and of the large-grid engine's blocks comes from :mod:`micromag.engine.threads` (more than one only for
large transforms, where threads pay for their start-up: about 0.1 ms a call on a 2-core machine).

Two FFT engines compute the same pipeline: SciPy's pocketfft (the reference, always there) and, when the
optional ``pyfftw`` package is installed, FFTW through planned transforms on preallocated aligned buffers
(2-3x faster at the sizes of a film on a laptop). They agree to round-off (tests/test_cpu_fast.py).
``MICROMAG_FFT=scipy`` (or ``fftw``) in the environment, or ``Demag(..., fft="scipy")``, chooses one;
the default "auto" takes FFTW when it imports.
"""
from __future__ import annotations

import os
import threading

import numpy as np



def _import_pyfftw():
    """pyFFTW's core (the FFTW class, aligned arrays, wisdom), or None when pyfftw is not installed.

    ``import pyfftw`` also imports its NumPy/SciPy/dask interfaces, which costs ~0.6 s of start-up when dask
    is installed; the core extension alone loads in a few ms, so it is loaded by itself (registered as
    ``pyfftw.pyfftw``, the module ``import pyfftw`` would load) unless pyfftw is already imported."""
    import sys

    if "pyfftw" in sys.modules:
        return sys.modules["pyfftw"]
    if "pyfftw.pyfftw" in sys.modules:
        return sys.modules["pyfftw.pyfftw"]
    try:
        import glob
        import importlib.util

        spec = importlib.util.find_spec("pyfftw")  # locates the package without running its __init__
        if spec is None or not spec.submodule_search_locations:
            return None
        for loc in spec.submodule_search_locations:
            for path in sorted(glob.glob(os.path.join(loc, "pyfftw.*"))):
                if path.endswith((".so", ".pyd")):
                    core = importlib.util.spec_from_file_location("pyfftw.pyfftw", path)
                    mod = importlib.util.module_from_spec(core)
                    sys.modules["pyfftw.pyfftw"] = mod
                    try:
                        core.loader.exec_module(mod)
                    except BaseException:
                        del sys.modules["pyfftw.pyfftw"]
                        raise
                    return mod
    except Exception:  # noqa: BLE001 - fall back to the ordinary import
        pass
    try:
        import pyfftw

        return pyfftw
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None


_pyfftw = _import_pyfftw()  # optional: FFTW (pip install pyfftw, or micromag[fast])

from ..constants import mu0
from ..newell import COMPONENTS, PARITY, cached_newell_tensor, full_kernel, tensor_cache_path
from .base import CONSTANT, PATTERN, Param, Term

_CHUNKED_MIN_BYTES = 4 << 20  # padded spectrum above which the FFTW engine works in cache-sized blocks (measured crossover)
_CHUNK_BYTES = 2 << 20  # target size of one block's spectra (input + output), bytes: about one core's L2 (measured best, 2 cores)
_CHUNK_MIN_COLUMNS = 4  # at least this many x frequencies per block (FFTW vectorizes across them)
_ROW_CHUNK_BYTES = 256 << 10  # rows of the x transforms per chunk of the large-grid engine: a quarter of L2
_THREADS = None  # threads of the large-grid engine (None: micromag.engine.threads decides); tests set it


class Demag(Term):
    """Demagnetizing field of the whole sample (open boundaries, optional periodic images from ``grid.pbc``).

    Parameters
    ----------
    system : System
    cache_dir : where the Newell tensor is cached (default ``$MICROMAG_CACHE`` or ``~/.cache/micromag``);
        ``False`` disables the cache.
    fft : "auto" (default: ``$MICROMAG_FFT``, else FFTW when pyfftw imports, else SciPy), "scipy" or "fftw".

    Attributes
    ----------
    tensor : dict of the tensor octant (see :func:`micromag.engine.newell.newell_tensor`), read or computed
        on first use (a run needs only the kernel spectra, cached beside it).
    cache_path : the tensor's cache file, or None. ``loaded_from_cache``: whether the kernel (its spectra, or
        the tensor they were made from) was read from the cache.
    """

    name = "demag"
    kernel = "demag.cuh"
    energy_rule = "quadratic"
    # A convolution: a backend computes the field by FFT (its own pipeline, from ``padded_shape``,
    # ``kernel_spectra()`` and ``source_weight()``) into the buffer ``field``, which the fused kernel reads.
    convolution = True
    parameters = (
        Param("field", "T", PATTERN, "the demag field in the FFT's padded row layout (written by the backend)"),
        Param("px", "", CONSTANT, "padded x length of the source rows"),
        Param("sy", "", CONSTANT, "y rows per z plane of the source layout"),
    )

    @classmethod
    def auto(cls, system, demag=True, **options):
        return cls(system) if demag else None

    @classmethod
    def field_scale(cls, table, Ms, grid):
        """("demag (μ0 Ms)", T): the largest demag field scale, μ0 Ms over the magnetic regions."""
        return "demag (μ0 Ms)", float(np.max(mu0 * np.asarray(Ms, dtype=float)))

    def __init__(self, system, cache_dir=None, fft="auto"):
        super().__init__(system)
        self.fft = fft_engine(fft)
        g = self.grid
        self._tensor, self._cache_arg = None, cache_dir
        self.cache_path = tensor_cache_path(g.n, g.cell, g.pbc, cache_dir)
        nx, ny, nz = g.n
        # padded sizes (x, y, z)
        self._pad = _padded(g)
        px, py, pz = self._pad
        self._pxh = px // 2 + 1
        self.prepare()

        self._spec = _load_spectra(self.cache_path, self._pad)
        self.loaded_from_cache = self._spec is not None
        if self._spec is None:
            self.loaded_from_cache = self._load_tensor()
            spectra = {}
            for name in COMPONENTS:
                if not np.any(self.tensor[name]):
                    continue  # N_xz, N_yz of a film: identically zero
                k = full_kernel(self.tensor[name], g.n, g.pbc, name)
                spectra[name] = self._kernel_spectrum(k)
            scale = max(np.max(np.abs(k)) for k in spectra.values())
            self._spec = {}
            for name, k in spectra.items():
                if np.max(np.abs(k.imag)) > 1e-9 * scale:  # parity broken: a bug, not round-off
                    raise RuntimeError(f"kernel spectrum of N_{name} is not real (a parity bug in the Newell kernel)")
                self._spec[name] = np.ascontiguousarray(-mu0 * k.real)
                _check_parity(self._spec[name], PARITY[name], name)  # the blocked engine keeps half of z
            _save_spectra(self.cache_path, self._pad, self._spec)
        # per output component: the (kernel element, source component) pairs that feed it
        rows = {0: ("xx", "xy", "xz"), 1: ("xy", "yy", "yz"), 2: ("xz", "yz", "zz")}
        self._rows = [[(self._spec[n], j) for j, n in enumerate(rows[i]) if n in self._spec] for i in range(3)]
        self._buffers = {}
        # threads of the transforms: one per GRAIN of spectrum (a thread costs ~0.1 ms per call)
        self._workers = _fft_threads(3 * pz * py * self._pxh)
        self._fftw = {}  # batch size -> _FFTWPipeline or _ChunkedFFTW
        self._cache_dir = cache_dir
        if self.fft == "fftw":
            self._fftw_pipeline(1)
        else:
            self._bufs(1)  # work arrays for B = 1 now; other batch sizes get theirs on first use

    def _load_tensor(self):
        """Read (or compute and cache) the tensor; returns whether it came from the cache."""
        g = self.grid
        self._tensor, path, cached = cached_newell_tensor(g.n, g.cell, g.pbc, self._cache_arg)
        if path is None:  # the cache cannot be written: nothing is named after it
            self.cache_path = None
        return cached

    @property
    def tensor(self):
        if self._tensor is None:
            self._load_tensor()
        return self._tensor

    def prepare(self):
        """The source weight Ms·fill (A/m) from the current materials (the tensor depends on the grid only)."""
        self._ms = np.ascontiguousarray(self.system.Ms_eff, dtype=np.float64)  # (nz, ny, nx), A/m

    # ------------------------------------------------------------------------------------------ for backends
    @property
    def padded_shape(self):
        """(px, py, pz): the zero-padded transform lengths along x, y, z."""
        return self._pad

    def kernel_spectra(self):
        """{"xx", "yy", "zz", "xy", "xz", "yz": real array (pz, py, px//2+1)} of the Newell tensor's spectra with
        −μ0 folded in (T per A/m); a film has no xz, yz (absent)."""
        return dict(self._spec)

    def source_weight(self):
        """Ms·fill per cell (A/m), (nz, ny, nx): the convolution's source is this times m."""
        return self._ms

    # ------------------------------------------------------------------------------------------ transforms
    def _forward(self, a, workers=None):
        """Zero-padded forward transform of real (..., nz, ny, nx) data to (..., Pz, Py, Px//2+1) (setup only:
        numpy.fft, so that a run on the FFTW engine does not import scipy.fft, ~0.15 s of start-up)."""
        px, py, pz = self._pad
        a = np.fft.rfft(a, n=px, axis=-1)
        if py > 1:
            a = np.fft.fft(a, n=py, axis=-2)
        if pz > 1:
            a = np.fft.fft(a, n=pz, axis=-3)
        return a

    def _kernel_spectrum(self, k):
        """The padded kernel's spectrum (pz, py, px//2+1): FFTW on all cores on the FFTW engine (set-up time
        of a large grid: 0.05 instead of 0.3 s), else numpy.fft; the two agree to round-off."""
        if self.fft != "fftw":
            return self._forward(k[None, None], workers=1)[0, 0]
        fw = _pyfftw
        a = fw.empty_aligned(k.shape, dtype=np.float64)
        a[...] = k
        out = fw.empty_aligned(k.shape[:-1] + (self._pxh,), dtype=np.complex128)
        plan = fw.FFTW(a, out, axes=tuple(i for i in range(2) if k.shape[i] > 1) + (2,),
                       flags=("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT"), threads=_fft_threads(out.size))
        plan.execute()
        return out

    def _bufs(self, nb):
        """Work arrays for a batch of ``nb``."""
        b = self._buffers.get(nb)
        if b is None:
            nx, ny, nz = self.grid.n
            px, py, pz = self._pad
            b = {
                "src": np.zeros((nb, 3, nz, ny, px)),  # Ms_eff m, zero-padded along x (padding never written)
                "Y": np.empty((nb, 3, nz, py, self._pxh), dtype=np.complex128),  # padded along y
                "Z": np.empty((nb, 3, pz, py, self._pxh), dtype=np.complex128) if pz > nz else None,
                "H": np.empty((nb, 3, pz, py, self._pxh), dtype=np.complex128),
                "tmp": np.empty((nb, pz, py, self._pxh), dtype=np.complex128),
            }
            self._buffers[nb] = b
        return b

    def __getstate__(self):
        # work arrays and FFTW plans are made again where the term is unpickled (a checkpoint's recipe)
        state = dict(self.__dict__)
        state["_fftw"], state["_buffers"] = {}, {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.fft == "fftw" and _pyfftw is None:  # unpickled where pyfftw is missing: the reference engine
            self.fft = "scipy"

    def _fftw_pipeline(self, nb):
        p = self._fftw.get(nb)
        if p is None:
            blocked = uses_blocked_engine(self.grid, nb, self.fft)
            p = self._fftw[nb] = (_ChunkedFFTW if blocked else _FFTWPipeline)(self, nb)
        return p

    def _check(self, m):
        if m.ndim != 5 or m.shape[1] != 3 or m.shape[2:] != self.grid.shape:
            raise ValueError(f"m must have shape (B, 3, {', '.join(map(str, self.grid.shape))}), got {m.shape}")

    # ------------------------------------------------------------------------------------------ Term API
    def add_field(self, m, t, B):
        """Add the demag field μ0 H_demag (T) of magnetization Ms_eff·m into ``B`` in place."""
        self._check(m)
        if self.fft == "fftw":
            self._fftw_pipeline(m.shape[0]).add_field(m, self._ms, B)
            return
        import scipy.fft as sfft  # the reference engine (imported on first use)

        nx, ny, nz = self.grid.n
        px, py, pz = self._pad
        w = self._workers
        buf = self._bufs(m.shape[0])
        src, H, tmp = buf["src"], buf["H"], buf["tmp"]
        np.multiply(m, self._ms, out=src[..., :nx])
        # forward: x only over the rows that hold data, then y and z into pre-padded buffers, in place
        M = sfft.rfft(src, axis=-1, workers=w)
        if py > ny:
            Y = buf["Y"]
            Y[..., :ny, :] = M
            Y[..., ny:, :] = 0  # the in-place transform below overwrote last call's padding
            M = sfft.fft(Y, axis=-2, workers=w, overwrite_x=True)
        elif py > 1:
            M = sfft.fft(M, axis=-2, workers=w, overwrite_x=True)
        if pz > nz:
            Z = buf["Z"]
            Z[:, :, :nz] = M
            Z[:, :, nz:] = 0
            M = sfft.fft(Z, axis=-3, workers=w, overwrite_x=True)
        elif pz > 1:
            M = sfft.fft(M, axis=-3, workers=w, overwrite_x=True)
        _product(self._rows, M, H, tmp)  # H_i = Σ_j K_ij M_j with real spectra K
        # inverse: z over everything, y only over the kept planes, x only over the kept rows
        h = H
        if pz > 1:
            h = sfft.ifft(h, axis=-3, workers=w, overwrite_x=True)[:, :, :nz]
        if py > 1:
            h = sfft.ifft(h, axis=-2, workers=w, overwrite_x=True)[:, :, :, :ny]
        h = sfft.irfft(h, n=px, axis=-1, workers=w)
        B += h[..., :nx]


_SPECTRA_VERSION = "spectra-v2"


def _spectra_path(tensor_path, pad, names):
    """The spectra file of a tensor file, a padding and the stored elements (all in the name: a plain .npy,
    read without a zip's CRC pass, which cost 0.16 s for a 128×128×16 grid)."""
    px, py, pz = pad
    return tensor_path.with_name(f"{tensor_path.stem}_{_SPECTRA_VERSION}_{px}x{py}x{pz}_{'-'.join(names)}.npy")


def _load_spectra(tensor_path, pad):
    """The kernel spectra cached beside the Newell tensor file (a large grid's set-up: 0.3-0.5 s of
    transforms saved), or None when absent, for another padding or unreadable (then they are made again).
    The arrays are read-only views of the memory-mapped file."""
    if tensor_path is None:
        return None
    px, py, pz = pad
    for path in tensor_path.parent.glob(f"{tensor_path.stem}_{_SPECTRA_VERSION}_{px}x{py}x{pz}_*.npy"):
        names = path.stem.rsplit("_", 1)[-1].split("-")
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
            if (set(names) - set(COMPONENTS) or a.dtype != np.float64 or a.shape != (len(names), pz, py, px // 2 + 1)
                    or not np.all(np.isfinite(a))):
                continue
            return {name: np.asarray(a[i]) for i, name in enumerate(names)}
        except Exception:  # noqa: BLE001 - unreadable: computed again
            continue
    return None


def _save_spectra(tensor_path, pad, spec):
    if tensor_path is None:
        return
    from ..io.atomic import atomic_write

    names = [n for n in COMPONENTS if n in spec]
    try:
        atomic_write(_spectra_path(tensor_path, pad, names), lambda fh: np.save(fh, np.stack([spec[n] for n in names])))
    except OSError:
        pass  # a read-only cache: computed again next time


def uses_blocked_engine(grid, batch=1, fft="auto"):
    """Whether a Demag of ``grid`` convolves a batch of ``batch`` with the blocked FFTW engine
    (:class:`_ChunkedFFTW`): the FFTW engine, more than 4 MB of padded spectrum, a y or z transform, and
    the compiled kernels in use for this grid (``micromag.engine._jit.wanted``; otherwise the unblocked pipeline)."""
    try:
        if fft_engine(fft) != "fftw":
            return False
    except ValueError:
        return False
    from .. import _jit

    px, py, pz = _padded(grid)
    return (batch * 3 * pz * py * (px // 2 + 1) * 16 > _CHUNKED_MIN_BYTES and py * pz > 1
            and _jit.wanted(grid.ncells))


def _fft_threads(elements):
    """Threads of one transform over ``elements`` complex values (micromag.engine.threads, pool "fftw")."""
    from ..threads import count

    return count("fftw", elements)


def _block_threads(blocks):
    """Threads of the large-grid engine for ``blocks`` blocks (micromag.engine.threads, pool "demag")."""
    from ..threads import count

    return count("demag", blocks)


def _padded(grid):
    return tuple(2 * n if (p == 0 and n > 1) else n for n, p in zip(grid.n, grid.pbc))


def _blocked_layout(grid, nb):
    """The blocked engine's sizes for a batch of ``nb``: (cw x frequencies per block, blocks, W = padded
    half-spectrum width, rc rows per x chunk, threads)."""
    px, py, pz = _padded(grid)
    pxh = px // 2 + 1
    col = nb * 3 * pz * py * 16  # bytes of one x-frequency column of the spectrum
    cw = max(1, min(pxh, max(_CHUNK_MIN_COLUMNS, _CHUNK_BYTES // (2 * col))))
    nblk = -(-pxh // cw)
    rc = max(1, min(grid.n[2] * grid.n[1], _ROW_CHUNK_BYTES // (px * 8)))
    threads = _THREADS or _block_threads(nblk)
    return cw, nblk, nblk * cw, rc, threads


def blocked_engine_bytes(grid, batch=1):
    """Bytes the blocked engine keeps for a batch of ``batch`` (for micromag.engine.memory): the half-spectrum rows Y,
    each thread's block and row buffers, the kernel blocks (4 elements for a film, else 6)."""
    nx, ny, nz = grid.n
    px, py, pz = _padded(grid)
    cw, nblk, W, rc, threads = _blocked_layout(grid, batch)
    Y = batch * 3 * nz * ny * W * 16
    per_thread = batch * 3 * (nz + pz) * py * cw * 16 + rc * (2 * px * 8 + (px // 2 + 1) * 16)
    kernel = (4 if nz == 1 else 6) * (pz // 2 + 1) * py * W * 8
    return Y + threads * per_thread + kernel


def fft_engine(fft="auto"):
    """The FFT engine to use: "scipy" or "fftw" (see the module docstring); ValueError names ``fft``."""
    choice = fft
    if choice in (None, "auto"):
        choice = os.environ.get("MICROMAG_FFT", "auto").strip().lower() or "auto"
        where = "MICROMAG_FFT"
    else:
        where = "fft"
    if choice not in ("auto", "scipy", "fftw"):
        raise ValueError(f"{where} must be 'auto', 'scipy' or 'fftw', got {choice!r}")
    if choice == "fftw" and _pyfftw is None:
        raise ValueError(f"{where} = 'fftw' needs the pyfftw package (pip install pyfftw), which does not import")
    if choice == "auto":
        choice = "fftw" if _pyfftw is not None else "scipy"
    return choice


_WISDOM = {"loaded": set()}  # wisdom files read by this process


def _wisdom_path(cache_dir):
    """The FFTW wisdom file of this machine in the kernel cache (None when the cache is disabled): plans
    measured once are then made instantly by every later run (FFTW_MEASURE costs ~0.1-1 s per new size)."""
    if cache_dir is False:
        return None
    import hashlib
    import platform

    from ..newell import cache_directory

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    fftw = getattr(_pyfftw, "_fftw_version_dict", {}).get("64", "")
    key = hashlib.sha256(f"{cpu}|{platform.machine()}|{fftw}".encode()).hexdigest()[:16]
    return cache_directory(cache_dir) / f"fftw_wisdom_{key}.bin"


def _load_wisdom(path):
    if path is None or str(path) in _WISDOM["loaded"]:
        return
    _WISDOM["loaded"].add(str(path))
    try:
        data = path.read_bytes()
    except OSError:
        return
    cur = _pyfftw.export_wisdom()
    try:
        _pyfftw.import_wisdom((data, cur[1], cur[2]))
    except Exception:  # noqa: BLE001 - a corrupt file is ignored (and rewritten after the next planning)
        pass


def _save_wisdom(path, before):
    if path is None:
        return
    now = _pyfftw.export_wisdom()[0]
    if now == before:
        return
    from ..io.atomic import atomic_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, [now])
    except OSError:
        pass  # a read-only cache: plan again next time


class _FFTWPipeline:
    """The padding-aware convolution of :class:`Demag` with FFTW plans on fixed buffers, for a batch of ``nb``.

    Forward: r2c along x of the ny·nz data rows of ``src`` (Ms_eff m, zero-padded along x) into the first
    ny rows of ``Y`` (its other rows stay zero: nothing else writes them); c2c along y out of place into the
    first nz planes of ``Z`` (the other planes stay zero) or, for a film, straight into ``F``; c2c along z
    from ``Z`` into ``F``. Product H = K F (real spectra, scaled by 1/(px py pz): FFTW does not normalize).
    Inverse, in place on ``H``: z over everything, y over the kept planes, then c2r along x of the kept
    rows into ``out``, whose first nx columns are added to B. Plans are made once (FFTW_MEASURE, at most
    ~0.3 s each) and executed without Python-side checks.
    """

    def __init__(self, demag, nb):
        fw = _pyfftw
        nx, ny, nz = demag.grid.n
        px, py, pz = demag._pad
        pxh = demag._pxh
        threads = _fft_threads(3 * nb * pz * py * pxh)
        kw = dict(flags=("FFTW_MEASURE",), threads=threads, planning_timelimit=0.3)
        wisdom = _wisdom_path(demag._cache_dir)
        _load_wisdom(wisdom)
        before = _pyfftw.export_wisdom()[0]
        c = np.complex128
        self.nx = nx
        self.src = fw.zeros_aligned((nb, 3, nz, ny, px), dtype=np.float64)
        self.out = fw.empty_aligned((nb, 3, nz, ny, px), dtype=np.float64)
        self.F = fw.zeros_aligned((nb, 3, pz, py, pxh), dtype=c)
        self.H = fw.zeros_aligned((nb, 3, pz, py, pxh), dtype=c)
        Z = fw.zeros_aligned((nb, 3, pz, py, pxh), dtype=c) if pz > 1 else None
        last = Z[:, :, :nz] if Z is not None else self.F  # where the y transform (or x, if py = 1) writes
        fwd = []
        if py > 1:
            Y = fw.zeros_aligned((nb, 3, nz, py, pxh), dtype=c)
            fwd.append(fw.FFTW(self.src, Y[..., :ny, :], axes=(-1,), **kw))
            fwd.append(fw.FFTW(Y, last, axes=(-2,), **kw))
        else:
            fwd.append(fw.FFTW(self.src, last, axes=(-1,), **kw))
        if Z is not None:
            fwd.append(fw.FFTW(Z, self.F, axes=(-3,), **kw))
        H = self.H
        inv = []
        bwd = dict(kw, direction="FFTW_BACKWARD")
        if pz > 1:
            inv.append(fw.FFTW(H, H, axes=(-3,), **bwd))
        if py > 1:
            inv.append(fw.FFTW(H[:, :, :nz], H[:, :, :nz], axes=(-2,), **bwd))
        inv.append(fw.FFTW(H[:, :, :nz, :ny], self.out, axes=(-1,), **dict(bwd, flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"))))
        self._fwd = [p.execute for p in fwd]
        self._inv = [p.execute for p in inv]
        _save_wisdom(wisdom, before)
        scale = 1.0 / (px * py * pz)
        # the product on flat real views: each kernel value twice (real and imaginary part), so that it is
        # one contiguous float multiply per element pair (0.04 instead of 0.065 ms on SP4's 256×64)
        spec = {k: np.repeat(v * scale, 2, axis=-1).reshape(-1) for k, v in demag._spec.items()}
        rows = {0: ("xx", "xy", "xz"), 1: ("xy", "yy", "yz"), 2: ("xz", "yz", "zz")}
        self.rows = [[(spec[n], j) for j, n in enumerate(rows[i]) if n in spec] for i in range(3)]
        self.Ff = self.F.view(np.float64).reshape(nb, 3, -1)
        self.Hf = self.H.view(np.float64).reshape(nb, 3, -1)
        self.tmpf = np.empty((nb, self.Ff.shape[-1]))
        # FFTW_MEASURE overwrote the buffers while planning: the zero paddings are made again
        self.src.fill(0.0)
        if py > 1:
            Y.fill(0)
        if Z is not None:
            Z.fill(0)

    def add_field(self, m, ms, B):
        nx = self.nx
        np.multiply(m, ms, out=self.src[..., :nx])
        for ex in self._fwd:
            ex()
        _product(self.rows, self.Ff, self.Hf, self.tmpf)
        for ex in self._inv:
            ex()
        B += self.out[..., :nx]


class _ChunkedFFTW:
    """The convolution of :class:`Demag` on FFTW for large grids, in cache-sized pieces (the way OOMMF does it):
    neither the padded source nor the padded spectrum is ever held in memory as a whole, so that the working
    set stays small next to the stepper's stages (on a 2-core machine with 32 MB of L3 this is what made a
    step's demag 20 instead of 14 ms).

    ``T`` threads (the caller and T − 1 helpers; FFTW, NumPy and the compiled kernels release the GIL) take
    the items of three phases from shared queues (:class:`_Job`); a phase starts once every item of the one
    before is done, whoever did it (so a descheduled thread delays a call by one item, not by its share):

    1. x forward, by chunks of ``rc`` rows (b, component, z, y): Ms_eff·m into the first nx columns of a
       small zero-padded buffer, r2c along x, the px//2+1 frequencies into the chunk's rows of ``Y``
       (nb, 3, nz, ny, W), W ≥ px//2+1 a whole number of blocks;
    2. for each block of ``cw`` x frequencies: its columns into ``S`` (rows ny.. zero), c2c along y into ``D``
       (planes nz.. zeroed), c2c along z, the product H = K D in place, inverse z and y in place, the nz·ny
       kept rows back into ``Y``;
    3. x inverse, by chunks of rows: c2r along x into a small buffer, whose first nx columns are added to B.

    The product: one compiled pass per block (micromag.engine._jit.serial_kernels, so this engine is used only where
    the compiled kernels are: see :func:`uses_blocked_engine`) with long contiguous loops over whole z planes
    of the block, from a kernel kept at the z frequencies 0..pz//2 only: every element of the tensor
    spectrum is even or odd along z (checked at set-up), so the plane pz − k is the plane k with the sign of
    xz and yz flipped (half the kernel of a 3D grid; a film keeps 4 of the 6 elements).
    """

    def __init__(self, demag, nb):
        from concurrent.futures import ThreadPoolExecutor

        from .. import _jit

        fw = _pyfftw
        nx, ny, nz = demag.grid.n
        px, py, pz = demag._pad
        pxh = demag._pxh
        wisdom = _wisdom_path(demag._cache_dir)
        _load_wisdom(wisdom)
        before = fw.export_wisdom()[0]
        kw = dict(flags=("FFTW_MEASURE",), threads=1, planning_timelimit=0.3)
        cw, nblk, W, rc, nthreads = _blocked_layout(demag.grid, nb)
        c = np.complex128
        self.nx, self.ny, self.nz, self.py, self.pz, self.cw, self.nblk = nx, ny, nz, py, pz, cw, nblk
        self.pxh = pxh
        self.Y = fw.zeros_aligned((nb, 3, nz, ny, W), dtype=c)
        # row chunks of phases 1 and 3: (member, component, first row, end row) within the member's nz·ny rows
        plane_rows = nz * ny
        self.row_chunks = [(b, j, r0, min(r0 + rc, plane_rows))
                           for b in range(nb) for j in range(3) for r0 in range(0, plane_rows, rc)]
        scale = 1.0 / (px * py * pz)
        kernels = _jit.serial_kernels()
        if kernels is None:
            raise RuntimeError("the blocked demag engine needs numba (uses_blocked_engine decides)")
        self._product = kernels["demag_product"]
        self.full = "xz" in demag._spec or "yz" in demag._spec
        # kernel blocks (nk, pz//2+1, py·cw): the z frequencies 0..pz//2 of each element (the others by parity,
        # in the product), all y frequencies, the block's x frequencies; a film needs only xx, yy, zz, xy (nk = 4)
        names = COMPONENTS if self.full else COMPONENTS[:4]
        hz = pz // 2 + 1
        red = np.zeros((len(names), hz, py, W))
        for i, k in enumerate(names):
            if k in demag._spec:  # even or odd along z: checked when the spectra were made
                np.multiply(demag._spec[k][:hz], scale, out=red[i, :, :, :pxh])
        self.kblocks = [np.ascontiguousarray(red[..., b * cw:(b + 1) * cw]).reshape(len(names), hz, py * cw)
                        for b in range(nblk)]
        del red
        self.workers = []
        for _ in range(nthreads):
            w = {}
            # phase 1 and 3 buffers: rows of the source (zero-padded along x: the padding is never written),
            # of their spectrum, and of the field (the c2r output, padding included)
            w["rin"] = fw.zeros_aligned((rc, px), dtype=np.float64)
            w["cx"] = fw.zeros_aligned((rc, pxh), dtype=c)
            w["rout"] = fw.zeros_aligned((rc, px), dtype=np.float64)
            w["fx"] = fw.FFTW(w["rin"], w["cx"], axes=(-1,), **kw).execute
            w["ix"] = fw.FFTW(w["cx"], w["rout"], axes=(-1,), direction="FFTW_BACKWARD",
                              **dict(kw, flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"))).execute
            # a last, shorter chunk has plans of its own
            last = self.row_chunks[-1][3] - self.row_chunks[-1][2]
            if last != rc:
                w["fx_last"] = fw.FFTW(w["rin"][:last], w["cx"][:last], axes=(-1,), **kw).execute
                w["ix_last"] = fw.FFTW(w["cx"][:last], w["rout"][:last], axes=(-1,), direction="FFTW_BACKWARD",
                                       **dict(kw, flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"))).execute
            S = fw.zeros_aligned((nb, 3, nz, py, cw), dtype=c)
            D = fw.zeros_aligned((nb, 3, pz, py, cw), dtype=c)
            fwd, inv = [], []
            bwd = dict(kw, direction="FFTW_BACKWARD")
            if py > 1:
                fwd.append(fw.FFTW(S, D[:, :, :nz], axes=(-2,), **kw).execute)
            if pz > 1:
                fwd.append(fw.FFTW(D, D, axes=(-3,), **kw).execute)
                inv.append(fw.FFTW(D, D, axes=(-3,), **bwd).execute)
            if py > 1:
                inv.append(fw.FFTW(D[:, :, :nz], D[:, :, :nz], axes=(-2,), **bwd).execute)
            S.fill(0)
            w["rin"].fill(0.0)
            w.update(S=S, D=D, Dr=D.view(np.float64).reshape(D.shape[:3] + (-1,)), fwd=fwd, inv=inv)
            self.workers.append(w)
        self.pool = ThreadPoolExecutor(nthreads - 1) if nthreads > 1 else None  # the caller is thread 0
        _save_wisdom(wisdom, before)

    def _x_forward(self, w, chunk, m, ms):
        b, j, r0, r1 = chunk
        nx, pxh = self.nx, self.pxh
        wk = self.workers[w]
        rin, cx = wk["rin"], wk["cx"]
        Yr = self.Y.reshape(self.Y.shape[0], 3, -1, self.Y.shape[-1])  # (nb, 3, nz·ny, W)
        n = r1 - r0
        np.multiply(m.reshape(m.shape[0], 3, -1, nx)[b, j, r0:r1], ms.reshape(-1, nx)[r0:r1], out=rin[:n, :nx])
        (wk["fx"] if n == rin.shape[0] else wk["fx_last"])()
        Yr[b, j, r0:r1, :pxh] = cx[:n]

    def _x_inverse(self, w, chunk, B):
        b, j, r0, r1 = chunk
        nx, pxh = self.nx, self.pxh
        wk = self.workers[w]
        cx, rout = wk["cx"], wk["rout"]
        Yr = self.Y.reshape(self.Y.shape[0], 3, -1, self.Y.shape[-1])
        n = r1 - r0
        cx[:n] = Yr[b, j, r0:r1, :pxh]
        (wk["ix"] if n == cx.shape[0] else wk["ix_last"])()
        B.reshape(B.shape[0], 3, -1, nx)[b, j, r0:r1] += rout[:n, :nx]

    def _block(self, w, b):
        wk = self.workers[w]
        S, D, Dr = wk["S"], wk["D"], wk["Dr"]
        Y, ny, nz, pz, cw = self.Y, self.ny, self.nz, self.pz, self.cw
        cols = slice(b * cw, (b + 1) * cw)
        if pz > nz:
            D[:, :, nz:] = 0
        if self.py > 1:
            S[..., :ny, :] = Y[..., cols]
        else:  # no y transform: the block goes straight into the planes that hold data
            D[:, :, :nz] = Y[..., cols]
        for ex in wk["fwd"]:
            ex()
        self._product(Dr, self.kblocks[b])
        for ex in wk["inv"]:
            ex()
        Y[..., cols] = D[:, :, :nz, :ny]

    def _run(self, w, job, m, ms, B):
        """Thread ``w``'s part of one convolution: it takes items (row chunks, blocks, row chunks) from the job's
        shared queues until they are empty, then waits until every item of the phase is done (by whichever
        thread took it) before the next phase. No thread waits for another thread to *arrive*: one that is
        descheduled (a busy machine) holds back at most the item it holds, and one that starts late finds
        the work done and leaves."""
        phases = ((self._x_forward, (m, ms)), (self._block, ()), (self._x_inverse, (B,)))
        try:
            for k, (work, args) in enumerate(phases):
                for item in job.queues[k]:  # a list iterator: next() is atomic under the GIL
                    if job.failed:
                        return
                    work(w, item, *args)
                    job.finish(k)
                job.wait(k)
        except BaseException as exc:
            job.fail(exc)
            raise

    def add_field(self, m, ms, B):
        m = np.ascontiguousarray(m)
        target = B if B.flags.c_contiguous else np.zeros(B.shape)
        job = _Job((self.row_chunks, range(self.nblk), self.row_chunks))
        # the caller is thread 0; helpers 1.. come from the pool (each with its own buffers)
        futures = [self.pool.submit(self._run, w, job, m, ms, target) for w in range(1, len(self.workers))] \
            if self.pool is not None else []
        try:
            self._run(0, job, m, ms, target)
        except BaseException:
            pass  # reported below, once the helpers have let go of the buffers
        if job.failed:
            for f in futures:  # a failed job: wait for every helper, so that none still writes the buffers
                f.exception()
            raise job.error
        if target is not B:
            B += target


class _Job:
    """One convolution's work for the blocked engine: a queue of items per phase and the count of items not
    yet done; ``wait(k)`` returns once phase k's items are all done (or the job failed)."""

    def __init__(self, phases):
        self.queues = [iter(list(p)) for p in phases]
        self.left = [len(p) for p in phases]
        self.done = [threading.Event() for _ in phases]
        for k, n in enumerate(self.left):
            if n == 0:
                self.done[k].set()
        self.lock = threading.Lock()
        self.error = None
        self.failed = False

    def finish(self, k):
        with self.lock:
            self.left[k] -= 1
            if self.left[k] == 0:
                self.done[k].set()

    def wait(self, k):
        self.done[k].wait()

    def fail(self, exc):
        with self.lock:
            if self.error is None:
                self.error = exc
            self.failed = True
        for e in self.done:  # nobody waits for work that will not be done
            e.set()


def _product(rows, F, H, tmp):
    """H_i = Σ_j K_ij F_j for the three output components (NumPy; zero tensor elements are absent from
    ``rows``): ``rows[i]`` lists (real kernel spectrum, source component j) pairs, shaped to multiply F[:, j]
    (complex spectra, or their flat real views with each kernel value repeated); ``tmp`` is a work array."""
    for i, row in enumerate(rows):
        out = H[:, i]
        if not row:
            out.fill(0)
            continue
        (k0, j0), rest = row[0], row[1:]
        np.multiply(F[:, j0], k0, out=out)
        for k, j in rest:
            np.multiply(F[:, j], k, out=tmp)
            out += tmp


def _check_parity(k, parity, name):
    """The kernel spectrum k (pz, py, w) is even or odd along y and z as ``parity`` (x, y, z) says: its values at
    p − k equal ± those at k (to round-off); a RuntimeError otherwise (the reduced storage would be wrong).
    Checked on the planes through the origin (cheap, and enough to catch a wrong sign or index)."""
    scale = max(float(np.max(np.abs(k))), 1e-300)
    pz, py = k.shape[:2]
    ry, rz = (-np.arange(py)) % py, (-np.arange(pz)) % pz
    for axis, plane, mirror, sign in ((1, k[0], k[0][ry], parity[1]), (0, k[:, 0], k[:, 0][rz], parity[2])):
        if np.max(np.abs(mirror - sign * plane)) > 1e-9 * scale:
            raise RuntimeError(f"kernel spectrum of N_{name} lacks its parity along {'zy'[axis]} (a Newell kernel bug)")
