"""The CuPy backend: the LLG right-hand side and a batched RK stepper as raw CUDA kernels.

Nothing here imports CuPy at module import time. The classes run on any *device* object that provides an
array module (``xp``) and compiles kernel sources (``module(source)``):

- :func:`cupy_device` — the GPU: CuPy arrays, ``cupy.RawModule`` (NVRTC, :data:`RUNTIME_OPTIONS`), cuFFT;
- :func:`emulated_device` — the CPU: NumPy arrays, the same kernel text compiled by g++ with the host
  emulation header (:mod:`micromag.emulation`), numpy.fft. CI runs the whole backend this way.

Entry points
------------
``CudaLLG(system, terms, batch, dtype=np.float32, device=None)``
    ``llg(m, t, out)`` writes dm/dt (same contract as :class:`micromag.llg.LLG`, arrays of ``device.xp``);
    ``llg.effective_field(m, t)``, ``llg.precession`` (False: precession-free relax), ``llg.set_B_ext(...)``.
``CudaStepper(llg, tableau, tol=..., dt=..., ...)``
    ``stepper.step(m, t, t_end=None)`` advances every member with its own dt (device arrays ``dt``, ``t``),
    returns the device int array of accepted members; the step-size decision stays on the device.
``pack_system(system)``
    the region map (int32, -1 = not magnetic) and per-region parameter table the kernels read.
"""
from __future__ import annotations

import math

import numpy as np

import gpu_kernels as gk

from ..integrators import get_tableau
from .nvrtc_check import RUNTIME_OPTIONS

MAX_STAGES = 7


# ---------------------------------------------------------------------------------------------- host tables
def pack_system(system):
    """(region, params): region map int32 (nz, ny, nx) with -1 where the cell is not magnetic, and the
    per-region table float64 (nregions, gpu_kernels.NPARAM) in the column order of gpu_kernels."""
    region = np.where(system.magnetic, system.region, -1).astype(np.int32)
    nreg = len(system.materials)
    params = np.zeros((nreg, gk.NPARAM))
    col = {c: i for i, c in enumerate(gk.PARAM_COLUMNS)}
    for attr, c in gk.PARAM_SOURCES:
        tab = system.table(attr)
        if tab.ndim == 2:
            params[:, col[c]:col[c] + 3] = tab
        else:
            params[:, col[c]] = tab
    # regions without a material, or with Ms = 0, never appear in the region map (they are -1 there);
    # give them harmless values so no kernel can divide by zero.
    bad = params[:, col["MS"]] <= 0
    params[bad, col["MS"]] = 1.0
    return region, params


def region_scale_table(nreg, region_scale):
    """(nreg, nreg) exchange factors from ``{(r1, r2): s}`` (symmetric, 1 elsewhere)."""
    t = np.ones((nreg, nreg))
    for (r1, r2), s in dict(region_scale or {}).items():
        r1, r2, s = int(r1), int(r2), float(s)
        if not (math.isfinite(s) and s >= 0):
            raise ValueError(f"region_scale[{(r1, r2)}] must be a finite number >= 0, got {s!r}")
        if max(r1, r2) < nreg:
            t[r1, r2] = t[r2, r1] = s
    return t


# ---------------------------------------------------------------------------------------------- devices
class _Module:
    """Uniform launcher over cupy.RawModule / EmuModule: scalars converted by the parsed kernel signature,
    None pointers replaced by a one-element dummy array."""

    def __init__(self, device, source, raw):
        from ..emulation import parse_kernels

        self.device = device
        self.source = source
        self.raw = raw
        self.kernels = parse_kernels(source)
        self.real = np.dtype(np.float64 if "#define MM_DOUBLE" in source else np.float32)
        self._fns = {}
        self._dummies = {}

    def _dtype(self, base):
        return self.real if base == "real" else np.dtype(
            {"int": np.int32, "long long": np.int64, "double": np.float64, "float": np.float32}[base])

    def __call__(self, name, grid, block, *args):
        params = self.kernels[name]
        if len(args) != len(params):
            raise TypeError(f"{name} takes {len(params)} arguments, got {len(args)}")
        conv = []
        for p, a in zip(params, args):
            dt = self._dtype(p.base)
            if p.pointer:
                if a is None:
                    a = self._dummies.get(dt)
                    if a is None:
                        a = self._dummies[dt] = self.device.xp.zeros(1, dtype=dt)
                elif a.dtype != dt:
                    raise TypeError(f"{name}: {p.name} needs {dt}, got {a.dtype}")
                conv.append(a)
            else:
                conv.append(dt.type(a))
        if self.device.emulated:
            self.raw.launch(name, grid, block, tuple(conv))
        else:
            fn = self._fns.get(name)
            if fn is None:
                fn = self._fns[name] = self.raw.get_function(name)
            fn(tuple(grid), tuple(block), tuple(conv))


