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
``CudaStepper(llg, tableau, tol=..., dt=..., ..., graph="auto", fixed=False)``
    ``stepper.step(m, t, t_end=None)`` advances every member with its own dt (device arrays ``dt``, ``t``),
    returns the device int array of accepted members; the step-size decision stays on the device; finished
    members (t >= t_end) keep m and t bit for bit. ``graph``: replay whole steps from a CUDA graph
    (small grids; see :class:`CudaStepper`), ``stepper.graph_error`` says why when it could not.
Demag (``CudaLLG.demag_field``) is padding-aware: Ms·fill·m written once into x-padded rows in an FFT
layout (z, y, member·component, x); real-to-complex along x over the rows that hold data only, complex
transforms along the padded y and z, one multiply kernel with the real Newell spectra (the inverse
normalization folded in), the inverse y and x only over what is kept, the last one written straight into
the buffer the fused RHS kernel reads (``MM_DEMAG_PLANES``). Each stage is one batched strided 1D cuFFT
plan over all B·3 components (:class:`_StridedFFT`), cached per layout; every intermediate is allocated
once. See gpu_kernels/README.md for the byte count.

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

# Term.name of the NumPy classes -> kernel term name (gpu_kernels.TERM_DEFINES) where they differ.
_KERNEL_NAMES = {"uniaxial_anisotropy": "anisotropy_uniaxial", "cubic_anisotropy": "anisotropy_cubic"}


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


# ---------------------------------------------------------------------------------------------- 1D FFTs
class _StridedFFT:
    """Batched 1D transforms in cuFFT's advanced layout on flat buffers: transform ``j`` of ``batch`` reads
    element ``i`` at ``src[soff + j*sdist + i*sstride]`` and writes ``dst[doff + j*ddist + i*dstride]``.
    Kinds ``r2c``, ``c2c`` (forward or inverse) and ``c2r``; inverses are unnormalized (as cuFFT).

    On the GPU every distinct layout gets one ``cupy.cuda.cufft.PlanNd`` (work area allocated with it),
    created on first use and kept, so that nothing is planned or allocated during CUDA-graph capture. On the
    emulated device the same layouts run through numpy.fft on ``as_strided`` views (CI checks the offsets)."""

    def __init__(self, device, real):
        self.device = device
        self.real = np.dtype(real)
        self.cplx = np.dtype(np.complex64 if self.real == np.float32 else np.complex128)
        self.plans = {}

    def __call__(self, kind, n, batch, src, soff, sstride, sdist, dst, doff, dstride, ddist, inverse=False):
        nin = n // 2 + 1 if kind == "c2r" else n
        nout = n // 2 + 1 if kind == "r2c" else n
        if self.device.emulated:
            return self._numpy(kind, n, nin, nout, batch, src, soff, sstride, sdist, dst, doff, dstride, ddist,
                               inverse)
        key = (kind, n, batch, sstride, sdist, dstride, ddist)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = self._plan(kind, n, nin, nout, batch, sstride, sdist, dstride, ddist)
        from cupy.cuda import cufft

        plan.fft(src[soff:], dst[doff:], cufft.CUFFT_INVERSE if inverse else cufft.CUFFT_FORWARD)

    def _plan(self, kind, n, nin, nout, batch, sstride, sdist, dstride, ddist):
        from cupy.cuda import cufft

        single = self.real == np.float32
        ftype = {"r2c": cufft.CUFFT_R2C if single else cufft.CUFFT_D2Z,
                 "c2r": cufft.CUFFT_C2R if single else cufft.CUFFT_Z2D,
                 "c2c": cufft.CUFFT_C2C if single else cufft.CUFFT_Z2Z}[kind]
        return cufft.PlanNd([n], [nin], sstride, sdist, [nout], dstride, ddist, ftype, batch, "C", -1, None)

    @staticmethod
    def _numpy(kind, n, nin, nout, batch, src, soff, sstride, sdist, dst, doff, dstride, ddist, inverse):
        from numpy.lib.stride_tricks import as_strided

        si, di = src.itemsize, dst.itemsize
        a = as_strided(src[soff:], shape=(batch, nin), strides=(sdist * si, sstride * si), writeable=False)
        if kind == "r2c":
            r = np.fft.rfft(a, axis=1)
        elif kind == "c2r":
            r = np.fft.irfft(a, n=n, axis=1, norm="forward")
        elif inverse:
            r = np.fft.ifft(a, axis=1, norm="forward")
        else:
            r = np.fft.fft(a, axis=1)
        as_strided(dst[doff:], shape=(batch, nout), strides=(ddist * di, dstride * di))[...] = r


# ---------------------------------------------------------------------------------------------- RHS
class CudaLLG:
    """The fused LLG right-hand side on a device (see the module docstring).

    ``terms``: dict {name: Term} as from :func:`micromag.terms.build_terms` (or an iterable of names or Term
    objects); known kinds: demag, exchange, anisotropy_uniaxial, anisotropy_cubic, dmi, zeeman and the MRAM
    device terms oersted, vcma, thermal, sot, stt, zhangli (these need the term objects: their static patterns
    are uploaded once, their drives are evaluated on the host per call into the (B, NDRIVE) array ``drv``).
    The Zeeman term's setting (uniform, per member, spatial, callable) is taken over; change it with
    :meth:`set_B_ext`. :meth:`set_terms` / :meth:`check_term` serve ``Simulation.add``; :meth:`begin_step`
    draws the thermal field of a step (Philox on the device; not the CPU's numbers, same distribution).
    """

    def __init__(self, system, terms, batch, dtype=np.float32, device=None, region_scale=None):
        self.system = system
        self.grid = system.grid
        self.batch = int(batch)
        self.dtype = np.dtype(dtype)
        self.device = device if device is not None else cupy_device()
        xp = self.device.xp
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
        self._demag = None
        self.bdemag = None
        self.B = xp.zeros(self.shape, dtype=self.dtype)
        self._modules = {}
        # MRAM device terms: per-member drives (B, NDRIVE), term constants, static per-cell patterns
        self._drv = xp.zeros((self.batch, gk.NDRIVE), dtype=self.dtype)
        self._drv_host = np.zeros((self.batch, gk.NDRIVE))
        self._tsc_host = np.zeros(gk.NSCALAR)
        self._tsc = xp.zeros(gk.NSCALAR, dtype=self.dtype)
        self._pat = {}  # name -> device array (sot_s, oe_b, stt_c, stt_p, zl_k, zl_j, th_coef)
        self._mram_opts = []
        self._th = None  # thermal buffers (see _setup_thermal)
        self.term_names = []
        self.terms = {}
        self.set_terms(terms)

    # -------------------------------------------------------------------------------- terms
    @staticmethod
    def kernel_name(term, key=None):
        """The kernel term name (a key of gpu_kernels.TERM_DEFINES) of a Term object (or of ``key``)."""
        if term is None or isinstance(term, str):
            return key if term is None else term
        n = getattr(term, "name", key)
        return _KERNEL_NAMES.get(n, n)

    def _resolve(self, terms):
        if isinstance(terms, dict):
            items = [(self.kernel_name(t, k), t) for k, t in terms.items()]
        else:
            items = [(self.kernel_name(t), None if isinstance(t, str) else t) for t in terms]
        out = {}
        for n, t in items:
            if n not in gk.TERM_DEFINES:
                raise ValueError(f"the GPU backend has no kernel for terms {[n]}")
            if n in out:
                raise NotImplementedError(f"the GPU backend has one kernel per term: a second {n!r} term is not "
                                          "supported; use backend='cpu'")
            if n in gk.MRAM_TERMS and t is None:
                raise ValueError(f"the {n!r} kernel needs the term object (its patterns and drives), not a name")
            out[n] = t
        return out

    def check_term(self, term):
        """Raise NotImplementedError unless ``term`` can join this RHS (a kernel exists, one per kind)."""
        n = self.kernel_name(term)
        if n not in gk.TERM_DEFINES:
            raise NotImplementedError(f"term {getattr(term, 'name', n)!r} has no GPU kernel in this version; "
                                      "use backend='cpu'")
        if n in self.terms and self.terms[n] is not term:
            raise NotImplementedError(f"the GPU backend has one kernel per term: a second {n!r} term is not "
                                      "supported; use backend='cpu'")

    def set_terms(self, terms):
        """Take over a new set of terms (dict {name: Term}, Term objects or names; as :meth:`LLG.set_terms`):
        newly added ones are set up (patterns uploaded, kernels compiled on the next evaluation), removed ones
        dropped; the applied field set with :meth:`set_B_ext` stays."""
        new = self._resolve(terms)
        xp = self.device.xp
        for n, t in new.items():
            if n in self.terms and self.terms[n] is t:
                continue
            if n == "zeeman":
                self._take_zeeman(t)
            elif n == "demag":
                self._setup_demag(t)
                # the demag field in the padded row layout of the FFTs (nz, ny, B*3, px), flat (MM_DEMAG_PLANES)
                self.bdemag = xp.zeros(int(np.prod(self.grid.shape[:2])) * 3 * self.batch * self._demag["pad"][0],
                                       dtype=self.dtype)
        if "demag" not in new:
            self._demag, self.bdemag = None, None
        keep_zeeman = "zeeman" in self.term_names  # set_B_ext switched it on
        self.terms = new
        self.term_names = [n for n in gk.TERM_DEFINES if n in new or (n == "zeeman" and keep_zeeman)]
        self._setup_mram()

    def _setup_mram(self):
        """Static patterns, term constants and drive columns of the MRAM device terms (see gpu_kernels)."""
        xp, dt = self.device.xp, self.dtype
        pat, opts, tsc = {}, [], np.zeros(gk.NSCALAR)
        S = {c: i for i, c in enumerate(gk.SCALAR_COLUMNS)}

        def flat(a):
            return xp.asarray(np.ascontiguousarray(a, dtype=dt).reshape(-1))

        sot = self.terms.get("sot")
        if sot is not None:
            pat["sot_s"] = flat(sot._s[0])
            tsc[S["SOT_XI"]] = sot.xi_FL
        oe = self.terms.get("oersted")
        if oe is not None:
            pat["oe_b"] = flat(oe.B_unit[0])
        stt = self.terms.get("stt")
        if stt is not None:
            pat["stt_c"] = flat(stt._c[0])
            if stt._p_func is None and stt._p.shape[2:] != (1, 1, 1):
                pat["stt_p"] = flat(stt._p[0])
                opts.append("MM_STT_P_SPATIAL")
            tsc[S["STT_EPSP"]], tsc[S["STT_ENUM"]] = stt.eps_prime, stt._e_num
            tsc[S["STT_EA"]], tsc[S["STT_EB"]] = stt._e_a, stt._e_b
        zl = self.terms.get("zhangli")
        if zl is not None:
            pat["zl_k"] = flat(zl._k[0])
            tsc[S["ZL_XI"]] = zl.xi
            a = zl._J_array
            if a is not None and a.shape[2:] != (1, 1, 1):
                if a.shape[0] == 1:
                    pat["zl_j"] = flat(a[0])
                    opts.append("MM_ZHANGLI_SPATIAL")
                else:
                    if a.shape[0] != self.batch:
                        raise ValueError(f"Zhang-Li J was given for {a.shape[0]} members, the batch has {self.batch}")
                    pat["zl_j"] = flat(a)
                    opts += ["MM_ZHANGLI_SPATIAL", "MM_ZHANGLI_SPATIAL_BATCH"]
        vc = self.terms.get("vcma")
        if vc is not None:
            tsc[S["VCMA_UX"]:S["VCMA_UZ"] + 1] = vc.axis
        th = self.terms.get("thermal")
        if th is None:
            self._th = None
        elif self._th is None or self._th["term"] is not th:
            B = self.batch
            self._th = dict(term=th, coef=flat(th._coef), bth=xp.zeros(self.shape, dtype=dt),
                            temp=xp.zeros(B), temp_host=np.zeros(B), counter=xp.zeros(B, dtype=np.int64),
                            seed=int(th.seed), rngs=th.rngs, module=self.device.module(
                                gk.assemble("thermal_noise.cu", gk.defines_for(dt))))
        self._pat, self._mram_opts = pat, opts
        self._tsc_host = tsc
        self._tsc = xp.asarray(tsc.astype(dt))
        self._drv_valid = False

    # -------------------------------------------------------------------------------- drives
    def _drive_terms(self):
        return [self.terms[n] for n in ("sot", "oersted", "stt", "vcma", "zhangli") if n in self.terms]

    def host_dynamic(self):
        """Whether evaluations need the host every call (a drive that depends on t or m, a callable applied
        field or polarizer, a time-dependent temperature): then no CUDA graphs, and one sync per call."""
        from ..drives import DC

        if self._bext_func is not None:
            return True
        for n, t in self.terms.items():
            if n in ("sot", "oersted") and not isinstance(t.J, DC):
                return True
            if n == "stt" and (t._J_obj is not None or not isinstance(t.J, DC) or t._p_func is not None):
                return True
            if n == "vcma" and not isinstance(t.V, DC):
                return True
            if n == "zhangli" and t._J_drives is not None and not all(isinstance(d, DC) for d in t._J_drives):
                return True
            if n == "thermal" and not isinstance(t.temperature, DC):
                return True
        return False

    def _drive_table(self, m, t):
        """(B, NDRIVE) float64 per-member drive values at member times t (host arrays; m only for an STT
        current that follows the junction's resistance)."""
        B = self.batch
        D = np.zeros((B, gk.NDRIVE))
        col = {c: i for i, c in enumerate(gk.DRIVE_COLUMNS)}
        from ..drives import drive_values

        T = self.terms
        if "sot" in T:
            D[:, col["SOT_J"]] = drive_values(T["sot"].J, t, B)
        if "oersted" in T:
            D[:, col["OE_J"]] = drive_values(T["oersted"].J, t, B)
        if "stt" in T:
            stt = T["stt"]
            if stt._J_obj is not None:
                D[:, col["STT_J"]] = stt.current_density(np.asarray(self.device.asnumpy(m), dtype=float), t)
            else:
                D[:, col["STT_J"]] = stt.current_density(np.zeros((B, 3, 1, 1, 1)), t)
            if "MM_STT_P_SPATIAL" not in self._mram_opts:
                p = stt.polarizer(t, B)
                D[:, col["STT_PX"]:col["STT_PZ"] + 1] = np.broadcast_to(p[:, :, 0, 0, 0], (B, 3))
        if "vcma" in T:
            D[:, col["VCMA_DK"]] = T["vcma"]._dK(t, B)
        if "zhangli" in T:
            zl = T["zhangli"]
            if zl._J_drives is not None or zl._J_array.shape[2:] == (1, 1, 1):
                D[:, col["ZL_JX"]:col["ZL_JZ"] + 1] = np.broadcast_to(zl.current(t, B)[:, :, 0, 0, 0], (B, 3))
        return D

    def _update_drives(self, m, t):
        """Upload the drive table for this evaluation: every call when it depends on t or m, else only when
        the (constant) values changed, so a captured CUDA graph keeps reading a fixed, current buffer."""
        if not self._drive_terms():
            return
        if self.host_dynamic():
            th = np.broadcast_to(np.asarray(self.device.asnumpy(t), dtype=float), (self.batch,))
            D = self._drive_table(m, th)
        else:
            D = self._drive_table(m, np.zeros(self.batch))
            if self._drv_valid and np.array_equal(D, self._drv_host):
                return
        self._drv_host = D
        self._drv[...] = self.device.xp.asarray(D.astype(self.dtype))
        self._drv_valid = not self.host_dynamic()

    def refresh(self):
        """Host-side update of constant drives and temperatures (the stepper calls it before replaying a
        graph, whose launches do not run the host code)."""
        if self._thermal_active():
            self._check_seed()
        if not self.host_dynamic():
            self._update_drives(None, None)
            if self._thermal_active():
                self._update_temperature(None)

    def graph_token(self):
        """What a captured step depends on besides buffers (part of the stepper's graph key)."""
        th = self._th
        return (tuple(self._active_names()), tuple(self._mram_opts), None if th is None else th["seed"])

    # -------------------------------------------------------------------------------- thermal
    def _thermal_active(self):
        th = self._th
        return th is not None and bool(getattr(th["term"], "enabled", True))

    def _active_names(self):
        return [n for n in self.term_names if n != "thermal" or self._thermal_active()]

    def _check_seed(self):
        """ThermalField.reset_rng (``sim.seed = ...``) restarts the streams: the step counters go back to 0."""
        th = self._th
        term = th["term"]
        if th["rngs"] is not term.rngs:
            th["rngs"], th["seed"] = term.rngs, int(term.seed)
            th["counter"].fill(0)

    def _update_temperature(self, t):
        from ..drives import DC, drive_values

        th = self._th
        term = th["term"]
        if isinstance(term.temperature, DC):
            T = drive_values(term.temperature, np.zeros(self.batch), self.batch)
        else:
            T = drive_values(term.temperature, np.asarray(self.device.asnumpy(t), dtype=float), self.batch)
        if not np.array_equal(T, th["temp_host"]) or not th.get("temp_valid"):
            th["temp_host"] = T
            th["temp"][...] = self.device.xp.asarray(T)
            th["temp_valid"] = True

    def begin_step(self, t, dt):
        """Called by the stepper once per step before its first stage with the member times and steps (s):
        draws the step's thermal field on the device (kernel thermal_noise; members with dt = 0 keep theirs).
        Nothing to do without an enabled thermal term."""
        if not self._thermal_active():
            return
        xp, dev, th = self.device.xp, self.device, self._th
        self._check_seed()
        self._update_temperature(t)
        if not (isinstance(dt, xp.ndarray) and dt.dtype == np.float64 and dt.shape == (self.batch,)):
            host = dev.asnumpy(dt) if isinstance(dt, xp.ndarray) else dt
            dt = xp.asarray(np.broadcast_to(np.asarray(host, dtype=float), (self.batch,)).copy())
        mod = th["module"]
        seed = th["seed"] & 0xFFFFFFFFFFFFFFFF
        if seed >= 1 << 63:
            seed -= 1 << 64
        mod("thermal_noise", dev.grid(self.ncell, self.batch), (dev.block,), th["bth"], th["coef"], th["temp"], dt,
            th["counter"], seed, self.ncell)
        mod("thermal_advance", (max(1, -(-self.batch // dev.block)),), (dev.block,), th["counter"], dt, self.batch)

    def fixed_stepper(self, tableau, dt, tol=1e-5):
        """A fixed-step :class:`CudaStepper` on this RHS (the stochastic Heun of ``Simulation`` with a
        thermal field: no error control, the noise drawn once per step by :meth:`begin_step`)."""
        return CudaStepper(self, tableau, tol=tol, dt=dt, dt_min=dt, dt_max=dt, fixed=True)

    @property
    def thermal_field(self):
        """The current step's thermal field buffer (B, 3, nz, ny, nx), or None."""
        return None if self._th is None else self._th["bth"]

    # -------------------------------------------------------------------------------- compilation
    def defines(self, write_field=False):
        opts = list(self._options) + list(self._mram_opts)
        if "demag" in self.term_names:
            opts.append("MM_DEMAG_PLANES")
        if write_field:
            opts.append("MM_WRITE_FIELD")
        if self._bext_map is not None:
            opts.append("MM_ZEEMAN_SPATIAL")
            if self._bext_map_batch:
                opts.append("MM_ZEEMAN_SPATIAL_BATCH")
        return gk.defines_for(self.dtype, self._active_names(), opts)

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
            self._bext = xp.asarray(np.ascontiguousarray(np.broadcast_to(a, (self.batch, 3)), dtype=self.dtype))
        elif a.shape == (self.batch, 3):
            self._bext = xp.asarray(a.astype(self.dtype))
        elif a.shape == g3 or a.shape == (self.batch,) + g3:
            self._bext_map = xp.asarray(np.ascontiguousarray(a, dtype=self.dtype))
            self._bext_map_batch = a.ndim == 5
        else:
            raise ValueError(f"B_ext of shape {a.shape} does not fit batch {self.batch} on grid {self.grid.shape}")
        if "zeeman" not in self.term_names:
            self.term_names = self.term_names + ["zeeman"]
            self.term_names = [n for n in gk.TERM_DEFINES if n in self.term_names]

    def _bext_at(self, t):
        if self._bext_func is None:
            return self._bext
        tt = np.broadcast_to(np.asarray(self.device.asnumpy(t), dtype=float), (self.batch,))
        vals = np.array([np.asarray(self._bext_func(float(x)), dtype=float).reshape(3) for x in tt])
        return self.device.xp.asarray(vals.astype(self.dtype))

    # -------------------------------------------------------------------------------- demag
    def _setup_demag(self, term):
        """Buffers, spectra and kernels of the padding-aware demag (see :meth:`demag_field`)."""
        if term is None:
            from ..terms.demag import Demag

            term = Demag(self.system)
        xp = self.device.xp
        nz, ny, nx = self.grid.shape
        px, py, pz = term._pad
        pxh = px // 2 + 1
        BC = 3 * self.batch
        K = BC * pxh  # complex values per (kz, ky) plane row-set
        spec = term._spec  # real spectra, -mu0 folded in, (Pz, Py, Px//2+1)
        shape = next(iter(spec.values())).shape
        assert shape == (pz, py, pxh), (shape, (pz, py, pxh))
        norm = 1.0 / (px * py * pz)  # the unnormalized inverse transforms' factor, folded into the spectra
        comps = {}
        for name in ("xx", "yy", "zz", "xy", "xz", "yz"):
            s = spec.get(name)
            s = np.zeros(shape) if s is None else s * norm
            comps[name] = xp.asarray(np.ascontiguousarray(s, dtype=self.dtype).reshape(-1))
        thin = "xz" not in spec and "yz" not in spec
        cplx = np.complex64 if self.dtype == np.float32 else np.complex128
        full = pz * py * K
        d = dict(spec=comps, thin=thin, pad=(px, py, pz), pxh=pxh, K=K, BC=BC,
                 ms=xp.asarray(np.ascontiguousarray(term._ms, dtype=self.dtype).reshape(-1)),
                 # the source rows (nz, ny, BC, px): padding x >= nx is zero forever (never written)
                 src=xp.zeros(nz * ny * BC * px, dtype=self.dtype),
                 # x transform output (pz, py, BC, pxh): only [z < nz, y < ny] is ever written
                 X=xp.zeros(full, dtype=cplx))
        # after the y transform: [z < nz] written, the rest zero forever (a separate buffer only when z
        # is transformed afterwards); the z transform then fills S. Stages with no transform alias.
        d["Y"] = xp.zeros(full, dtype=cplx) if (py > 1 and pz > 1) else None
        d["S"] = xp.zeros(full, dtype=cplx) if (py > 1 or pz > 1) else d["X"]
        if d["Y"] is None:
            d["Y"] = d["S"] if py > 1 else d["X"]
        d["fft"] = _StridedFFT(self.device, self.dtype)
        defs = gk.defines_for(self.dtype, (), ["MM_DEMAG_THIN"] if thin else [])
        d["module"] = self.device.module(gk.assemble("demag_multiply.cu", defs))
        self._demag = d

    def _demag_planes(self, m):
        """The demag pipeline; returns the field in the padded row layout (nz, ny, BC, px), flat."""
        d, dev = self._demag, self.device
        nz, ny, nx = self.grid.shape
        px, py, pz = d["pad"]
        pxh, K, BC = d["pxh"], d["K"], d["BC"]
        nb = self.batch
        fft, mod, src, X, Y, S, out = d["fft"], d["module"], d["src"], d["X"], d["Y"], d["S"], self.bdemag
        # 1. Ms*fill*m into the x-padded source rows (transposed to the FFT layout), one pass
        mod("demag_source", dev.grid(self.ncell, nb), (dev.block,), m, d["ms"], src, nx, ny, nz, nb, px)
        # 2. real-to-complex along x over the nz*ny*BC rows that hold data only
        rows = ny * BC
        if py == ny:  # no y padding: the rows of every z plane are contiguous in X too
            fft("r2c", px, nz * rows, src, 0, 1, px, X, 0, 1, pxh)
        else:
            for z in range(nz):
                fft("r2c", px, rows, src, z * rows * px, 1, px, X, z * py * K, 1, pxh)
        # 3. along y (padded) over the nz planes that hold data, out of place so X keeps its zero rows
        if py > 1:
            for z in range(nz):
                fft("c2c", py, K, X, z * py * K, K, 1, Y, z * py * K, K, 1)
        # 4. along z (padded) over everything
        if pz > 1:
            fft("c2c", pz, py * K, Y, 0, py * K, 1, S, 0, py * K, 1)
        # 5. H = K M, one pass over the spectra (read the 3 components and the real kernel once)
        sv = S.view(self.dtype)
        sp = d["spec"]
        mod("demag_multiply_planes", dev.grid(pz * py * pxh, nb), (dev.block,), sv, sp["xx"], sp["yy"], sp["zz"],
            sp["xy"], sp["xz"], sp["yz"], pz * py, pxh, nb)
        # 6. inverse: z over everything, y only over the kept planes, x only over the kept rows,
        #    complex-to-real straight into the field buffer the RHS kernel reads (no crop pass)
        if pz > 1:
            fft("c2c", pz, py * K, S, 0, py * K, 1, S, 0, py * K, 1, inverse=True)
        if py > 1:
            for z in range(nz):
                fft("c2c", py, K, S, z * py * K, K, 1, S, z * py * K, K, 1, inverse=True)
        if py == ny:
            fft("c2r", px, nz * rows, S, 0, 1, pxh, out, 0, 1, px)
        else:
            for z in range(nz):
                fft("c2r", px, rows, S, z * py * K, 1, pxh, out, z * rows * px, 1, px)
        return out

    def demag_field(self, m, out):
        """B_demag (T) of m. ``out`` is ``self.bdemag`` (the padded row layout the RHS kernel reads:
        nothing is copied) or an array of m's shape (the field is cropped into it)."""
        h = self._demag_planes(m)
        if out is h:
            return out
        nz, ny, nx = self.grid.shape
        px = self._demag["pad"][0]
        out[...] = h.reshape(nz, ny, self.batch, 3, px)[..., :nx].transpose(2, 3, 0, 1, 4)
        return out

    # -------------------------------------------------------------------------------- evaluation
    def _run(self, m, t, out, bout):
        if m.shape != self.shape or m.dtype != self.dtype:
            raise ValueError(f"m must be {self.shape} {self.dtype}, got {m.shape} {m.dtype}")
        if self._demag is not None:
            self._demag_planes(m)
        nz, ny, nx = self.grid.shape
        dpx = self._demag["pad"][0] if self._demag is not None else 0
        dx, dy, dz = self.grid.cell
        mod = self._module(bout is not None)
        self._update_drives(m, t)
        pat = self._pat
        th = self._th
        mod("llg_rhs", self.device.grid(self.ncell, self.batch), (self.device.block,), m, self.bdemag, self.region,
            self.params, self.xscale, self._bext_at(t), self._bext_map, self._drv, self._tsc, pat.get("sot_s"),
            pat.get("oe_b"), pat.get("stt_c"), pat.get("stt_p"), pat.get("zl_k"), pat.get("zl_j"),
            None if th is None else th["bth"], out, bout, nx, ny, nz, self.nreg, dx, dy, dz,
            1 if self.precession else 0, self.batch, dpx)

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
    except for callable applied fields. Members with t >= t_end are masked on the device (dt_used = 0, not
    accepted): their m and t stay bit-identical while the others step.

    ``graph``: ``True``, ``False`` or ``"auto"`` (default). With graphs on, a whole step (every stage RHS
    with its FFTs, the combine / error / control / commit kernels) is captured once into a CUDA graph on a
    private stream and replayed with one launch per step; ``t_end`` is copied into a device buffer before
    the launch, so one graph serves every step. A graph is kept per (m, t, stepper and RHS settings); the
    first step with new settings runs eagerly (it creates the cuFFT plans and compiles the kernels), the
    next identical one is captured. "auto" = on for the real GPU when ncells*B <= 2**18 (launch-bound
    sizes) and the applied field is not a Python callable; off on the emulated device. If capture fails
    the stepper silently stays eager and says why in ``graph_error``.

    ``fixed=True``: no error control, every active member is accepted and dt stays as set (the stochastic
    Heun of the thermal field, as ``Stepper(fixed=True)``). Before the first stage of every step the RHS's
    ``begin_step(t, dt_used)`` is called with the device arrays (the thermal noise kernel)."""

    GRAPH_AUTO_MAX = 1 << 18

    def __init__(self, llg, tableau="rk45", tol=1e-5, dt=1e-14, dt_min=1e-18, dt_max=1e-10, headroom=0.8,
                 graph="auto", fixed=False):
        self.f = llg
        self.device = llg.device
        xp = self.device.xp
        self.tab = get_tableau(tableau)
        # fixed: no error control, dt stays as set (the stochastic Heun of the thermal field), as Stepper(fixed=)
        self.fixed = bool(fixed) or not self.tab.adaptive
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
        # stage times t + c_i dt_used in fixed buffers (nothing is allocated inside a step)
        self._tstage = [xp.zeros(B) for _ in range(self.tab.stages)]
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
        if graph not in (True, False, "auto"):
            raise ValueError(f"graph must be True, False or 'auto', got {graph!r}")
        self.graph = graph
        self.graph_error = None
        self.graph_launches = 0
        self._graphs = {}
        self._last_eager_key = None
        self._stream = None

    def invalidate(self):
        self.k0_valid = False

    def _ks(self, n):
        ks = list(self.k[:n]) + [self.k[0]] * (MAX_STAGES - n)
        return ks

    # -------------------------------------------------------------------------------- graph policy
    def graph_enabled(self):
        """Whether this step would use a CUDA graph (the ``graph`` setting resolved; see the class doc)."""
        f = self.f
        if self.graph is False or self.device.emulated or f._bext_func is not None or f.host_dynamic():
            return False
        if self.graph == "auto":
            return f.ncell * f.batch <= self.GRAPH_AUTO_MAX
        return True

    def _graph_key(self, m, t, has_end, need_k0):
        f = self.f
        ptr = lambda a: None if a is None else int(a.data.ptr)  # noqa: E731
        return (ptr(m), ptr(t), bool(has_end), bool(need_k0), self.tol, self.dt_min, self.dt_max, self.headroom,
                bool(f.precession), tuple(f.term_names), ptr(f._bext), ptr(f._bext_map), f._bext_map_batch,
                self.fixed, f.graph_token())

    # -------------------------------------------------------------------------------- one step
    def _step_body(self, m, t, has_end, need_k0):
        """Every launch of one step, on the current stream, reading and writing fixed buffers only (the same
        code runs eagerly and under graph capture); returns the number of RHS evaluations."""
        dev, tab, mod = self.device, self.tab, self.mod
        xp = dev.xp
        B = self.shape[0]
        ncell = self.f.ncell
        nev = 0
        g1 = (max(1, -(-B // dev.block)),)
        mod("rk_prepare", g1, (dev.block,), self.dt, t, self.t_end, int(has_end), self.dt_used, self.active, B)
        if hasattr(self.f, "begin_step"):  # the step's thermal field, from the step actually taken (dt_used)
            self.f.begin_step(t, self.dt_used)
        k = self.k
        if need_k0:
            self.f(m, t, k[0])
            nev += 1
        g3 = dev.grid(3 * ncell, B)
        for i in range(1, tab.stages):
            mod("rk_combine", g3, (dev.block,), m, *self._ks(i), self._a[i], i, self.dt_used, self.y, ncell)
            ts = self._tstage[i]
            xp.multiply(self.dt_used, tab.c[i], out=ts)
            xp.add(t, ts, out=ts)
            self.f(self.y, ts, k[i])
            nev += 1
        gc = dev.grid(ncell, B)
        adaptive = tab.adaptive and not self.fixed
        if adaptive:
            self.err.fill(0)
            mod("rk_error", gc, (dev.block,), m, *self._ks(tab.stages), self._e, self._b, tab.stages, self.dt_used,
                0 if tab.fsal else 1, self.y, self.err, ncell)
        elif not tab.fsal:
            mod("rk_combine", g3, (dev.block,), m, *self._ks(tab.stages), self._b, tab.stages, self.dt_used, self.y,
                ncell)
        mod("rk_control", g1, (dev.block,), self.err, self.dt_used, self.active, self.dt, t, self.accept,
            1 if adaptive else 0, self.tol, self.dt_min, self.dt_max, self.headroom, tab.err_order, B)
        mod("rk_commit", gc, (dev.block,), m, self.y, self.accept, self.f.region, 1 if tab.fsal else 0, k[-1], k[0],
            ncell)
        return nev

    def _capture(self, m, t, has_end, need_k0):
        """The step captured into a CUDA graph on the private stream (nothing runs yet), or None."""
        import cupy

        if self._stream is None:
            self._stream = cupy.cuda.Stream(non_blocking=True)
        stream = self._stream
        nevals0 = self.f.nevals
        graph = None
        try:
            with stream:
                stream.begin_capture()
                try:
                    nev = self._step_body(m, t, has_end, need_k0)
                finally:
                    g = stream.end_capture()
            graph = (g, nev)
        except Exception as exc:  # old CuPy, a non-capturable cuFFT, ...: stay eager
            self.graph_error = f"{type(exc).__name__}: {exc}"
            self.graph = False
        finally:
            self.f.nevals = nevals0  # the capture evaluated nothing
        return graph

    def step(self, m, t, t_end=None):
        """One step for every member, in place on m (state) and t (device float64 (B,)); returns the device
        int32 array of members that advanced. Members with t >= t_end stay put (m and t bit-identical)."""
        xp = self.device.xp
        B = self.shape[0]
        has_end = t_end is not None
        need_k0 = not (self.tab.fsal and self.k0_valid)
        use_graph = self.graph_enabled()
        if self.graph is True and not use_graph and self.graph_error is None:
            self.graph_error = ("emulated device: no CUDA graphs" if self.device.emulated
                                else "host-evaluated drive (a callable applied field, polarizer or temperature, "
                                "or a time- or m-dependent current/voltage): evaluated on the host every stage")
        if has_end:
            te = t_end if isinstance(t_end, xp.ndarray) else np.broadcast_to(np.asarray(t_end, dtype=float), (B,))
            self.t_end[...] = xp.asarray(te, dtype=np.float64)
        if hasattr(self.f, "refresh"):
            self.f.refresh()  # constant drives / temperatures changed on the host (a graph replay would not see it)
        done = False
        if use_graph:
            key = self._graph_key(m, t, has_end, need_k0)
            entry = self._graphs.get(key)
            if entry is None and key == self._last_eager_key:
                entry = self._capture(m, t, has_end, need_k0)
                if entry is not None:
                    self._graphs[key] = entry
            if entry is not None:
                g, nev = entry
                import cupy

                # order the replay after the caller's stream (t_end copy, m / t writes) and back
                cur = cupy.cuda.get_current_stream()
                self._stream.wait_event(cur.record())
                g.launch(self._stream)
                cur.wait_event(self._stream.record())
                self.f.nevals += nev
                self.nevals += nev
                self.graph_launches += 1
                done = True
            else:
                self._last_eager_key = key
        if not done:
            self.nevals += self._step_body(m, t, has_end, need_k0)
        self.k0_valid = bool(self.tab.fsal)
        self.nsteps += 1
        return self.accept


__all__ = ["CudaLLG", "CudaStepper", "Device", "cupy_device", "emulated_device", "gpu_available", "pack_system",
           "region_scale_table"]