class Device:
    """An array module plus a kernel compiler (see the module docstring)."""

    def __init__(self, name, xp, compile_fn, emulated, block=256, max_blocks=8192):
        self.name, self.xp, self._compile, self.emulated = name, xp, compile_fn, emulated
        self.block, self.max_blocks = block, max_blocks
        self._cache = {}

    def module(self, source):
        key = gk.source_hash(source)
        mod = self._cache.get(key)
        if mod is None:
            mod = self._cache[key] = _Module(self, source, self._compile(source))
        return mod

    def grid(self, n, members=1):
        """Launch grid for n items per member (grid-stride kernels accept any block count)."""
        return (max(1, min(self.max_blocks, -(-int(n) // self.block))), int(members))

    def asnumpy(self, a):
        return a if self.emulated else self.xp.asnumpy(a)


def cupy_device(block=256):
    """The GPU through CuPy (imported here, not at module import)."""
    import cupy

    def compile_fn(src):
        return cupy.RawModule(code=src, options=tuple(RUNTIME_OPTIONS), backend="nvrtc")

    return Device("cupy", cupy, compile_fn, emulated=False, block=block)


def emulated_device(block=32, max_blocks=4):
    """The host emulation (NumPy + g++); small default launch to exercise the grid-stride loops."""
    from ..emulation import EmuModule

    return Device("emulation", np, EmuModule, emulated=True, block=block, max_blocks=max_blocks)


def gpu_available():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------- RHS
class CudaLLG:
    """The fused LLG right-hand side on a device (see the module docstring).

    ``terms``: dict {name: Term} as from :func:`micromag.terms.build_terms` (or an iterable of names);
    known names: demag, exchange, anisotropy_uniaxial, anisotropy_cubic, dmi, zeeman. The Zeeman term's
    setting (uniform, per member, spatial, callable) is taken over; change it with :meth:`set_B_ext`.
    """

    def __init__(self, system, terms, batch, dtype=np.float32, device=None, region_scale=None):
        self.system = system
        self.grid = system.grid
        self.batch = int(batch)
        self.dtype = np.dtype(dtype)
        self.device = device if device is not None else cupy_device()
        xp = self.device.xp
        terms = dict(terms) if isinstance(terms, dict) else {n: None for n in terms}
        unknown = set(terms) - set(gk.TERM_DEFINES)
        if unknown:
            raise ValueError(f"the GPU backend has no kernel for terms {sorted(unknown)}")
        self.term_names = [n for n in gk.TERM_DEFINES if n in terms]
        self.terms = terms
        region, params = pack_system(system)
        self.nreg = params.shape[0]
        self.region = xp.asarray(region.reshape(-1))
        self.params = xp.asarray(params.astype(self.dtype))
        options = []
        self.xscale = None
        if region_scale:
            options.append("MM_EXCHANGE_SCALE")
            self.xscale = xp.asarray(region_scale_table(self.nreg, region_scale).astype(self.dtype).reshape(-1))
        self._options = options
        self.shape = (self.batch, 3) + self.grid.shape
        self.ncell = self.grid.ncells
        self.precession = True
        self.nevals = 0
        self._bext = xp.zeros((self.batch, 3), dtype=self.dtype)
        self._bext_func = None
        self._bext_map = None
        self._bext_map_batch = False
        if "zeeman" in terms:
            self._take_zeeman(terms["zeeman"])
        self._demag = None
        if "demag" in terms:
            self._setup_demag(terms["demag"])
        self.bdemag = xp.zeros(self.shape, dtype=self.dtype) if self._demag is not None else None
        self.B = xp.zeros(self.shape, dtype=self.dtype)
        self._modules = {}

    # -------------------------------------------------------------------------------- compilation
    def defines(self, write_field=False):
        opts = list(self._options)
        if write_field:
            opts.append("MM_WRITE_FIELD")
        if self._bext_map is not None:
            opts.append("MM_ZEEMAN_SPATIAL")
            if self._bext_map_batch:
                opts.append("MM_ZEEMAN_SPATIAL_BATCH")
        return gk.defines_for(self.dtype, self.term_names, opts)

    def source(self, write_field=False):
        return gk.assemble("llg_rhs.cu", self.defines(write_field))

    def _module(self, write_field):
        src = self.source(write_field)
        return self.device.module(src)

    # -------------------------------------------------------------------------------- Zeeman
    def _take_zeeman(self, term):
        if term is None or getattr(term, "_kind", None) is None:
            return
        kind = term._kind
        if kind == "callable":
            self.set_B_ext(term._func)
            return
        v = np.asarray(term._value, dtype=float)
        mag = self.system.magnetic
        if v.shape[2:] == (1, 1, 1):
            self.set_B_ext(np.broadcast_to(v[:, :, 0, 0, 0], (self.batch, 3)) if v.shape[0] == 1 else v[:, :, 0, 0, 0])
            return
        # full-grid value (masked to the magnet): a vector per member if uniform over the magnet
        vals = v[..., mag]  # (nb, 3, nmag)
        if np.all(vals == vals[..., :1]):
            vec = vals[..., 0]
            self.set_B_ext(np.broadcast_to(vec, (self.batch, 3)) if vec.shape[0] == 1 else vec)
        else:
            self.set_B_ext(v[0] if v.shape[0] == 1 else v)

    def set_B_ext(self, value):
        """Applied field (T): None, a 3-vector, (B, 3), (3, nz, ny, nx), (B, 3, nz, ny, nx) or a callable
        f(t) -> 3-vector evaluated per member on the host before each evaluation."""
        xp = self.device.xp
        self._bext_func = None
        self._bext_map = None
        self._bext_map_batch = False
        self._bext = xp.zeros((self.batch, 3), dtype=self.dtype)
        if value is None:
            return
        if callable(value):
            self._bext_func = value
            return
        a = np.asarray(value, dtype=float)
        g3 = (3,) + self.grid.shape
        if a.shape == (3,):
            self._bext = xp.asarray(np.broadcast_to(a, (self.batch, 3)).astype(self.dtype))
        elif a.shape == (self.batch, 3):
            self._bext = xp.asarray(a.astype(self.dtype))
        elif a.shape == g3 or a.shape == (self.batch,) + g3:
            self._bext_map = xp.asarray(np.ascontiguousarray(a, dtype=self.dtype))
            self._bext_map_batch = a.ndim == 5
        else:
            raise ValueError(f"B_ext of shape {a.shape} does not fit batch {self.batch} on grid {self.grid.shape}")
        if "zeeman" not in self.term_names:
            self.term_names.append("zeeman")
            self.term_names = [n for n in gk.TERM_DEFINES if n in self.term_names]

    def _bext_at(self, t):
        if self._bext_func is None:
            return self._bext
        tt = np.broadcast_to(np.asarray(self.device.asnumpy(t), dtype=float), (self.batch,))
        vals = np.array([np.asarray(self._bext_func(float(x)), dtype=float).reshape(3) for x in tt])
        return self.device.xp.asarray(vals.astype(self.dtype))

    # -------------------------------------------------------------------------------- demag
    def _setup_demag(self, term):
        if term is None:
            from ..terms.demag import Demag

            term = Demag(self.system)
        xp = self.device.xp
        spec = term._spec  # real spectra, -mu0 folded in, (Pz, Py, Px//2+1)
        shape = next(iter(spec.values())).shape
        comps = {}
        for name in ("xx", "yy", "zz", "xy", "xz", "yz"):
            s = spec.get(name)
            comps[name] = xp.asarray(np.ascontiguousarray(s if s is not None else np.zeros(shape), dtype=self.dtype))
        thin = "xz" not in spec and "yz" not in spec
        px, py, pz = term._pad
        self._demag = dict(spec=comps, thin=thin, pad=(px, py, pz), nspec=int(np.prod(shape)),
                           ms=xp.asarray(np.ascontiguousarray(term._ms, dtype=self.dtype)),
                           src=xp.zeros((self.batch, 3) + self.grid.shape[:2] + (px,), dtype=self.dtype))
        defs = gk.defines_for(self.dtype, (), ["MM_DEMAG_THIN"] if thin else [])
        self._demag["module"] = self.device.module(gk.assemble("demag_multiply.cu", defs))

    def demag_field(self, m, out):
        """B_demag (T) of m into ``out`` (real FFT on the device, one fused kernel multiply)."""
        xp, d = self.device.xp, self._demag
        nz, ny, nx = self.grid.shape
        px, py, pz = d["pad"]
        cplx = np.complex64 if self.dtype == np.float32 else np.complex128
        src = d["src"]
        xp.multiply(m, d["ms"], out=src[..., :nx])
        M = xp.fft.rfft(src, axis=-1)
        if py > 1:
            M = xp.fft.fft(M, n=py, axis=-2)
        if pz > 1:
            M = xp.fft.fft(M, n=pz, axis=-3)
        M = xp.ascontiguousarray(M, dtype=cplx)
        flat = M.view(self.dtype)
        s = d["spec"]
        nb = m.shape[0]
        d["module"]("demag_multiply", self.device.grid(d["nspec"], nb), (self.device.block,), flat, s["xx"], s["yy"],
                    s["zz"], s["xy"], s["xz"], s["yz"], flat, d["nspec"])
        h = M
        if pz > 1:
            h = xp.fft.ifft(h, axis=-3)[:, :, :nz]
        if py > 1:
            h = xp.fft.ifft(h, axis=-2)[:, :, :, :ny]
        h = xp.fft.irfft(h, n=px, axis=-1)[..., :nx]
        out[...] = h
        return out

    # -------------------------------------------------------------------------------- evaluation
    def _run(self, m, t, out, bout):
        if m.shape != self.shape or m.dtype != self.dtype:
            raise ValueError(f"m must be {self.shape} {self.dtype}, got {m.shape} {m.dtype}")
        if self._demag is not None:
            self.demag_field(m, self.bdemag)
        nz, ny, nx = self.grid.shape
        dx, dy, dz = self.grid.cell
        mod = self._module(bout is not None)
        mod("llg_rhs", self.device.grid(self.ncell, self.batch), (self.device.block,), m, self.bdemag, self.region,
            self.params, self.xscale, self._bext_at(t), self._bext_map, out, bout, nx, ny, nz, self.nreg, dx, dy, dz,
            1 if self.precession else 0)

    def __call__(self, m, t, out):
        """Write dm/dt (1/s) of m (B, 3, nz, ny, nx) at times t (B,) into out."""
        self.nevals += 1
        self._run(m, t, out, None)
        return out

    def effective_field(self, m, t=None, out=None):
        """B_eff (T) of every active term, shape of m."""
        xp = self.device.xp
        t = xp.zeros(self.batch) if t is None else t
        B = self.B if out is None else out
        dm = xp.empty_like(B)
        self._run(m, t, dm, B)
        return B


# ---------------------------------------------------------------------------------------------- stepper
class CudaStepper:
    """Batched explicit RK stepper on the device with a time step per member (twin of
    :class:`micromag.integrators.Stepper`; same tableaux, controller and renormalization).

    ``dt`` (next step per member) and the step's results live on the device; ``step`` never synchronizes
    except for callable applied fields."""

    def __init__(self, llg, tableau="rk45", tol=1e-5, dt=1e-14, dt_min=1e-18, dt_max=1e-10, headroom=0.8):
        self.f = llg
        self.device = llg.device
        xp = self.device.xp
        self.tab = get_tableau(tableau)
        if self.tab.stages > MAX_STAGES:
            raise ValueError(f"at most {MAX_STAGES} stages")
        self.tol, self.dt_min, self.dt_max, self.headroom = float(tol), float(dt_min), float(dt_max), float(headroom)
        B = llg.batch
        self.shape = llg.shape
        self.dt = xp.asarray(np.broadcast_to(np.asarray(dt, dtype=float), (B,)).copy())
        self.k = [xp.zeros(self.shape, dtype=llg.dtype) for _ in range(self.tab.stages)]
        self.y = xp.zeros(self.shape, dtype=llg.dtype)
        self.err = xp.zeros(B, dtype=llg.dtype)
        self.dt_used = xp.zeros(B)
        self.active = xp.zeros(B, dtype=np.int32)
        self.accept = xp.zeros(B, dtype=np.int32)
        self.t_end = xp.zeros(B)
        self.k0_valid = False
        self.nsteps = 0
        self.nevals = 0
        tab = self.tab

        def coef(row):
            c = np.zeros(MAX_STAGES)
            c[: len(row)] = row
            return xp.asarray(c)

        self._a = [coef(r) for r in tab.a]
        self._b = coef(tab.b)
        self._e = coef(tab.e) if tab.adaptive else None
        self.mod = self.device.module(gk.assemble("rk_stage.cu", gk.defines_for(llg.dtype)))

    def invalidate(self):
        self.k0_valid = False

    def _ks(self, n):
        ks = list(self.k[:n]) + [self.k[0]] * (MAX_STAGES - n)
        return ks

    def step(self, m, t, t_end=None):
        """One step for every member, in place on m (state) and t (device float64 (B,)); returns the device
        int32 array of members that advanced. Members with t >= t_end stay put."""
        xp, dev, tab, mod = self.device.xp, self.device, self.tab, self.mod
        B = self.shape[0]
        ncell = self.f.ncell
        has_end = t_end is not None
        if has_end:
            te = t_end if isinstance(t_end, xp.ndarray) else np.broadcast_to(np.asarray(t_end, dtype=float), (B,))
            self.t_end[...] = xp.asarray(te, dtype=np.float64)
        g1 = (max(1, -(-B // dev.block)),)
        mod("rk_prepare", g1, (dev.block,), self.dt, t, self.t_end, int(has_end), self.dt_used, self.active, B)
        k = self.k
        if not (tab.fsal and self.k0_valid):
            self.f(m, t, k[0])
            self.nevals += 1
        g3 = dev.grid(3 * ncell, B)
        for i in range(1, tab.stages):
            mod("rk_combine", g3, (dev.block,), m, *self._ks(i), self._a[i], i, self.dt_used, self.y, ncell)
            self.f(self.y, t + tab.c[i] * self.dt_used, k[i])
            self.nevals += 1
        gc = dev.grid(ncell, B)
        if tab.adaptive:
            self.err.fill(0)
            mod("rk_error", gc, (dev.block,), m, *self._ks(tab.stages), self._e, self._b, tab.stages, self.dt_used,
                0 if tab.fsal else 1, self.y, self.err, ncell)
        elif not tab.fsal:
            mod("rk_combine", g3, (dev.block,), m, *self._ks(tab.stages), self._b, tab.stages, self.dt_used, self.y,
                ncell)
        mod("rk_control", g1, (dev.block,), self.err, self.dt_used, self.active, self.dt, t, self.accept,
            1 if tab.adaptive else 0, self.tol, self.dt_min, self.dt_max, self.headroom, tab.err_order, B)
        mod("rk_commit", gc, (dev.block,), m, self.y, self.accept, self.f.region, 1 if tab.fsal else 0, k[-1], k[0],
            ncell)
        self.k0_valid = bool(tab.fsal)
        self.nsteps += 1
        return self.accept


__all__ = ["CudaLLG", "CudaStepper", "Device", "cupy_device", "emulated_device", "gpu_available", "pack_system",
           "region_scale_table"]
